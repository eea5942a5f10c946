"""Observability for JSON-RPC servers: a structured call log, Prometheus metrics, OpenTelemetry tracing.

- :func:`make_logging_middleware` (from :mod:`aiohttp_rpc.dispatch.call_log`): one log line per call (stdlib).
- :mod:`~aiohttp_rpc.observability.metrics`: ``PrometheusMetrics`` and a ``/metrics`` route; needs the
  ``metrics`` extra (``pip install "aiohttp-rpc[metrics]"``).
- :mod:`~aiohttp_rpc.observability.tracing`: ``tracing_middleware`` and ``tracing_web_middleware``; needs the
  ``tracing`` extra (``pip install "aiohttp-rpc[tracing]"``).

The last two are imported by name (``from aiohttp_rpc.observability.metrics import PrometheusMetrics``), never
from here, so that this package works without their optional dependencies.
"""

from __future__ import annotations

from ..dispatch.call_log import DEFAULT_LOGGER_NAME, make_logging_middleware

__all__ = ('DEFAULT_LOGGER_NAME', 'make_logging_middleware')
