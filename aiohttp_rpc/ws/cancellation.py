"""Cancelling a call across a WebSocket: ``$/cancelRequest``, in both directions (LSP's convention).

Either peer may send ``{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": <id>}}`` (``params``
may also be ``[<id>]``) to cancel a call it made on this connection:

* a call still running is cancelled (its method sees ``CancelledError``) and answered -32800
  ``Request cancelled``;
* a cancel that arrives before its request is remembered (the last :data:`MAX_EARLY` per connection), and
  that request is answered -32800 without running;
* a cancel for an unknown or finished id is ignored quietly.

Only single calls can be cancelled; the members of a batch run as one unit and a cancel for one of their ids
is ignored. A ``$/cancelRequest`` sent with an ``id`` of its own is answered ``true`` when it cancelled a
running call, else ``false``.

On the calling side, a call whose awaiting task is cancelled, or which times out, sends ``$/cancelRequest``
for its id, and the late reply to it (if any) is dropped quietly.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from ..constants import VERSION_2_0
from ..errors import RequestCancelled
from ..protocol.response import error_reply, result_reply
from ..typedefs import JSONRPCIDType

__all__ = (
    'CANCEL_METHOD',
    'MAX_EARLY',
    'Cancellations',
    'cancel_answer',
    'cancel_message',
    'cancelled_id',
    'cancelled_reply',
)

CANCEL_METHOD = '$/cancelRequest'
"""The notification that cancels a call (LSP, vscode-jsonrpc)."""

MAX_EARLY = 256
"""Cancels remembered per connection for requests that have not arrived yet; older ones are forgotten."""


def cancelled_id(message: dict[str, Any]) -> JSONRPCIDType | None:
    """The id a ``$/cancelRequest`` message names, or ``None`` when it names none we could have."""
    params = message.get('params')
    if type(params) is dict:
        target = params.get('id')
    elif type(params) is list and len(params) == 1:
        target = params[0]
    else:
        return None
    return target if type(target) is int or type(target) is str else None


def cancel_message(request_id: JSONRPCIDType) -> dict[str, Any]:
    """The ``$/cancelRequest`` notification for our call ``request_id``."""
    return {'jsonrpc': VERSION_2_0, 'method': CANCEL_METHOD, 'params': {'id': request_id}}


class Cancellations:
    """One connection's side of cancellation: the peer's calls that can be cancelled, the peer's cancels that
    came early (:attr:`early`), and the ids of our own calls we cancelled (whose late replies are dropped).

    Each record is bounded: running calls by the connection's ``max_in_flight``, the others by
    :data:`MAX_EARLY`.
    """

    __slots__ = ('_abandoned', '_cancelling', '_running', 'early')

    def __init__(self) -> None:
        self._running: dict[JSONRPCIDType, asyncio.Task[None]] = {}
        self._cancelling: set[asyncio.Task[None]] = set()
        self.early: collections.OrderedDict[JSONRPCIDType, None] = collections.OrderedDict()
        self._abandoned: collections.OrderedDict[JSONRPCIDType, None] = collections.OrderedDict()

    # -- the peer's calls ------------------------------------------------------------------------------------

    def cancelled_early(self, request_id: JSONRPCIDType) -> bool:
        """Whether the peer cancelled ``request_id`` before sending it (forgotten once asked). Cheap when no
        cancel is waiting, as on nearly every message."""
        return bool(self.early) and self.early.pop(request_id, 0) is None

    def running(self, request_id: JSONRPCIDType, task: asyncio.Task[None]) -> None:
        """Record the task answering the peer's call ``request_id`` until it ends."""
        self._running[request_id] = task
        task.add_done_callback(lambda _: self._ended(request_id, task))

    def _ended(self, request_id: JSONRPCIDType, task: asyncio.Task[None]) -> None:
        if self._running.get(request_id) is task:
            del self._running[request_id]
        self._cancelling.discard(task)

    def cancel(self, request_id: JSONRPCIDType) -> bool:
        """The peer cancels its call ``request_id``: cancel it if it runs (True), else remember it (False)."""
        task = self._running.pop(request_id, None)
        if task is None or task.done():
            _remember(self.early, request_id)
            return False
        self._cancelling.add(task)
        task.cancel()
        return True

    def cancelled_by_peer(self, task: asyncio.Task[None] | None) -> bool:
        """Whether ``task`` (ending with ``CancelledError``) was cancelled by a ``$/cancelRequest``, and not by the
        connection closing."""
        return task is not None and task in self._cancelling

    # -- our calls -------------------------------------------------------------------------------------------

    def abandon(self, request_id: JSONRPCIDType) -> None:
        """We cancelled our call ``request_id``: its reply, if one still comes, is dropped quietly."""
        _remember(self._abandoned, request_id)

    def abandoned(self, request_id: JSONRPCIDType) -> bool:
        """Whether a reply carrying ``request_id`` answers a call we cancelled (forgotten once asked)."""
        return bool(self._abandoned) and self._abandoned.pop(request_id, 0) is None


def _remember(ids: collections.OrderedDict[JSONRPCIDType, None], request_id: JSONRPCIDType) -> None:
    ids[request_id] = None
    ids.move_to_end(request_id)
    if len(ids) > MAX_EARLY:
        ids.popitem(last=False)


def cancelled_reply(request_id: JSONRPCIDType) -> dict[str, Any]:
    """The reply to a call the peer cancelled: -32800 ``Request cancelled``."""
    return error_reply(request_id, RequestCancelled())


def cancel_answer(request_id: JSONRPCIDType, cancelled: bool) -> dict[str, Any]:
    """The reply to a ``$/cancelRequest`` sent with an id of its own."""
    return result_reply(request_id, cancelled)
