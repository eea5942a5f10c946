"""HTTP transport: one POST per message over an ``aiohttp.ClientSession``."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import aiohttp

from ...errors import (
    EmptyResponse,
    HTTPStatusError,
    JSONRPCError,
    ParseError,
    ReplyTooLargeError,
    RequestTimeoutError,
    TransportError,
)
from ...typedefs import JSONRPCIDType

__all__ = ('DEFAULT_MAX_RESPONSE_SIZE', 'DEFAULT_TIMEOUT', 'HTTPTransport')

_LARGE_BODY = 1024 * 1024
"""Bodies larger than this are sent as a stream (aiohttp's own threshold for its warning)."""

DEFAULT_MAX_RESPONSE_SIZE = 10 * 1024 * 1024
"""Bytes a reply may take (10 MiB)."""

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30)
"""Used for sessions this transport creates, unless ``timeout=`` is given."""

_JSON_HEADERS: Mapping[str, str] = {'Content-Type': 'application/json', 'Accept': 'application/json'}
_BODY_EXCERPT = 512


class HTTPTransport:
    """POSTs each message to ``url`` and reads the reply.

    Args:
        url: the endpoint.
        session: an outer session to use; it is never closed here.
        session_kwargs: arguments for the ``aiohttp.ClientSession`` created when no session is given.
        max_response_size: bytes a reply may take (:class:`~aiohttp_rpc.errors.ReplyTooLargeError` beyond);
            ``None`` for no limit.
    """

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        session_kwargs: Mapping[str, Any] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.url = url
        self.max_response_size = max_response_size
        self.session = session
        self._owns_session = session is None
        self._session_kwargs = dict(session_kwargs or {})
        self._session_kwargs.setdefault('timeout', DEFAULT_TIMEOUT)

    async def open(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(**self._session_kwargs)

    async def aclose(self) -> None:
        session, self.session = self.session, (None if self._owns_session else self.session)
        if self._owns_session and session is not None:
            await session.close()

    async def send(
        self,
        payload: bytes,
        *,
        expect_reply: bool,
        request_ids: Sequence[JSONRPCIDType] = (),
        **kwargs: Any,
    ) -> tuple[bytes | None, MutableMapping[str, Any]]:
        if self.session is None:
            raise RuntimeError('The transport is not open.')
        headers = kwargs.pop('headers', None)
        headers = _JSON_HEADERS if headers is None else {**_JSON_HEADERS, **headers}
        try:
            # aiohttp warns about raw bytes bodies over 1 MiB (they are written in one go): stream those instead.
            data = payload if len(payload) <= _LARGE_BODY else io.BytesIO(payload)
            async with self.session.post(self.url, data=data, headers=headers, **kwargs) as http_response:
                body = await self._read(http_response)
        except asyncio.TimeoutError as exc:  # before ClientError: ServerTimeoutError is both
            raise RequestTimeoutError(data={'details': f'No reply from {self.url} in time.'}) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(data={'details': f'{type(exc).__name__}: {exc}'}) from exc

        context: MutableMapping[str, Any] = {'http_response': http_response}
        status = http_response.status
        is_success = 200 <= status < 300
        if not expect_reply:
            if not is_success:
                raise HTTPStatusError(data={'status': status, 'message': http_response.reason})
            return None, context
        if not body.strip():
            if is_success:
                raise EmptyResponse()
            raise HTTPStatusError(data={'status': status, 'message': http_response.reason})
        return body, context  # a JSON-RPC reply, whatever the status (a 413 carries one): the client decodes it

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """``ParseError`` for a 2xx reply that is not JSON; for any other status, ``HTTPStatusError`` with the
        status and the start of the body (an error page, say)."""
        http_response: aiohttp.ClientResponse = context['http_response']
        if 200 <= http_response.status < 300:
            return ParseError(data={'details': 'Invalid JSON'})
        excerpt = body[:_BODY_EXCERPT].decode('utf-8', errors='replace')
        return HTTPStatusError(data={'status': http_response.status, 'message': http_response.reason, 'body': excerpt})

    async def _read(self, http_response: aiohttp.ClientResponse) -> bytes:
        limit = self.max_response_size
        length = http_response.content_length
        if limit is None or (length is not None and length <= limit):
            return await http_response.read()
        if length is not None:
            raise ReplyTooLargeError(data={'details': f'The reply has {length} bytes; the limit is {limit}.'})
        chunks: list[bytes] = []
        size = 0
        async for chunk in http_response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise ReplyTooLargeError(data={'details': f'The reply is over the limit of {limit} bytes.'})
            chunks.append(chunk)
        return b''.join(chunks)
