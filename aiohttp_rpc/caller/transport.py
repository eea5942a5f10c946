"""What a client transport must do: open, deliver one message (and wait for its reply), close."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any, Protocol

from ..typedefs import JSONRPCIDType

__all__ = ('Transport',)


class Transport(Protocol):
    """A client's connection to a peer. The client core owns one and never does I/O itself.

    ``send`` gets the serialized message and returns the decoded reply with a context mapping (e.g.
    ``{'http_response': ...}``). Implementations translate their own exceptions into
    :class:`~aiohttp_rpc.errors.TransportError` (and its subclasses) or
    :class:`~aiohttp_rpc.errors.HTTPStatusError` at this one boundary.
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
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Deliver ``payload``; when ``expect_reply``, wait for and decode the reply to ``request_ids``."""
        ...

    async def aclose(self) -> None:
        """Release everything ``open`` acquired; safe to call more than once."""
