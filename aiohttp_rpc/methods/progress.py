"""Progress reports from a method to its caller, over a WebSocket (the LSP/MCP conventions, fitted to JSON-RPC).

The wire:

* The caller asks for reports by giving the call a token: ``params._meta.progressToken`` when the params are
  named (MCP's place for it; the method never sees ``_meta``), or a ``_meta`` member of the request object,
  ``{"jsonrpc": "2.0", "id": 7, "method": "build", "params": [1], "_meta": {"progressToken": 7}}``, when they
  are positional or absent. Our client uses the call's id as the token.
* The method's reports come as ``$/progress`` notifications (LSP's method name) on the same socket, before the
  reply: ``{"jsonrpc": "2.0", "method": "$/progress", "params": {"token": 7, "value": {"progress": 50,
  "total": 100, "message": "compiling"}}}`` (``total`` and ``message`` when given).
* Reports are monotonic (one that does not advance ``progress`` is dropped) and rate-limited: at most one per
  :data:`MIN_INTERVAL` seconds; one that comes sooner is dropped, unless it is the last (``progress ==
  total``).

A method asks for a reporter with a parameter annotated :class:`Progress`; it is not an RPC param. Over HTTP, or
when the caller gave no token, the reporter does nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import TransportError

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest

__all__ = ('MIN_INTERVAL', 'PROGRESS_METHOD', 'Progress', 'ProgressReport')

PROGRESS_METHOD = '$/progress'
"""The notification that carries a progress report (LSP)."""

MIN_INTERVAL = 0.1
"""Seconds between two reports of one call (at most 10 a second)."""


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """One report, as the caller's ``on_progress`` callback gets it.

    Attributes:
        progress: how far along (it only grows).
        total: the value ``progress`` reaches at the end, when known.
        message: what is going on, when said.
    """

    progress: float
    total: float | None = None
    message: str | None = None

    @classmethod
    def load(cls, value: Any) -> ProgressReport | None:
        """The report in a ``$/progress`` notification's ``value``; ``None`` if it is not one."""
        if not isinstance(value, dict):
            return None
        progress, total, message = _number(value.get('progress')), value.get('total'), value.get('message')
        if progress is None or (total is not None and _number(total) is None):
            return None
        return cls(progress, _number(total), message if isinstance(message, str) else None)


class Progress:
    """A method's way to report progress to its caller: declare a parameter annotated ``Progress``.

    Example::

        async def build(target: str, progress: Progress) -> str:
            for step in range(1, 101):
                await compile_step(target, step)
                await progress(step, total=100, message=f'step {step}')
            return 'built'

    Calling it never fails the method: a report that cannot be sent (the socket closed) is dropped.
    """

    __slots__ = ('_last_progress', '_last_sent', '_peer', '_token')

    def __init__(self, peer: Any = None, token: Any = None) -> None:
        self._peer = peer
        self._token = token
        self._last_sent = 0.0
        self._last_progress: float | None = None

    @classmethod
    def of(cls, request: JSONRPCRequest | None) -> Progress:
        """The reporter for ``request``: one that sends when the caller gave a token over a WebSocket, else one
        that does nothing."""
        if request is None:
            return cls()
        meta = request.meta
        token = meta.get('progressToken') if meta is not None else None
        peer = request.context.get('rpc_peer') if token is not None else None
        if not (type(token) is str or type(token) is int) or peer is None:
            return cls()
        return cls(peer, token)

    @property
    def wanted(self) -> bool:
        """Whether the caller asked for reports (and they can reach it)."""
        return self._peer is not None

    async def __call__(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Report ``progress`` (of ``total``, with ``message``); dropped when it does not advance, or comes less
        than :data:`MIN_INTERVAL` after the last one (unless ``progress == total``)."""
        if self._peer is None:
            return
        if self._last_progress is not None and progress <= self._last_progress:
            return
        now = time.monotonic()
        final = total is not None and progress >= total
        if not final and self._last_progress is not None and now - self._last_sent < MIN_INTERVAL:
            return
        self._last_progress = progress
        self._last_sent = now
        value: dict[str, Any] = {'progress': progress}
        if total is not None:
            value['total'] = total
        if message is not None:
            value['message'] = message
        try:
            await self._peer.notify(PROGRESS_METHOD, token=self._token, value=value)
        except TransportError:
            self._peer = None  # the caller is gone: nothing more to tell it


def _number(value: Any) -> float | None:
    """``value`` if it is a JSON number (not a bool, not NaN), else ``None``."""
    if (type(value) is int or type(value) is float) and value == value:
        return value
    return None
