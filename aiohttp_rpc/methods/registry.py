"""Adding methods to a name -> method mapping, with the duplicate check servers and clients share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TypeAlias

from ..errors import ServerConfigurationError
from .method import BaseJSONRPCMethod, as_method

__all__ = ('MethodDescription', 'MethodMap', 'add_method', 'add_methods')

MethodDescription: TypeAlias = BaseJSONRPCMethod | Callable[..., Any]
"""What ``add_method`` accepts: a method object or any callable."""

MethodMap: TypeAlias = MutableMapping[str, BaseJSONRPCMethod]


def add_method(methods: MethodMap, method: MethodDescription, *, replace: bool = False) -> BaseJSONRPCMethod:
    """Register ``method`` in ``methods`` under its name and return the method object.

    Raises:
        ServerConfigurationError: the name is taken and ``replace`` is false.
    """
    rpc_method = as_method(method)
    if not replace and rpc_method.name in methods:
        raise ServerConfigurationError(data={'details': f'Method {rpc_method.name} has already been added.'})
    methods[rpc_method.name] = rpc_method
    return rpc_method


def add_methods(
    methods: MethodMap, new_methods: Iterable[MethodDescription], *, replace: bool = False
) -> tuple[BaseJSONRPCMethod, ...]:
    """Register several methods; see :func:`add_method`."""
    return tuple(add_method(methods, method, replace=replace) for method in new_methods)
