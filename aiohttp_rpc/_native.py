"""Which checks run in C: the optional extension ``aiohttp_rpc._speedups``, or nothing.

The extension is compiled at install time when a C compiler is there, and left out otherwise; each function in
it has a pure-Python twin next to where it is used (:mod:`aiohttp_rpc.dispatch.finite`,
:mod:`aiohttp_rpc.serialization`), which is the reference and the fallback. A non-empty
``AIOHTTP_RPC_NO_EXTENSIONS`` environment variable, read at import, selects the pure-Python versions even when
the extension is there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ('native', 'native_or')

F = TypeVar('F', bound=Callable[..., Any])


def _load() -> Any:
    if os.environ.get('AIOHTTP_RPC_NO_EXTENSIONS'):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


_MODULE = _load()


def native(name: str) -> Any:
    """The extension's function ``name``, or ``None`` when the pure-Python version is to be used."""
    return None if _MODULE is None else getattr(_MODULE, name)


def native_or(reference: F, name: str) -> F:
    """The extension's function ``name``, typed as ``reference`` (its pure-Python twin, with the same signature),
    or ``reference`` itself when the pure-Python version is to be used."""
    found = native(name)
    return reference if found is None else cast(F, found)
