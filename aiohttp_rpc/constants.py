"""Protocol constants shared by every layer (stdlib only)."""

from __future__ import annotations

import enum

__all__ = ('JSON_PRIMITIVE_TYPES', 'NOTHING', 'VERSION_2_0')


class _NothingType(enum.Enum):
    """Marks "no value given" where ``None`` is a meaningful value (JSON ``null``)."""

    NOTHING = enum.auto()

    def __repr__(self) -> str:
        return 'NOTHING'

    def __bool__(self) -> bool:
        return False


NOTHING = _NothingType.NOTHING
"""Sentinel for an absent value, e.g. ``JSONRPCRequest.params`` when the request has no ``params``."""

VERSION_2_0 = '2.0'
"""The only protocol version spoken: the value of every message's ``jsonrpc`` member."""

JSON_PRIMITIVE_TYPES = (str, int, float, bool, type(None))
"""Python types of JSON scalars; ``params`` must not be one of these."""
