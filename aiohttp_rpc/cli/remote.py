"""The client commands: ``call``, ``notify``, ``batch`` and ``discover``, over HTTP or WebSocket.

Each command sends one message with the library's own clients and reads the reply as it came, so what is
printed is what the server sent. Failures to get a usable reply are translated here, in one place, into a
:class:`~aiohttp_rpc.cli.failures.TransportFailure` with a line a person can act on.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from ..caller.base import BaseJSONRPCClient
from ..client.http import JSONRPCClient
from ..client.websocket import WSJSONRPCClient
from ..constants import NOTHING
from ..errors import (
    EmptyResponse,
    HTTPStatusError,
    JSONRPCError,
    LocalError,
    ParseError,
    ReplyTooLargeError,
    RequestTimeoutError,
)
from ..protocol.response import JSONRPCResponse
from ..schema.catalog import DISCOVER_METHOD
from .failures import ErrorReply, TransportFailure
from .messages import build_request
from .output import JSONWriter

__all__ = (
    'HTTP_SCHEMES',
    'WEBSOCKET_SCHEMES',
    'Endpoint',
    'batch',
    'call',
    'describe_failure',
    'discover',
    'fetch_document',
    'notify',
    'shown_url',
)

HTTP_SCHEMES = ('http', 'https')
WEBSOCKET_SCHEMES = ('ws', 'wss')

_REQUEST_ID = 1


@dataclass(frozen=True)
class Endpoint:
    """Where to send and how.

    Attributes:
        url: an ``http://``, ``https://``, ``ws://`` or ``wss://`` URL.
        headers: extra HTTP headers (for WebSocket: on the handshake), in order; a name may repeat.
        timeout: seconds the whole command may take, connecting included.
    """

    url: str
    headers: Sequence[tuple[str, str]] = ()
    timeout: float = 30.0

    @property
    def shown(self) -> str:
        """The URL as printed: without ``user:password@``, query or fragment, which may hold credentials
        (``?token=...``) that must not end up in a terminal, a CI log or a bug report."""
        return shown_url(self.url)

    def client(self) -> BaseJSONRPCClient:
        """A new, unopened client for this endpoint."""
        headers = list(self.headers)
        if URL(self.url).scheme in WEBSOCKET_SCHEMES:
            return WSJSONRPCClient(self.url, timeout=self.timeout, headers=headers)
        return JSONRPCClient(self.url, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout))


def call(endpoint: Endpoint, method: str, params: Any, *, writer: JSONWriter, raw: bool = False) -> None:
    """Call ``method`` and write its result (with ``raw``: the whole reply object).

    Raises:
        ErrorReply: the server answered with an error (with ``raw``, written first).
        TransportFailure: no usable reply.
    """
    reply = _exchange(endpoint, build_request(method, params, request_id=_REQUEST_ID), expect_reply=True)
    try:
        response = JSONRPCResponse.load(reply)
    except ParseError as exc:
        raise TransportFailure(_not_a_reply(endpoint.shown, exc)) from exc
    if raw:
        writer.write(reply)
    if response.error is not None:
        raise ErrorReply([reply['error']])
    if not raw:
        writer.write(response.result)


def notify(endpoint: Endpoint, method: str, params: Any) -> None:
    """Send a notification; write nothing.

    Over WebSocket the socket closes right after sending, so the server may cancel a method still running.

    Raises:
        TransportFailure: the message could not be delivered (over HTTP: also an HTTP error status).
    """
    _exchange(endpoint, build_request(method, params, request_id=None), expect_reply=False)


def batch(endpoint: Endpoint, messages: list[Any], *, writer: JSONWriter) -> None:
    """Send ``messages`` as one batch and write the array of replies as received (``[]`` when the batch
    held only notifications).

    Raises:
        ErrorReply: some replies are errors (all replies are written first).
        TransportFailure: no usable reply.
    """
    expect_reply = any(isinstance(message, dict) and 'id' in message for message in messages)
    reply = _exchange(endpoint, messages, expect_reply=expect_reply)
    if reply is None:
        reply = []
    if not isinstance(reply, (list, dict)):
        raise TransportFailure(f'{endpoint.shown} sent something that is not a JSON-RPC reply')
    writer.write(reply)
    replies = reply if isinstance(reply, list) else [reply]  # a whole batch refused: one error object
    failed = [item for item in replies if isinstance(item, dict) and 'error' in item]
    if failed:
        raise ErrorReply([item['error'] for item in failed], ids=[item.get('id') for item in failed])


def fetch_document(endpoint: Endpoint) -> Any:
    """The OpenRPC document ``rpc.discover`` answers.

    Raises:
        ErrorReply: e.g. -32601 when the server does not serve discovery.
        TransportFailure: no usable reply.
    """
    reply = _exchange(endpoint, build_request(DISCOVER_METHOD, NOTHING, request_id=_REQUEST_ID), expect_reply=True)
    try:
        response = JSONRPCResponse.load(reply)
    except ParseError as exc:
        raise TransportFailure(_not_a_reply(endpoint.shown, exc)) from exc
    if response.error is not None:
        raise ErrorReply([reply['error']])
    return response.result


def discover(endpoint: Endpoint, *, writer: JSONWriter) -> None:
    """Call ``rpc.discover`` and write the OpenRPC document.

    Raises:
        ErrorReply: e.g. -32601 when the server does not serve discovery.
        TransportFailure: no usable reply.
    """
    call(endpoint, DISCOVER_METHOD, NOTHING, writer=writer)


def _exchange(endpoint: Endpoint, message: Any, *, expect_reply: bool) -> Any:
    """Send ``message`` and return the decoded reply (``None`` when none is expected), within the timeout.

    Raises:
        TransportFailure: connection failed, timed out, HTTP error status, malformed or oversized reply.
    """

    async def exchange() -> Any:
        rpc = endpoint.client()
        try:  # not `async with`: a client whose connect() fails must be closed as well
            await rpc.connect()
            reply, _ = await rpc.send_json(message, ignore_response=not expect_reply)
        finally:
            await rpc.disconnect()
        return reply

    async def exchange_in_time() -> Any:
        return await asyncio.wait_for(exchange(), endpoint.timeout)

    try:
        return asyncio.run(exchange_in_time())
    except (asyncio.TimeoutError, RequestTimeoutError) as exc:
        raise TransportFailure(f'no reply from {endpoint.shown} within {endpoint.timeout:g} s (timeout)') from exc
    except (LocalError, ParseError) as exc:
        raise TransportFailure(describe_failure(exc, endpoint)) from exc


def describe_failure(exc: JSONRPCError, endpoint: Endpoint) -> str:
    """One line on why ``endpoint`` gave no usable reply, with no secret part of its URL in it."""
    return _scrubbed(_describe(exc, endpoint.shown), endpoint.url)


def _describe(exc: JSONRPCError, url: str) -> str:
    """One line on why ``url`` gave no usable reply, with a hint when the likely fix is another scheme."""
    line = _why(exc, url)
    hint = _scheme_hint(exc, URL(url).scheme)
    return line if hint is None else f'{line}; {hint}'


def _scheme_hint(exc: JSONRPCError, scheme: str) -> str | None:
    """What to try when the failure looks like the wrong scheme for the server: TLS spoken to a plain server, a
    WebSocket handshake to an HTTP POST endpoint, or a POST to a WebSocket endpoint."""
    cause = exc.__cause__
    if scheme in ('https', 'wss') and isinstance(cause, aiohttp.ClientConnectorError) and 'SSL' in str(cause):
        return f'if the server speaks plain HTTP, use {"http" if scheme == "https" else "ws"}://'
    if isinstance(cause, aiohttp.WSServerHandshakeError) and cause.status == 405:
        return f'if it is an HTTP endpoint, use {"http" if scheme == "ws" else "https"}://'
    if isinstance(exc, HTTPStatusError) and isinstance(exc.data, dict) and exc.data.get('status') == 405:
        return f'if it is a WebSocket endpoint, use {"ws" if scheme == "http" else "wss"}://'
    return None


def _why(exc: JSONRPCError, url: str) -> str:
    cause = exc.__cause__
    if isinstance(exc, HTTPStatusError):
        data = exc.data if isinstance(exc.data, dict) else {}
        return f'{url} answered HTTP {data.get("status")} {data.get("message") or ""}'.rstrip()
    if isinstance(exc, ReplyTooLargeError):
        return f'the reply from {url} is too large ({_details(exc)})'
    if isinstance(exc, EmptyResponse):
        return f'{url} sent an empty reply'
    if isinstance(exc, ParseError):
        return _not_a_reply(url, exc)
    if isinstance(cause, aiohttp.WSServerHandshakeError):
        return f'{url} refused the WebSocket handshake (HTTP {cause.status})'
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        return f'cannot connect to {url} ({cause.certificate_error})'
    if isinstance(cause, aiohttp.ClientConnectorError):
        return f'cannot connect to {url} ({_os_reason(cause.os_error)})'
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return f'{url} closed the connection without a reply'
    return f'the connection to {url} failed ({_details(exc)})'


def shown_url(url: str) -> str:
    """``url`` without ``user:password@``, query or fragment: the parts that may hold credentials."""
    try:
        parsed = URL(url)
        return str(parsed.with_user(None).with_query(None).with_fragment(None)) if parsed.absolute else url
    except ValueError:  # not a URL yarl can rebuild: show nothing of it that could be a secret
        return url.split('?', 1)[0].split('#', 1)[0].rsplit('@', 1)[-1]


def _scrubbed(line: str, url: str) -> str:
    """``line`` with any copy of the secret parts of ``url`` removed (a cause's text may quote the URL)."""
    try:
        parsed = URL(url)
    except ValueError:
        return line
    for secret in (parsed.raw_user, parsed.raw_password, parsed.raw_query_string, parsed.raw_fragment):
        if secret and len(secret) > 2:
            line = line.replace(secret, '***')
    return line


def _not_a_reply(url: str, exc: JSONRPCError) -> str:
    return f'{url} sent something that is not a JSON-RPC reply ({_details(exc)})'


def _details(exc: JSONRPCError) -> str:
    details = exc.data.get('details') if isinstance(exc.data, dict) else None
    return str(details or exc.message).rstrip('.')


def _os_reason(os_error: OSError) -> str:
    if os_error.errno == errno.ECONNREFUSED:
        return 'connection refused'
    reason = os_error.strerror or str(os_error) or type(os_error).__name__
    return reason[:1].lower() + reason[1:]
