"""What differs between the aiohttp releases we support (3.10 to 3.14), found out once, here.

The rest of the package uses aiohttp the same way on every supported release; the nox matrix (``noxfile.py``)
runs the whole test suite on the oldest, a middle and the newest one. A difference is detected from the feature
itself where aiohttp shows it (an attribute); where it leaves no trace, from the release number, parsed once
below. Nothing outside this module looks at ``aiohttp.__version__``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import WSMsgType

if TYPE_CHECKING:
    from aiohttp import ClientWebSocketResponse, web

    AnyWebSocket = ClientWebSocketResponse[bool] | web.WebSocketResponse

__all__ = (
    'AIOHTTP_VERSION',
    'BARE_RUNNER_KEEPALIVE_TIMEOUT',
    'KEEPALIVE_FROM_CONNECT',
    'text_frame_sender',
)

FrameSender = Callable[[bytes, WSMsgType], Coroutine[Any, Any, None]]


def _release(version: str) -> tuple[int, int, int]:
    """``(major, minor, micro)`` of an aiohttp version string (``'3.14.0b1'`` -> ``(3, 14, 0)``)."""
    found = re.match(r'(\d+)\.(\d+)(?:\.(\d+))?', version)
    if found is None:
        raise ValueError(f'not a release number: {version!r}')
    major, minor, micro = found.groups()
    return int(major), int(minor), int(micro or 0)


AIOHTTP_VERSION = _release(aiohttp.__version__)
"""The installed aiohttp's ``(major, minor, micro)``."""

KEEPALIVE_FROM_CONNECT = AIOHTTP_VERSION >= (3, 14, 4)
"""aiohttp starts a connection's keep-alive timer when the connection opens, so a client that never completes a
request is closed after ``keepalive_timeout`` (3.14.4+). Before, the timer starts only after a response, and
nothing in aiohttp closes a connection whose request line or headers never end: the guide tells deployments on
those releases to put a proxy in front. Nothing public shows the change, hence the release number."""

BARE_RUNNER_KEEPALIVE_TIMEOUT = 3630.0 if AIOHTTP_VERSION >= (3, 11, 0) else 75.0
"""``keepalive_timeout`` of a ``web.AppRunner`` given none (aiohttp's ``RequestHandler`` default); ``web.run_app``
passes 75 on every release."""


def text_frame_sender(ws: AnyWebSocket) -> FrameSender:
    """``send(payload, opcode)`` for ``ws``: aiohttp's ``send_frame`` (3.11+) sends our encoded bytes as they are;
    older releases have only ``send_str``, so the bytes are decoded for it to encode again."""
    send_frame: FrameSender | None = getattr(ws, 'send_frame', None)
    if send_frame is not None:
        return send_frame

    async def send_str(payload: bytes, opcode: WSMsgType) -> None:  # pragma: no cover - aiohttp < 3.11
        await ws.send_str(payload.decode())

    return send_str  # pragma: no cover - aiohttp < 3.11 (the matrix's floor session runs it)
