"""One JSON-RPC WebSocket connection, used the same way by servers and clients.

A connection reads every frame, decodes it once, and sends it one of two ways:

* replies to calls *we* made resolve the matching pending call (matched by id);
* requests from the peer go to a :class:`~aiohttp_rpc.dispatch.Dispatcher`, each in its own task, and the
  reply is sent back on the same socket.

At most ``max_in_flight`` incoming requests run at once: past that the reader stops reading (backpressure),
so a peer that floods requests, or never reads its replies (our sends then wait on the socket's drain), cannot
grow memory without bound. When the socket closes, every pending call fails with ``TransportError`` and every
in-flight request task is cancelled and awaited.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import functools
import logging
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from aiohttp import WSMessage, WSMsgType

from ...dispatch.eager import resume, start_task
from ...errors import ParseError, RequestRejected, RequestTimeoutError, TransportError
from ...protocol.response import JSONRPCResponse
from ...serialization import json_deserialize

if TYPE_CHECKING:
    from aiohttp import ClientWebSocketResponse, web

    from ...dispatch.dispatcher import Dispatcher
    from ...serialization import JSONCodec
    from ...typedefs import JSONRPCIDType

__all__ = ('DEFAULT_MAX_IN_FLIGHT', 'MessageHook', 'WSConnection')

logger = logging.getLogger('aiohttp_rpc.websocket')

MessageHook = Callable[['WSConnection', WSMessage, Any], Coroutine[Any, Any, None]]
"""``async def hook(connection, ws_msg, decoded_json)``: takes messages the connection does not handle itself."""

DEFAULT_MAX_IN_FLIGHT = 1024
"""Incoming requests a connection runs at once before it stops reading."""

_CLOSING_TYPES = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)
_CONNECTION_ERRORS = (ConnectionError, RuntimeError)  # aiohttp raises both for a socket that is going away
_SENT_OR_GONE = (StopIteration, *_CONNECTION_ERRORS)
_DATA_TYPES = (WSMsgType.TEXT, WSMsgType.BINARY)
_TEXT = WSMsgType.TEXT
_UNPARSABLE = object()  # stands for a frame that is not JSON


def _reply_id(reply: dict[str, Any]) -> Any:
    """The id a reply answers, or ``None`` when it is not one an id can be (an array, an object...)."""
    reply_id = reply.get('id')
    return reply_id if type(reply_id) is int or type(reply_id) is str else None


def _is_response(message: Any) -> bool:
    """Whether a decoded message is a reply (or batch of replies) rather than a request."""
    if isinstance(message, list):
        if not message:
            return False
        message = message[0]
    return isinstance(message, dict) and 'method' not in message and ('result' in message or 'error' in message)


class WSConnection:
    """A live WebSocket speaking JSON-RPC in both directions.

    Args:
        ws: the aiohttp WebSocket (client or server side), already connected.
        codec: the JSON codec for frames.
        dispatcher: answers requests from the peer.
        context: the base context of requests from the peer (copied per message).
        timeout: seconds to wait for the reply to a call we make; ``None`` waits until the socket closes.
        max_in_flight: incoming requests run at once before reading pauses; ``None`` for no limit.
        on_requests: optional hook that takes incoming requests instead of the dispatcher.
        on_unmatched: optional hook for replies that match no pending call.
    """

    def __init__(
        self,
        ws: ClientWebSocketResponse[bool] | web.WebSocketResponse,
        *,
        codec: JSONCodec,
        dispatcher: Dispatcher,
        context: Mapping[str, Any],
        timeout: float | None = 60,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        on_requests: MessageHook | None = None,
        on_unmatched: MessageHook | None = None,
    ) -> None:
        self.ws = ws
        self.context: dict[str, Any] = dict(context)
        self.timeout = timeout
        self._codec = codec
        self._dispatcher = dispatcher
        self._on_requests = on_requests
        self._on_unmatched = on_unmatched
        self._pending: dict[JSONRPCIDType, asyncio.Future[Any]] = {}
        self._loop = asyncio.get_running_loop()
        self._deadlines = _Deadlines(self._loop)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Future[None] | None = None
        self._base_context = contextvars.copy_context()
        self._slots = _Slots(max_in_flight) if max_in_flight else None
        self._closed = asyncio.Event()
        self._loads = json_deserialize if codec.is_default else codec.loads
        # aiohttp >= 3.11 sends our bytes as a text frame as they are; older versions need a str.
        self._write_frame: Callable[[bytes, WSMsgType], Coroutine[Any, Any, None]] = getattr(
            ws, 'send_frame', self._write_str
        )
        self._parse_error_reply = _parse_error_reply(codec)

    @property
    def closed(self) -> bool:
        """True once the socket has closed (or is closing)."""
        return self._closed.is_set() or self.ws.closed

    @property
    def in_flight(self) -> int:
        """Incoming requests being answered right now."""
        return len(self._tasks)

    @property
    def pending(self) -> int:
        """Calls we made that still wait for their reply."""
        return len(self._pending)

    async def open(self) -> None:
        """Nothing to do: the socket is open when the connection is made (part of the transport protocol)."""

    async def wait_closed(self) -> None:
        """Wait until :meth:`run` has finished."""
        await self._closed.wait()

    # -- reading --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the socket until it closes, then fail pending calls and cancel in-flight requests.

        Reading happens in a reader task; this coroutine supervises. A request that completes without waiting
        (most do) is answered inline by the reader, with no task of its own. One that waits is finished by
        the task that was reading, while a fresh reader task takes over the socket: each request keeps the
        task it started in (``asyncio.timeout()`` and friends behave), and only waiting requests cost a task.
        """
        self._base_context = contextvars.copy_context()
        self._reader = self._base_context.run(asyncio.ensure_future, self._read())
        try:
            await self._closed.wait()
        finally:
            self._closed.set()
            self._fail_pending()
            await self._cancel_tasks()
            logger.debug('WebSocket closed (code %s)', self.ws.close_code)

    async def _read(self) -> None:
        ws = self.ws
        slots = self._slots
        pending = self._pending
        start_answer = self._dispatcher.start_answer
        try:
            while True:
                msg = await ws.receive()
                if msg.type not in _DATA_TYPES:
                    if msg.type in _CLOSING_TYPES:
                        break
                    continue  # PING/PONG are answered by aiohttp's autoping
                try:
                    message = self._loads(msg.data)
                except ValueError:
                    logger.debug('Unparsable WebSocket frame (%d bytes)', len(msg.data))
                    message = _UNPARSABLE
                else:
                    if type(message) is dict:
                        if 'method' not in message and ('result' in message or 'error' in message):
                            # The reply to a call of ours, matched inline when it is the usual kind.
                            reply_id = message.get('id')
                            future = pending.pop(reply_id, None) if type(reply_id) is int else None
                            if future is not None and not future.done():
                                future.set_result(message)
                            else:
                                self._resolve(msg, message)
                            continue
                    elif _is_response(message):
                        self._resolve(msg, message)
                        continue
                if slots is not None and slots.used >= slots.limit:
                    await slots.wait_for_one()  # backpressure: no reading while the limit is reached
                context = self._base_context.copy()  # each message in its own context, as in its own task
                started: Any
                if message is _UNPARSABLE:
                    started = self._parse_error_reply  # answered like a request, in its turn
                elif self._on_requests is None:
                    try:  # most calls are answered right here, with no coroutine (see Dispatcher.start_answer)
                        started = context.run(start_answer, message, self.context, copy_context=True)
                    except RequestRejected as exc:
                        await self._refuse(exc)
                        continue
                else:
                    started = self._hand_to_hook(msg, message)
                coro: Coroutine[Any, Any, Any]
                if type(started) is CoroutineType:  # the hook, or a call that waits
                    coro = started
                    try:
                        yielded = context.run(coro.send, None)
                    except StopIteration as stop:
                        started = stop.value
                    except RequestRejected as exc:
                        await self._refuse(exc)
                        continue
                    else:
                        await self._finish_here(coro, yielded, context)
                        return
                # The reply is ready (or none is due): it goes out from here.
                if started is None or self._closed.is_set() or ws.closed:
                    if started is not None:
                        logger.debug('Reply dropped: the WebSocket is closed.')
                    continue
                # Sending waits only when the socket's buffer is full (a peer that does not read): then the
                # send, not the reader, waits for the drain, and reading goes on up to the limit.
                coro = self._write_frame(started, _TEXT)
                try:
                    yielded = coro.send(None)
                except _SENT_OR_GONE as exc:
                    if not isinstance(exc, StopIteration):
                        logger.debug('Reply dropped: the WebSocket is closed.')
                    continue
                # The reply waits to be sent: a new reader takes the socket, this task finishes the send.
                await self._finish_here(coro, yielded, context)
                return
        finally:
            if self._reader is asyncio.current_task():
                self._closed.set()

    async def _finish_here(
        self, coro: Coroutine[Any, Any, bytes | None], yielded: Any, context: contextvars.Context
    ) -> None:
        here = asyncio.current_task()
        assert here is not None
        self._tasks.add(here)
        if self._slots is not None:  # only work that waits holds a slot: the rest is over before the next read
            self._slots.used += 1
        self._reader = self._base_context.run(asyncio.ensure_future, self._read())
        try:
            payload = await resume(coro, yielded, context)
        except RequestRejected as exc:
            await self._refuse(exc)
        except _CONNECTION_ERRORS:  # a reply whose sending waited, and the socket went away meanwhile
            logger.debug('Reply dropped: the WebSocket is closed.')
        else:
            if payload is not None:
                await self._send_reply(payload)
        finally:
            self._tasks.discard(here)
            if self._slots is not None:
                self._slots.give_back()

    async def _hand_to_hook(self, msg: Any, message: Any) -> None:
        assert self._on_requests is not None
        await self._on_requests(self, msg, message)

    async def _refuse(self, exc: RequestRejected) -> None:
        logger.info('WebSocket request refused: %s', exc.reason)
        await self.ws.close(code=1008, message=exc.reason.encode()[:120])

    async def _send_reply(self, payload: bytes) -> None:
        if self._closed.is_set() or self.ws.closed:
            logger.debug('Reply dropped: the WebSocket is closed.')
            return
        try:
            await self._write_frame(payload, _TEXT)
        except _CONNECTION_ERRORS:
            logger.debug('Reply dropped: the WebSocket is closed.')

    def _resolve(self, msg: Any, message: Any) -> None:
        future: asyncio.Future[Any] | None = None
        if isinstance(message, dict):
            future = self._pending.pop(_reply_id(message), None)
        else:
            for item in message:
                if isinstance(item, dict):
                    found = self._pending.pop(_reply_id(item), None)
                    future = future or found
        if future is not None and not future.done():
            future.set_result(message)
        elif self._on_unmatched is not None:
            task = start_task(self._on_unmatched(self, msg, message))
            if not task.done():
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        else:
            logger.debug('Reply matches no pending call: %.256r', message)

    # -- writing --------------------------------------------------------------------------------------------

    async def send_frame(self, payload: bytes) -> None:
        """Send one text frame, waiting for the socket to drain.

        Raises:
            TransportError: the socket is closed or breaks while sending.
        """
        if self.closed:
            raise TransportError(data={'details': 'Connection closed.'})
        try:
            await self._write_frame(payload, _TEXT)
        except _CONNECTION_ERRORS as exc:
            raise TransportError(data={'details': 'Connection closed.'}) from exc

    async def _write_str(self, payload: bytes, opcode: WSMsgType) -> None:  # pragma: no cover - aiohttp < 3.11
        await self.ws.send_str(payload.decode())

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
            TransportError: the socket closed before the reply came.
            RequestTimeoutError: no reply within ``timeout`` (``kwargs['timeout']`` overrides it).
        """
        timeout = kwargs.get('timeout', self.timeout)
        context: MutableMapping[str, Any] = {'ws_connect': self.ws}
        if not expect_reply or not request_ids:
            await self.send_frame(payload)
            return None, context
        future: asyncio.Future[Any] = self._loop.create_future()
        pending = self._pending
        for request_id in request_ids:
            pending[request_id] = future
        if timeout is None:
            timer = None
        elif timeout == self.timeout:
            timer = self._deadlines.add(future, timeout)
        else:  # a timeout of its own: a timer of its own
            timer = self._loop.call_later(timeout, _expire, future)
        try:
            if self._closed.is_set() or self.ws.closed:  # send_frame, inline: one coroutine less per call
                raise TransportError(data={'details': 'Connection closed.'})
            try:
                await self._write_frame(payload, _TEXT)
            except _CONNECTION_ERRORS as exc:
                raise TransportError(data={'details': 'Connection closed.'}) from exc
            return await future, context
        finally:
            if timer is not None:
                timer.cancel()
            for request_id in request_ids:
                if pending.get(request_id) is future:
                    del pending[request_id]

    # -- closing --------------------------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, message: bytes = b'') -> None:
        """Cancel in-flight requests, fail pending calls and close the socket. Safe to call twice."""
        self._fail_pending()
        await self._cancel_tasks()
        if not self.ws.closed:
            await self.ws.close(code=code, message=message)
        self._closed.set()

    def _fail_pending(self) -> None:
        self._deadlines.clear()
        futures = list(self._pending.values())
        self._pending.clear()  # in place: the reader holds the dict
        for future in futures:
            if not future.done():
                future.set_exception(TransportError(data={'details': 'Connection closed.'}))

    async def _cancel_tasks(self) -> None:
        current = asyncio.current_task()
        reader = self._reader
        tasks = [task for task in (*self._tasks, *([reader] if reader is not None else [])) if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(RequestTimeoutError(data={'details': 'No reply in time.'}))


class _Deadlines:
    """When the calls waiting for replies time out, with one timer for all of them instead of one each.

    Calls made with the connection's timeout (nearly all; others get a timer each) have deadlines in the order
    they are made: they queue, and one timer, armed for the earliest, expires what is due and re-arms for the
    next. Should a deadline ever come before the last one queued (a clock step, a changed ``timeout``), that
    call gets a timer of its own, which :meth:`add` returns for the caller to cancel. Answered calls leave the
    queue lazily, and the queue is compacted whenever it holds more answered calls than waiting ones, so it
    stays proportional to the calls actually waiting.
    """

    __slots__ = ('_loop', '_queue', '_timer')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, future: asyncio.Future[Any], timeout: float) -> asyncio.TimerHandle | None:
        loop = self._loop
        deadline = loop.time() + timeout
        queue = self._queue
        if queue and deadline < queue[-1][0]:
            return loop.call_at(deadline, _expire, future)
        while queue and queue[0][1].done():
            queue.popleft()
        queue.append((deadline, future))
        if len(queue) > _COMPACT_AT and len(queue) % _COMPACT_AT == 0:
            waiting = [entry for entry in queue if not entry[1].done()]
            if len(waiting) * 2 < len(queue):
                self._queue = queue = collections.deque(waiting)
        if self._timer is None:
            self._timer = loop.call_at(queue[0][0], self._expire_due)
        return None

    def _expire_due(self) -> None:
        self._timer = None
        queue = self._queue
        now = self._loop.time()
        while queue and (queue[0][0] <= now or queue[0][1].done()):
            _expire(queue.popleft()[1])
        if queue:
            self._timer = self._loop.call_at(queue[0][0], self._expire_due)

    def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()


_COMPACT_AT = 1024


class _Slots:
    """How many requests a connection is answering with work that waits, against its limit; the reader waits
    for one to finish when the limit is reached."""

    __slots__ = ('_free', 'limit', 'used')

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._free: asyncio.Future[None] | None = None

    def give_back(self) -> None:
        self.used -= 1
        free = self._free
        if free is not None:
            self._free = None
            if not free.done():
                free.set_result(None)

    async def wait_for_one(self) -> None:
        while self.used >= self.limit:
            if self._free is None or self._free.done():
                self._free = asyncio.get_running_loop().create_future()
            await self._free


@functools.lru_cache(maxsize=8)
def _parse_error_reply(codec: JSONCodec) -> bytes:
    """The reply to a frame that is not JSON (2.0.0's wording), built once per codec, not per connection."""
    return codec.dumps(JSONRPCResponse(error=ParseError(data={'details': 'Invalid JSON.'})).dump())
