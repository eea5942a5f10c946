"""The ``rpc_method`` decorator."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..deprecation import warn_deprecated
from ..methods.method import BaseJSONRPCMethod, Guard, PrepareResult
from ..methods.registry import Registry, method_of
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
    add_extra_args: bool | None = None,
) -> Callable[[F], F]:
    """Register the decorated function on ``rpc_server`` (the module-level one by default) when the module
    is imported; the function itself is returned unchanged. ``guards`` as for :class:`~aiohttp_rpc.JSONRPCMethod`.

    Example::

        @rpc_method()
        def echo(*args, **kwargs):
            return {'args': args, 'kwargs': kwargs}

    ``add_extra_args`` (1.x, deprecated) registers a 1.x ``JsonRpcMethod``, which passes ``rpc_request`` to a
    parameter of that name; 2.0 spells it ``pass_extra_kwargs=True``.

    Raises:
        ServerConfigurationError: a method of that name is already registered.
    """
    method_class: Callable[..., BaseJSONRPCMethod] = method_of
    options: dict[str, Any] = {'pass_extra_kwargs': pass_extra_kwargs}
    if add_extra_args is not None:
        warn_deprecated('rpc_method(add_extra_args=...)', 'rpc_method(pass_extra_kwargs=True)')
        method_class = importlib.import_module('aiohttp_rpc.legacy.protocol').JsonRpcMethod
        options = {'add_extra_args': add_extra_args}

    def register(func: F) -> F:
        rpc_server.add_method(method_class(func, name=name, prepare_result=prepare_result, guards=guards, **options))
        return func

    return register
