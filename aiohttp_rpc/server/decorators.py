"""The ``rpc_method`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..methods.method import JSONRPCMethod, PrepareResult
from ..methods.registry import Registry
from .http import rpc_server as default_rpc_server

__all__ = ('rpc_method',)

F = TypeVar('F', bound=Callable[..., Any])


def rpc_method(
    name: str | None = None,
    *,
    rpc_server: Registry = default_rpc_server,
    pass_extra_kwargs: bool = False,
    prepare_result: PrepareResult | None = None,
) -> Callable[[F], F]:
    """Register the decorated function on ``rpc_server`` (the module-level one by default) when the module
    is imported; the function itself is returned unchanged.

    Example::

        @rpc_method()
        def echo(*args, **kwargs):
            return {'args': args, 'kwargs': kwargs}

    Raises:
        ServerConfigurationError: a method of that name is already registered.
    """

    def register(func: F) -> F:
        rpc_server.add_method(
            JSONRPCMethod(func, name=name, pass_extra_kwargs=pass_extra_kwargs, prepare_result=prepare_result)
        )
        return func

    return register
