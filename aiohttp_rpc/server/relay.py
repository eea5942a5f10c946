"""Calling a peer that another worker holds: ``server.peer(peer_id)`` anywhere in a deployment.

A peer's id starts with the id of the worker holding it (``<worker>:<token>``). A message for a peer of another
worker goes to that worker's channel on the backplane; it hands the message to the peer and sends the reply back
on the caller's channel. Every worker marks itself present on the backplane (a key with a time to live, renewed
by a heartbeat): a message for a peer whose worker is gone, or whose connection has closed, fails at once with
``TransportError`` instead of waiting for its timeout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from ..backplane.envelope import pack
from ..caller.transport import Decoded
from ..errors import JSONRPCError, ParseError, RequestTimeoutError, TransportError

if TYPE_CHECKING:
    from ..backplane.base import Backplane
    from ..serialization import JSONCodec
    from ..typedefs import JSONRPCIDType
    from ..ws import WSPeer

__all__ = ('PRESENCE_TTL', 'Relay', 'RelayTransport', 'worker_channel', 'worker_of')

logger = logging.getLogger('aiohttp_rpc.backplane')

PRESENCE_TTL = 15.0
"""Seconds a worker's presence lasts unless its heartbeat (every third of it) renews it."""


def worker_channel(worker: str) -> str:
    """The channel a worker hears relayed messages on."""
    return f'worker:{worker}'


def worker_of(peer_id: str) -> str:
    """The worker holding the peer ``peer_id``."""
    return peer_id.partition(':')[0]


def _gone(peer_id: str, why: str) -> TransportError:
    return TransportError(data={'details': f'Peer {peer_id} has gone ({why}).'})


class Relay:
    """The relayed calls of one worker, both ways.

    Args:
        backplane: the broker.
        worker: this worker's id.
        codec: the server's JSON codec.
        local_peer: this worker's peer of a given id, if it holds it.
    """

    def __init__(
        self, backplane: Backplane, worker: str, codec: JSONCodec, local_peer: Callable[[str], WSPeer | None]
    ) -> None:
        self.backplane = backplane
        self.worker = worker
        self._codec = codec
        self._local_peer = local_peer
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(
        self, peer_id: str, payload: bytes, request_ids: Sequence[JSONRPCIDType], timeout: float | None
    ) -> Decoded | None:
        """Send ``payload`` to the peer ``peer_id`` of another worker; its reply when ``request_ids`` are given.

        Raises:
            TransportError: the peer (or its worker) has gone.
            RequestTimeoutError: no reply within ``timeout``.
            BackplaneError: the backplane cannot be reached.
        """
        worker = worker_of(peer_id)
        if worker == self.worker:
            raise _gone(peer_id, 'its connection to this worker has closed')
        if not await self.backplane.is_present(worker):
            raise _gone(peer_id, 'its worker is not running')
        correlation = secrets.token_hex(8)
        header = {'origin': self.worker, 'kind': 'call', 'peer': peer_id, 'corr': correlation, 'ids': list(request_ids)}
        if not request_ids:
            await self.backplane.publish(worker_channel(worker), pack(header, payload))
            return None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[correlation] = future
        try:
            await self.backplane.publish(worker_channel(worker), pack(header, payload))
            return Decoded(await asyncio.wait_for(future, timeout))
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(data={'details': 'No reply in time.'}) from exc
        finally:
            self._waiting.pop(correlation, None)

    def heard(self, header: Mapping[str, Any], frame: bytes) -> None:
        """Take a message on this worker's channel: a call for one of its peers, or a reply to one of its own."""
        kind = header.get('kind')
        if kind == 'call':
            task = asyncio.get_running_loop().create_task(self._serve(header, frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        future = self._waiting.get(str(header.get('corr')))
        if future is None or future.done():
            return
        if kind == 'reply':
            try:
                future.set_result(self._codec.loads(frame))
            except ValueError:
                future.set_exception(ParseError(data={'details': 'The relayed reply is not JSON.'}))
        elif kind == 'gone':
            future.set_exception(_gone(str(header.get('peer')), str(header.get('why', 'its connection has closed'))))

    async def _serve(self, header: Mapping[str, Any], frame: bytes) -> None:
        peer_id, origin = str(header.get('peer')), str(header.get('origin'))
        ids = header.get('ids') or []
        answer = {'origin': self.worker, 'corr': header.get('corr'), 'peer': peer_id}
        peer = self._local_peer(peer_id)
        try:
            if peer is None:
                raise TransportError(data={'details': 'not here'})
            reply, _ = await peer.transport.send(frame, expect_reply=bool(ids), request_ids=ids)
            if ids and reply is not None:
                await self.backplane.publish(
                    worker_channel(origin), pack({**answer, 'kind': 'reply'}, self._codec.dumps(reply.message))
                )
        except TransportError:  # not held here (any more), or its connection closed during the call
            if ids:
                gone = {**answer, 'kind': 'gone', 'why': 'its connection has closed'}
                await self.backplane.publish(worker_channel(origin), pack(gone, b''))
        except JSONRPCError as exc:  # the backplane itself failed: the caller times out
            logger.info('A relayed call for %s could not be answered: %s', peer_id, exc)

    async def close(self) -> None:
        """Cancel the calls being served; fail the ones waiting."""
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(TransportError(data={'details': 'The server is shutting down.'}))


class RelayTransport:
    """A client transport to a peer another worker holds (what ``server.peer(peer_id)`` calls through).

    Args:
        relay: this worker's relay.
        peer_id: the peer.
        timeout: seconds a call waits for its reply by default.
    """

    def __init__(self, relay: Relay, peer_id: str, timeout: float | None = 60) -> None:
        self.relay = relay
        self.peer_id = peer_id
        self.timeout = timeout

    async def open(self) -> None:
        """Nothing to open: the backplane is the server's."""

    async def send(
        self, payload: bytes, *, expect_reply: bool, request_ids: Sequence[JSONRPCIDType] = (), **kwargs: Any
    ) -> tuple[Decoded | None, MutableMapping[str, Any]]:
        ids = request_ids if expect_reply else ()
        reply = await self.relay.send(self.peer_id, payload, ids, kwargs.get('timeout', self.timeout))
        return reply, {}

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """``ParseError`` (never needed: replies come decoded)."""
        return ParseError(data={'details': 'Invalid JSON'})

    async def aclose(self) -> None:
        """Nothing to close."""
