"""Broadcasts and topic items from outside a server: a script, a cron job, a task queue worker."""

from __future__ import annotations

import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..protocol.request import JSONRPCRequest
from ..serialization import JSONCodec, json_deserialize, json_serialize
from .base import BROADCAST
from .envelope import pack
from .redis import DEFAULT_MAX_FRAME_SIZE, RedisBackplane

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..typedefs import JSONEncoderType

__all__ = ('Emitter',)


class Emitter:
    """Sends to the workers of a deployment through its Redis backplane, without serving anything.

    Args:
        url: the Redis server the workers' :class:`~aiohttp_rpc.RedisBackplane` uses.
        prefix: their backplane's prefix.
        json_serialize: how items and params are encoded (as the servers do: orjson by default).
        max_frame_size: bytes one message may have.

    Example::

        async with Emitter('redis://127.0.0.1:6379/0', prefix='shop') as emitter:
            await emitter.broadcast('maintenance', minutes=5)      # every peer of every worker
            await emitter.publish('prices.BTC', {'price': 97000})   # every server.topic('prices.BTC')
    """

    def __init__(
        self,
        url: str = 'redis://127.0.0.1:6379/0',
        *,
        prefix: str = 'rpc',
        json_serialize: JSONEncoderType = json_serialize,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self._backplane = RedisBackplane(url, prefix=prefix, max_frame_size=max_frame_size)
        self._codec = JSONCodec(json_serialize, json_deserialize)
        self._origin = 'emitter:' + secrets.token_hex(8)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def broadcast(self, method: str, *args: Any, send_timeout: float | None = 5.0, **kwargs: Any) -> None:
        """A notification to every peer of every worker (see ``WSJSONRPCServer.broadcast``).

        Raises:
            BackplaneError: Redis cannot be reached, or the message is too large.
        """
        request = JSONRPCRequest(method=method, args=args or None, kwargs=kwargs or None)
        frame = self._codec.dumps(request.dump())
        await self._backplane.publish(BROADCAST, pack({'origin': self._origin, 'send_timeout': send_timeout}, frame))

    async def publish(self, topic: str, item: Any) -> None:
        """``item`` to every ``server.topic(topic)`` iterator of every worker (stored in the topic's history
        first, when resumable subscriptions asked for one).

        Raises:
            BackplaneError: Redis cannot be reached, or the item is too large.
        """
        await self._backplane.publish_topic(topic, {'origin': self._origin}, self._codec.dumps(item))

    async def aclose(self) -> None:
        """Let go of the Redis connection. Safe to call twice."""
        await self._backplane.close()
