"""Import path of the transport protocol; it lives in :mod:`aiohttp_rpc.caller.transport`."""

from __future__ import annotations

from ...caller.transport import Transport

__all__ = ('Transport',)
