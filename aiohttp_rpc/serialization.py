"""JSON encoding and decoding: orjson by default, any ``json.dumps``/``json.loads``-style pair on request.

Internally every transport works on ``bytes``: :class:`JSONCodec` wraps whatever the user passed so the hot
path does exactly one decode and one encode per message, with no ``str`` <-> ``bytes`` round trip when the
defaults are used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from ._native import native_or

if TYPE_CHECKING:
    from .typedefs import JSONDecoderType, JSONEncoderType

__all__ = (
    'JSONCodec',
    'fast_dumps',
    'has_long_number',
    'has_long_number_py',
    'json_deserialize',
    'json_serialize',
)

_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    """What orjson cannot serialize natively: pydantic models (their JSON mode dump)."""
    model_dump = getattr(value, 'model_dump', None)
    if model_dump is not None and callable(model_dump):
        return model_dump(mode='json', by_alias=True)
    raise TypeError(f'{type(value).__name__} is not JSON serializable')


def _dumps_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:
        # orjson stops at 64-bit integers; the stdlib encodes any int. Anything else it cannot encode either
        # still raises TypeError (or ValueError), which the dispatcher answers with -32603 for that call.
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode()


fast_dumps: Callable[[Any], bytes] = orjson.dumps
"""orjson's ``dumps`` with no options and no ``default``, one C call: for the plain JSON types with string keys
it writes exactly what :func:`json_serialize` writes; for anything else (integer keys, integers past 64 bits,
pydantic models...) it raises ``TypeError``, and the caller retries with the full codec."""


def json_serialize(value: Any) -> str:
    """Serialize ``value`` to a JSON ``str`` with orjson (dataclasses, UUIDs, datetimes, enums and pydantic
    models included).

    Raises:
        TypeError: the value (or something inside it) cannot be represented as JSON.
    """
    return _dumps_bytes(value).decode()


# orjson turns integers outside [-2**63, 2**64) into floats. Any such integer has at least 19 digits in a row,
# which a C-speed byte translation finds cheaply; only then is the message parsed by the stdlib, exactly.
_DIGITS_ONLY = bytes(ord('0') if ord('0') <= byte <= ord('9') else ord('x') for byte in range(256))
_LONG_NUMBER = b'0' * 19


def _reject_constant(name: str) -> Any:
    raise ValueError(f'{name} is not valid JSON')


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INFINITY, -_INFINITY):
        raise ValueError(f'{text} is out of range')
    return value


_INFINITY = float('inf')


def json_deserialize(data: str | bytes | bytearray | memoryview) -> Any:
    """Parse JSON text or UTF-8 bytes with orjson (the stdlib for messages holding integers orjson would
    round to a float, so every integer comes back exact).

    Raises:
        ValueError: the input is not valid JSON (``orjson.JSONDecodeError`` is a ``ValueError``), including
            ``NaN``/``Infinity`` literals and integers past CPython's digit limit.
    """
    if type(data) is bytes:
        raw = data
    elif isinstance(data, str):
        raw = data.encode()
    else:
        raw = bytes(data)
    if not has_long_number(raw):
        return orjson.loads(raw)
    return _loads_exact(raw)


def has_long_number_py(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of 19 or more ASCII digits: pure Python (C-speed byte operations)."""
    return raw.translate(_DIGITS_ONLY).find(_LONG_NUMBER) >= 0  # find: cheaper than `in` for this needle


has_long_number = native_or(has_long_number_py, 'has_long_number')
"""``has_long_number(raw) -> bool``: the C scan when the extension is there (see :mod:`aiohttp_rpc._native`),
else :func:`has_long_number_py`."""


def _loads_exact(raw: bytes) -> Any:
    """The stdlib parser, held to what orjson accepts: strict UTF-8 (no BOM, no other encodings), no lone
    surrogates, no ``NaN``/``Infinity``, nothing nested deeper than the interpreter allows."""
    text = raw.decode('utf-8')  # strict: raises UnicodeDecodeError, a ValueError
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError('JSON nested too deeply') from exc
    if _SURROGATE_ESCAPE.search(text) is not None:
        _reject_lone_surrogates(value)  # a valid pair decodes to one character; a lone half stays a surrogate
    return value


_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')


def _reject_lone_surrogates(value: Any) -> None:
    if isinstance(value, str):
        value.encode('utf-8')  # raises UnicodeEncodeError (a ValueError) on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_lone_surrogates(key)
            _reject_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _reject_lone_surrogates(item)


class JSONCodec:
    """A serializer/deserializer pair, normalized to ``bytes`` out and ``bytes``-or-``str`` in.

    Args:
        serialize: a ``json.dumps``-style callable returning ``str`` or ``bytes``.
        deserialize: a ``json.loads``-style callable.
    """

    __slots__ = ('deserialize', 'dumps', 'is_default', 'serialize')

    def __init__(self, serialize: JSONEncoderType = json_serialize, deserialize: JSONDecoderType = json_deserialize):
        self.serialize = serialize
        self.deserialize = deserialize
        self.is_default = serialize is json_serialize
        self.dumps = _dumps_bytes if self.is_default else self._dumps_custom

    def _dumps_custom(self, value: Any) -> bytes:
        encoded = self.serialize(value)
        return encoded.encode() if isinstance(encoded, str) else encoded

    def loads(self, data: bytes | str) -> Any:
        """Decode one message; every failure surfaces as ``ValueError``."""
        try:
            return self.deserialize(data)
        except ValueError:
            raise
        except (TypeError, RecursionError) as exc:  # json.loads-style decoders raise these too
            raise ValueError(str(exc)) from exc
