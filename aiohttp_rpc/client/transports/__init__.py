"""Client transports: how a client reaches its peer."""

from __future__ import annotations

from ...caller.transport import Transport
from .http import HTTPTransport
from .local import LocalTransport

__all__ = ('HTTPTransport', 'LocalTransport', 'Transport')
