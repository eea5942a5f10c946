"""Adding methods to a name -> method mapping, with the duplicate check servers and clients share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from concurrent.futures import Executor
from typing import Any, TypeAlias

from ..errors import ServerConfigurationError
from .method import BaseJSONRPCMethod, JSONRPCMethod

__all__ = ('RESERVED_PREFIX', 'MethodDescription', 'MethodMap', 'add_method', 'add_methods')

MethodDescription: TypeAlias = BaseJSONRPCMethod | Callable[..., Any]
"""What ``add_method`` accepts: a method object or any callable."""

MethodMap: TypeAlias = MutableMapping[str, BaseJSONRPCMethod]


RESERVED_PREFIX = 'rpc.'
"""Method names the specification reserves for system extensions."""


def add_method(
    methods: MethodMap,
    method: MethodDescription,
    *,
    replace: bool = False,
    allow_reserved: bool = False,
    executor: Executor | None = None,
) -> BaseJSONRPCMethod:
    """Register ``method`` in ``methods`` under its name and return the method object.

    A plain callable is wrapped in :class:`JSONRPCMethod` (running in ``executor`` when it is sync and one is
    given).

    Raises:
        ServerConfigurationError: the name is taken and ``replace`` is false, or it starts with ``rpc.`` and
            ``allow_reserved`` is false.
    """
    rpc_method = method if isinstance(method, BaseJSONRPCMethod) else JSONRPCMethod(method, executor=executor)
    if rpc_method.name.startswith(RESERVED_PREFIX) and not allow_reserved:
        raise ServerConfigurationError(
            data={'details': f'Method names starting with "{RESERVED_PREFIX}" are reserved; pass allow_reserved=True.'}
        )
    if not replace and rpc_method.name in methods:
        raise ServerConfigurationError(data={'details': f'Method {rpc_method.name} has already been added.'})
    methods[rpc_method.name] = rpc_method
    return rpc_method


def add_methods(
    methods: MethodMap,
    new_methods: Iterable[MethodDescription],
    *,
    replace: bool = False,
    allow_reserved: bool = False,
    executor: Executor | None = None,
) -> tuple[BaseJSONRPCMethod, ...]:
    """Register several methods; see :func:`add_method`."""
    return tuple(
        add_method(methods, method, replace=replace, allow_reserved=allow_reserved, executor=executor)
        for method in new_methods
    )
