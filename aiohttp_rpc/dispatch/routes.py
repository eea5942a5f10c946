"""The route table: every served name with what answers it, settled once, when the method is registered.

A :class:`Route` is a method under one name together with its own chain: the middlewares of the groups it is
served in and every guard on the way, around the one step that calls the method (:func:`invoke`). The
dispatcher's chain ends in :meth:`Routes.handle`, which looks the route up and enters it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import JSONRPCError, MethodNotFound, ServerConfigurationError, own_error
from ..methods.method import CONTEXT_KEY, REQUEST_KEY, BaseJSONRPCMethod, Guard
from ..methods.registry import as_method, check_name
from ..protocol.response import JSONRPCResponse, reply
from .guards import guard_middleware
from .middleware import Chain, build_chain
from .plain import PlainEntry

if TYPE_CHECKING:
    from ..methods.group import MethodGroup
    from ..methods.registry import MethodDescription
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import MiddlewareType

__all__ = ('Route', 'Routes', 'invoke')

logger = logging.getLogger('aiohttp_rpc.dispatch')

ContextOf = Callable[['JSONRPCRequest'], Awaitable[Any]]
"""How a route gets the request context for a method that declares one (see ``ContextProvider.get``)."""


async def invoke(method: BaseJSONRPCMethod, context_of: ContextOf, request: JSONRPCRequest) -> JSONRPCResponse:
    """Call ``method`` with ``request``'s params: the innermost step of every route. A ``JSONRPCError`` the
    method raises becomes the error of the reply; anything else propagates to the dispatcher's guard."""
    extra_kwargs = request.extra_kwargs
    if method.context_param is not None:
        extra_kwargs = {**extra_kwargs, CONTEXT_KEY: await context_of(request)}
    if method.wants_request and REQUEST_KEY not in extra_kwargs:
        # No inject_request_middleware on this server: the method gets its request all the same.
        extra_kwargs = {**extra_kwargs, REQUEST_KEY: request}
    try:
        result = await method(request.args or (), request.kwargs or {}, extra_kwargs)
    except JSONRPCError as exc:
        return reply(request.id, error=own_error(exc, request.method))
    return reply(request.id, result)


@dataclass(frozen=True, slots=True)
class Route:
    """One served name.

    Attributes:
        name: the name clients call.
        method: the method object.
        handle: the route's chain: group middlewares and guards around the call, built once.
        tags: the prefixes of the groups the name is served under, outermost first.
        never_waits: answering it never suspends (a method that cannot, nothing around it that could), so a
            reader that must not wait may answer it inline.
        guards: the groups' guards (outer groups first), then the method's: what a call of ``name`` must pass
            besides the server's own guards.
    """

    name: str
    method: BaseJSONRPCMethod
    handle: Chain
    tags: tuple[str, ...]
    never_waits: bool
    guards: tuple[Guard, ...] = ()


class Routes:
    """The route table behind a dispatcher, and the ``name -> method`` mapping servers expose as ``methods``.

    The mapping is the source of truth, as in 2.0: a method set on it directly (``server.methods[name] = m``)
    gets its route, guards included, when it is first called or looked at; a route whose method is no longer
    the mapping's is never used.

    Args:
        methods: the mapping to register into (used as given; plain callables in it are wrapped).
        context_of: how methods that declare a context parameter get it.
        executor: for sync methods without an executor of their own, however they are registered.
        validate: the server's ``validate_params`` default.
        context_type: the type of the server's request context, or ``None``.
        allow_late_methods: keep accepting methods once frozen (see :meth:`freeze`).
    """

    def __init__(
        self,
        methods: MutableMapping[str, BaseJSONRPCMethod] | None = None,
        *,
        context_of: ContextOf,
        executor: Executor | None = None,
        validate: bool = False,
        context_type: object = None,
        allow_late_methods: bool = False,
    ) -> None:
        self.methods: MutableMapping[str, BaseJSONRPCMethod] = {} if methods is None else methods
        self.table: dict[str, Route] = {}
        self.plain: dict[str, PlainEntry] = {}  # the plain routes with a bare function: start_plain's table
        self.tag_descriptions: dict[str, str | None] = {}  # group prefix -> the group's description
        self.frozen = False
        self.allow_late_methods = allow_late_methods
        self._registrars: list[Callable[[str, BaseJSONRPCMethod, tuple[MethodGroup, ...]], None]] = []
        self._ignored: set[str] = set()  # names set on the frozen mapping, warned about once
        self._context_of = context_of
        self._executor = executor
        self._validate = validate
        self._context_type = context_type
        for name, method in list(self.methods.items()):
            self.add(method, name=name, replace=True, allow_reserved=True)

    def add(
        self,
        method: MethodDescription,
        *,
        name: str | None = None,
        replace: bool = False,
        allow_reserved: bool = False,
        groups: tuple[MethodGroup, ...] = (),
        prefixes: tuple[str, ...] = (),
    ) -> BaseJSONRPCMethod:
        """Register ``method`` under ``name`` (default: its own name); see ``Dispatcher.add_method``.

        Raises:
            ServerConfigurationError: the name is taken and ``replace`` is false, or it is reserved, or the table
                is frozen.
        """
        given = as_method(method)
        full_name = given.name if name is None else name
        if self.frozen and not self.allow_late_methods:
            raise ServerConfigurationError(
                data={
                    'details': f'Cannot add method {full_name!r}: the server has started serving, and its methods '
                    'are fixed from then on. Add methods before the first request, or build the server with '
                    'allow_late_methods=True.'
                }
            )
        check_name(self.methods, full_name, replace=replace, allow_reserved=allow_reserved)
        # The method as this server serves it: the one given, or one derived from it with this server's
        # validation and context type; the one given is never changed, so servers sharing it do not interfere.
        rpc_method = given.bind(validate=self._validate, context_type=self._context_type, executor=self._executor)
        middlewares: list[MiddlewareType] = []
        guards: list[Guard] = []
        for group in groups:  # each group's guards right after its own middlewares, outer groups first
            middlewares.extend(group.middlewares)
            if group.guards:
                middlewares.append(guard_middleware(group.guards))
                guards.extend(group.guards)
        if rpc_method.guards:
            middlewares.append(guard_middleware(rpc_method.guards))
            guards.extend(rpc_method.guards)
        call: Chain = functools.partial(invoke, rpc_method, self._context_of)
        # plain: nothing wraps the method and it takes no extra_kwargs, so it can be called from the params alone
        plain = not middlewares and not rpc_method.takes_extra_kwargs
        never_waits = not middlewares and rpc_method.cannot_suspend and rpc_method.context_param is None
        handle = build_chain(middlewares, call)
        self.table[full_name] = Route(full_name, rpc_method, handle, prefixes, never_waits, tuple(guards))
        bare = rpc_method.bare if plain else None
        if bare is None:
            self.plain.pop(full_name, None)
        else:
            self.plain[full_name] = (rpc_method, bare)
        self.methods[full_name] = rpc_method
        for companion in rpc_method.companions(full_name):
            served = self.methods.get(companion.name)
            if served is not None and type(served) is type(companion):
                continue  # shared by several methods (one unsubscribe for many subscriptions): served once
            self.add(companion, replace=replace, allow_reserved=allow_reserved, groups=groups, prefixes=prefixes)
        return rpc_method

    def add_group(self, prefix: str, group: MethodGroup, *, replace: bool = False) -> MethodGroup:
        """Serve ``group``'s methods (now and later) as ``prefix.name``."""

        def register(full_name: str, method: BaseJSONRPCMethod, groups: tuple[MethodGroup, ...]) -> None:
            prefixes = tuple(full_name.rsplit('.', n)[0] for n in range(len(groups), 0, -1))
            self.add(method, name=full_name, replace=replace, groups=groups, prefixes=prefixes)
            for tag, served_group in zip(prefixes, groups, strict=True):
                self.tag_descriptions[tag] = served_group.description

        self._registrars.append(register)  # the group holds it weakly: it lives as long as this table
        group.attach(register, prefix)
        return group

    def freeze(self) -> None:
        """Fix the table: from now on :meth:`add` raises (unless ``allow_late_methods``), and a method set on the
        mapping directly is not served (logged once per name). Called when the dispatcher answers its first
        message. Methods set on the mapping directly before then are given their routes now."""
        for name in list(self.methods):
            self.get(name)
        self.frozen = True

    def get(self, name: str) -> Route | None:
        """The route serving ``name``, or ``None``."""
        route = self.table.get(name)
        method = self.methods.get(name)
        if route is not None and route.method is method:
            return route
        if method is None:
            return None
        if self.frozen and not self.allow_late_methods:
            if name not in self._ignored:
                self._ignored.add(name)
                logger.warning(
                    'Method %r was set on server.methods after the server started serving: it is not served. '
                    'Add methods before the first request, or build the server with allow_late_methods=True.',
                    name,
                )
            return None
        self.add(method, name=name, replace=True, allow_reserved=True)  # set on the mapping directly
        return self.table[name]

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The group prefixes ``name`` is served under (outermost first)."""
        route = self.get(name)
        return () if route is None else route.tags

    def guards_of(self, name: str) -> tuple[Guard, ...]:
        """The guards of ``name``'s groups and of the method itself (see :attr:`Route.guards`)."""
        route = self.get(name)
        return () if route is None else route.guards

    def handle(self, request: JSONRPCRequest) -> Coroutine[Any, Any, JSONRPCResponse]:
        """The innermost handler of the dispatcher's chain: enter the route of ``request.method``."""
        name = request.method
        route = self.table.get(name)
        if route is not None and route.method is self.methods.get(name):
            return route.handle(request)
        route = self.get(name)
        if route is None:
            return _answer(reply(request.id, error=MethodNotFound()))
        return route.handle(request)


async def _answer(response: JSONRPCResponse) -> JSONRPCResponse:
    return response
