"""What a client transport must do: open, deliver one message (and wait for its reply), close."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from ..errors import JSONRPCError
from ..typedefs import JSONRPCIDType

__all__ = ('Decoded', 'Delivered', 'Transport')


@dataclass(frozen=True, slots=True)
class Decoded:
    """A reply a transport had to decode itself to deliver it: a WebSocket connection decodes every frame once,
    to tell requests from replies and a reply from another (by id), and hands the client that decoded message
    rather than the frame's bytes, which the client would decode a second time.

    Attributes:
        message: the decoded reply (an object, or an array for a batch).
    """

    message: Any


Delivered: TypeAlias = 'bytes | Decoded | None'
"""What :meth:`Transport.send` returns: the reply's bytes (the client decodes them), a :class:`Decoded` reply, or
``None`` when no reply was expected."""


class Transport(Protocol):
    """A client's connection to a peer. The client core owns one and never does I/O itself.

    ``send`` moves bytes: it gets the serialized message and returns the reply's bytes with a context mapping
    (e.g. ``{'http_response': ...}``); the client decodes them, and asks :meth:`unreadable` what to raise when
    they are not JSON. (A transport that must decode replies to route them returns them :class:`Decoded`.)
    Implementations translate their own exceptions into :class:`~aiohttp_rpc.errors.TransportError` (and its
    subclasses) or :class:`~aiohttp_rpc.errors.HTTPStatusError` at this one boundary.
    """

    async def open(self) -> None:
        """Acquire what the transport needs (a session, a socket)."""

    async def send(
        self,
        payload: bytes,
        *,
        expect_reply: bool,
        request_ids: Sequence[JSONRPCIDType],
        **kwargs: Any,
    ) -> tuple[Delivered, MutableMapping[str, Any]]:
        """Deliver ``payload``; when ``expect_reply``, wait for the reply to ``request_ids`` and return it."""
        ...

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """The error to raise for a reply ``body`` that did not decode (e.g. an HTTP error page)."""
        ...

    async def aclose(self) -> None:
        """Release everything ``open`` acquired; safe to call more than once."""
