"""What travels on a backplane channel: a one-line header, then the frame as it goes to the peers.

``{"origin": <worker id>, "send_timeout": <seconds or null>}\\n<frame>``: the origin lets a worker skip what it
published itself (it delivered it already, at once, and still does when the broker is down); the send timeout is
the broadcast's slow-peer rule, applied by every worker. Topic items carry the item's JSON as the frame.
"""

from __future__ import annotations

import orjson

__all__ = ('open_envelope', 'seal')


def seal(origin: str, frame: bytes, send_timeout: float | None = None) -> bytes:
    """The frame with its header."""
    return orjson.dumps({'origin': origin, 'send_timeout': send_timeout}) + b'\n' + frame


def open_envelope(data: bytes) -> tuple[str, float | None, bytes]:
    """``(origin, send_timeout, frame)``.

    Raises:
        ValueError: ``data`` is not an envelope.
    """
    header, separator, frame = data.partition(b'\n')
    if not separator:
        raise ValueError('no header line')
    fields = orjson.loads(header)
    origin, send_timeout = fields.get('origin'), fields.get('send_timeout')
    if not isinstance(origin, str) or not (send_timeout is None or isinstance(send_timeout, (int, float))):
        raise ValueError('not an envelope header')
    return origin, send_timeout, frame
