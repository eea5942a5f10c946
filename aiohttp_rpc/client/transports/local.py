"""In-process transport: a client talking to a dispatcher in the same process, with no sockets.

What tests and embedded uses need: the whole protocol, middlewares and methods, none of the network.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import EmptyResponse, HTTPStatusError, JSONRPCError, ParseError, RequestRejected, TransportError
from ...protocol.context import RequestContext

if TYPE_CHECKING:
    from ...dispatch.dispatcher import Dispatcher
    from ...typedefs import JSONRPCIDType

__all__ = ('LocalTransport',)


class LocalTransport:
    """A client transport that hands each message straight to a server's dispatcher: no sockets, no aiohttp.

    Every message gets a fresh context (a copy of ``context``), as a server gives each HTTP request or WebSocket
    frame; there is no ``http_request`` in it, so context factories receive ``None``. Options meant for other
    transports (``headers=``, ``timeout=``) are accepted and ignored. The reply's context holds the server-side
    context under ``'server_context'``.

    Args:
        dispatcher: the server (any :class:`~aiohttp_rpc.Dispatcher`).
        context: entries every message's context starts with.

    Example::

        client = BaseJSONRPCClient(transport=LocalTransport(server))
    """

    def __init__(self, dispatcher: Dispatcher, *, context: Mapping[str, Any] | None = None) -> None:
        self.dispatcher = dispatcher
        self.context = dict(context or {})
        self._closed = False

    async def open(self) -> None:
        """Nothing to acquire."""

    async def aclose(self) -> None:
        """Refuse further messages; safe to call more than once."""
        self._closed = True

    async def send(
        self,
        payload: bytes,
        *,
        expect_reply: bool,
        request_ids: Sequence[JSONRPCIDType] = (),
        **kwargs: Any,
    ) -> tuple[bytes | None, MutableMapping[str, Any]]:
        """Dispatch ``payload``; return the reply's bytes (``None`` when none is expected).

        Raises:
            TransportError: the transport was closed.
            HTTPStatusError: a middleware refused the message (``RequestRejected``), as over HTTP.
            EmptyResponse: a reply was expected and the server sent none.
        """
        if self._closed:
            raise TransportError(data={'details': 'The local transport is closed.'})
        server_context = RequestContext(self.context)
        try:
            output = await self.dispatcher.dispatch(payload, server_context)
        except RequestRejected as exc:
            raise HTTPStatusError(data={'status': exc.status, 'message': exc.reason}) from exc
        context: MutableMapping[str, Any] = {'server_context': server_context}
        if not expect_reply:
            return None, context
        if output is None:
            raise EmptyResponse()
        return output, context

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """``ParseError``: the dispatcher wrote a reply the client's codec cannot read."""
        return ParseError(data={'details': 'Invalid JSON'})
