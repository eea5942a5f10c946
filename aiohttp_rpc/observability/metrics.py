"""Prometheus metrics for JSON-RPC servers: calls, errors, latency, calls in flight, WebSocket connections and
subscriptions.

Needs the ``metrics`` extra: ``pip install "aiohttp-rpc[metrics]"``.

Example::

    from aiohttp_rpc.observability.metrics import PrometheusMetrics, add_metrics_route

    metrics = PrometheusMetrics()
    server = WSJSONRPCServer(middlewares=[metrics.middleware, *DEFAULT_MIDDLEWARES])
    metrics.track(server)                    # label its methods by name; count its connections
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    add_metrics_route(app)                   # GET /metrics
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from ..errors import InternalError, JSONRPCError, RequestRejected
from ..server.websocket import WSJSONRPCServer

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Metric
    from prometheus_client.core import CounterMetricFamily
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.registry import Collector
except ImportError as exc:
    raise ImportError(
        'aiohttp_rpc.observability.metrics needs prometheus-client: pip install "aiohttp-rpc[metrics]"'
    ) from exc

if TYPE_CHECKING:
    from ..dispatch.dispatcher import Dispatcher
    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import SingleRequestProcessorType

__all__ = (
    'DEFAULT_BUCKETS',
    'OUTCOMES',
    'UNKNOWN_METHOD',
    'PrometheusMetrics',
    'add_metrics_route',
    'metrics_route',
)

DEFAULT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Latency histogram buckets in seconds: from half a millisecond to the default ``call_timeout`` (30 s)."""

UNKNOWN_METHOD = '<unknown>'
"""The ``method`` label of calls to methods no tracked server serves."""

OUTCOMES = ('ok', 'error', 'cancelled', 'rejected')
"""Values of the ``outcome`` label; see :class:`PrometheusMetrics`."""

_INTERNAL_ERROR_CODE = InternalError.code


class _MethodSeries:
    """The labelled series of one ``method`` label value, looked up once instead of on every call."""

    __slots__ = ('codes', 'duration', 'errors', 'in_flight', 'method', 'outcomes')

    def __init__(self, metrics: PrometheusMetrics, method: str) -> None:
        self.method = method
        self.outcomes = {outcome: metrics.calls.labels(method, outcome) for outcome in OUTCOMES}
        self.duration = metrics.duration.labels(method)
        self.in_flight = metrics.in_flight.labels(method)
        self.errors = metrics.errors
        self.codes: dict[int, Counter] = {}

    def error(self, code: int) -> Counter:
        series = self.codes.get(code)
        if series is None:
            series = self.codes[code] = self.errors.labels(self.method, str(code))
        return series


class PrometheusMetrics:
    """Prometheus metrics recorded by a JSON-RPC middleware (:attr:`middleware`).

    Metrics (with the default ``namespace``):

    - ``jsonrpc_calls_total{method, outcome}``: calls answered; ``outcome`` is ``ok``, ``error`` (an error
      reply), ``cancelled`` (the call was cancelled: ``call_timeout``, which the client sees as -32002, or the
      client went away) or ``rejected`` (a middleware refused the whole message with ``RequestRejected``).
    - ``jsonrpc_errors_total{method, code}``: error replies by JSON-RPC error code; an exception that escapes
      the chain counts as -32603, as the client is answered.
    - ``jsonrpc_call_duration_seconds{method}``: a histogram of the time to answer, whatever the outcome.
    - ``jsonrpc_calls_in_flight{method}``: calls being answered right now.
    - ``jsonrpc_websocket_connections``: open connections of the tracked ``WSJSONRPCServer`` s.
    - ``jsonrpc_subscriptions``: subscriptions open on them.
    - ``jsonrpc_subscription_items_dropped_total``: items ``on_slow='drop_oldest'`` subscriptions dropped because
      their subscriber read too slowly (closed connections included).
    - ``jsonrpc_backplane_published_total``, ``..._delivered_total``, ``..._reconnects_total``: frames this process
      published and heard on its backplane, and the times its listener came back (a Redis backplane's counters; 0
      in process); ``jsonrpc_backplane_topic_items_dropped_total``: items ``server.topic()`` readers fell behind on.

    Method names come from clients, so a ``method`` label is only ever the name of a method a server
    serves: :meth:`track` the servers the middleware is installed on (or pass ``known_methods``); any other
    name is counted as ``<unknown>``. The check is live, so methods added later get their own label.

    Put the middleware first in the list to measure each call as the client sees it.

    Args:
        registry: where to register the metrics; ``prometheus_client.REGISTRY`` by default (then only one
            instance per ``namespace`` may exist in a process: use your own registry otherwise).
        namespace: the metric name prefix.
        buckets: the latency histogram's buckets, in seconds.
        known_methods: ``known_methods(name) -> bool``, for names that deserve a label of their own besides
            those of tracked servers.

    Raises:
        ValueError: metrics with these names are already in ``registry``.

    Example::

        metrics = PrometheusMetrics(namespace='shop_api')
        server = JSONRPCServer(middlewares=[metrics.middleware, *DEFAULT_MIDDLEWARES])
        metrics.track(server)
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        namespace: str = 'jsonrpc',
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        known_methods: Callable[[str], bool] | None = None,
    ) -> None:
        # Set before anything is registered: registering reads the counters at once (the default registry does).
        self._known_methods = known_methods
        self._method_maps: list[Container[str]] = []
        self._websocket_servers: list[WSJSONRPCServer] = []
        self._series: dict[str, _MethodSeries] = {}
        self.registry = registry = REGISTRY if registry is None else registry
        self.calls = Counter(
            'calls',
            'JSON-RPC calls answered, by method and outcome.',
            ['method', 'outcome'],
            namespace=namespace,
            registry=registry,
        )
        self.errors = Counter(
            'errors',
            'JSON-RPC error replies, by method and error code.',
            ['method', 'code'],
            namespace=namespace,
            registry=registry,
        )
        self.duration = Histogram(
            'call_duration_seconds',
            'Time to answer a JSON-RPC call.',
            ['method'],
            buckets=buckets,
            namespace=namespace,
            registry=registry,
        )
        self.in_flight = Gauge(
            'calls_in_flight', 'JSON-RPC calls being answered.', ['method'], namespace=namespace, registry=registry
        )
        self.websocket_connections = Gauge(
            'websocket_connections', 'Open JSON-RPC WebSocket connections.', namespace=namespace, registry=registry
        )
        self.websocket_connections.set_function(self._count_connections)
        self.subscriptions = Gauge(
            'subscriptions',
            'Open subscriptions on JSON-RPC WebSocket connections.',
            namespace=namespace,
            registry=registry,
        )
        self.subscriptions.set_function(self._count_subscriptions)
        dropped_help = 'Subscription items dropped because the subscriber read too slowly.'
        registry.register(_ReadCounter(f'{namespace}_subscription_items_dropped', dropped_help, self._count_dropped))
        for name, text in _BACKPLANE_COUNTERS.items():
            read = functools.partial(self._count_backplane, name)
            registry.register(_ReadCounter(f'{namespace}_backplane_{name}', text, read))

    def track(self, server: Dispatcher) -> None:
        """Give calls to ``server``'s methods their own ``method`` label, and count its WebSocket connections
        if it is a ``WSJSONRPCServer``. Tracking a server twice changes nothing."""
        if any(methods is server.methods for methods in self._method_maps):
            return
        self._method_maps.append(server.methods)
        if isinstance(server, WSJSONRPCServer):
            self._websocket_servers.append(server)

    async def middleware(self, request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        """The JSON-RPC middleware recording every call; add it to the server's ``middlewares``."""
        series = self._series_of(request.method)
        series.in_flight.inc()
        started = time.perf_counter()
        outcome = 'error'
        code: int | None = _INTERNAL_ERROR_CODE  # an exception that escapes is answered with -32603
        try:
            response = await handler(request)
            error = response.error
            if error is None:
                outcome, code = 'ok', None
            else:
                code = error.code
            return response
        except JSONRPCError as exc:
            code = exc.code
            raise
        except asyncio.CancelledError:
            outcome, code = 'cancelled', None
            raise
        except RequestRejected:
            outcome, code = 'rejected', None
            raise
        finally:
            series.duration.observe(time.perf_counter() - started)
            series.in_flight.dec()
            series.outcomes[outcome].inc()
            if code is not None:
                series.error(code).inc()

    def _series_of(self, method: str) -> _MethodSeries:
        label = method if self._is_known(method) else UNKNOWN_METHOD
        series = self._series.get(label)
        if series is None:
            series = self._series[label] = _MethodSeries(self, label)
        return series

    def _is_known(self, method: str) -> bool:
        if self._known_methods is not None and self._known_methods(method):
            return True
        return any(method in methods for methods in self._method_maps)

    def _count_connections(self) -> float:
        return float(sum(len(server.peers) for server in self._websocket_servers))

    def _count_subscriptions(self) -> float:
        return float(sum(server.subscriptions for server in self._websocket_servers))

    def _count_dropped(self) -> float:
        return float(sum(server.dropped_items for server in self._websocket_servers))

    def _count_backplane(self, name: str) -> float:
        total = 0
        for server in self._websocket_servers:
            source = server.fanout if name == 'topic_items_dropped' else server.fanout.backplane
            total += getattr(source, name, 0)
        return float(total)


_BACKPLANE_COUNTERS = {
    'published': 'Frames this process published on its backplane.',
    'delivered': 'Frames this process heard on its backplane.',
    'reconnects': 'Times the backplane listener came back after losing its broker.',
    'topic_items_dropped': 'Topic items dropped because a server.topic() reader fell behind.',
}


class _ReadCounter(Collector):
    """A counter read from the servers when scraped."""

    def __init__(self, name: str, text: str, read: Callable[[], float]) -> None:
        self._name = name
        self._text = text
        self._read = read

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self._name, self._text)
        family.add_metric([], self._read())
        yield family


def metrics_route(path: str = '/metrics', *, registry: CollectorRegistry | None = None) -> web.RouteDef:
    """A ``GET path`` route serving ``registry`` (``prometheus_client.REGISTRY`` by default) for Prometheus.

    The format follows the scraper's ``Accept`` header, as ``prometheus_client``'s own servers do: OpenMetrics
    when asked for, the Prometheus text format otherwise.

    Example::

        app.router.add_routes([metrics_route(registry=metrics.registry)])
    """
    collected = REGISTRY if registry is None else registry

    async def serve_metrics(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get('Accept', ''))
        return web.Response(body=encoder(collected), headers={'Content-Type': content_type})

    return web.get(path, serve_metrics)


def add_metrics_route(
    app: web.Application, path: str = '/metrics', *, registry: CollectorRegistry | None = None
) -> None:
    """Serve ``registry`` (``prometheus_client.REGISTRY`` by default) at ``GET path`` of ``app``; see
    :func:`metrics_route`."""
    app.router.add_routes([metrics_route(path, registry=registry)])
