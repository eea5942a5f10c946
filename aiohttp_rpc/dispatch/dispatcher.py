"""The dispatcher: bytes in -> parse -> validate -> middleware chain -> method -> serialize -> bytes out.

It is the one engine behind every transport (HTTP, WebSocket, in-process) and both directions of a
WebSocket. It knows nothing of aiohttp: a transport hands it a message and a context mapping, and gets back
the bytes to send, or ``None`` when nothing is to be sent (notifications).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine, Iterable, Mapping, MutableMapping, Sequence
from concurrent.futures import Executor
from types import CoroutineType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..methods.group import MethodGroup

from ..constants import NOTHING, VERSION_2_0
from ..errors import (
    CallTimeout,
    InternalError,
    InvalidRequest,
    JSONRPCError,
    MethodNotFound,
    ParseError,
    RequestRejected,
)
from ..methods.method import CONTEXT_KEY, BaseJSONRPCMethod, Guard
from ..methods.registry import MethodDescription, MethodMap
from ..protocol.request import JSONRPCRequest, is_valid_id
from ..protocol.response import JSONRPCResponse, reply
from ..serialization import JSONCodec, json_deserialize, json_serialize
from ..serialization import json_deserialize as default_json_deserialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from .context import ContextFactory, ContextProvider
from .eager import DeadlineExceeded, finish_within, run_all, send_none
from .encoder import DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_RESPONSE_SIZE, ReplyEncoder
from .middleware import build_chain, fold_default_middlewares
from .middleware import logger as middleware_logger
from .routes import Routes
from .scope import guard_middleware

__all__ = (
    'DEFAULT_BATCH_CONCURRENCY',
    'DEFAULT_CALL_TIMEOUT',
    'DEFAULT_MAX_BATCH',
    'DEFAULT_MAX_METHOD_LENGTH',
    'Dispatcher',
)

logger = logging.getLogger('aiohttp_rpc.dispatch')

DEFAULT_MAX_BATCH = 1000
"""Requests one batch may hold."""

DEFAULT_BATCH_CONCURRENCY = 100
"""Members of one batch that may wait at the same time."""

DEFAULT_MAX_METHOD_LENGTH = 2048
"""Characters a method name may have."""

DEFAULT_CALL_TIMEOUT = 30.0
"""Seconds one call may run before it is cancelled and answered with -32002."""
_NOT_AN_OBJECT = {'details': 'Data must be a dict.'}
_NOT_A_MESSAGE = {'details': 'Data must be a dict or a list.'}
_BATCH_TOO_LARGE = {'details': 'Batch too large.'}
_METHOD_TOO_LONG = {'details': 'Method name too long.'}


class Dispatcher:
    """Methods, a middleware chain and a JSON codec: the protocol engine shared by every transport.

    Args:
        json_serialize: ``json.dumps``-style callable (``str`` or ``bytes`` out); orjson by default.
        json_deserialize: ``json.loads``-style callable; orjson by default.
        middlewares: ``async def mw(request, handler) -> response`` callables, outermost first.
        methods: an initial ``name -> method`` mapping (used as given, not copied).
        max_batch: the most requests one batch may hold (1000); more gets one Invalid Request error.
        batch_concurrency: batch members waiting at the same time (100); the rest start as others finish.
        call_timeout: seconds a call may run (30); then it is cancelled and answered with -32002.
        max_response_size: bytes one reply may take (10 MiB); a larger one is answered with -32003.
        max_batch_response_size: bytes a batch reply may take (25 MB); members past it get -32003.
        max_method_length: characters a method name may have (2048); a longer one gets -32600.
        strict_floats: a result holding ``NaN`` or an infinity is answered with -32603 (the default). False
            writes them as ``null``, as orjson and JavaScript's ``JSON.stringify`` do, and skips the check,
            which walks every reply that encodes a ``null`` (default serializer only; see
            :class:`~aiohttp_rpc.dispatch.encoder.ReplyEncoder`).
        sync_executor: run sync methods added as plain callables in this ``concurrent.futures.Executor``
            instead of on the event loop (``None``: inline, as in 2.0).
        validate_params: check params against each method's type annotations (pydantic, the ``typed``
            extra); a method's own ``JSONRPCMethod(validate=...)`` wins. Off by default, as in 2.0.
        context_factory: ``factory(http_request) -> context`` (sync or async), called at most once per
            message and only when the method called declares a context parameter (annotated with
            ``context_type``, or named ``rpc_context``).
        context_type: the type methods annotate to receive the context; by default the factory's return
            annotation.
        guards: checks run before every method (after the middlewares); see :class:`~aiohttp_rpc.JSONRPCMethod`.

    Every limit is disabled by ``None``.

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
        max_batch: int | None = DEFAULT_MAX_BATCH,
        batch_concurrency: int | None = DEFAULT_BATCH_CONCURRENCY,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        max_batch_response_size: int | None = DEFAULT_MAX_BATCH_RESPONSE_SIZE,
        max_method_length: int | None = DEFAULT_MAX_METHOD_LENGTH,
        strict_floats: bool = True,
        sync_executor: Executor | None = None,
        validate_params: bool = False,
        context_factory: ContextFactory | None = None,
        context_type: Any = None,
        guards: Iterable[Guard] = (),
    ) -> None:
        self.sync_executor = sync_executor
        self._context = ContextProvider(context_factory, context_type)
        self._routes = Routes(
            methods,
            invoke=self._invoke,
            executor=sync_executor,
            validate=validate_params,
            context_type=self._context.context_type,
        )
        self.methods = self._routes.methods
        self._scopes = self._routes.scopes
        self.middlewares = tuple(middlewares)
        self.guards = tuple(guards)
        self._json_serialize = json_serialize
        self._json_deserialize = json_deserialize
        self._codec = JSONCodec(json_serialize, json_deserialize)
        self._loads = json_deserialize if json_deserialize is default_json_deserialize else self._codec.loads
        self._max_batch = max_batch
        self._batch_concurrency = batch_concurrency
        self._call_timeout = call_timeout
        self._max_method_length = max_method_length
        self._max_name_length = sys.maxsize if max_method_length is None else max_method_length
        self._encoder = ReplyEncoder(
            self._codec,
            max_response_size=max_response_size,
            max_batch_response_size=max_batch_response_size,
            strict_floats=strict_floats,
        )
        self._encode_reply = self._encoder.encode_reply
        chain_middlewares, self._inject_request, fused_exceptions = fold_default_middlewares(self.middlewares)
        self._lean = not chain_middlewares and not self.guards
        self._guard_logger = middleware_logger if fused_exceptions else logger
        if self.guards:
            chain_middlewares = (*chain_middlewares, guard_middleware(self.guards))
        self._chain = build_chain(chain_middlewares, self._run_method)
        self._parse_error_reply = self._codec.dumps(
            JSONRPCResponse(error=ParseError(data={'details': 'Invalid JSON'})).dump()
        )

    # -- registry -------------------------------------------------------------------------------------------

    def add_method(
        self, method: MethodDescription, *, replace: bool = False, allow_reserved: bool = False
    ) -> BaseJSONRPCMethod:
        """Serve ``method`` (a callable or a :class:`~aiohttp_rpc.JSONRPCMethod`) under its name.

        Names starting with ``rpc.`` are reserved by the specification for system extensions; pass
        ``allow_reserved=True`` to serve one (e.g. ``rpc.discover``).

        Raises:
            ServerConfigurationError: the name is taken and ``replace`` is false, or it is reserved, or
                validation was asked for and cannot be set up (pydantic missing, unsupported type).
        """
        return self._routes.add(method, replace=replace, allow_reserved=allow_reserved)

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False, allow_reserved: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve several methods; see :meth:`add_method`."""
        return tuple(self.add_method(method, replace=replace, allow_reserved=allow_reserved) for method in methods)

    def add_group(self, prefix: str, group: MethodGroup, *, replace: bool = False) -> MethodGroup:
        """Serve ``group``'s methods as ``prefix.name`` (nested groups as ``prefix.sub.name``), with the
        group's middlewares and guards; methods added to the group later are served too.

        Raises:
            ServerConfigurationError: a resulting name is taken and ``replace`` is false.
        """
        return self._routes.add_group(prefix, group, replace=replace)

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The prefixes of the groups method ``name`` is served under, outermost first."""
        return self._routes.tags_of(name)

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
        started = self.start_dispatch(data, context)
        if type(started) is CoroutineType:
            return await started  # type: ignore[no-any-return]
        return started  # type: ignore[return-value]

    def start_dispatch(
        self, data: bytes | str, context: MutableMapping[str, Any], *, copy_context: bool = False
    ) -> bytes | Coroutine[Any, Any, bytes | None] | None:
        """:meth:`dispatch` without awaiting: decode, then as :meth:`start_answer`.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        try:
            message = self._loads(data)
        except ValueError:
            logger.debug('Unparsable message (%d bytes)', len(data))
            return self._parse_error_reply
        return self.start_answer(message, context, copy_context)

    async def answer(self, message: Any, context: MutableMapping[str, Any]) -> bytes | None:
        """Answer one decoded message: the reply's bytes, or ``None`` when no reply is due.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        started = self.start_answer(message, context)
        if type(started) is CoroutineType:
            return await started  # type: ignore[no-any-return]
        return started  # type: ignore[return-value]

    def start_answer(
        self, message: Any, context: MutableMapping[str, Any], copy_context: bool = False
    ) -> bytes | Coroutine[Any, Any, bytes | None] | None:
        """Start answering one decoded message, without awaiting: the reply's bytes or ``None`` when that is
        known at once (a single call whose method did not wait: most), otherwise a coroutine, not yet started,
        that finishes the work and returns them. What :meth:`answer` does, minus a coroutine for most calls.

        With ``copy_context``, ``context`` is a template: the message's requests share a copy of it, made only
        if a request object is built (a method on the direct path gets none), so one mapping can serve every
        message of a connection.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if type(message) is not dict:
            return self._encode_later(self.process_message(message, dict(context) if copy_context else context))
        output = self._start_one(message, context, copy_context)
        if type(output) is dict:  # answered at once: the commonest case first
            return self._encode_reply(output)
        if output is None:
            return None
        return self._encode_later(output)

    async def _encode_later(self, waiting: Coroutine[Any, Any, Any]) -> bytes | None:
        output = await waiting
        return None if output is None else self._encoder.encode(output)

    async def process_message(self, message: Any, context: MutableMapping[str, Any]) -> Any:
        """Answer one decoded message with JSON-ready output: a dict, a list of dicts, or ``None``.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if isinstance(message, dict):
            output = self._start_one(message, context)
            return (await output) if type(output) is CoroutineType else output
        if isinstance(message, list):
            return await self._process_batch(message, context)
        return JSONRPCResponse(error=InvalidRequest(data=_NOT_A_MESSAGE)).dump()

    def encode(self, output: Any) -> bytes:
        """Serialize JSON-ready output as strict JSON; a reply that cannot be serialized becomes Internal
        error, a reply over the size limits Response too large, each on its own (see
        :mod:`~aiohttp_rpc.dispatch.encoder`)."""
        return self._encoder.encode(output)

    async def _process_batch(self, items: list[Any], context: MutableMapping[str, Any]) -> Any:
        if not items:
            return JSONRPCResponse(error=InvalidRequest()).dump()
        if self._max_batch is not None and len(items) > self._max_batch:
            return JSONRPCResponse(error=InvalidRequest(data=_BATCH_TOO_LARGE)).dump()
        outputs: list[dict[str, Any] | None] = [None] * len(items)
        await run_all(self._start_one, items, context, outputs, limit=self._batch_concurrency)
        return [output for output in outputs if output is not None] or None

    def _start_one(self, data: Any, context: MutableMapping[str, Any], copy_context: bool = False) -> Any:
        """Start answering one request object, without awaiting.

        Returns its JSON-ready reply, or ``None`` for a notification, when the call completed without waiting
        (most do: a call that never waits needs no timeout timer and no coroutine of ours); otherwise a
        coroutine, not yet started, that finishes the call (under the call timeout) and returns the reply.

        The direct path: a well-formed request, on a server whose middlewares all folded away (the defaults)
        and with no server guards, to a method that is a plain coroutine function with nothing around it (no
        validation, context, ``rpc_request``, guards, group scope or ``prepare_result``), calls the function
        straight with the params. It behaves exactly as the full path, minus two objects and two frames per
        call (benchmarks: every ``ping`` row). Anything else, every malformed request included, takes the full
        path, which gives the precise error.

        With ``copy_context``, the request object (if one is built) gets a copy of ``context``.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        coro: Coroutine[Any, Any, Any] | None = None
        if self._lean and type(data) is dict:
            method_name = data.get('method')
            request_id = data.get('id')
            if (
                type(method_name) is str
                and (request_id is None or type(request_id) is int or type(request_id) is str)
                and data.get('jsonrpc') == VERSION_2_0
                and len(method_name) <= self._max_name_length
                and method_name not in self._scopes
            ):
                func = getattr(self.methods.get(method_name), 'direct_func', None)
                if func is not None:
                    params = data.get('params', NOTHING)
                    params_type = type(params)
                    try:
                        if params_type is list:
                            coro = func(*params)
                        elif params_type is dict:
                            coro = func(**params)
                        elif params is NOTHING:
                            coro = func()
                    except TypeError:
                        # Calling a coroutine function runs none of its body: only the arguments can be wrong.
                        # The full path makes the same call again and answers it as for any other method.
                        coro = None
        direct = coro is not None
        if coro is not None:
            is_notification = request_id is None and 'id' not in data
        else:
            if not isinstance(data, dict):
                return _error_output(None, InvalidRequest(data=_NOT_AN_OBJECT))
            try:
                request = JSONRPCRequest.from_message(data, dict(context) if copy_context else context)
            except JSONRPCError as exc:
                request_id = data.get('id')
                return _error_output(request_id if is_valid_id(request_id) else None, exc)
            if len(request.method) > self._max_name_length:
                return _error_output(request.id, InvalidRequest(data=_METHOD_TOO_LONG))
            coro = self._chain(request)
            request_id, method_name, is_notification = request.id, request.method, request.is_notification
        try:
            finished, value = send_none(coro)
        except BaseException as exc:  # noqa: BLE001 - sorted by _failed, which re-raises what must go on
            output = self._failed(exc, request_id, method_name)
        else:
            if not finished:
                return self._finish_one(coro, value, request_id, method_name, is_notification, direct)
            if direct:  # _completed, inline for the commonest case
                output = {'id': request_id, 'jsonrpc': VERSION_2_0, 'result': value}
            else:
                output = self._completed(value, request_id, method_name, direct)
        return None if is_notification else output

    def answers_at_once(self, message: Any) -> bool:
        """Whether :meth:`start_answer` certainly answers ``message`` without waiting for anything: a single call
        on the direct path (see :meth:`_start_one`) to a method that cannot suspend (``cannot_suspend``), or a
        malformed one, whose error is known at once. A reader that must never wait answers such a message itself
        and starts any other in a task of its own, so that a call finishes in the task it started in."""
        if type(message) is not dict or not self._lean:
            return False
        method_name = message.get('method')
        if type(method_name) is not str:
            return True
        if method_name in self._scopes:
            return False
        return getattr(self.methods.get(method_name), 'cannot_suspend', False) is True

    async def _finish_one(
        self,
        coro: Coroutine[Any, Any, Any],
        yielded: Any,
        request_id: Any,
        method_name: Any,
        is_notification: bool,
        direct: bool,
    ) -> dict[str, Any] | None:
        """The rest of a call whose first step waited (see :meth:`_start_one`), under the call timeout."""
        try:
            outcome = await finish_within(coro, yielded, self._call_timeout)
        except BaseException as exc:  # noqa: BLE001 - sorted by _failed, which re-raises what must go on
            output = self._failed(exc, request_id, method_name)
        else:
            output = self._completed(outcome, request_id, method_name, direct)
        return None if is_notification else output

    def _completed(self, outcome: Any, request_id: Any, method_name: Any, direct: bool) -> dict[str, Any]:
        """The reply to a call that returned: the method's result (direct path) or the chain's response."""
        if direct:
            return {'id': request_id, 'jsonrpc': VERSION_2_0, 'result': outcome}
        if type(outcome) is JSONRPCResponse or isinstance(outcome, JSONRPCResponse):
            return outcome.dump()
        problem = TypeError(f'A middleware returned {type(outcome).__name__}, not JSONRPCResponse.')
        return self._failed(problem, request_id, method_name)

    def _failed(self, exc: BaseException, request_id: Any, method_name: Any) -> dict[str, Any]:
        """The reply to a call that raised; re-raises what is not the call's own failure (a refusal of the
        whole message, our own cancellation, ``KeyboardInterrupt`` and the like)."""
        if isinstance(exc, JSONRPCError):  # raised by the method (direct) or by a middleware
            return _error_output(request_id, exc)
        if isinstance(exc, DeadlineExceeded):
            logger.warning('Call timed out and was cancelled: method=%r id=%r', method_name, request_id)
            return _error_output(request_id, CallTimeout())
        if isinstance(exc, RequestRejected):
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            if _being_cancelled():
                raise exc  # our own cancellation (client gone, shutdown): let it through
            # The method raised CancelledError itself; that is a failure of the method, not of the call.
            logger.error('Method raised CancelledError: method=%r id=%r', method_name, request_id, exc_info=exc)
            return _error_output(request_id, InternalError())
        if isinstance(exc, Exception):  # the one outer guard: nothing a method or middleware does escapes
            self._guard_logger.error('Unhandled exception in method=%r id=%r', method_name, request_id, exc_info=exc)
            return _error_output(request_id, InternalError())
        raise exc

    async def _run_method(self, request: JSONRPCRequest) -> JSONRPCResponse:
        """The innermost handler of the server's chain: look the method up and call it (through its scope,
        when groups or guards wrap it)."""
        if self._inject_request:  # inject_request_middleware, folded in (see fold_default_middlewares)
            request.extra_kwargs['rpc_request'] = request
        method = self.methods.get(request.method)
        if method is None:
            return reply(request.id, error=MethodNotFound())
        if self._routes.scopes:
            scope = self._routes.scopes.get(request.method)
            if scope is not None and scope.method is method:
                return await scope.chain(request)
        # What _invoke does, inline: one coroutine frame less on every call (benchmarks: dispatch rows).
        extra_kwargs = request.extra_kwargs
        if method.context_param is not None:
            extra_kwargs = {**extra_kwargs, CONTEXT_KEY: await self._context.get(request)}
        try:
            result = await method(request.args, request.kwargs, extra_kwargs)  # type: ignore[arg-type]
        except JSONRPCError as exc:
            return reply(request.id, error=exc)
        return reply(request.id, result)

    async def _invoke(self, method: BaseJSONRPCMethod, request: JSONRPCRequest) -> JSONRPCResponse:
        extra_kwargs = request.extra_kwargs
        if method.context_param is not None:
            extra_kwargs = {**extra_kwargs, CONTEXT_KEY: await self._context.get(request)}
        try:
            result = await method(request.args, request.kwargs, extra_kwargs)  # type: ignore[arg-type]
        except JSONRPCError as exc:
            return reply(request.id, error=exc)
        return reply(request.id, result)


def _error_output(request_id: Any, error: JSONRPCError) -> dict[str, Any]:
    """The JSON-ready reply carrying ``error`` (what ``JSONRPCResponse(id=..., error=...).dump()`` gives)."""
    return {'id': request_id, 'jsonrpc': VERSION_2_0, 'error': error.to_dict()}


def _being_cancelled() -> bool:
    """Whether the current task has a cancellation request pending (always assumed on Python 3.10, which
    cannot tell)."""
    task = asyncio.current_task()
    cancelling = getattr(task, 'cancelling', None)
    return cancelling is None or bool(cancelling())
