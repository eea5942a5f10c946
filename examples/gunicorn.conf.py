"""gunicorn settings for ``examples/app.py``; command-line options override them.

    gunicorn examples.app:app -c examples/gunicorn.conf.py
    gunicorn examples.app:app -c examples/gunicorn.conf.py -b 0.0.0.0:8080 -w 8

On SIGTERM the master stops listening and sends SIGTERM to every worker. aiohttp's worker notices within a second,
stops accepting, runs ``app.on_shutdown`` (WebSockets close with 1001), then waits up to 95% of
``graceful_timeout`` for running HTTP handlers before cancelling them; the master SIGKILLs any worker still alive
``graceful_timeout`` seconds after the signal. A call that ends within ``0.95 * graceful_timeout`` of the signal
always completes, so keep ``graceful_timeout`` above the servers' ``call_timeout`` (30 s) / 0.95, and the
supervisor's stop timeout (systemd ``TimeoutStopSec``, Kubernetes ``terminationGracePeriodSeconds``) above
``graceful_timeout``.
"""

import os

bind = os.environ.get('BIND', '127.0.0.1:8080')
workers = int(os.environ.get('WEB_CONCURRENCY', os.cpu_count() or 1))
worker_class = 'aiohttp_rpc.server.worker.GunicornWebWorker'

# Seconds between SIGTERM and SIGKILL; the worker lets running calls finish for 95% of it.
graceful_timeout = 35
# A worker that sends no heartbeat for this long is killed (SIGABRT) and replaced. A draining worker sends none,
# so when it leaves on its own (max_requests) this also bounds the drain: keep it above graceful_timeout.
timeout = graceful_timeout + 5
# Seconds an idle keep-alive connection stays open: longer than a reverse proxy's upstream idle timeout,
# so the proxy, not the worker, closes idle connections.
keepalive = 75

accesslog = '-'
