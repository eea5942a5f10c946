"""JSON on stdout: pretty and coloured for a person at a terminal, compact (one line) for a pipe.

Either way the text is valid JSON: colours are ANSI escapes around tokens, never inside them, and strings
are escaped by :func:`json.dumps`, so a terminal escape sent by a server is shown as ``\\u001b``, not obeyed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ('JSONWriter', 'render_json', 'wants_colour')

_RESET = '\x1b[0m'
_KEY = '\x1b[1;34m'  # bold blue, as jq
_STRING = '\x1b[32m'
_NUMBER = '\x1b[36m'
_LITERAL = '\x1b[33m'  # true, false
_NULL = '\x1b[90m'
_INDENT = 2


@dataclass
class _Level:
    """A container being written: its members still to come and how to close it."""

    members: Iterator[tuple[str | None, Any]]
    closer: str
    empty: bool = field(default=True)


def render_json(value: Any, *, indent: int | None = None, colour: bool = False) -> str:
    """``value`` as JSON text: one line without ``indent``, else one member per line.

    Written without recursion, so a reply nested as deep as the parser allows still prints.

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
        ValueError: ``value`` holds a NaN or an infinity.
    """
    parts: list[str] = []
    levels: list[_Level] = []
    key_separator = ': ' if indent is not None else ':'

    def paint(text: str, tone: str) -> str:
        return f'{tone}{text}{_RESET}' if colour else text

    def newline(depth: int) -> str:
        return '' if indent is None else '\n' + ' ' * (indent * depth)

    def start(item: Any) -> None:
        if isinstance(item, Mapping) and item:
            parts.append('{')
            levels.append(_Level(iter(item.items()), '}'))
        elif isinstance(item, (list, tuple)) and item:
            parts.append('[')
            levels.append(_Level(((None, member) for member in item), ']'))
        else:
            parts.append(_scalar(item, paint))

    start(value)
    while levels:
        level = levels[-1]
        entry = next(level.members, None)
        if entry is None:
            levels.pop()
            parts.append(newline(len(levels)) + level.closer)
            continue
        if not level.empty:
            parts.append(',')
        level.empty = False
        parts.append(newline(len(levels)))
        key, member = entry
        if key is not None:
            parts.append(paint(json.dumps(str(key), ensure_ascii=False), _KEY) + key_separator)
        start(member)
    return ''.join(parts)


def _scalar(value: Any, paint: Callable[[str, str], str]) -> str:
    if value is None:
        return paint('null', _NULL)
    if value is True or value is False:
        return paint('true' if value else 'false', _LITERAL)
    if isinstance(value, Mapping):
        return '{}'
    if isinstance(value, (list, tuple)):
        return '[]'
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return paint(text, _STRING if isinstance(value, str) else _NUMBER)


def wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to colour what goes to ``stream``: only a terminal, and never when ``NO_COLOR`` is set and
    not empty (https://no-color.org) or ``TERM=dumb``."""
    return _is_terminal(stream) and not environ.get('NO_COLOR') and environ.get('TERM') != 'dumb'


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, 'isatty', None)
    return bool(isatty is not None and isatty())


class JSONWriter:
    """Writes JSON documents to ``stream``, one per line: pretty (and coloured, see :func:`wants_colour`)
    on a terminal, compact elsewhere. Text goes out as UTF-8 whatever the locale.

    Args:
        stream: where to write, usually ``sys.stdout``.
        environ: the environment to read ``NO_COLOR`` and ``TERM`` from.
    """

    def __init__(self, stream: TextIO, environ: Mapping[str, str]) -> None:
        self.stream = stream
        self.indent = _INDENT if _is_terminal(stream) else None
        self.colour = wants_colour(stream, environ)

    def write(self, value: Any) -> None:
        """Write ``value`` and a newline."""
        text = render_json(value, indent=self.indent, colour=self.colour) + '\n'
        buffer = getattr(self.stream, 'buffer', None)
        if buffer is None:
            self.stream.write(text)
            self.stream.flush()
            return
        self.stream.flush()
        # A lone surrogate (which a lenient server's JSON can carry) becomes its \\uXXXX escape: still JSON.
        buffer.write(text.encode('utf-8', 'backslashreplace'))
        buffer.flush()
