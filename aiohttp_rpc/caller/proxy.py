"""``client.proxy(CalcAPI, prefix='calc')``: the remote methods of a typed contract, as the protocol declares them.

The method table is built once per proxy: each protocol method becomes an attribute that calls ``prefix.name``
(named params, bound against the protocol's signature, or positional ones when the signature has positional-only
params or ``*args``), or, for a ``def name(...) -> AsyncIterator[T]`` method, returns a
:class:`~aiohttp_rpc.Subscription`. With ``validate_results=True`` each result (and each item) is checked and
converted to the declared type with pydantic; one that does not fit raises
:class:`~aiohttp_rpc.errors.ContractError` saying which method answered what. Error replies raise the same classes
as untyped calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ContractError, ServerConfigurationError
from ..methods.contract import ContractMethod, read_contract

if TYPE_CHECKING:
    from .base import BaseJSONRPCClient
    from .subscription import Subscription

__all__ = ('build_proxy',)

T = TypeVar('T')


def build_proxy(
    client: BaseJSONRPCClient, api: Callable[..., T], *, prefix: str | None = None, validate_results: bool = False
) -> T:
    """An object with the methods of the protocol ``api``, each calling ``client``; typed as ``api`` is.

    Raises:
        ServerConfigurationError: ``api`` is not a protocol, or ``validate_results`` is asked for without pydantic.
    """
    api_name: str = getattr(api, '__name__', 'API')
    attributes: dict[str, Any] = {'__slots__': (), '__repr__': lambda self: f'<{api_name} proxy of {client!r}>'}
    for method in read_contract(api):
        name = method.name if prefix is None else f'{prefix}.{method.name}'
        check = _result_check(name, method.result) if validate_results else None
        attributes[method.name] = (
            _streaming(client, name, method, check) if method.streams else _calling(client, name, method, check)
        )
    proxy_class = type(f'{api_name}Proxy', (), attributes)
    proxy: T = proxy_class()
    return proxy


def _params(
    method: ContractMethod, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[Sequence[Any], Mapping[str, Any]]:
    """The call's params as the contract sends them: by name, or by position (see the module docstring)."""
    bound = method.signature.bind(*args, **kwargs)  # a call that does not fit the protocol fails here, as in Python
    if method.by_position:
        return bound.args, bound.kwargs
    return (), bound.arguments


def _calling(client: BaseJSONRPCClient, name: str, method: ContractMethod, check: Callable[[Any], Any] | None) -> Any:
    async def call(self: object, *args: Any, **kwargs: Any) -> Any:
        positional, named = _params(method, args, kwargs)
        result = await client.call(name, *positional, **named)
        return result if check is None else check(result)

    call.__name__ = call.__qualname__ = method.name
    return call


def _streaming(client: BaseJSONRPCClient, name: str, method: ContractMethod, check: Callable[[Any], Any] | None) -> Any:
    def subscribe(self: object, *args: Any, **kwargs: Any) -> Subscription:
        positional, named = _params(method, args, kwargs)
        subscription = client.subscribe(name, *positional, **named)
        subscription.check_item = check
        return subscription

    subscribe.__name__ = subscribe.__qualname__ = method.name
    return subscribe


def _result_check(name: str, annotation: Any) -> Callable[[Any], Any]:
    try:
        import pydantic
    except ImportError as exc:
        raise ServerConfigurationError(
            data={'details': 'validate_results needs pydantic: pip install "aiohttp-rpc[typed]".'}
        ) from exc
    adapter = pydantic.TypeAdapter(annotation)

    def check(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            problems = '; '.join(f'{".".join(map(str, e["loc"])) or "result"}: {e["msg"]}' for e in exc.errors()[:5])
            details = f'{name} answered a value that breaks the contract ({problems})'
            raise ContractError(data={'details': details}) from exc

    return check
