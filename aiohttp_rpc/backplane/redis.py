"""A backplane over Redis pub/sub (``redis.asyncio``): ``pip install "aiohttp-rpc[redis]"``.

Every worker publishes on ``<prefix>:<channel>`` and listens to ``<prefix>:*`` on a connection of its own. That
listener has no socket timeout (it is idle by design) and is health-checked with a PING every
``health_check_interval`` seconds; when it is lost it reconnects, waiting 1 s and doubling up to 60 s, and
listens again (what was published meanwhile is missed: pub/sub keeps nothing). Publishing uses another
connection, with short timeouts, so an outage fails a cross-worker message fast with
:class:`~aiohttp_rpc.errors.BackplaneError` instead of holding it; a frame over ``max_frame_size`` (1 MiB, far
below Redis's pub/sub output-buffer limits) is refused before it reaches Redis.

A topic's history is a Redis stream, ``<prefix>:log:<topic>``, written only while ``<prefix>:keep:<topic>``
(the number of items to keep, set by readers that ask, for :data:`~aiohttp_rpc.backplane.base.HISTORY_RETENTION`
seconds) exists. A Lua script appends an item to the stream and publishes it in one step, so the order of event
ids is the order in which every worker hears the items.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from ..errors import BackplaneError, ServerConfigurationError
from .base import HISTORY_RETENTION, Deliver, Position, topic_channel

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError, ResponseError
except ImportError as exc:  # pragma: no cover - the optional extra is installed in the test environment
    raise ServerConfigurationError(
        data={'details': 'The Redis backplane needs redis-py: pip install "aiohttp-rpc[redis]".'}
    ) from exc

__all__ = ('DEFAULT_MAX_FRAME_SIZE', 'RedisBackplane')

logger = logging.getLogger('aiohttp_rpc.backplane')

DEFAULT_MAX_FRAME_SIZE = 1024 * 1024
"""Bytes one published frame may have."""

_FIRST_DELAY, _LONGEST_DELAY = 1.0, 60.0

# KEYS: the topic's keep key, its stream. ARGV: the envelope header (JSON), the frame, the channel, the
# retention in ms. Returns false, or {event id, previous event id or false}.
_PUBLISH_TOPIC = """
local keep = tonumber(redis.call('GET', KEYS[1]))
if not keep then
    redis.call('PUBLISH', ARGV[3], ARGV[1] .. '\\n' .. ARGV[2])
    return false
end
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local previous = false
if #newest > 0 then previous = newest[1][1] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', keep, '*', 'f', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local header = cjson.decode(ARGV[1])
header['id'] = id
if previous then header['prev'] = previous end
redis.call('PUBLISH', ARGV[3], cjson.encode(header) .. '\\n' .. ARGV[2])
return {id, previous}
"""

# KEYS: the topic's keep key, its stream. ARGV: items, the retention in ms. A larger ask wins; the stream lives as
# long as the ask (a quiet topic with readers keeps its history, so the next item still follows on from it).
_KEEP_HISTORY = """
local kept = tonumber(redis.call('GET', KEYS[1]))
if kept and kept > tonumber(ARGV[1]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
"""
_LOST = (RedisError, OSError, asyncio.TimeoutError)


class RedisBackplane:
    """Workers that share a Redis server hear each other's broadcasts and topic items.

    Args:
        url: the Redis server, e.g. ``redis://127.0.0.1:6379/0`` (``rediss://`` for TLS).
        prefix: the channel prefix, so that several deployments can share one Redis.
        max_frame_size: bytes a published frame may have.
        health_check_interval: seconds between the listener's PINGs while it is idle.
        publish_timeout: seconds a publish may take before it fails.
        on_disconnect, on_reconnect: called (no arguments) when the listener loses Redis, and when it listens again.

    Attributes:
        published, delivered, reconnects: counters (frames published, frames heard, times the listener came back).

    Example::

        server = WSJSONRPCServer(backplane=RedisBackplane('redis://127.0.0.1:6379/0', prefix='shop'))
    """

    spans_processes = True

    def __init__(
        self,
        url: str = 'redis://127.0.0.1:6379/0',
        *,
        prefix: str = 'rpc',
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        health_check_interval: float = 10.0,
        publish_timeout: float = 2.0,
        on_disconnect: Callable[[], None] | None = None,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.max_frame_size = max_frame_size
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect
        self.published = self.delivered = self.reconnects = 0
        self._publisher: Any = aioredis.from_url(
            url, socket_timeout=publish_timeout, socket_connect_timeout=publish_timeout
        )
        self._listener: Any = aioredis.from_url(url, health_check_interval=health_check_interval)
        self._publish_topic: Any = self._publisher.register_script(_PUBLISH_TOPIC)
        self._keep_history: Any = self._publisher.register_script(_KEEP_HISTORY)
        self._retention_ms = int(HISTORY_RETENTION * 1000)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        """Start the listener; wait (up to 5 s) until it listens, so that what is published next is heard.
        Redis being down is logged, not raised: local traffic goes on while the listener retries."""
        if self._task is not None:
            return
        self._deliver = deliver
        self._task = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    async def publish(self, channel: str, frame: bytes) -> None:
        """Publish ``frame`` to every worker.

        Raises:
            BackplaneError: over ``max_frame_size``, or Redis cannot be reached.
        """
        self._check_size(frame)
        try:
            await self._publisher.publish(f'{self.prefix}:{channel}', frame)
        except _LOST as exc:
            raise self._unreachable(exc) from exc
        self.published += 1

    async def publish_topic(self, topic: str, header: dict[str, Any], frame: bytes) -> Position | None:
        """Publish an item of ``topic``; store it in the topic's stream first when the topic keeps a history.

        Raises:
            BackplaneError: over ``max_frame_size``, or Redis cannot be reached.
        """
        self._check_size(frame)
        keys = (f'{self.prefix}:keep:{topic}', f'{self.prefix}:log:{topic}')
        channel = f'{self.prefix}:{topic_channel(topic)}'
        try:
            args = (orjson.dumps(header), frame, channel, self._retention_ms)
            stored = await self._publish_topic(keys=keys, args=args)
        except _LOST as exc:
            raise self._unreachable(exc) from exc
        self.published += 1
        if not stored:
            return None
        event_id, previous = stored
        return Position(event_id.decode(), previous.decode() if previous else None)

    async def keep_history(self, topic: str, items: int) -> None:
        """Set ``<prefix>:keep:<topic>`` to ``items`` (unless a larger ask holds it) for the retention time, and
        keep the topic's stream as long.

        Raises:
            BackplaneError: Redis cannot be reached.
        """
        try:
            keys = (f'{self.prefix}:keep:{topic}', f'{self.prefix}:log:{topic}')
            await self._keep_history(keys=keys, args=(items, self._retention_ms))
        except _LOST as exc:
            raise self._unreachable(exc) from exc

    async def history(self, topic: str, after: str, limit: int) -> list[tuple[str, bytes]] | None:
        """``XRANGE <prefix>:log:<topic> <after> + COUNT <limit + 1>``; ``None`` unless it starts with ``after``.

        Raises:
            BackplaneError: Redis cannot be reached.
        """
        try:
            entries = await self._publisher.xrange(f'{self.prefix}:log:{topic}', min=after, max='+', count=limit + 1)
        except ResponseError:
            return None  # not an event id Redis knows how to read
        except _LOST as exc:
            raise self._unreachable(exc) from exc
        if not entries or entries[0][0].decode() != after:
            return None
        return [(event_id.decode(), fields[b'f']) for event_id, fields in entries[1:]]

    async def mark_present(self, key: str, ttl: float | None) -> None:
        """``SET <prefix>:present:<key> 1 PX <ttl>`` (``DEL`` for ``None``).

        Raises:
            BackplaneError: Redis cannot be reached.
        """
        name = f'{self.prefix}:present:{key}'
        try:
            if ttl is None:
                await self._publisher.delete(name)
            else:
                await self._publisher.set(name, b'1', px=max(1, int(ttl * 1000)))
        except _LOST as exc:
            raise self._unreachable(exc) from exc

    async def is_present(self, key: str) -> bool:
        """``EXISTS <prefix>:present:<key>``.

        Raises:
            BackplaneError: Redis cannot be reached.
        """
        try:
            return bool(await self._publisher.exists(f'{self.prefix}:present:{key}'))
        except _LOST as exc:
            raise self._unreachable(exc) from exc

    def _check_size(self, frame: bytes) -> None:
        if len(frame) > self.max_frame_size:
            details = f'A {len(frame)}-byte message is over the backplane limit of {self.max_frame_size} bytes.'
            raise BackplaneError(data={'details': details})

    def _unreachable(self, exc: BaseException) -> BackplaneError:
        return BackplaneError(data={'details': f'Redis at {_shown(self.url)} cannot be reached: {exc}'})

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self._publisher.aclose()
        await self._listener.aclose()

    async def _listen(self) -> None:
        delay = _FIRST_DELAY
        lost = False
        pattern = f'{self.prefix}:*'
        skip = len(self.prefix) + 1
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self._listening.set()
                if lost:
                    self.reconnects += 1
                    logger.info('Backplane listening to Redis at %s again.', _shown(self.url))
                    if self.on_reconnect is not None:
                        self.on_reconnect()
                lost, delay = False, _FIRST_DELAY
                async for message in pubsub.listen():
                    if message.get('type') != 'pmessage' or self._deliver is None:
                        continue
                    self.delivered += 1
                    try:
                        await self._deliver(message['channel'][skip:].decode(), message['data'])
                    except Exception:  # a frame this worker cannot use must not end its listening
                        logger.exception('Backplane frame on %r could not be delivered', message['channel'])
            except _LOST as exc:
                self._listening.clear()
                if not lost:
                    logger.warning('Backplane lost Redis at %s (%s); retrying.', _shown(self.url), exc)
                    if self.on_disconnect is not None:
                        self.on_disconnect()
                lost = True
            finally:
                with contextlib.suppress(*_LOST):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LONGEST_DELAY)


def _shown(url: str) -> str:
    """The URL without a password."""
    scheme, _, rest = url.partition('://')
    return f'{scheme}://{rest.rsplit("@", 1)[-1]}'
