"""Import path of the ``methods`` proxy; it lives in :mod:`aiohttp_rpc.caller.methods`."""

from __future__ import annotations

from ..caller.methods import JSONRPCClientMethod, JSONRPCClientMethods

__all__ = ('JSONRPCClientMethod', 'JSONRPCClientMethods')
