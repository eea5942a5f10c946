"""The ``rpc_method`` decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..methods.method import Guard, JSONRPCMethod, PrepareResult
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
    guards: Iterable[Guard] = (),
) -> Callable[[F], F]:
    """Register the decorated function on ``rpc_server`` (the module-level one by default) when the module
    is imported; the function itself is returned unchanged. ``guards`` as for :class:`~aiohttp_rpc.JSONRPCMethod`.

    Example::

        @rpc_method()
        def echo(*args, **kwargs):
            return {'args': args, 'kwargs': kwargs}

    Raises:
        ServerConfigurationError: a method of that name is already registered.
    """

    def register(func: F) -> F:
        rpc_server.add_method(
            JSONRPCMethod(
                func, name=name, pass_extra_kwargs=pass_extra_kwargs, prepare_result=prepare_result, guards=guards
            )
        )
        return func

    return register
