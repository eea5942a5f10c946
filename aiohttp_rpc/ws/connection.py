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
import collections
import contextvars
import enum
import functools
import logging
import sys
import weakref
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import WSMessage, WSMsgType

from ..errors import ParseError, RequestRejected, TransportError
from ..protocol.response import JSONRPCResponse
from ..serialization import json_deserialize
from .outbox import DEFAULT_MAX_BUFFERED_BYTES, Outbox
from .pending import PendingCalls
from .socket import SocketAccess

if TYPE_CHECKING:
    from ..dispatch.dispatcher import Dispatcher
    from ..serialization import JSONCodec
    from ..typedefs import JSONRPCIDType
    from .socket import AnyWebSocket

__all__ = ('DEFAULT_MAX_IN_FLIGHT', 'MAX_POSTED', 'ConnectionState', 'MessageHook', 'WSConnection')

logger = logging.getLogger('aiohttp_rpc.websocket')

MessageHook = Callable[['WSConnection', WSMessage, Any], Coroutine[Any, Any, None]]
"""``async def hook(connection, ws_msg, decoded_json)``: takes messages the connection does not handle itself."""

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests of one peer running at once (in tasks of their own) before the connection stops reading."""

_DATA_TYPES = (WSMsgType.TEXT, WSMsgType.BINARY)
_CONNECTIONS: weakref.WeakKeyDictionary[Any, WSConnection] = weakref.WeakKeyDictionary()


class ConnectionState(enum.Enum):
    """Where a connection is in its life."""

    OPEN = 'open'
    CLOSING = 'closing'
    CLOSED = 'closed'


def _closed() -> TransportError:
    return TransportError(data={'details': 'Connection closed.'})


_EAGER = sys.version_info >= (3, 12)

if sys.version_info >= (3, 12):

    def _start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        # Runs at once up to its first wait: a call that does not wait is over before this returns.
        return asyncio.Task(coro, loop=asyncio.get_running_loop(), context=context, eager_start=True)

elif sys.version_info >= (3, 11):

    def _start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coro, context=context)

else:  # pragma: no cover - Python 3.10

    def _start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        return context.run(asyncio.get_running_loop().create_task, coro)


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
    """

    __slots__ = (
        '__weakref__',
        '_base_context',
        '_closed_future',
        '_dispatcher',
        '_hook_failed',
        '_loads',
        '_on_requests',
        '_on_unmatched',
        '_outbox',
        '_parse_error_reply',
        '_pending',
        '_posted',
        '_slots',
        '_socket',
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
    ) -> None:
        self.ws = ws
        self.context: dict[str, Any] = dict(context)
        self.state = ConnectionState.OPEN
        self._socket = SocketAccess(ws, max_buffered_bytes)
        # aiohttp >= 3.11 sends our bytes as a text frame as they are; older versions need a str.
        self._outbox = Outbox(getattr(ws, 'send_frame', self._send_str), self._socket)
        self._pending = PendingCalls(asyncio.get_running_loop(), timeout)
        self._dispatcher = dispatcher
        self._loads = json_deserialize if codec.deserialize is json_deserialize else codec.loads
        self._parse_error_reply = _parse_error_reply(codec)
        self._on_requests = on_requests
        self._on_unmatched = on_unmatched
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._posted: _Posted | None = None  # frames queued by post() behind a backlog, and their sender
        self._base_context = contextvars.copy_context()
        self._closed_future: asyncio.Future[None] | None = None  # made when someone waits: idle connections stay small
        self._hook_failed = False
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
        slots = self._slots
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
                outcome = self._take(msg)
            except RequestRejected as exc:
                outcome = None
                await self._refuse(exc)
            del msg  # nothing of a finished message stays reachable while the next one is awaited
            if outcome is None:
                continue
            if isinstance(outcome, bytes):
                try:
                    await outbox.send(outcome)
                except TransportError:
                    logger.debug('Reply dropped: the WebSocket is closed.')
            else:
                if slots is not None:
                    try:
                        await slots.acquire()  # at the limit: no reading until a task ends
                    except BaseException:
                        outcome.close()  # never started: nothing of it has run
                        raise
                if not self._spawn(outcome):
                    # Python < 3.12 has no eager tasks: one loop turn lets the task take its first step (a call
                    # that does not wait writes its reply) before the next frame is read, so the byte budget is
                    # checked against replies already written, as on 3.12+.
                    await asyncio.sleep(0)
            del outcome

    def _take(self, msg: Any) -> bytes | Coroutine[Any, Any, None] | None:
        """Handle one data frame: the reply's bytes when it is known at once, a coroutine for work that may wait
        (to run in a task of its own), or ``None`` when nothing is left to do."""
        try:
            message = self._loads(msg.data)
        except ValueError:
            logger.debug('Unparsable WebSocket frame (%d bytes)', len(msg.data))
            return self._parse_error_reply
        if type(message) is dict:
            if 'method' not in message and ('result' in message or 'error' in message):
                reply_id = message.get('id')
                if (type(reply_id) is int or type(reply_id) is str) and self._pending.resolve_id(reply_id, message):
                    return None  # the reply to a call of ours: the usual case, first
                return self._unmatched(msg, message)
        elif type(message) is list and _is_reply_batch(message):
            return None if self._pending.resolve(message) else self._unmatched(msg, message)
        if self._on_requests is not None:
            return self._on_requests(self, msg, message)
        if not self._dispatcher.answers_at_once(message):
            return self._reply_later(message)  # in a task of its own, where it may wait
        started = self._base_context.copy().run(self._dispatcher.start_answer, message, self.context, True)
        if started is None or isinstance(started, bytes):
            return started
        return self._reply_later(message, started)  # not reached: answers_at_once() promised no wait

    def _unmatched(self, msg: WSMessage, message: Any) -> Coroutine[Any, Any, None] | None:
        if self._on_unmatched is not None:
            return self._on_unmatched(self, msg, message)
        logger.debug('Reply matches no pending call: %.256r', message)
        return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> bool:
        """Run ``coro`` in a task of the connection's; True if it has started already (Python 3.12+)."""
        task = _start_task(coro, self._base_context.copy())
        if task.done():  # started eagerly and already over
            self._task_done(task)
            return True
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return _EAGER

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._slots is not None:
            self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            # Only a 2.0 hook (user code) can fail here; reported once per connection, so a peer cannot make the
            # log grow by sending more messages.
            log = logger.debug if self._hook_failed else logger.error
            self._hook_failed = True
            log('A WebSocket message hook raised', exc_info=task.exception())

    async def _reply_later(self, message: Any, started: Coroutine[Any, Any, bytes | None] | None = None) -> None:
        try:
            if started is None:
                answer = self._dispatcher.start_answer(message, self.context, True)
                reply = answer if answer is None or isinstance(answer, bytes) else await answer
            else:
                reply = await started
            if reply is not None:
                await self._outbox.send(reply)
        except RequestRejected as exc:
            await self._refuse(exc)
        except TransportError:
            logger.debug('Reply dropped: the WebSocket is closed.')

    async def _refuse(self, exc: RequestRejected) -> None:
        logger.info('WebSocket request refused: %s', exc.reason)
        self.state = ConnectionState.CLOSING
        await self.ws.close(code=1008, message=exc.reason.encode()[:120])

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
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Send a message; when a reply is expected, wait for the one carrying ``request_ids``.

        Raises:
            TransportError: the connection closed before the reply came.
            RequestTimeoutError: no reply within the timeout (``kwargs['timeout']`` overrides it).
        """
        context: MutableMapping[str, Any] = {'ws_connect': self.ws}
        if not expect_reply or not request_ids:
            await self.send_frame(payload)
            return None, context
        if self.state is not ConnectionState.OPEN:
            raise _closed()
        pending = self._pending
        future, timer = pending.expect(request_ids, kwargs.get('timeout', pending.timeout))
        try:
            await self._outbox.send(payload)
            return await future, context
        finally:
            pending.forget(request_ids, future, timer)

    async def post(self, payload: bytes, timeout: float | None) -> bool:
        """Send one text frame without waiting for room: written at once when the write buffer has room, else
        queued, in order, behind the backlog. A peer that does not clear its backlog within ``timeout`` seconds
        of the first frame queued (or lets more than ``MAX_POSTED`` frames queue up) is aborted. What
        :meth:`WSJSONRPCServer.broadcast` uses: a slow peer never holds up its caller.

        Returns:
            False if the connection is closed (or has just been aborted), else True.
        """
        if self.state is not ConnectionState.OPEN:
            return False
        posted = self._posted
        if posted is None and not self._outbox.full:
            try:
                await self._outbox.send(payload)  # room: written now, without waiting
            except TransportError:
                return False
            return True
        if posted is None:
            posted = self._posted = _Posted(self, timeout)
        elif len(posted.frames) >= MAX_POSTED:
            logger.info('Dropping a WebSocket peer with %d frames queued behind its backlog.', MAX_POSTED)
            self.abort()
            return False
        posted.frames.append(payload)
        return True

    async def _send_posted(self, posted: _Posted) -> None:
        try:
            while posted.frames:
                await self._outbox.send(posted.frames[0])
                posted.frames.popleft()
        except TransportError:
            pass
        finally:
            posted.end()
            if self._posted is posted:
                self._posted = None

    async def _send_str(self, payload: bytes, opcode: WSMsgType) -> None:  # pragma: no cover - aiohttp < 3.11
        await self.ws.send_str(payload.decode())

    # -- closing --------------------------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, message: bytes = b'') -> None:
        """Close the socket with ``code`` after ending the connection's work. Safe to call twice."""
        if self.state is ConnectionState.OPEN:
            self.state = ConnectionState.CLOSING
        self._stop()
        await self._end_tasks()
        if not self.ws.closed:
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

    async def _end_tasks(self) -> None:
        current = asyncio.current_task()
        posted = self._posted
        tasks = [task for task in self._tasks if task is not current]
        if posted is not None and posted.task is not current:
            tasks.append(posted.task)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

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


MAX_POSTED = 1024
"""Frames :meth:`WSConnection.post` queues behind one peer's backlog before it drops the peer."""


class _Posted:
    """Frames posted behind a backlog, the task that sends them in order, and the timer that drops the peer if
    they are not all out in time."""

    __slots__ = ('frames', 'task', 'timer')

    def __init__(self, connection: WSConnection, timeout: float | None) -> None:
        self.frames: collections.deque[bytes] = collections.deque()
        loop = asyncio.get_running_loop()
        self.timer = None if timeout is None else loop.call_later(timeout, _too_slow, connection)
        self.task = loop.create_task(connection._send_posted(self))

    def end(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _too_slow(connection: WSConnection) -> None:
    if not connection.closed:
        logger.info('Dropping a WebSocket peer too slow to take what was sent to it.')
        connection.abort()


def _is_reply_batch(message: list[Any]) -> bool:
    first = message[0] if message else None
    return type(first) is dict and 'method' not in first and ('result' in first or 'error' in first)


@functools.lru_cache(maxsize=8)
def _parse_error_reply(codec: JSONCodec) -> bytes:
    """The reply to a frame that is not JSON (2.0.0's wording), built once per codec, not per connection."""
    return codec.dumps(JSONRPCResponse(error=ParseError(data={'details': 'Invalid JSON.'})).dump())
