"""The 2.0 import path for middlewares (``aiohttp_rpc.middlewares.exception_middleware`` etc.)."""

from __future__ import annotations

from .dispatch.middleware import (
    DEFAULT_MIDDLEWARES,
    StepMiddleware,
    exception_middleware,
    inject_request_middleware,
    logging_middleware,
)
from .server.origins import check_origins

__all__ = (
    'DEFAULT_MIDDLEWARES',
    'StepMiddleware',
    'check_origins',
    'exception_middleware',
    'inject_request_middleware',
    'logging_middleware',
)
