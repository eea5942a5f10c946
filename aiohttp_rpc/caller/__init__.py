"""Layer 3: the caller core every client and peer shares: call, notify, batch, the ``methods`` proxy and error
mapping over a :class:`~aiohttp_rpc.caller.transport.Transport`. No aiohttp: transports bring the I/O."""

from __future__ import annotations

from .base import BaseJSONRPCClient, ClientState
from .methods import JSONRPCClientMethod, JSONRPCClientMethods
from .transport import Transport

__all__ = ('BaseJSONRPCClient', 'ClientState', 'JSONRPCClientMethod', 'JSONRPCClientMethods', 'Transport')
