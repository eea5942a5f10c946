"""The one way this package warns about a deprecated spelling (layer 0, stdlib only)."""

from __future__ import annotations

import warnings

__all__ = ('warn_deprecated',)


def warn_deprecated(old: str, instead: str, *, stacklevel: int = 3) -> None:
    """Issue the ``DeprecationWarning`` for a 1.x spelling: ``'<old> is deprecated since aiohttp-rpc 2.0: use
    <instead>'``, attributed by default to the caller of the function that calls this one."""
    warnings.warn(
        f'{old} is deprecated since aiohttp-rpc 2.0: use {instead}', DeprecationWarning, stacklevel=stacklevel
    )
