"""The 2.0 import path for middlewares (``aiohttp_rpc.middlewares.exception_middleware`` etc.)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


if not TYPE_CHECKING:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`)."""
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
