"""A gunicorn worker for aiohttp apps that cancels the handler of a client that disconnects.

aiohttp's own worker (``aiohttp.GunicornWebWorker``) runs the app with ``handler_cancellation`` off, so a call
whose client has gone runs on (our HTTP server still cancels a waiting JSON-RPC call within about a second; see
:mod:`aiohttp_rpc.server.departures`). This one is the same worker with it on: every handler, ours or not, is
cancelled as soon as its client disconnects. Use it instead of aiohttp's::

    gunicorn myapp:app -k aiohttp_rpc.server.worker.GunicornWebWorker

It needs gunicorn, which is not a dependency of this package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornWebWorker as AiohttpGunicornWebWorker

__all__ = ('GunicornWebWorker',)


class GunicornWebWorker(AiohttpGunicornWebWorker):
    """aiohttp's gunicorn worker, running the app with ``handler_cancellation=True``.

    The app may be an ``aiohttp.web.Application`` or an async factory returning one, as with aiohttp's worker; a
    factory returning its own ``AppRunner`` keeps that runner's settings.
    """

    def load_wsgi(self) -> None:
        super().load_wsgi()
        loaded: object = getattr(self, 'wsgi')  # noqa: B009 - set by gunicorn, whose hints mypy does not see
        self.wsgi = self._runner_factory(loaded)

    def _runner_factory(self, loaded: object) -> Callable[[], Awaitable[web.BaseRunner]]:
        async def make_runner() -> web.BaseRunner:
            app = loaded if isinstance(loaded, web.Application) else await _call(loaded)
            if isinstance(app, web.BaseRunner):
                return app
            if not isinstance(app, web.Application):
                raise TypeError(f'The app must be an aiohttp.web.Application or an async factory of one, not {app!r}.')
            # The settings aiohttp's worker gives its runner, plus handler cancellation.
            return web.AppRunner(
                app,
                handler_cancellation=True,
                logger=self.log,
                keepalive_timeout=self.cfg.keepalive,
                access_log=self.log.access_log if self.cfg.accesslog else None,
                access_log_format=self._get_valid_log_format(self.cfg.access_log_format),
                shutdown_timeout=self.cfg.graceful_timeout * 0.95,
            )

        return make_runner


async def _call(factory: Any) -> object:
    """What an app factory (an async function, as aiohttp's worker accepts) gives."""
    return await factory()
