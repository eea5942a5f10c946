"""JSON-RPC over HTTP: :class:`JSONRPCClient`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from ..caller.base import BaseJSONRPCClient
from ..errors import DEFAULT_KNOWN_ERRORS_MAP, JSONRPCError
from ..serialization import json_deserialize, json_serialize
from ..typedefs import JSONDecoderType, JSONEncoderType
from .transports.http import DEFAULT_MAX_RESPONSE_SIZE, HTTPTransport

__all__ = ('JSONRPCClient',)


class JSONRPCClient(BaseJSONRPCClient):
    """A JSON-RPC client that POSTs each call (or batch) to ``url``.

    Args:
        url: the endpoint, e.g. ``'http://127.0.0.1:8080/rpc'``.
        session: an ``aiohttp.ClientSession`` to use; it is never closed by the client.
        json_serialize, json_deserialize, error_map: see :class:`BaseJSONRPCClient`.
        max_response_size: bytes a reply may take (10 MiB); a larger one raises ``ReplyTooLargeError``.
        **request_kwargs: passed to ``aiohttp.ClientSession(...)`` when the client creates its own session
            (``timeout`` defaults to 30 s total).

    Example::

        async with JSONRPCClient('http://127.0.0.1:8080/rpc') as rpc:
            assert await rpc.methods.ping() == 'pong'

    Raises (from calls):
        TransportError: connection failures; ``RequestTimeoutError`` (a subclass) on timeouts.
        HTTPStatusError: a non-2xx reply without a JSON-RPC body (``data`` has ``status``).
        JSONRPCError: error replies, as the class ``error_map`` gives for the code.
    """

    transport: HTTPTransport

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        error_map: Mapping[int, type[JSONRPCError]] = DEFAULT_KNOWN_ERRORS_MAP,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        **request_kwargs: Any,
    ) -> None:
        super().__init__(json_serialize=json_serialize, json_deserialize=json_deserialize, error_map=error_map)
        self.url = url
        self.request_kwargs = request_kwargs
        self.transport = HTTPTransport(
            url,
            session=session,
            session_kwargs=request_kwargs,
            max_response_size=max_response_size,
        )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The ``aiohttp.ClientSession`` in use (``None`` before connecting)."""
        return self.transport.session
