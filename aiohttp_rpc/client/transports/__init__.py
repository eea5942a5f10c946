"""Client transports: how a client reaches its peer."""

from __future__ import annotations

from .base import Transport
from .http import HTTPTransport

__all__ = ('HTTPTransport', 'Transport')
