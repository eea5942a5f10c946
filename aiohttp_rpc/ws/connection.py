"""One JSON-RPC WebSocket connection, the same for servers and clients.

:meth:`WSConnection.run` is the connection's one reader, for its whole life, in the task that calls it (a
server's handler task, a client's reader task). It reads a frame, decodes it once and sends it one of two ways:

* a reply to a call *we* made resolves that call (:class:`~aiohttp_rpc.ws.pending.PendingCalls`);
* a request from the peer goes to the dispatcher. A method that cannot suspend is answered right here; any
  other call runs in a task of its own (started eagerly on Python 3.12+), owned by the connection.

Limits, each checked before the next frame is read, so a peer that exceeds one simply stops being read from:

* ``max_buffered_bytes``: the bytes waiting in the transport's write buffer (replies, notifications, calls we
  send) -- a peer that does not read its replies;
* ``max_in_flight``: the tasks running at once for the peer's requests and the 2.0 hooks.

When the socket closes, calls waiting for replies fail with ``TransportError``, senders waiting for room fail
too, and the connection's tasks are cancelled and awaited.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import logging
import weakref
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import WSMessage, WSMsgType

from ..caller.subscription import CloseReason
from ..caller.transport import Decoded
from ..compat import text_frame_sender
from ..errors import JSONRPCError, ParseError, RequestRejected, RequestTimeoutError, TransportError
from ..methods.progress import PROGRESS_METHOD, ProgressReport
from ..methods.subscription import Cursor, StreamOptions
from ..protocol.context import STREAMS, WS, RequestContext
from ..protocol.response import JSONRPCResponse
from ..serialization import json_deserialize
from .backlog import MAX_POSTED, Backlog
from .cancellation import (
    CANCEL_METHOD,
    Cancellations,
    cancel_answer,
    cancel_message,
    cancelled_id,
    cancelled_reply,
)
from .outbox import DEFAULT_MAX_BUFFERED_BYTES, Outbox
from .pending import PendingCalls
from .socket import SocketAccess
from .streams import MAX_SUBSCRIPTIONS, Streams
from .tasks import RequestTasks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..caller.subscription import ItemSink
    from ..dispatch.dispatcher import Dispatcher
    from ..serialization import JSONCodec
    from ..typedefs import JSONRPCIDType
    from .socket import AnyWebSocket

__all__ = ('DEFAULT_MAX_IN_FLIGHT', 'ConnectionState', 'MessageHook', 'WSConnection')

logger = logging.getLogger('aiohttp_rpc.websocket')

MessageHook = Callable[['WSConnection', WSMessage, Any], Coroutine[Any, Any, None]]
"""``async def hook(connection, ws_msg, decoded_json)``: takes messages the connection does not handle itself."""

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests of one peer running at once (in tasks of their own) before the connection stops reading."""

ProgressCallback = Callable[[ProgressReport], object]

_DATA_TYPES = (WSMsgType.TEXT, WSMsgType.BINARY)
_CONNECTIONS: weakref.WeakKeyDictionary[Any, WSConnection] = weakref.WeakKeyDictionary()


class ConnectionState(enum.Enum):
    """Where a connection is in its life."""

    OPEN = 'open'
    CLOSING = 'closing'
    CLOSED = 'closed'


def _closed() -> TransportError:
    return TransportError(data={'details': 'Connection closed.'})


class WSConnection:
    """A live WebSocket speaking JSON-RPC in both directions.

    Args:
        ws: the aiohttp WebSocket (client or server side), after the handshake.
        codec: the JSON codec for frames.
        dispatcher: answers requests from the peer.
        context: the base context of the peer's requests (each message gets its own copy).
        timeout: seconds a call we make waits for its reply; ``None`` waits until the socket closes.
        max_in_flight: the peer's requests running at once before reading pauses; ``None`` for no limit.
        max_buffered_bytes: bytes waiting in the write buffer before reading pauses and senders wait;
            ``None`` for no limit.
        on_requests: optional 2.0 hook that takes incoming requests instead of the dispatcher.
        on_unmatched: optional 2.0 hook for replies that match no call we made.
        max_subscriptions: subscriptions the peer may have open on this connection (``None``: no limit).

    It serves subscriptions to the peer (:mod:`~aiohttp_rpc.ws.streams`) and delivers the items of the
    subscriptions this side made (:class:`~aiohttp_rpc.caller.subscription.ItemSink`).
    """

    carries_streams = True
    """Subscriptions can be made over it (see ``client.subscribe``)."""

    __slots__ = (
        '__weakref__',
        '_backlog',
        '_base_context',
        '_cancels',
        '_close_frame',
        '_closed_future',
        '_dispatcher',
        '_dumps',
        '_loads',
        '_max_subscriptions',
        '_on_requests',
        '_on_unmatched',
        '_outbox',
        '_parse_error_reply',
        '_pending',
        '_progress',
        '_sinks',
        '_socket',
        '_streams',
        '_subscribing',
        '_tasks',
        'context',
        'state',
        'ws',
    )

    def __init__(
        self,
        ws: AnyWebSocket,
        *,
        codec: JSONCodec,
        dispatcher: Dispatcher,
        context: Mapping[str, Any],
        timeout: float | None = 60,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        max_buffered_bytes: int | None = DEFAULT_MAX_BUFFERED_BYTES,
        on_requests: MessageHook | None = None,
        on_unmatched: MessageHook | None = None,
        max_subscriptions: int | None = MAX_SUBSCRIPTIONS,
    ) -> None:
        self.ws = ws
        self.context: dict[str, Any] = dict(context)
        self.context[STREAMS] = self
        self.state = ConnectionState.OPEN
        self._socket = SocketAccess(ws, max_buffered_bytes)
        self._outbox = Outbox(text_frame_sender(ws), self._socket)
        self._pending = PendingCalls(asyncio.get_running_loop(), timeout)
        self._dispatcher = dispatcher
        self._loads = json_deserialize if codec.deserialize is json_deserialize else codec.loads
        self._dumps = codec.dumps
        self._cancels = Cancellations()
        self._parse_error_reply = _parse_error_reply(codec)
        self._on_requests = on_requests
        self._on_unmatched = on_unmatched
        self._base_context = contextvars.copy_context()
        self._tasks = RequestTasks(max_in_flight, self._base_context)
        self._backlog: Backlog | None = None  # frames post() queued behind a backlog, and their sender
        self._closed_future: asyncio.Future[None] | None = None  # made when someone waits: idle connections stay small
        self._close_frame: tuple[int, bytes] | None = None  # the code and reason the first close asked for
        self._max_subscriptions = max_subscriptions
        self._streams: Streams | None = None  # the subscriptions we serve, made at the first
        self._subscribing: dict[JSONRPCIDType, ItemSink] = {}  # our subscribe calls waiting for their reply
        self._sinks: dict[str, ItemSink] = {}  # our subscriptions, by id
        self._progress: dict[JSONRPCIDType, ProgressCallback] = {}  # our calls that want progress, by token
        _CONNECTIONS[ws] = self

    @classmethod
    def of(cls, ws: object) -> WSConnection | None:
        """The connection serving the aiohttp WebSocket ``ws``, if one does."""
        return None if ws is None else _CONNECTIONS.get(ws)

    @property
    def timeout(self) -> float | None:
        """Seconds a call we make waits for its reply by default."""
        return self._pending.timeout

    @property
    def closed(self) -> bool:
        """True once the connection is closing or closed."""
        return self.state is not ConnectionState.OPEN or self.ws.closed

    @property
    def in_flight(self) -> int:
        """The peer's requests (and hook calls) running right now in tasks of their own."""
        return len(self._tasks)

    @property
    def pending(self) -> int:
        """Calls we made that still wait for their reply."""
        return len(self._pending)

    def buffered(self) -> int:
        """Bytes held for the peer: the transport's write buffer plus frames waiting for room."""
        return self._outbox.buffered()

    async def open(self) -> None:
        """Nothing to do: the socket is open when the connection is made (part of the transport protocol)."""

    async def wait_closed(self) -> None:
        """Wait until the connection has closed and its tasks have ended."""
        if self.state is ConnectionState.CLOSED:
            return
        if self._closed_future is None:
            self._closed_future = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._closed_future)

    # -- reading --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and answer the peer until the socket closes; then fail pending calls and end every task.

        Call it once, from the task that is to be the connection's reader for its whole life.
        """
        try:
            await self._read()
        finally:
            await self._finish()

    async def _read(self) -> None:
        receive = self.ws.receive
        outbox = self._outbox
        tasks = self._tasks
        while True:
            if outbox.full:  # the peer is not reading its replies: neither do we read its requests
                try:
                    await outbox.wait_room()
                except TransportError:
                    return
            msg = await receive()
            if msg.type not in _DATA_TYPES:
                if msg.type is WSMsgType.PING or msg.type is WSMsgType.PONG:
                    continue  # answered by aiohttp's autoping
                return  # CLOSE, CLOSING, CLOSED or ERROR
            try:
                taken = self._take(msg)
                del msg  # nothing of a finished message stays reachable while the next one is awaited
                outcome: bytes | Coroutine[Any, Any, None] | None
                if isinstance(taken, dict):  # a call that never waits: answered here, at once
                    outcome = await self._dispatcher.dispatch_message(taken, RequestContext(self.context))
                else:
                    outcome = taken
                del taken
            except RequestRejected as exc:
                outcome = None
                await self._refuse(exc)
            if outcome is None:
                continue
            if isinstance(outcome, bytes):
                try:
                    await outbox.send(outcome)
                except TransportError:
                    logger.debug('Reply dropped: the WebSocket is closed.')
            else:
                await tasks.start(outcome)  # at the limit, waits: no reading until a task ends
            del outcome

    def _take(self, msg: Any) -> bytes | dict[str, Any] | Coroutine[Any, Any, None] | None:
        """Handle one data frame: the reply's bytes when it is known at once, a request to answer at once (one
        that never waits), a coroutine for work that may wait (to run in a task of its own), or ``None`` when
        nothing is left to do."""
        try:
            message = self._loads(msg.data)
        except ValueError:
            logger.debug('Unparsable WebSocket frame (%d bytes)', len(msg.data))
            return self._parse_error_reply
        if type(message) is dict:
            if 'method' not in message and ('result' in message or 'error' in message):
                reply_id = message.get('id')
                if type(reply_id) is int or type(reply_id) is str:
                    if self._subscribing:
                        self._bind_sink(reply_id, message)
                    if self._pending.resolve_id(reply_id, message):
                        return None  # the reply to a call of ours: the usual case, first
                    if self._cancels.abandoned(reply_id):
                        return None  # the late reply to a call we cancelled
                return self._unmatched(msg, message)
        elif type(message) is list and _is_reply_batch(message):
            return None if self._pending.resolve(message) else self._unmatched(msg, message)
        if type(message) is dict:
            if self._sinks and 'id' not in message and self._deliver(message):
                return None  # an item of a subscription of ours
            if self._progress and message.get('method') == PROGRESS_METHOD and 'id' not in message:
                self._report(message)
                return None
            if message.get('method') == CANCEL_METHOD:
                return self._peer_cancels(message)
            if self._cancels.early:  # some cancel came before its request: is this the request?
                request_id = message.get('id')
                if (type(request_id) is int or type(request_id) is str) and self._cancels.cancelled_early(request_id):
                    return self._dumps(cancelled_reply(request_id))  # it never runs
        if self._on_requests is not None:
            return self._on_requests(self, msg, message)
        if type(message) is dict and self._dispatcher.never_waits(message):
            return message
        return self._reply_later(message)  # in a task of its own, where it may wait

    def _bind_sink(self, reply_id: JSONRPCIDType, message: dict[str, Any]) -> None:
        """The reply to a subscribe call of ours: its items go to the call's sink from the next frame on."""
        sink = self._subscribing.pop(reply_id, None)
        subscription_id = message.get('result')
        if sink is not None and type(subscription_id) is str:
            self._sinks[subscription_id] = sink

    def _deliver(self, message: dict[str, Any]) -> bool:
        """Hand a notification to the subscription of ours it names; False if it names none."""
        params = message.get('params')
        if type(params) is not dict:
            return False
        subscription_id = params.get('subscription')
        if type(subscription_id) is not str:
            return False
        sink = self._sinks.get(subscription_id)
        if sink is None:
            return False
        if sink.deliver(params):
            del self._sinks[subscription_id]  # ended: later frames for it are not ours
        return True

    def _report(self, message: dict[str, Any]) -> None:
        """Hand a ``$/progress`` report to the call of ours it names (by its token); drop it otherwise."""
        params = message.get('params')
        token = params.get('token') if type(params) is dict else None
        if type(token) is not int and type(token) is not str:
            return
        callback = self._progress.get(token)
        report = ProgressReport.load(params.get('value')) if callback is not None and params is not None else None
        if callback is None or report is None:
            logger.debug('Progress report for no call of ours: %.256r', message)
            return
        try:
            callback(report)
        except Exception:  # the callback's bug must not end the connection's reader
            del self._progress[token]  # nor be logged once per report the peer sends
            logger.exception('An on_progress callback raised; it gets no more reports for this call')

    def forget_subscription(self, subscription_id: str) -> None:
        """Stop delivering items of our subscription ``subscription_id`` (it was unsubscribed)."""
        self._sinks.pop(subscription_id, None)

    # -- subscriptions we serve --------------------------------------------------------------------------------

    def open_stream(
        self,
        items: AsyncIterator[Any],
        options: StreamOptions,
        request_id: JSONRPCIDType,
        cursor: Cursor | None = None,
    ) -> str:
        """Serve ``items`` as a subscription of the peer's (see :class:`~aiohttp_rpc.methods.subscription.StreamHost`).

        Raises:
            TooManySubscriptions: ``max_subscriptions`` are open.
        """
        streams = self._streams
        if streams is None:
            streams = self._streams = Streams(self._outbox, self._post_end, self._dumps, self._max_subscriptions)
        return streams.open(items, options, request_id, cursor)

    async def close_stream(self, subscription_id: str) -> bool:
        """End the peer's subscription ``subscription_id``; False if it is not live."""
        return self._streams is not None and await self._streams.close(subscription_id)

    @property
    def subscriptions(self) -> int:
        """The peer's subscriptions open on this connection."""
        return 0 if self._streams is None else len(self._streams)

    @property
    def dropped_items(self) -> int:
        """Items the peer's ``drop_oldest`` subscriptions dropped because it read too slowly."""
        return 0 if self._streams is None else self._streams.dropped_items

    async def _post_end(self, payload: bytes) -> bool:
        return await self.post(payload, None)

    def _unmatched(self, msg: WSMessage, message: Any) -> Coroutine[Any, Any, None] | None:
        if self._on_unmatched is not None:
            return self._on_unmatched(self, msg, message)
        logger.debug('Reply matches no pending call: %.256r', message)
        return None

    def _peer_cancels(self, message: dict[str, Any]) -> bytes | None:
        """Handle the peer's ``$/cancelRequest``: a reply only when it was sent with an id of its own."""
        target = cancelled_id(message)
        cancelled = target is not None and self._cancels.cancel(target)
        own_id = message.get('id')
        if type(own_id) is int or type(own_id) is str:
            return self._dumps(cancel_answer(own_id, cancelled))
        return None

    async def _reply_later(self, message: object) -> None:
        request_id = _single_call_id(message)
        task = asyncio.current_task()
        if request_id is not None and task is not None:
            self._cancels.running(request_id, task)  # the peer may cancel it until it ends
        try:
            try:
                reply = await self._dispatcher.dispatch_message(message, RequestContext(self.context))
            except asyncio.CancelledError:
                if request_id is None or not self._cancels.cancelled_by_peer(task):
                    raise  # the connection is closing
                _uncancel(task)
                reply = self._dumps(cancelled_reply(request_id))
            if reply is not None:
                await self._outbox.send(reply)
                streams = self._streams
                if streams is not None and streams.waiting:
                    streams.announce(message)  # the reply is out: the subscriptions it opened may start
        except RequestRejected as exc:
            await self._refuse(exc)
        except TransportError:
            logger.debug('Reply dropped: the WebSocket is closed.')

    async def _refuse(self, exc: RequestRejected) -> None:
        logger.info('WebSocket request refused: %s', exc.reason)
        self.state = ConnectionState.CLOSING
        await self._close_socket(1008, exc.reason.encode()[:120])

    # -- writing --------------------------------------------------------------------------------------------

    async def send_frame(self, payload: bytes) -> None:
        """Send one text frame, waiting while the connection's write buffer is over its budget.

        Raises:
            TransportError: the connection is closed, or closes meanwhile.
        """
        if self.state is not ConnectionState.OPEN:
            raise _closed()
        await self._outbox.send(payload)

    async def send(
        self,
        payload: bytes,
        *,
        expect_reply: bool,
        request_ids: Sequence[JSONRPCIDType] = (),
        **kwargs: Any,
    ) -> tuple[Decoded | None, MutableMapping[str, Any]]:
        """Send a message; when a reply is expected, wait for the one carrying ``request_ids``, which comes
        :class:`~aiohttp_rpc.caller.transport.Decoded` (the reader decoded it to tell whose it is).

        Raises:
            TransportError: the connection closed before the reply came.
            RequestTimeoutError: no reply within the timeout (``kwargs['timeout']`` overrides it).
        """
        context: MutableMapping[str, Any] = {WS: self.ws}
        if not expect_reply or not request_ids:
            await self.send_frame(payload)
            return None, context
        if self.state is not ConnectionState.OPEN:
            raise _closed()
        pending = self._pending
        future, timer = pending.expect(request_ids, kwargs.get('timeout', pending.timeout))
        sink: ItemSink | None = kwargs.get('subscription')
        if sink is not None:  # a subscribe call: the reader binds the sink to the id as it reads the reply
            self._subscribing[request_ids[0]] = sink
        on_progress: ProgressCallback | None = kwargs.get('progress')
        if on_progress is not None:  # the call's id is its progress token
            self._progress[request_ids[0]] = on_progress
        try:
            await self._outbox.send(payload)
            return Decoded(await future), context
        except (asyncio.CancelledError, RequestTimeoutError):
            if len(request_ids) == 1:  # our caller gave up on a single call: tell the peer to stop it
                await self._cancel_ours(request_ids[0])
            raise
        finally:
            pending.forget(request_ids, future, timer)
            if sink is not None:
                self._subscribing.pop(request_ids[0], None)
            if on_progress is not None:
                self._progress.pop(request_ids[0], None)

    async def _cancel_ours(self, request_id: JSONRPCIDType) -> None:
        """Send ``$/cancelRequest`` for our call ``request_id``, without waiting for room; drop its late reply."""
        self._cancels.abandon(request_id)
        await self.post(self._dumps(cancel_message(request_id)), None)

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """``ParseError`` (never needed here: replies come :class:`Decoded`; frames that do not decode are
        answered by the reader)."""
        return ParseError(data={'details': 'Invalid JSON'})

    async def post(self, payload: bytes, timeout: float | None) -> bool:
        """Send one text frame without waiting for room: at once while the write buffer has room, else queued, in
        order, behind the backlog; a peer that does not clear it in ``timeout`` seconds, or lets ``MAX_POSTED``
        frames queue up, is aborted (see :mod:`~aiohttp_rpc.ws.backlog`). What ``broadcast`` uses.

        Returns:
            False if the connection is closed (or has just been aborted), else True.
        """
        if self.state is not ConnectionState.OPEN:
            return False
        backlog = self._backlog
        if backlog is None:
            if not self._outbox.full:
                try:
                    await self._outbox.send(payload)  # room: written now, without waiting
                except TransportError:
                    return False
                return True
            backlog = self._backlog = Backlog(self._outbox, timeout, self._too_slow, self._backlog_done)
        elif backlog.full:
            logger.info('Dropping a WebSocket peer with %d frames queued behind its backlog.', MAX_POSTED)
            self.abort()
            return False
        backlog.frames.append(payload)
        return True

    def _backlog_done(self, backlog: Backlog) -> None:
        if self._backlog is backlog:
            self._backlog = None

    def _too_slow(self) -> None:
        if not self.closed:
            logger.info('Dropping a WebSocket peer too slow to take what was sent to it.')
            self.abort()

    # -- closing --------------------------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, message: bytes = b'') -> None:
        """Close the socket with ``code`` after ending the connection's work. Safe to call twice: the code of the
        first call is the one sent."""
        if self._close_frame is None:
            self._close_frame = (code, message)
        if self.state is ConnectionState.OPEN:
            self.state = ConnectionState.CLOSING
        self._stop()
        await self._end_tasks()
        await self._close_socket(code, message)

    async def _close_socket(self, code: int, message: bytes) -> None:
        """Send the close frame: the first code asked for wins. aiohttp before 3.10.4 wakes the reader before it
        writes the frame, and the reader's task (a server handler closing on its way out) could get its own close
        in first: with this, both send the same code (1001 on shutdown, not 1000)."""
        if self._close_frame is None:
            self._close_frame = (code, message)
        if not self.ws.closed:
            code, message = self._close_frame
            await self.ws.close(code=code, message=message)

    def abort(self) -> None:
        """Drop the connection at once: its transport is closed without a closing handshake (for a peer too slow
        to take what we send, which would never complete one). The reader then ends as for any lost socket."""
        if self.state is ConnectionState.OPEN:
            self.state = ConnectionState.CLOSING
        self._stop()
        self._socket.abort()

    def _stop(self) -> None:
        self._pending.fail_all(_closed)
        self._outbox.close()  # a queue of posted frames ends with it
        sinks = list(self._sinks.values())
        self._sinks.clear()
        self._subscribing.clear()
        for sink in sinks:
            sink.finish(CloseReason.CONNECTION_LOST)

    async def _end_tasks(self) -> None:
        if self._streams is not None:
            await self._streams.close_all()
        backlog = self._backlog
        await self._tasks.cancel_all(*([backlog.task] if backlog is not None else []))

    async def _finish(self) -> None:
        if self.state is ConnectionState.OPEN:
            self.state = ConnectionState.CLOSING
        self._stop()
        try:
            await self._end_tasks()
        finally:
            self.state = ConnectionState.CLOSED
            if self._closed_future is not None and not self._closed_future.done():
                self._closed_future.set_result(None)
            logger.debug('WebSocket closed (code %s)', self.ws.close_code)


def _single_call_id(message: object) -> JSONRPCIDType | None:
    """The id of a single call (not a batch, not a notification) that the peer may cancel."""
    if type(message) is not dict:
        return None
    request_id = message.get('id')
    return request_id if type(request_id) is int or type(request_id) is str else None


def _uncancel(task: asyncio.Task[None] | None) -> None:
    """Take back the cancellation the peer asked for, now that it is answered (Python 3.11+)."""
    uncancel = getattr(task, 'uncancel', None)
    if uncancel is not None:
        uncancel()


def _is_reply_batch(message: list[Any]) -> bool:
    first = message[0] if message else None
    return type(first) is dict and 'method' not in first and ('result' in first or 'error' in first)


@functools.lru_cache(maxsize=8)
def _parse_error_reply(codec: JSONCodec) -> bytes:
    """The reply to a frame that is not JSON (2.0.0's wording), built once per codec, not per connection."""
    return codec.dumps(JSONRPCResponse(error=ParseError(data={'details': 'Invalid JSON.'})).dump())
