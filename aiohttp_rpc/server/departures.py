"""Cancelling the HTTP calls whose client has left.

aiohttp cancels a handler whose client disconnects only when the app runs with ``handler_cancellation=True``,
which ``web.run_app`` leaves off by default and gunicorn's aiohttp worker never sets. Without it, a call whose
client has gone runs on until ``call_timeout``. :class:`Departures` closes that gap whatever the deployment: the
HTTP server tells it which requests are being answered, and once a second, for as long as any is, it cancels
the handler of each whose connection has closed. A call that completes at once is forgotten before the check
ever runs; an idle server has no timer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ('DEFAULT_DEPARTURE_CHECK', 'Departures')

logger = logging.getLogger('aiohttp_rpc.server')

DEFAULT_DEPARTURE_CHECK = 1.0
"""Seconds between two looks at the connections of the calls running."""


class Departures:
    """The requests being answered, by the task answering each, and the timer that looks for departed clients.

    Args:
        interval: seconds between two looks.
    """

    __slots__ = ('_interval', '_timer', '_watched')

    def __init__(self, interval: float = DEFAULT_DEPARTURE_CHECK) -> None:
        self._interval = interval
        self._watched: dict[asyncio.Task[object], web.BaseRequest] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._watched)

    def watch(self, task: asyncio.Task[object], http_request: web.BaseRequest) -> None:
        """Cancel ``task`` if ``http_request``'s connection closes before :meth:`forget`."""
        self._watched[task] = http_request
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._look)

    def forget(self, task: asyncio.Task[object]) -> None:
        """``task`` has answered its request."""
        self._watched.pop(task, None)

    def _look(self) -> None:
        self._timer = None
        departed = [
            (task, http_request)
            for task, http_request in self._watched.items()
            if http_request.transport is None or http_request.transport.is_closing()
        ]
        for task, http_request in departed:
            del self._watched[task]
            logger.debug('Client of %s %s left: its call is cancelled', http_request.method, http_request.path)
            task.cancel()
        if self._watched:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._look)
