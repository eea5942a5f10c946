"""2.0 import path of the client core; it lives in :mod:`aiohttp_rpc.caller` (shared with server-side peers)."""

from __future__ import annotations

from ..caller.base import BaseJSONRPCClient, ClientState

__all__ = ('BaseJSONRPCClient', 'ClientState')
