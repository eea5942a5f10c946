"""Typed contracts: a ``typing.Protocol`` that both sides import.

The server registers an implementation of it (``server.add_api(CalcAPI, Calc(), prefix='calc')``), checked here
against the protocol when it is registered; the client calls it through a proxy typed as the protocol
(``rpc.proxy(CalcAPI, prefix='calc')``, see :mod:`aiohttp_rpc.caller.proxy`). A protocol method declared
``async def`` is a method; one declared ``def name(...) -> AsyncIterator[T]`` is a subscription (the
implementation is an async generator function).
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ServerConfigurationError
from .method import BaseJSONRPCMethod, JSONRPCMethod
from .subscription import JSONRPCSubscription, item_type

__all__ = ('ContractMethod', 'contract_methods', 'read_contract')

_STREAMS = (collections.abc.AsyncIterator, collections.abc.AsyncIterable, collections.abc.AsyncGenerator)
_SKIPPED = frozenset({object, Protocol, typing.Generic})
_UNRESOLVABLE = (NameError, TypeError, AttributeError, SyntaxError)  # what evaluating an annotation may raise


@dataclass(frozen=True, slots=True)
class ContractMethod:
    """One method of a contract.

    Attributes:
        name: its name in the protocol (the RPC name, under the prefix).
        signature: its signature without ``self``.
        hints: its resolved annotations (``return`` included).
        streams: whether it is a subscription (``def name(...) -> AsyncIterator[T]``).
        result: the result's type: ``T`` for a subscription's items, else the return annotation.
    """

    name: str
    signature: inspect.Signature
    hints: dict[str, Any]
    streams: bool
    result: Any

    @property
    def by_position(self) -> bool:
        """Whether calls send params by position: the signature has positional-only params or ``*args``; by name
        otherwise."""
        kinds = {param.kind for param in self.signature.parameters.values()}
        return bool(kinds & {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL})


def read_contract(api: Callable[..., Any]) -> tuple[ContractMethod, ...]:
    """The public methods a protocol class declares (its own and its protocol bases'), by name.

    Raises:
        ServerConfigurationError: ``api`` is not a ``typing.Protocol`` class, declares no method, or has
            annotations that cannot be resolved.
    """
    if not (inspect.isclass(api) and getattr(api, '_is_protocol', False)):
        raise ServerConfigurationError(data={'details': f'{api!r} is not a typing.Protocol class.'})
    found: dict[str, ContractMethod] = {}
    for klass in api.__mro__:
        if klass in _SKIPPED:
            continue
        for name, value in vars(klass).items():
            if name.startswith('_') or name in found or not inspect.isfunction(value):
                continue
            found[name] = _contract_method(api, name, value)
    if not found:
        raise ServerConfigurationError(data={'details': f'{api.__name__} declares no public method.'})
    return tuple(found[name] for name in sorted(found))


def _contract_method(api: type, name: str, function: Callable[..., Any]) -> ContractMethod:
    try:
        hints = typing.get_type_hints(function)
    except _UNRESOLVABLE as exc:
        raise ServerConfigurationError(
            data={'details': f'The annotations of {api.__name__}.{name} cannot be resolved: {exc}.'}
        ) from exc
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())[1:]  # without self
    returned = hints.get('return', Any)
    streams = typing.get_origin(returned) in _STREAMS and not inspect.iscoroutinefunction(function)
    return ContractMethod(
        name=name,
        signature=signature.replace(parameters=parameters),
        hints=hints,
        streams=streams,
        result=item_type(returned) if streams else returned,
    )


def contract_methods(api: Callable[..., Any], impl: object, *, validate: bool = True) -> list[BaseJSONRPCMethod]:
    """``impl``'s methods for each method of the protocol ``api``, checked against it, as method objects named
    as in the protocol (a subscription for each streaming one).

    Raises:
        ServerConfigurationError: ``api`` is not a protocol, or ``impl`` lacks one of its methods, or one of them
            differs from the protocol's (params, their kinds, defaults or types, the result, async or not).
    """
    methods: list[BaseJSONRPCMethod] = []
    api_name = getattr(api, '__name__', repr(api))
    impl_name = type(impl).__name__
    for declared in read_contract(api):
        target = getattr(impl, declared.name, None)
        where = f'{impl_name}.{declared.name}'
        if target is None or not callable(target):
            raise ServerConfigurationError(
                data={'details': f'{impl_name} does not implement {api_name}.{declared.name}.'}
            )
        problem = _mismatch(declared, target)
        if problem is not None:
            raise ServerConfigurationError(
                data={'details': f'{where} does not match {api_name}.{declared.name}: {problem}.'}
            )
        if declared.streams:
            methods.append(JSONRPCSubscription(target, name=declared.name, validate=validate))
        else:
            methods.append(JSONRPCMethod(target, name=declared.name, validate=validate))
    return methods


def _mismatch(declared: ContractMethod, target: Callable[..., Any]) -> str | None:
    """What differs between the protocol's method and the implementation's, or ``None``."""
    if declared.streams and not inspect.isasyncgenfunction(target):
        return 'it must be an async generator function (the protocol returns an async iterator)'
    if not declared.streams and not inspect.iscoroutinefunction(target):
        return 'it must be a coroutine function (async def), as in the protocol'
    try:
        hints = typing.get_type_hints(target)
    except _UNRESOLVABLE as exc:
        return f'its annotations cannot be resolved ({exc})'
    own = list(inspect.signature(target).parameters.values())
    wanted = list(declared.signature.parameters.values())
    if [param.name for param in own] != [param.name for param in wanted]:
        return f'its params are ({", ".join(p.name for p in own)}), not ({", ".join(p.name for p in wanted)})'
    for mine, theirs in zip(own, wanted, strict=True):
        if mine.kind != theirs.kind:
            return f'param {mine.name!r} is {mine.kind.description}, not {theirs.kind.description}'
        if (mine.default is inspect.Parameter.empty) != (theirs.default is inspect.Parameter.empty):
            return f'param {mine.name!r} {"has no" if mine.default is inspect.Parameter.empty else "has a"} default'
        mine_type, their_type = hints.get(mine.name, Any), declared.hints.get(theirs.name, Any)
        if mine_type != their_type:
            return f'param {mine.name!r} is {_shown(mine_type)}, not {_shown(their_type)}'
    returned = hints.get('return', Any)
    result = item_type(returned) if declared.streams else returned
    if result != declared.result:
        what = 'its items are' if declared.streams else 'it returns'
        return f'{what} {_shown(result)}, not {_shown(declared.result)}'
    return None


def _shown(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else repr(annotation).replace('typing.', '')
