"""The other end of a WebSocket, as a client to call: :class:`WSPeer` and :func:`get_peer`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..caller.base import BaseJSONRPCClient, ClientState
from ..errors import DEFAULT_KNOWN_ERRORS_MAP, JSONRPCError
from ..protocol.context import HTTP_REQUEST, PEER
from ..serialization import json_deserialize, json_serialize
from .connection import WSConnection

if TYPE_CHECKING:
    from aiohttp import web

    from ..typedefs import JSONDecoderType, JSONEncoderType

__all__ = ('PEER_KEY', 'WSPeer', 'get_peer')

PEER_KEY = PEER
"""The ``request.context`` key of the :class:`WSPeer` (or client) a WebSocket request came from."""


def get_peer(rpc_request: Any) -> BaseJSONRPCClient:
    """The other end of the WebSocket ``rpc_request`` arrived on, to call it back.

    Example::

        async def slow_job(rpc_request):
            peer = get_peer(rpc_request)
            await peer.notify('progress', 50)
            return await peer.methods.confirm('done?')

    Raises:
        LookupError: the request did not arrive over a WebSocket.
    """
    try:
        peer: BaseJSONRPCClient = rpc_request.context[PEER_KEY]
    except KeyError:
        raise LookupError('This request did not come over a WebSocket; there is no peer to call.') from None
    return peer


class WSPeer(BaseJSONRPCClient):
    """The client at the other end of one server-side WebSocket: call it like any client.

    Servers create these; get the one behind a request with :func:`get_peer`. ``disconnect()`` closes the
    socket.
    """

    transport: WSConnection

    def __init__(
        self,
        connection: WSConnection,
        *,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        error_map: Mapping[int, type[JSONRPCError]] = DEFAULT_KNOWN_ERRORS_MAP,
        peer_id: str | None = None,
    ) -> None:
        super().__init__(json_serialize=json_serialize, json_deserialize=json_deserialize, error_map=error_map)
        self.transport = connection
        self.id = secrets.token_hex(8) if peer_id is None else peer_id
        """A stable string naming this peer in the deployment: ``server.peer(id)`` on any worker reaches it."""
        self._state = ClientState.OPENED  # the socket is already open

    @property
    def ws_connect(self) -> web.WebSocketResponse:
        """The server-side aiohttp WebSocket."""
        ws: web.WebSocketResponse = self.transport.ws  # type: ignore[assignment]
        return ws

    @property
    def http_request(self) -> web.Request:
        """The HTTP request that opened the WebSocket."""
        request: web.Request = self.transport.context[HTTP_REQUEST]
        return request

    @property
    def closed(self) -> bool:
        """True once the connection is closing or closed."""
        return self.transport.closed

    async def wait_closed(self) -> None:
        """Wait until the connection has closed and its work has ended."""
        await self.transport.wait_closed()
