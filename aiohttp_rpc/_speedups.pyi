from collections.abc import Callable, Coroutine, Mapping
from contextvars import Context
from typing import Any, TypeVar

C = TypeVar('C')
R = TypeVar('R')

def has_non_finite(value: Any, /) -> bool: ...
def has_long_number(data: bytes, /) -> bool: ...
def read_call(data: dict[str, Any], /) -> tuple[str, int | str | None, Any, dict[str, Any]] | None: ...
def send_none(coro: Coroutine[Any, Any, Any], context: Context | None = None, /) -> tuple[bool, Any]: ...
def start_plain(
    plain: Mapping[str, tuple[Any, Callable[..., Coroutine[Any, Any, Any]]]],
    methods: Mapping[str, Any],
    max_name_length: int,
    otherwise: Callable[[object, C, Any], R],
    item: object,
    context: C,
    /,
) -> dict[str, Any] | R | None: ...
