"""The 1.x client classes: ``JsonRpcClient`` and ``WsJsonRpcClient``, and the 1.x
``ws_client_for_server_response`` middleware.

Subclasses of the 2.0 clients with what 1.x clients did differently: remote methods as attributes of the
client (``await client.some_method(1, 2)``; 2.0 spells it ``client.methods.some_method``), and ``batch`` /
``batch_notify`` taking one list of 1.x descriptions (``'name'``, ``['name', params]``,
``['name', args, kwargs]`` or a request) as well as 2.0's requests.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import WSMessage, web

from ..caller.base import BaseJSONRPCClient
from ..client.http import JSONRPCClient
from ..client.websocket import WSJSONRPCClient
from ..errors import InvalidParams
from ..protocol.context import WS
from ..protocol.request import JSONRPCBatchRequest, JSONRPCRequest
from ..protocol.response import JSONRPCResponse
from ..typedefs import SingleRequestProcessorType

__all__ = ('JsonRpcClient', 'WsJsonRpcClient', 'ws_client_for_server_response')


class _Calls1x(BaseJSONRPCClient):
    """What both 1.x clients add to their 2.0 class."""

    def __getattr__(self, method_name: str) -> Callable[..., Awaitable[Any]]:
        # Only names the client does not have: not private ones, nor attributes declared but not yet set.
        if method_name.startswith('_') or any(
            method_name in vars(cls).get('__annotations__', {}) for cls in type(self).__mro__
        ):
            raise AttributeError(f'{type(self).__name__!r} object has no attribute {method_name!r}')
        return functools.partial(self.call, method_name)

    async def batch(self, *requests: Any, save_order: bool = True) -> tuple[Any, ...]:
        """2.0's ``batch(*requests)``, or 1.x's ``batch([description, ...])`` (see the module)."""
        return await super().batch(*self._requests(requests, notification=False), save_order=save_order)

    async def batch_notify(self, *requests: Any) -> None:
        """2.0's ``batch_notify(*requests)``, or 1.x's ``batch_notify([description, ...])``."""
        await super().batch_notify(*self._requests(requests, notification=True))

    def _requests(self, given: tuple[Any, ...], *, notification: bool) -> tuple[JSONRPCRequest, ...]:
        if len(given) != 1 or isinstance(given[0], JSONRPCRequest):
            return given  # the 2.0 call: requests as arguments
        descriptions = given[0]
        if isinstance(descriptions, JSONRPCBatchRequest):
            return descriptions.requests
        return tuple(self._request(description, notification=notification) for description in descriptions)

    def _request(self, description: Any, *, notification: bool) -> JSONRPCRequest:
        if isinstance(description, JSONRPCRequest):
            return description
        if isinstance(description, str):
            return self.build_request(description, notification=notification)
        if not 1 <= len(description) <= 3:
            raise InvalidParams(
                f'A batch member is a name or a list [name], [name, params] or [name, args, kwargs]; '
                f'got a list of {len(description)}.'
            )
        if len(description) == 3:
            name, args, kwargs = description
            return self.build_request(name, args, kwargs, notification=notification)
        if len(description) == 1:
            return self.build_request(description[0], notification=notification)
        name, params = description
        if isinstance(params, Mapping):
            return self.build_request(name, (), params, notification=notification)
        if isinstance(params, (list, tuple)):
            return self.build_request(name, params, notification=notification)
        # 1.x sent a single value as the params member, which JSON-RPC 2.0 does not allow; 1.x servers read it
        # as the one positional argument, so that is what is sent.
        return self.build_request(name, (params,), notification=notification)


class JsonRpcClient(_Calls1x, JSONRPCClient):
    """1.x ``JsonRpcClient``: a :class:`~aiohttp_rpc.JSONRPCClient` with 1.x calls (see the module)."""


class WsJsonRpcClient(_Calls1x, WSJSONRPCClient):
    """1.x ``WsJsonRpcClient``: a :class:`~aiohttp_rpc.WSJSONRPCClient` with 1.x calls (see the module).

    Also takes 1.x's ``json_request_handler(ws_connect=, ws_msg=, json_request=)``, called once per request
    the peer sends, and the plain function ``unprocessed_json_response_handler(ws_connect=, ws_msg=,
    json_response=)``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        json_request_handler: Callable[..., Awaitable[None]] | None = None,
        unprocessed_json_response_handler: Callable[..., object] | None = None,
        **options: Any,
    ) -> None:
        if json_request_handler is not None:
            options['json_requests_handler'] = _each_request(json_request_handler)
        if unprocessed_json_response_handler is not None:
            options['unprocessed_json_responses_handler'] = _unprocessed(unprocessed_json_response_handler)
        super().__init__(url, **options)


def _each_request(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def json_requests_handler(*, ws_connect: Any, ws_msg: WSMessage, json_requests: Iterable[Any]) -> None:
        for json_request in json_requests:
            await handler(ws_connect=ws_connect, ws_msg=ws_msg, json_request=json_request)

    return json_requests_handler


def _unprocessed(handler: Callable[..., object]) -> Callable[..., Awaitable[None]]:
    async def unprocessed_json_responses_handler(
        *, ws_connect: Any, ws_msg: WSMessage, json_responses: Sequence[Any]
    ) -> None:
        json_response = json_responses[0] if len(json_responses) == 1 else list(json_responses)
        outcome = handler(ws_connect=ws_connect, ws_msg=ws_msg, json_response=json_response)
        if inspect.isawaitable(outcome):
            await outcome

    return unprocessed_json_responses_handler


async def ws_client_for_server_response(
    request: JSONRPCRequest, handler: SingleRequestProcessorType
) -> JSONRPCResponse:
    """1.x middleware: a 1.x client for the WebSocket peer that sent the call, as ``context['ws_client']`` and
    as the extra value ``rpc_ws_client``. 2.0 spelling: ``get_peer(rpc_request)`` (or the context's
    ``'rpc_peer'``), which every WebSocket server already provides."""
    ws = request.context.get(WS)
    if isinstance(ws, web.WebSocketResponse):
        client = WsJsonRpcClient(ws_connect=ws)
        request.context['ws_client'] = client
        request.extra_kwargs['rpc_ws_client'] = client
    return await handler(request)
