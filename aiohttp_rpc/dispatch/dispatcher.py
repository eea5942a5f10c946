"""The dispatcher: bytes in -> parse -> validate -> middleware chain -> method -> serialize -> bytes out.

It is the one engine behind every transport (HTTP, WebSocket, in-process) and both directions of a
WebSocket. It knows nothing of aiohttp: a transport hands it a message and a context mapping, and gets back
the bytes to send, or ``None`` when nothing is to be sent (notifications).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from ..errors import (
    InternalError,
    InvalidRequest,
    JSONRPCError,
    MethodNotFound,
    ParseError,
    RequestRejected,
)
from ..methods.method import BaseJSONRPCMethod, JSONRPCMethod
from ..methods.registry import MethodDescription, MethodMap, add_method, add_methods
from ..protocol.request import JSONRPCRequest, is_valid_id
from ..protocol.response import JSONRPCResponse
from ..serialization import JSONCodec, json_deserialize, json_serialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from .eager import run_all
from .middleware import build_chain

__all__ = ('Dispatcher',)

logger = logging.getLogger('aiohttp_rpc.dispatch')

_ENCODE_ERRORS = (TypeError, ValueError, RecursionError)
_NOT_AN_OBJECT = {'details': 'Data must be a dict.'}
_NOT_A_MESSAGE = {'details': 'Data must be a dict or a list.'}
_BATCH_TOO_LARGE = {'details': 'Batch too large.'}


class Dispatcher:
    """Methods, a middleware chain and a JSON codec: the protocol engine shared by every transport.

    Args:
        json_serialize: ``json.dumps``-style callable (``str`` or ``bytes`` out); orjson by default.
        json_deserialize: ``json.loads``-style callable; orjson by default.
        middlewares: ``async def mw(request, handler) -> response`` callables, outermost first.
        methods: an initial ``name -> method`` mapping (used as given, not copied).
        max_batch: the most requests one batch may hold; ``None`` for no limit.

    Attributes:
        methods: the ``name -> BaseJSONRPCMethod`` mapping calls are looked up in.
        middlewares: the middlewares, as given.
    """

    methods: MethodMap
    middlewares: tuple[MiddlewareType, ...]

    def __init__(
        self,
        *,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        middlewares: Iterable[MiddlewareType] = (),
        methods: MutableMapping[str, BaseJSONRPCMethod] | None = None,
        max_batch: int | None = None,
    ) -> None:
        self.methods = {} if methods is None else methods
        for name, method in self.methods.items():  # plain callables given in the mapping get wrapped once
            if not isinstance(method, BaseJSONRPCMethod):
                self.methods[name] = JSONRPCMethod(method, name=name)
        self.middlewares = tuple(middlewares)
        self._json_serialize = json_serialize
        self._json_deserialize = json_deserialize
        self._codec = JSONCodec(json_serialize, json_deserialize)
        self._max_batch = max_batch
        self._chain = build_chain(self.middlewares, self._run_method)
        self._parse_error_reply = self._codec.dumps(
            JSONRPCResponse(error=ParseError(data={'details': 'Invalid JSON'})).dump()
        )

    # -- registry -------------------------------------------------------------------------------------------

    def add_method(self, method: MethodDescription, *, replace: bool = False) -> BaseJSONRPCMethod:
        """Serve ``method`` (a callable or a :class:`~aiohttp_rpc.JSONRPCMethod`) under its name.

        Raises:
            ServerConfigurationError: the name is taken and ``replace`` is false.
        """
        return add_method(self.methods, method, replace=replace)

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve several methods; see :meth:`add_method`."""
        return add_methods(self.methods, methods, replace=replace)

    async def call(
        self,
        method_name: str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a registered method directly (no middlewares) and return its result.

        Raises:
            MethodNotFound: no method has that name.
            JSONRPCError: whatever the method raised.
        """
        method = self.methods.get(method_name)
        if method is None:
            raise MethodNotFound()
        return await method(() if args is None else args, {} if kwargs is None else kwargs, extra_kwargs)

    # -- dispatch -------------------------------------------------------------------------------------------

    @property
    def parse_error_reply(self) -> bytes:
        """The serialized reply to a message that is not valid JSON (-32700, id null)."""
        return self._parse_error_reply

    async def dispatch(self, data: bytes | str, context: MutableMapping[str, Any]) -> bytes | None:
        """Answer one raw message: the reply's bytes, or ``None`` when no reply is due.

        ``context`` is shared by every request of the message (``request.context``).

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        try:
            message = self._codec.loads(data)
        except ValueError:
            logger.debug('Unparsable message (%d bytes)', len(data))
            return self._parse_error_reply
        output = await self.process_message(message, context)
        if output is None:
            return None
        return self.encode(output)

    async def process_message(self, message: Any, context: MutableMapping[str, Any]) -> Any:
        """Answer one decoded message with JSON-ready output: a dict, a list of dicts, or ``None``.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if isinstance(message, dict):
            response = await self._process_one(message, context)
            return None if response is None else response.dump()
        if isinstance(message, list):
            return await self._process_batch(message, context)
        return JSONRPCResponse(error=InvalidRequest(data=_NOT_A_MESSAGE)).dump()

    def encode(self, output: Any) -> bytes:
        """Serialize JSON-ready output; a reply that cannot be serialized becomes Internal error on its own,
        and the rest of its batch is sent as usual."""
        try:
            return self._codec.dumps(output)
        except _ENCODE_ERRORS:
            pass
        if isinstance(output, list):
            return b'[' + b','.join([self._encode_reply(item) for item in output]) + b']'
        return self._encode_reply(output)

    def _encode_reply(self, reply: dict[str, Any]) -> bytes:
        try:
            return self._codec.dumps(reply)
        except _ENCODE_ERRORS:
            logger.exception('Cannot serialize the reply to id=%r', reply.get('id'))
            return self._codec.dumps(JSONRPCResponse(id=reply.get('id'), error=InternalError()).dump())

    async def _process_batch(self, items: list[Any], context: MutableMapping[str, Any]) -> Any:
        if not items:
            return JSONRPCResponse(error=InvalidRequest()).dump()
        if self._max_batch is not None and len(items) > self._max_batch:
            return JSONRPCResponse(error=InvalidRequest(data=_BATCH_TOO_LARGE)).dump()
        responses: list[JSONRPCResponse | None] = [None] * len(items)
        await run_all(lambda item: self._process_one(item, context), items, responses)
        output = [response.dump() for response in responses if response is not None]
        return output or None

    async def _process_one(self, data: Any, context: MutableMapping[str, Any]) -> JSONRPCResponse | None:
        if not isinstance(data, dict):
            return JSONRPCResponse(error=InvalidRequest(data=_NOT_AN_OBJECT))
        try:
            request = JSONRPCRequest.load(data, context=context)
        except JSONRPCError as exc:
            request_id = data.get('id')
            return JSONRPCResponse(id=request_id if is_valid_id(request_id) else None, error=exc)
        try:
            response = await self._chain(request)
            if not isinstance(response, JSONRPCResponse):
                raise TypeError(f'A middleware returned {type(response).__name__}, not JSONRPCResponse.')
        except JSONRPCError as exc:  # raised by a middleware when no exception_middleware is installed
            response = JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=exc)
        except RequestRejected:
            raise
        except Exception:  # the one outer guard: nothing a method or middleware does escapes as a crash
            logger.exception('Unhandled exception in method=%r id=%r', request.method, request.id)
            response = JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=InternalError())
        if request.is_notification:
            return None
        return response

    async def _run_method(self, request: JSONRPCRequest) -> JSONRPCResponse:
        """The innermost handler: look the method up and call it."""
        method = self.methods.get(request.method)
        if method is None:
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=MethodNotFound())
        try:
            result = await method(request.args, request.kwargs, request.extra_kwargs)  # type: ignore[arg-type]
        except JSONRPCError as exc:
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=exc)
        return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, result=result)
