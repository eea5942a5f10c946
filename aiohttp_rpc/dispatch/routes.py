"""The method registry: names to methods, plus the scope (group middlewares, guards) of those that have one.

Everything about a method is settled here, at registration: it is wrapped, told the server's defaults
(validation, context type), and given its own chain if any group middleware or guard applies to it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Coroutine, MutableMapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from ..methods.method import BaseJSONRPCMethod
from ..methods.registry import as_method, check_name
from .middleware import build_chain
from .scope import Scope, guard_middleware

if TYPE_CHECKING:
    from ..methods.group import MethodGroup
    from ..methods.registry import MethodDescription
    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import MiddlewareType

__all__ = ('Routes',)

Invoke = Callable[[BaseJSONRPCMethod, 'JSONRPCRequest'], Coroutine[Any, Any, 'JSONRPCResponse']]


class Routes:
    """``name -> method`` (the ``methods`` mapping servers expose) and the scopes of grouped/guarded methods.

    Args:
        methods: the mapping to register into (used as given; plain callables in it are wrapped).
        invoke: how the dispatcher calls a method for a request (the innermost step of every scope).
        executor: for sync methods added as plain callables.
        validate: the server's ``validate_params`` default.
        context_type: the type of the server's request context, or ``None``.
    """

    def __init__(
        self,
        methods: MutableMapping[str, BaseJSONRPCMethod] | None,
        *,
        invoke: Invoke,
        executor: Executor | None = None,
        validate: bool = False,
        context_type: Any = None,
    ) -> None:
        self.methods: MutableMapping[str, BaseJSONRPCMethod] = {} if methods is None else methods
        self.scopes: dict[str, Scope] = {}
        self._tags: dict[str, tuple[str, ...]] = {}
        self._invoke = invoke
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
            ServerConfigurationError: the name is taken and ``replace`` is false, or it is reserved.
        """
        rpc_method = as_method(method, executor=self._executor)
        full_name = rpc_method.name if name is None else name
        check_name(self.methods, full_name, replace=replace, allow_reserved=allow_reserved)
        settings = (self._validate, self._context_type)
        if getattr(rpc_method, 'configured_with', None) not in (None, settings):
            # Already serving on a server with other defaults: this server gets its own copy, so neither
            # changes how the other validates or injects its context.
            rpc_method = copy.copy(rpc_method)
        rpc_method.configure(validate=self._validate, context_type=self._context_type)
        middlewares: list[MiddlewareType] = []
        for group in groups:  # each group's guards right after its own middlewares, outer groups first
            middlewares.extend(group.middlewares)
            if group.guards:
                middlewares.append(guard_middleware(group.guards))
        if rpc_method.guards:
            middlewares.append(guard_middleware(rpc_method.guards))
        self.scopes.pop(full_name, None)
        self._tags[full_name] = prefixes
        if middlewares:
            invoke = self._invoke

            async def call(request: JSONRPCRequest) -> JSONRPCResponse:
                return await invoke(rpc_method, request)

            self.scopes[full_name] = Scope(rpc_method, build_chain(middlewares, call))
        self.methods[full_name] = rpc_method
        return rpc_method

    def add_group(self, prefix: str, group: MethodGroup, *, replace: bool = False) -> MethodGroup:
        """Serve ``group``'s methods (now and later) as ``prefix.name``."""

        def register(full_name: str, method: BaseJSONRPCMethod, groups: tuple[MethodGroup, ...]) -> None:
            prefixes = tuple(full_name.rsplit('.', n)[0] for n in range(len(groups), 0, -1))
            self.add(method, name=full_name, replace=replace, groups=groups, prefixes=prefixes)

        group.attach(register, prefix)
        return group

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The group prefixes ``name`` is served under (outermost first)."""
        return self._tags.get(name, ())
