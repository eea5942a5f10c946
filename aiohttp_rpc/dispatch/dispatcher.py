"""The dispatcher: bytes in -> parse -> validate -> middleware chain -> method -> serialize -> bytes out.

The one engine behind every transport (HTTP, WebSocket, in-process) and both directions of a WebSocket. It knows
nothing of aiohttp: a transport awaits :meth:`Dispatcher.dispatch` with a message and a context mapping, and gets
the bytes to send, or ``None`` (notifications). How a call runs is :mod:`~aiohttp_rpc.dispatch.pipeline`'s business.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping, MutableMapping, Sequence
from concurrent.futures import Executor
from typing import Any

from ..errors import MethodNotFound, ParseError
from ..methods.contract import contract_methods
from ..methods.group import MethodGroup
from ..methods.method import BaseJSONRPCMethod, Guard
from ..methods.registry import ApiInfo, MethodDescription
from ..protocol.context import RequestContext
from ..protocol.response import error_reply
from ..serialization import JSONCodec, json_deserialize, json_serialize
from ..serialization import json_deserialize as default_json_deserialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from .context import ContextFactory, ContextProvider
from .encoder import DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_RESPONSE_SIZE, ReplyEncoder
from .guards import guard_middleware
from .middleware import transparent
from .pipeline import OnWait, Pipeline
from .routes import Routes

__all__ = (
    'DEFAULT_BATCH_CONCURRENCY',
    'DEFAULT_CALL_TIMEOUT',
    'DEFAULT_MAX_BATCH',
    'DEFAULT_MAX_METHOD_LENGTH',
    'Dispatcher',
)

DEFAULT_MAX_BATCH = 1000
"""Requests one batch may hold."""

DEFAULT_BATCH_CONCURRENCY = 100
"""Members of one batch that may wait at the same time."""

DEFAULT_MAX_METHOD_LENGTH = 2048
"""Characters a method name may have."""

DEFAULT_CALL_TIMEOUT = 30.0
"""Seconds one call may run before it is cancelled and answered with -32002."""


class Dispatcher:
    """Methods, a middleware chain and a JSON codec: the protocol engine shared by every transport.

    Args:
        json_serialize: ``json.dumps``-style callable (``str`` or ``bytes`` out); orjson by default.
        json_deserialize: ``json.loads``-style callable; orjson by default.
        middlewares: ``async def mw(request, handler) -> response`` callables, outermost first.
        methods: an initial ``name -> method`` mapping (used as given, not copied: it is :attr:`methods`).
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
        sync_executor: run every sync method without an executor of its own in this
            ``concurrent.futures.Executor`` instead of on the event loop (``None``: inline, as in 2.0), however it
            was registered. ``call_timeout`` cannot stop a thread; the pool's size bounds the calls running.
        validate_params: check params against each method's type annotations (pydantic, the ``typed``
            extra); a method's own ``JSONRPCMethod(validate=...)`` wins. Off by default, as in 2.0.
        context_factory: ``factory(http_request) -> context`` (sync or async), called at most once per
            message and only when the method called declares a context parameter (annotated with
            ``context_type``, or named ``rpc_context``).
        context_type: the type methods annotate to receive the context; by default the factory's return
            annotation.
        guards: checks run before every method (after the middlewares); see :class:`~aiohttp_rpc.JSONRPCMethod`.
        allow_late_methods: keep accepting new methods after the first message is answered. By default the
            registry is frozen then (:meth:`freeze`): adding a method raises ``ServerConfigurationError``, and a
            method set on :attr:`methods` directly is not served (a warning is logged once per name).

    Every limit is disabled by ``None``.

    Attributes:
        methods: the ``name -> BaseJSONRPCMethod`` mapping calls are looked up in; a method set on it directly is
            served as :meth:`add_method` would serve it, guards included.
        middlewares: the middlewares, as given.
        codec: the JSON codec.
    """

    methods: MutableMapping[str, BaseJSONRPCMethod]
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
        context_type: object = None,
        guards: Iterable[Guard] = (),
        allow_late_methods: bool = False,
    ) -> None:
        self.sync_executor = sync_executor
        self.codec = JSONCodec(json_serialize, json_deserialize)
        context = ContextProvider(context_factory, context_type)
        self._routes = Routes(
            methods,
            context_of=context.get,
            executor=sync_executor,
            validate=validate_params,
            context_type=context.context_type,
            allow_late_methods=allow_late_methods,
        )
        self.methods = self._routes.methods
        self.middlewares = tuple(middlewares)
        self.guards = tuple(guards)
        self.api_info: ApiInfo | None = None
        server_middlewares = (*self.middlewares, guard_middleware(self.guards)) if self.guards else self.middlewares
        self._transparent = not self.guards and transparent(self.middlewares)
        encoder = ReplyEncoder(
            self.codec,
            max_response_size=max_response_size,
            max_batch_response_size=max_batch_response_size,
            strict_floats=strict_floats,
        )
        self.parse_error_reply = self.codec.dumps(error_reply(None, ParseError(data={'details': 'Invalid JSON'})))
        """The serialized reply to a message that is not valid JSON (-32700, id null)."""
        self._loads = json_deserialize if json_deserialize is default_json_deserialize else self.codec.loads
        self._pipeline = Pipeline(
            server_middlewares,
            self._routes,
            encoder,
            call_timeout=call_timeout,
            max_batch=max_batch,
            batch_concurrency=batch_concurrency,
            max_method_length=max_method_length,
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

    def add_api(
        self, api: Callable[..., Any], impl: object, *, prefix: str | None = None, validate: bool = True
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve ``impl``'s methods under the names of the ``typing.Protocol`` ``api`` (as ``prefix.name``: a
        group described by ``api``'s docstring), params checked against its types (see
        :mod:`~aiohttp_rpc.methods.contract`).

        Raises:
            ServerConfigurationError: ``impl`` does not match ``api``, or a name is taken.
        """
        methods = contract_methods(api, impl, validate=validate)
        if prefix is None:
            return self.add_methods(methods)
        self.add_group(prefix, MethodGroup(methods=methods, description=inspect.getdoc(api)))
        return tuple(methods)

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The prefixes of the groups method ``name`` is served under, outermost first."""
        return self._routes.tags_of(name)

    def describe_tag(self, tag: str) -> str | None:
        """The description of the group served under the prefix ``tag``, if it has one."""
        return self._routes.tag_descriptions.get(tag)

    def guards_of(self, name: str) -> tuple[Guard, ...]:
        """Every guard a call of ``name`` must pass, in the order they run: the server's, its groups', its own."""
        return (*self.guards, *self._routes.guards_of(name))

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

    @property
    def frozen(self) -> bool:
        """Whether the registry is frozen (see :meth:`freeze`)."""
        return self._routes.frozen

    def freeze(self) -> None:
        """Fix the registry; done by the first :meth:`dispatch`. From then on :meth:`add_method` (and the rest)
        raise ``ServerConfigurationError`` unless the dispatcher was built with ``allow_late_methods=True``."""
        self._routes.freeze()

    # -- dispatch -------------------------------------------------------------------------------------------

    def dispatch(
        self, data: bytes | str, context: Mapping[str, object] | None = None, *, on_wait: OnWait | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        """Answer one raw message: await it for the reply's bytes, or ``None`` when no reply is due. ``context``
        becomes the message's :class:`~aiohttp_rpc.RequestContext` (``request.context``, shared by a batch): one is
        used as it is, any other mapping copied into a new one; it starts empty by default. ``on_wait`` is called
        with it if the answer waits (:data:`~aiohttp_rpc.dispatch.pipeline.OnWait`).

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if not self._routes.frozen:
            self.freeze()
        if type(context) is not RequestContext:  # what the transports pass: no call to convert it
            context = _as_context(context)
        try:
            message = self._loads(data)
        except ValueError:
            return _returning(self.parse_error_reply)
        return self._pipeline.answer(message, context, on_wait)  # not awaited here: one frame less per message

    def dispatch_message(
        self, message: object, context: Mapping[str, object] | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        """:meth:`dispatch` for a decoded message (a WebSocket reader decodes to tell replies from requests).

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if not self._routes.frozen:
            self.freeze()
        return self._pipeline.answer(message, _as_context(context))

    def never_waits(self, message: object) -> bool:
        """Whether answering ``message`` certainly completes without waiting for anything: a single call to a
        method whose code never awaits, with only built-in middlewares around it, or a malformed one, whose error
        is known at once. A reader that must never wait answers such a message itself and any other in a task
        of its own, so that a call finishes in the task it started in."""
        if type(message) is not dict or not self._transparent:
            return False
        method_name = message.get('method')
        if type(method_name) is not str:
            return True
        route = self._routes.get(method_name)
        return route is None or route.never_waits


async def _returning(value: bytes) -> bytes:
    return value


def _as_context(context: Mapping[str, object] | None) -> RequestContext:
    if isinstance(context, RequestContext):
        return context
    return RequestContext() if context is None else RequestContext(context)
