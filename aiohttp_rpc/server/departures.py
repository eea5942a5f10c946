"""Cancelling the HTTP calls whose client has left.

aiohttp cancels a handler whose client disconnects only when the app runs with ``handler_cancellation=True``,
which ``web.run_app`` leaves off by default and gunicorn's aiohttp worker never sets. Without it, a call whose
client has gone runs on until ``call_timeout``. :class:`Departures` closes that gap whatever the deployment: the
HTTP server hands the dispatcher :meth:`Departures.while_waiting` as its ``on_wait`` hook, so that only calls
that wait are watched: once a second, for as long as any is, it cancels the handler of each whose connection has
closed. A call that completes at once is never watched (nothing could cancel it); an idle server has no timer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from ..protocol.context import RequestContext

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

    def while_waiting(self, context: RequestContext) -> Callable[[], object]:
        """The dispatcher's ``on_wait`` hook: cancel the current task if the connection of the context's HTTP
        request closes before the returned callable is called."""
        task = asyncio.current_task()
        http_request = context.http_request
        assert task is not None, 'called by the dispatcher, in the task answering the request'
        assert http_request is not None, 'called for a message that came over HTTP'
        self._watched[task] = http_request
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._look)
        return functools.partial(self._watched.pop, task, None)

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
