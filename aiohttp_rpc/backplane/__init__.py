"""Layer 3: the backplane that joins the workers of a deployment (broadcasts, topics). The Redis one is in
:mod:`aiohttp_rpc.backplane.redis` (optional extra ``redis``); it is imported only when asked for."""

from __future__ import annotations

from .base import BROADCAST, HISTORY_RETENTION, Backplane, Deliver, InProcessBackplane, Position, topic_channel

__all__ = ('BROADCAST', 'HISTORY_RETENTION', 'Backplane', 'Deliver', 'InProcessBackplane', 'Position', 'topic_channel')
