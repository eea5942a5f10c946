"""Conversions between JSON-RPC ``params`` and Python ``args``/``kwargs``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..constants import NOTHING, VERSION_2_0
from ..errors import InvalidParams, InvalidRequest

__all__ = ('convert_params_to_args_and_kwargs', 'parse_args_and_kwargs', 'validate_jsonrpc')


def convert_params_to_args_and_kwargs(params: Any) -> tuple[Sequence[Any], Mapping[str, Any]]:
    """Split JSON-RPC ``params`` into call arguments: an array gives ``args``, an object gives ``kwargs``.

    ``NOTHING`` (no ``params`` member) gives ``((), {})``.

    Raises:
        InvalidParams: ``params`` is a JSON scalar or some other unsupported type.
    """
    if params is NOTHING:
        return (), {}
    if isinstance(params, list):
        return params, {}
    if isinstance(params, dict):
        return (), params
    if isinstance(params, (str, int, float, bool, type(None))):
        raise InvalidParams(f'Params must be an array or object per JSON-RPC 2.0. {params}')
    if isinstance(params, Sequence) and not isinstance(params, (bytes, bytearray)):
        return params, {}
    if isinstance(params, Mapping):
        return (), params
    raise InvalidParams('Params have unsupported data types.')


def parse_args_and_kwargs(
    args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
) -> tuple[Any, Sequence[Any], Mapping[str, Any]]:
    """Build ``(params, args, kwargs)`` from positional *or* keyword arguments (JSON-RPC allows one kind).

    ``None`` counts as absent. An empty ``args``/``kwargs`` counts as given on its own, but yields to a
    non-empty other kind, so ``set_args_and_kwargs(args=[...], kwargs={...})`` with one side empty works (as
    in the aiohttp-rpc 2.0 README's type-conversion middleware).

    Raises:
        InvalidParams: both ``args`` and ``kwargs`` were given non-empty.
    """
    if args is not None and kwargs is not None:
        if not kwargs:
            kwargs = None
        elif not args:
            args = None
        else:
            raise InvalidParams(data={'details': 'Need use args or kwargs.'})
    if args is None:
        if kwargs is None:
            return NOTHING, (), {}
        return kwargs, (), kwargs
    return args, args, {}


def validate_jsonrpc(jsonrpc: Any) -> None:
    """Check the ``jsonrpc`` member.

    Raises:
        InvalidRequest: it is missing/``null`` or not exactly ``"2.0"``.
    """
    if jsonrpc == VERSION_2_0 and type(jsonrpc) is str:
        return
    if jsonrpc is None:
        raise InvalidRequest(f'The "jsonrpc" field is required and must be "{VERSION_2_0}".')
    raise InvalidRequest(f'Only version "{VERSION_2_0}" is supported.')
