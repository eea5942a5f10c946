"""The 1.x message and method classes: ``JsonRpcRequest`` and ``JsonRpcMethod``.

Both are subclasses of their 2.0 successors, so everything that takes a 2.0 object takes them; they only add
the 1.x spellings and behaviour.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from typing import Any

from ..constants import NOTHING
from ..methods.method import BaseJSONRPCMethod, JSONRPCMethod, PrepareResult
from ..methods.params import ParamSpec
from ..protocol.context import RequestContext
from ..protocol.request import JSONRPCRequest
from ..typedefs import JSONRPCIDType

__all__ = ('JsonRpcMethod', 'JsonRpcRequest', 'describe')

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class JsonRpcRequest(JSONRPCRequest):
    """1.x ``JsonRpcRequest``: a :class:`~aiohttp_rpc.JSONRPCRequest` that also takes the 1.x keyword names
    ``method_name`` (2.0: ``method``) and ``extra_args`` (2.0: ``extra_kwargs``). Positional arguments are in
    the same order in both versions.

    Raises:
        TypeError: no method name was given, or it was given under both names.
    """

    __slots__ = ()

    def __init__(
        self,
        method_name: str | None = None,
        id: JSONRPCIDType | None = None,
        jsonrpc: str = '2.0',
        extra_args: MutableMapping[str, Any] | None = None,
        context: MutableMapping[str, Any] | None = None,
        params: Any = NOTHING,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        method: str | None = None,
        extra_kwargs: MutableMapping[str, Any] | None = None,
    ) -> None:
        if (method_name is None) == (method is None):
            raise TypeError('JsonRpcRequest needs the method name, as method_name= (1.x) or method= (2.0).')
        name = method_name if method_name is not None else method
        assert name is not None
        extra = extra_args if extra_args is not None else extra_kwargs
        super().__init__(
            method=name,
            id=id,
            jsonrpc=jsonrpc,
            extra_kwargs={} if extra is None else extra,
            context=RequestContext() if context is None else context,  # type: ignore[arg-type]  # 2.0 kept as given
            params=params,
            args=args,
            kwargs=kwargs,
        )


class JsonRpcMethod(JSONRPCMethod):
    """1.x ``JsonRpcMethod``: values the middlewares put in ``extra_kwargs`` (``rpc_request``, ...) reach the
    function when it has parameters of those names, as in 1.x (``add_extra_args=True``, the 1.x default).

    Leading positional parameters named like an extra value receive it by position, before the caller's
    params (``def ping(rpc_request, text)`` answers ``params: ["hi"]``); keyword-only ones receive it by name.
    Other extra values are not passed. With ``add_extra_args=False`` it behaves as a 2.0
    :class:`~aiohttp_rpc.JSONRPCMethod`. Other keyword options (``guards=``, ``executor=``...) are
    :class:`~aiohttp_rpc.JSONRPCMethod`'s.

    Attributes:
        supported_args: the names of the positional parameters (1.x).
        supported_kwargs: the names of the keyword-only parameters (1.x).
        doc: the docstring (1.x).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        add_extra_args: bool = True,
        prepare_result: PrepareResult | None = None,
        **options: Any,
    ) -> None:
        super().__init__(func, name=name, prepare_result=prepare_result, **options)
        self.add_extra_args = add_extra_args
        self.supported_args, self.supported_kwargs = _argument_names(self._signature)
        self.doc = func.__doc__

    @property
    def takes_extra_kwargs(self) -> bool:
        return self.add_extra_args or super().takes_extra_kwargs

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        """The JSON-RPC parameters: the 2.0 ones less the names middlewares fill in (``rpc_*``)."""
        params = super().params
        if not self.add_extra_args:
            return params
        return tuple(param for param in params if not param.name.startswith('rpc_'))

    def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Coroutine[Any, Any, Any]:
        if self.add_extra_args and extra_kwargs:
            leading = []
            for name in self.supported_args:
                if name not in extra_kwargs:
                    break
                leading.append(extra_kwargs[name])
            if leading:
                args = (*leading, *args)
            if len(leading) < len(extra_kwargs):
                named = {name: extra_kwargs[name] for name in self.supported_kwargs if name in extra_kwargs}
                if named:
                    kwargs = {**named, **kwargs}
        return super().__call__(args, kwargs, extra_kwargs)


def _argument_names(signature: inspect.Signature | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if signature is None:
        return (), ()
    parameters = signature.parameters.values()
    return (
        tuple(param.name for param in parameters if param.kind in _POSITIONAL),
        tuple(param.name for param in parameters if param.kind is inspect.Parameter.KEYWORD_ONLY),
    )


def describe(method: BaseJSONRPCMethod) -> dict[str, Any]:
    """What 1.x's ``get_method`` told about a method: ``{'doc': ..., 'args': [...], 'kwargs': [...]}``.

    ``args`` and ``kwargs`` name the positional and the keyword-only parameters; for a method that is not a
    wrapped function they come from its ``supported_args``/``supported_kwargs`` attributes, if any.
    """
    if isinstance(method, JsonRpcMethod):
        return {'doc': method.doc, 'args': list(method.supported_args), 'kwargs': list(method.supported_kwargs)}
    if isinstance(method, JSONRPCMethod):
        args, kwargs = _argument_names(method._signature)
        return {'doc': method.func.__doc__, 'args': list(args), 'kwargs': list(kwargs)}
    return {
        'doc': getattr(method, 'doc', None),
        'args': list(getattr(method, 'supported_args', ())),
        'kwargs': list(getattr(method, 'supported_kwargs', ())),
    }
