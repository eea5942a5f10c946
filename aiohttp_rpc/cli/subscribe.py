"""The ``subscribe`` command: subscribe over a WebSocket and print each item as one line of JSON.

It runs until the stream ends, ``--count`` items have come, or Ctrl-C; it then unsubscribes (if the stream is
still live) and exits with a status that says how it ended: 0 when the stream completed or ``--count`` was
reached, 1 when the server ended it with an error (printed as for ``call``; a subscriber too slow to keep up
gets -32007), 3 when the connection was lost or no subscription could be made, 130 on Ctrl-C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from yarl import URL

from ..client.websocket import WSJSONRPCClient
from ..errors import JSONRPCError, LocalError, ParseError, RequestTimeoutError
from .failures import ErrorReply, TransportFailure, UsageError
from .messages import build_request
from .output import render_json
from .remote import WEBSOCKET_SCHEMES, Endpoint, describe_failure

__all__ = ('subscribe',)


def subscribe(
    endpoint: Endpoint,
    method: str,
    params: Any,
    *,
    print_line: Callable[[str], None],
    unsubscribe: str | None = None,
    count: int | None = None,
) -> None:
    """Subscribe to ``method`` and pass each item, as one line of compact JSON, to ``print_line``.

    Raises:
        UsageError: the URL is not a WebSocket URL.
        ErrorReply: the subscribe call failed, or the stream ended with an error.
        TransportFailure: no connection, no reply in time, or the connection was lost.
    """
    scheme = URL(endpoint.url).scheme
    if scheme not in WEBSOCKET_SCHEMES:
        secure = 's' if scheme == 'https' else ''
        raise UsageError(
            f'subscriptions need a WebSocket: use ws{secure}://{endpoint.shown.split("://", 1)[1]} '
            'if the server serves one there'
        )
    request = build_request(method, params, request_id=1)  # checks the params the way `call` does
    args, kwargs = _params_of(request.get('params'))
    try:
        asyncio.run(_run(endpoint, method, args, kwargs, print_line, unsubscribe, count))
    except RequestTimeoutError as exc:
        raise TransportFailure(f'no reply from {endpoint.shown} within {endpoint.timeout:g} s (timeout)') from exc
    except (LocalError, ParseError) as exc:
        raise TransportFailure(describe_failure(exc, endpoint)) from exc
    except JSONRPCError as exc:
        raise ErrorReply([exc.to_dict()]) from exc


async def _run(
    endpoint: Endpoint,
    method: str,
    args: list[Any],
    kwargs: dict[str, Any],
    print_line: Callable[[str], None],
    unsubscribe: str | None,
    count: int | None,
) -> None:
    rpc = endpoint.client()
    assert isinstance(rpc, WSJSONRPCClient)
    try:  # not `async with`: a client whose connect() fails must be closed as well
        try:
            await asyncio.wait_for(rpc.connect(), endpoint.timeout)
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(data={'details': 'No connection in time.'}) from exc
        items = rpc.subscribe(method, *args, unsubscribe=unsubscribe, **kwargs)
        try:
            await asyncio.wait_for(items.subscribe(), endpoint.timeout)
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(data={'details': 'No reply in time.'}) from exc
        try:
            taken = 0
            while count is None or taken < count:
                try:
                    item = await items.__anext__()
                except StopAsyncIteration:
                    break
                print_line(render_json(item))
                taken += 1
        finally:
            await items.aclose()
    finally:
        await rpc.disconnect()


def _params_of(params: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(params, dict):
        return [], params
    if isinstance(params, list):
        return params, {}
    return [], {}
