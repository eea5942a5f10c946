"""Parameter descriptions read from a docstring: a Google-style ``Args:`` section or Sphinx ``:param:`` fields."""

from __future__ import annotations

import inspect
import re
import textwrap

__all__ = ('param_descriptions', 'without_param_docs')

_SECTION = re.compile(r'(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:')
_ENTRY = re.compile(r'\*{0,2}(?P<name>\w+)\s*(?:\([^)]*\))?\s*:(?P<text>.*)')
_FIELD = re.compile(r':param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:(?P<text>.*)')


def param_descriptions(doc: str | None) -> dict[str, str]:
    """``name -> description`` for the parameters a docstring describes.

    Both common layouts are read; an entry may continue on more deeply indented lines::

        Args:
            amount (int): what to pay,
                in cents.

        :param amount: what to pay, in cents.
    """
    if not doc:
        return {}
    found: dict[str, list[str]] = {}
    current: list[str] | None = None  # the entry continuation lines are added to
    current_indent = 0
    section_indent: int | None = None  # set while inside a Google-style section
    for line in inspect.cleandoc(doc).splitlines():
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip())
        if current is not None and indent > current_indent:
            current.append(text)
            continue
        current = None
        if section_indent is not None and indent <= section_indent:
            section_indent = None
        field = _FIELD.fullmatch(text)
        if field is not None:
            current = found[field['name']] = [field['text'].strip()]
            current_indent = indent
        elif _SECTION.fullmatch(text):
            section_indent = indent
        elif section_indent is not None:
            entry = _ENTRY.fullmatch(text)
            if entry is not None:
                current = found[entry['name']] = [entry['text'].strip()]
                current_indent = indent
    return {name: ' '.join(part for part in parts if part) for name, parts in found.items() if any(parts)}


def without_param_docs(text: str | None) -> str | None:
    """``text`` without what :func:`param_descriptions` reads (``Args:``-style sections and ``:param:`` fields,
    with their continuation lines), so a description does not repeat the parameters' own; ``None`` when nothing
    is left. Other sections (``Returns:``, ``Raises:``...) stay."""
    if not text:
        return None
    kept: list[str] = []
    skip_indent: int | None = None  # inside a parameters section or field, deeper lines are skipped
    for line in textwrap.dedent(text).splitlines():  # (not cleandoc: its first line may be the section header)
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                continue
            skip_indent = None
        if _SECTION.fullmatch(stripped) or _FIELD.fullmatch(stripped):
            skip_indent = indent
            continue
        kept.append(line)
    left = re.sub(r'\n{3,}', '\n\n', '\n'.join(kept)).strip()
    return left or None
