"""Registration primitives shared by servers, clients and groups: wrapping callables and checking names."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container, Iterable, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from ..errors import ServerConfigurationError
from .method import BaseJSONRPCMethod, Guard, JSONRPCMethod
from .subscription import JSONRPCSubscription

__all__ = (
    'DEFAULT_TITLE',
    'DEFAULT_VERSION',
    'RESERVED_PREFIX',
    'ApiInfo',
    'MethodDescription',
    'MethodMap',
    'Registry',
    'add_method',
    'add_methods',
    'as_method',
    'check_name',
    'method_of',
)

MethodDescription: TypeAlias = BaseJSONRPCMethod | Callable[..., Any]
"""What ``add_method`` accepts: a method object or any callable."""

MethodMap: TypeAlias = MutableMapping[str, BaseJSONRPCMethod]

DEFAULT_TITLE = 'JSON-RPC API'
"""The API's title when none is given."""

DEFAULT_VERSION = '1.0.0'
"""The API's version when none is given."""


@dataclass(frozen=True, slots=True)
class ApiInfo:
    """What an API says about itself: the one place ``rpc.discover``, ``GET /openrpc.json``, the docs console and
    ``aiohttp-rpc serve`` read it from (set by ``add_discovery``).

    Attributes:
        title: the API's name.
        version: the API's version (not the library's).
        description: a longer text (Markdown), or ``None``.
    """

    title: str = DEFAULT_TITLE
    version: str = DEFAULT_VERSION
    description: str | None = None


RESERVED_PREFIX = 'rpc.'
"""Method names the specification reserves for system extensions."""


class Registry(Protocol):
    """What schema code and ``@rpc_method`` need of a server: its methods by name, their group tags and guards,
    and a way to add one. Dispatchers and servers are registries."""

    api_info: ApiInfo | None
    """What the API says about itself (``add_discovery`` sets it); ``None``: nothing said."""

    @property
    def methods(self) -> MethodMap:
        """The served methods by name."""

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The prefixes of the groups method ``name`` is served under, outermost first."""

    def describe_tag(self, tag: str) -> str | None:
        """The description of the group served under the prefix ``tag``, if it has one."""

    def guards_of(self, name: str) -> tuple[Guard, ...]:
        """Every guard a call of ``name`` must pass, in the order they run."""

    def add_method(
        self, method: MethodDescription, *, replace: bool = False, allow_reserved: bool = False
    ) -> BaseJSONRPCMethod:
        """Serve ``method`` under its name."""


def as_method(method: MethodDescription, *, executor: Executor | None = None) -> BaseJSONRPCMethod:
    """A method object as it is, or a plain callable wrapped: an async generator function in a
    :class:`~aiohttp_rpc.JSONRPCSubscription`, anything else in a :class:`JSONRPCMethod` (run in ``executor``
    when it is sync and one is given)."""
    if isinstance(method, BaseJSONRPCMethod):
        return method
    return method_of(method, executor=executor)


def method_of(func: Callable[..., Any], **options: Any) -> BaseJSONRPCMethod:
    """``func`` wrapped with ``options``: in a :class:`~aiohttp_rpc.JSONRPCSubscription` if it is an async
    generator function (options that only plain methods take must then be ``None``), else in a
    :class:`JSONRPCMethod`.

    Raises:
        ServerConfigurationError: an option a subscription cannot take was given for one.
    """
    if not inspect.isasyncgenfunction(func):
        return JSONRPCMethod(func, **options)
    unfit = sorted(key for key in ('prepare_result', 'executor', 'slow_call_threshold') if options.pop(key, None))
    if unfit:
        name = getattr(func, '__name__', repr(func))
        details = f'{name} is a subscription (an async generator function); it takes no {", ".join(unfit)}.'
        raise ServerConfigurationError(data={'details': details})
    return JSONRPCSubscription(func, **options)


def check_name(methods: Container[str], name: str, *, replace: bool = False, allow_reserved: bool = False) -> None:
    """Refuse a name that is taken (unless ``replace``) or reserved (unless ``allow_reserved``).

    Raises:
        ServerConfigurationError: the name cannot be registered.
    """
    if name.startswith(RESERVED_PREFIX) and not allow_reserved:
        details = f'Method names starting with "{RESERVED_PREFIX}" are reserved; pass allow_reserved=True.'
        raise ServerConfigurationError(data={'details': details})
    if not replace and name in methods:
        raise ServerConfigurationError(data={'details': f'Method {name} has already been added.'})


def add_method(
    methods: MethodMap,
    method: MethodDescription,
    *,
    replace: bool = False,
    allow_reserved: bool = False,
    executor: Executor | None = None,
) -> BaseJSONRPCMethod:
    """Register ``method`` in ``methods`` under its name and return the method object.

    Raises:
        ServerConfigurationError: the name is taken and ``replace`` is false, or it starts with ``rpc.`` and
            ``allow_reserved`` is false.
    """
    rpc_method = as_method(method, executor=executor)
    check_name(methods, rpc_method.name, replace=replace, allow_reserved=allow_reserved)
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
