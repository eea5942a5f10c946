"""Observability for JSON-RPC servers: a structured call log, Prometheus metrics, OpenTelemetry tracing.

- :mod:`~aiohttp_rpc.observability.call_log`: :func:`make_logging_middleware`, one log line per call (stdlib).
- :mod:`~aiohttp_rpc.observability.metrics`: ``PrometheusMetrics`` and a ``/metrics`` route; needs the
  ``metrics`` extra (``pip install "aiohttp-rpc[metrics]"``).
- :mod:`~aiohttp_rpc.observability.tracing`: ``tracing_middleware`` and ``tracing_web_middleware``; needs the
  ``tracing`` extra (``pip install "aiohttp-rpc[tracing]"``).

The last two are imported by name (``from aiohttp_rpc.observability.metrics import PrometheusMetrics``), never
from here, so that this package works without their optional dependencies.
"""

from __future__ import annotations

from .call_log import make_logging_middleware

__all__ = ('make_logging_middleware',)
