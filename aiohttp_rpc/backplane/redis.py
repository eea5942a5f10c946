"""A backplane over Redis pub/sub (``redis.asyncio``): ``pip install "aiohttp-rpc[redis]"``.

Every worker publishes on ``<prefix>:<channel>`` and listens to ``<prefix>:*`` on a connection of its own. That
listener has no socket timeout (it is idle by design) and is health-checked with a PING every
``health_check_interval`` seconds; when it is lost it reconnects, waiting 1 s and doubling up to 60 s, and
listens again (what was published meanwhile is missed: pub/sub keeps nothing). Publishing uses another
connection, with short timeouts, so an outage fails a cross-worker message fast with
:class:`~aiohttp_rpc.errors.BackplaneError` instead of holding it; a frame over ``max_frame_size`` (1 MiB, far
below Redis's pub/sub output-buffer limits) is refused before it reaches Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ..errors import BackplaneError, ServerConfigurationError
from .base import Deliver

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - the optional extra is installed in the test environment
    raise ServerConfigurationError(
        data={'details': 'The Redis backplane needs redis-py: pip install "aiohttp-rpc[redis]".'}
    ) from exc

__all__ = ('DEFAULT_MAX_FRAME_SIZE', 'RedisBackplane')

logger = logging.getLogger('aiohttp_rpc.backplane')

DEFAULT_MAX_FRAME_SIZE = 1024 * 1024
"""Bytes one published frame may have."""

_FIRST_DELAY, _LONGEST_DELAY = 1.0, 60.0
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
        if len(frame) > self.max_frame_size:
            details = f'A {len(frame)}-byte message is over the backplane limit of {self.max_frame_size} bytes.'
            raise BackplaneError(data={'details': details})
        try:
            await self._publisher.publish(f'{self.prefix}:{channel}', frame)
        except _LOST as exc:
            raise BackplaneError(data={'details': f'Redis at {_shown(self.url)} cannot be reached: {exc}'}) from exc
        self.published += 1

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
            raise BackplaneError(data={'details': f'Redis at {_shown(self.url)} cannot be reached: {exc}'}) from exc

    async def is_present(self, key: str) -> bool:
        """``EXISTS <prefix>:present:<key>``.

        Raises:
            BackplaneError: Redis cannot be reached.
        """
        try:
            return bool(await self._publisher.exists(f'{self.prefix}:present:{key}'))
        except _LOST as exc:
            raise BackplaneError(data={'details': f'Redis at {_shown(self.url)} cannot be reached: {exc}'}) from exc

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
