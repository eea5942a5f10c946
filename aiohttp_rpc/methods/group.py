"""Method groups: methods under a common dotted prefix, with their own middlewares and guards."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ServerConfigurationError
from .method import BaseJSONRPCMethod, Guard
from .registry import add_method, method_of

if TYPE_CHECKING:
    from ..typedefs import MiddlewareType
    from .registry import MethodDescription

__all__ = ('MethodGroup',)

F = TypeVar('F', bound=Callable[..., Any])

#: Called for each method a group gains while attached: ``(full name, method, groups from outermost)``.
Registrar = Callable[[str, BaseJSONRPCMethod, tuple['MethodGroup', ...]], None]


class MethodGroup:
    """A set of methods served under a prefix: ``server.add_group('math', group)`` serves ``add`` as
    ``math.add``. Groups nest (``group.add_group('trig', other)`` gives ``math.trig.sin``).

    A group's middlewares and guards apply to its methods (and its subgroups' methods) only, inside the
    server's middlewares, outer groups first. Methods added after the group was attached are served too.

    Args:
        middlewares: ``async def mw(request, handler)`` middlewares for this group's calls.
        guards: checks run before each of this group's methods (see :class:`~aiohttp_rpc.JSONRPCMethod`).
        methods: methods to add right away.
        description: documentation for the group (a tag in the generated documents).

    Example::

        math = MethodGroup(guards=[require_header('X-Api-Key')])

        @math.method()
        def add(a: int, b: int) -> int:
            return a + b

        server.add_group('math', math)
    """

    def __init__(
        self,
        *,
        middlewares: Iterable[MiddlewareType] = (),
        guards: Iterable[Guard] = (),
        methods: Iterable[MethodDescription] = (),
        description: str | None = None,
    ) -> None:
        self.middlewares = tuple(middlewares)
        self.guards = tuple(guards)
        self.description = description
        self.methods: dict[str, BaseJSONRPCMethod] = {}
        self.groups: dict[str, MethodGroup] = {}
        # Held weakly: a server that is gone drops out, rather than being kept alive by every group it served.
        self._attachments: list[tuple[weakref.ref[Registrar], str, tuple[MethodGroup, ...]]] = []
        self.add_methods(methods)

    def add_method(self, method: MethodDescription, *, replace: bool = False) -> BaseJSONRPCMethod:
        """Add a method (a callable or a ``JSONRPCMethod``) to the group, and to every server it is on.

        Raises:
            ServerConfigurationError: the name is taken in the group and ``replace`` is false.
        """
        rpc_method = add_method(self.methods, method, replace=replace)
        for register, prefix, parents in self._live_attachments():
            register(f'{prefix}.{rpc_method.name}', rpc_method, (*parents, self))
        return rpc_method

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Add several methods; see :meth:`add_method`."""
        return tuple(self.add_method(method, replace=replace) for method in methods)

    def add_group(self, prefix: str, group: MethodGroup) -> MethodGroup:
        """Nest ``group`` under ``prefix`` inside this group; returns ``group``."""
        if not prefix or prefix in self.groups:
            raise ServerConfigurationError(data={'details': f'Group prefix {prefix!r} is empty or taken.'})
        self.groups[prefix] = group
        for register, own_prefix, parents in self._live_attachments():
            group.attach(register, f'{own_prefix}.{prefix}', (*parents, self))
        return group

    def method(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Decorator adding the function to the group; ``options`` go to :class:`~aiohttp_rpc.JSONRPCMethod`."""

        def register(func: F) -> F:
            self.add_method(method_of(func, name=name, **options))
            return func

        return register

    def attach(self, register: Registrar, prefix: str, parents: tuple[MethodGroup, ...] = ()) -> None:
        """Serve the group's methods, now and later, through ``register`` (what servers call). The group holds
        ``register`` weakly: the server keeps it for as long as it serves the group."""
        self._attachments.append((weakref.ref(register), prefix, parents))
        for name, method in self.methods.items():
            register(f'{prefix}.{name}', method, (*parents, self))
        for sub_prefix, group in self.groups.items():
            group.attach(register, f'{prefix}.{sub_prefix}', (*parents, self))

    def _live_attachments(self) -> list[tuple[Registrar, str, tuple[MethodGroup, ...]]]:
        live = [(register, prefix, parents) for ref, prefix, parents in self._attachments if (register := ref())]
        if len(live) < len(self._attachments):
            self._attachments = [(weakref.ref(register), prefix, parents) for register, prefix, parents in live]
        return live

    def walk(self, prefix: str) -> Iterator[tuple[str, BaseJSONRPCMethod]]:
        """``(full name, method)`` for every method in the group and its subgroups."""
        for name, method in self.methods.items():
            yield f'{prefix}.{name}', method
        for sub_prefix, group in self.groups.items():
            yield from group.walk(f'{prefix}.{sub_prefix}')
