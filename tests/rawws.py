"""A raw RFC 6455 WebSocket client on plain asyncio streams, for tests that play a hostile peer.

aiohttp's client always reads, always answers politely and validates what it sends; this one does
only what the test asks.  ``send_text`` writes one masked frame straight to the transport without
draining, so a test can queue many frames at once; ``drain`` waits for the kernel to take them.

Reading happens only inside ``receive``.  A peer that "never reads" is one that never calls it.
The stream is opened with a small ``limit`` (``STREAM_LIMIT``): asyncio's StreamReader pauses
reading the socket once its buffer holds more than ``2 * limit`` bytes, so an unread connection
buffers at most about ``2 * STREAM_LIMIT`` bytes in user space plus one ``recv`` chunk (itself
bounded by SO_RCVBUF).  After that the kernel receive buffer fills, the TCP window closes and the
server's writes back up.  Pass a small ``rcvbuf`` to ``connect`` to make that happen quickly; it is
set before ``connect()`` so the window scale is negotiated for it.

Fragmented messages are reassembled: ``receive`` returns the first frame's opcode and the joined
payload.  PING frames are answered with a PONG and skipped; PONG and CLOSE frames are returned (a
control frame between fragments is returned without losing the fragments read so far).
If ``receive`` times out after part of a frame was read the stream position is lost, and any
further ``receive`` raises RuntimeError instead of misparsing.  PINGs are only answered inside
``receive``, so a never-reading peer also never answers a heartbeat.

End a connection with ``close`` (close handshake), ``abort`` (RST), or ``async with`` (close after a
clean block, RST after an exception, so a failing test leaves no unclosed socket behind).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
from collections.abc import Iterable, Mapping
from typing import Any

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
STREAM_LIMIT = 8 * 1024
_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
_LINGER_RESET = struct.pack('ii', 1, 0)


class ProtocolError(ConnectionError):
    """The server sent something that is not a valid WebSocket frame sequence."""


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """Split a CLOSE frame payload into (code, reason); code is None for an empty payload."""
    if len(payload) < 2:
        return None, ''
    return struct.unpack('!H', payload[:2])[0], payload[2:].decode('utf-8', 'replace')


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if not n:
        return payload
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, 'little') ^ int.from_bytes(keystream, 'little')).to_bytes(n, 'little')


def _encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack('!BB', (0x80 if fin else 0) | opcode, mask_bit | n)
    elif n < 1 << 16:
        head = struct.pack('!BBH', (0x80 if fin else 0) | opcode, mask_bit | 126, n)
    else:
        head = struct.pack('!BBQ', (0x80 if fin else 0) | opcode, mask_bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


async def _open_socket(host: str, port: int, rcvbuf: int | None, sndbuf: int | None) -> socket.socket:
    loop = asyncio.get_running_loop()
    family, type_, proto, _, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sndbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


def _upgrade_request(host: str, port: int, path: str, key: str, headers: Mapping[str, str] | None) -> bytes:
    host_header = f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
    lines = [f'GET {path} HTTP/1.1', f'Host: {host_header}', 'Upgrade: websocket', 'Connection: Upgrade']
    lines += [f'Sec-WebSocket-Key: {key}', 'Sec-WebSocket-Version: 13']
    lines += [f'{name}: {value}' for name, value in (headers or {}).items()]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')


class RawWebSocket:
    """One client connection after a successful upgrade.  Build it with ``connect``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._mid_frame = False
        self._closed = False
        self._message_opcode: int | None = None  # first opcode of a fragmented message being reassembled
        self._fragments: list[bytes] = []

    async def __aenter__(self) -> RawWebSocket:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        """Close politely after a clean block; reset after an exception (so a failing test leaks nothing)."""
        if exc_type is None:
            await self.close()
        else:
            self.abort()

    def send_frame(self, opcode: int, payload: str | bytes = b'', *, fin: bool = True, mask: bool = True) -> None:
        """Write one frame of any opcode, no drain; ``fin``/``mask`` allow fragmented or invalid frames."""
        data = payload.encode() if isinstance(payload, str) else payload
        self.writer.write(_encode_frame(opcode, data, fin=fin, mask=mask))

    def send_text(self, data: str | bytes) -> None:
        """Write one masked text frame (bytes are sent as-is, valid UTF-8 or not), no drain."""
        self.send_frame(TEXT, data)

    def send_frames(self, payloads: Iterable[str | bytes]) -> None:
        """Write one text frame per payload, no drain."""
        for payload in payloads:
            self.send_text(payload)

    async def drain(self) -> None:
        await self.writer.drain()

    async def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = await self.reader.readexactly(2)  # atomic: nothing is consumed if cancelled here
        self._mid_frame = True
        if first & 0x70:
            raise ProtocolError(f'RSV bits set in frame header {first:#04x}')
        if second & 0x80:
            raise ProtocolError('server sent a masked frame')
        fin, opcode, length = bool(first & 0x80), first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack('!H', await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack('!Q', await self.reader.readexactly(8))
        if opcode >= CLOSE and (length > 125 or not fin):
            raise ProtocolError(f'invalid control frame: opcode {opcode:#x}, length {length}, fin {fin}')
        payload = await self.reader.readexactly(length)
        return fin, opcode, payload

    async def _read_message(self) -> tuple[int, bytes]:
        if self._mid_frame:
            raise RuntimeError('a previous receive() stopped mid-frame; the stream position is lost')
        try:
            while True:
                fin, opcode, payload = await self._read_frame()
                self._mid_frame = False
                if opcode == PING:
                    self.send_frame(PONG, payload)
                    continue
                if opcode in (PONG, CLOSE):
                    return opcode, payload
                if opcode == CONTINUATION and self._message_opcode is None:
                    raise ProtocolError('continuation frame with no message to continue')
                if opcode != CONTINUATION and self._message_opcode is not None:
                    raise ProtocolError(f'data frame opcode {opcode:#x} inside a fragmented message')
                if opcode not in (CONTINUATION, TEXT, BINARY):
                    raise ProtocolError(f'unknown opcode {opcode:#x}')
                if self._message_opcode is None:
                    self._message_opcode = opcode
                self._fragments.append(payload)
                if fin:
                    message = self._message_opcode, b''.join(self._fragments)
                    self._message_opcode, self._fragments = None, []
                    return message
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError(f'server closed the connection mid-frame ({len(exc.partial)} bytes read)') from exc

    async def receive(self, timeout: float = 10) -> tuple[int, bytes]:
        """Read one whole message as (opcode, payload); answers PINGs on the way."""
        return await asyncio.wait_for(self._read_message(), timeout)

    async def receive_json(self, timeout: float = 10) -> Any:
        opcode, payload = await self.receive(timeout)
        if opcode == CLOSE:
            code, reason = parse_close(payload)
            raise AssertionError(f'expected a JSON text frame, got CLOSE code={code} reason={reason!r}')
        if opcode != TEXT:
            raise AssertionError(f'expected a JSON text frame, got opcode {opcode:#x}: {payload[:200]!r}')
        return json.loads(payload)

    async def close(self, code: int = 1000, *, timeout: float = 2) -> None:
        """Send CLOSE, wait up to ``timeout`` for the server's CLOSE (dropping other frames), close the socket."""
        if self._closed:
            return
        self.send_frame(CLOSE, struct.pack('!H', code))

        async def await_reply() -> None:
            await self.writer.drain()
            while (await self._read_message())[0] != CLOSE:
                pass

        with contextlib.suppress(asyncio.TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(await_reply(), timeout)
        self._closed = True
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def abort(self) -> None:
        """Reset the connection (SO_LINGER 0): the server sees a RST.  The socket closes on the next loop turn."""
        if self._closed:
            return
        self._closed = True
        sock = self.writer.get_extra_info('socket')
        if sock is not None and sock.fileno() != -1:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.writer.transport.abort()


async def _handshake(
    port: int, path: str, host: str, rcvbuf: int | None, sndbuf: int | None, headers: Mapping[str, str] | None
) -> RawWebSocket:
    sock = await _open_socket(host, port, rcvbuf, sndbuf)
    reader, writer = await asyncio.open_connection(sock=sock, limit=STREAM_LIMIT)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(_upgrade_request(host, port, path, key, headers))
        try:
            head = await reader.readuntil(b'\r\n\r\n')
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError(f'handshake failed: connection closed after {exc.partial[:200]!r}') from exc
        except asyncio.LimitOverrunError as exc:
            raise ConnectionError(f'handshake failed: response head longer than {STREAM_LIMIT} bytes') from exc
        status_line, *header_lines = head.decode('latin-1').split('\r\n')
        version, _, rest = status_line.partition(' ')
        if not version.startswith('HTTP/') or not rest[:3].isdigit():
            raise ConnectionError(f'handshake failed: bad status line {status_line[:200]!r}')
        if not rest.startswith('101'):
            raise ConnectionError(f'handshake refused: HTTP {rest}')
        fields = {name.strip().lower(): value.strip() for name, _, value in (h.partition(':') for h in header_lines)}
        expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        if fields.get('sec-websocket-accept') != expected:
            raise ConnectionError(f'handshake failed: Sec-WebSocket-Accept {fields.get("sec-websocket-accept")!r}')
        if fields.get('upgrade', '').lower() != 'websocket':
            raise ConnectionError(f'handshake failed: Upgrade header {fields.get("upgrade")!r}')
    except BaseException:
        writer.close()
        raise
    return RawWebSocket(reader, writer)


async def connect(
    port: int,
    path: str = '/ws',
    *,
    host: str = '127.0.0.1',
    rcvbuf: int | None = None,
    sndbuf: int | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> RawWebSocket:
    """Connect (buffers sized before connect()), upgrade to WebSocket, return the connection."""
    return await asyncio.wait_for(_handshake(port, path, host, rcvbuf, sndbuf, headers), timeout)


async def reset_during_handshake(port: int, path: str = '/ws', *, host: str = '127.0.0.1') -> None:
    """Send a complete upgrade request, then reset the connection at once without reading the reply."""
    sock = await _open_socket(host, port, None, None)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        await asyncio.get_running_loop().sock_sendall(sock, _upgrade_request(host, port, path, key, None))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    finally:
        sock.close()
