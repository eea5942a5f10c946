"""Layer 2: the middleware chain and the dispatcher (no aiohttp)."""

from __future__ import annotations

from .dispatcher import Dispatcher
from .middleware import (
    DEFAULT_MIDDLEWARES,
    StepMiddleware,
    build_chain,
    exception_middleware,
    inject_request_middleware,
    logging_middleware,
)

__all__ = (
    'DEFAULT_MIDDLEWARES',
    'Dispatcher',
    'StepMiddleware',
    'build_chain',
    'exception_middleware',
    'inject_request_middleware',
    'logging_middleware',
)
