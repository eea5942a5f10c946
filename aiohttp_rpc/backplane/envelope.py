"""What travels on a backplane channel: a one-line JSON header, then the frame as it goes to the peers.

The header always names the ``origin`` worker, so that a worker skips what it published itself (it delivered it
already, at once, and still does when the broker is down). A broadcast adds its ``send_timeout`` (the slow-peer
rule every worker applies); a relayed call adds the ``peer``, a correlation id and what it waits for. Topic
items carry the item's JSON as the frame.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ('pack', 'unpack')


def pack(header: dict[str, Any], frame: bytes) -> bytes:
    """The frame with its header (which must hold ``origin``)."""
    return orjson.dumps(header) + b'\n' + frame


def unpack(data: bytes) -> tuple[dict[str, Any], bytes]:
    """``(header, frame)``.

    Raises:
        ValueError: ``data`` is not an envelope.
    """
    head, separator, frame = data.partition(b'\n')
    if not separator:
        raise ValueError('no header line')
    header = orjson.loads(head)
    if type(header) is not dict or not isinstance(header.get('origin'), str):
        raise ValueError('not an envelope header')
    return header, frame
