"""Hostile transcripts: raw bytes in, whole replies out, over HTTP and over WebSocket.

The cases live in ``tests/transcripts/*.txt``; ``tests/transcripts/README.md`` describes the format. Each case
runs on a fresh server built from its file's ``# server:`` headers, serving the methods below, and must leave
that server able to answer a ``ping``.

Methods served:

* ``ping()`` -> ``'pong'``; ``echo(value)`` -> ``value``; ``count(*values)`` -> how many values;
  ``subtract(minuend, subtrahend)``; ``big(size)`` -> ``'x' * size``;
* ``unserializable(kind)`` -> ``object()``, NaN, +/-infinity, or NaN deep inside a list (``'nested-nan'``);
* ``fail()`` raises ``ValueError`` with a secret in its text; ``cancels_itself()`` raises ``CancelledError``;
* ``hang()`` waits forever (until ``call_timeout`` cancels it).
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import rawws
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from wire import PARSE_ERROR, WS_PARSE_ERROR, canonical, raw_http, request_head, result
from yarl import URL

import aiohttp_rpc

TRANSCRIPTS = Path(__file__).parent / 'transcripts'
SENTINEL = b'{"jsonrpc": "2.0", "method": "ping", "id": "sentinel"}'
PING = b'{"jsonrpc": "2.0", "method": "ping", "id": "health"}'
CHUNK = 16

# -- the methods ---------------------------------------------------------------------------------------------


def ping() -> str:
    return 'pong'


def echo(value: Any) -> Any:
    return value


def count(*values: Any) -> int:
    return len(values)


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


def big(size: int) -> str:
    return 'x' * size


def unserializable(kind: str) -> Any:
    return {
        'object': object(),
        'nan': float('nan'),
        'inf': float('inf'),
        '-inf': float('-inf'),
        'nested-nan': [1, {'deep': [2.5, float('nan')]}],
    }[kind]


def fail() -> None:
    raise ValueError('secret: the database password is hunter2')


async def cancels_itself() -> None:
    raise asyncio.CancelledError


async def hang() -> None:
    await asyncio.Event().wait()


METHODS = (ping, echo, count, subtract, big, unserializable, fail, cancels_itself, hang)

# -- the format ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """``kind`` is ``'json'`` (``value`` is the reply), ``'parse-error'``, ``'no-reply'``, ``'status'`` (``value``
    is ``(code, text)``) or ``'close'`` (``value`` is the close code)."""

    kind: str
    value: Any = None


@dataclass
class Case:
    name: str
    file: str
    line: int
    only: str | None = None
    requires_python: tuple[int, int] | None = None
    headers: dict[str, str] = field(default_factory=lambda: {'Content-Type': 'application/json'})
    dropped_headers: list[str] = field(default_factory=list)
    send: str = 'whole'
    stall_after: int = 0
    text_frame: bool = False
    body_lines: list[bytes] = field(default_factory=list)
    expected_lines: dict[str, list[str]] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        return b'\n'.join(self.body_lines)

    def expected(self, transport: str) -> Expected:
        lines = self.expected_lines.get(transport) or self.expected_lines.get('any')
        if not lines:
            raise ValueError(f'{self.file}:{self.line}: {self.name} has no expectation for {transport}')
        return parse_expected('\n'.join(lines))


@dataclass
class Transcript:
    name: str
    server: dict[str, Any]
    http_server: dict[str, Any]
    ws_server: dict[str, Any]
    cases: list[Case]


_REPEAT = re.compile(r'\{\{(\d+) \* ("(?:[^"\\]|\\.)*")\}\}')
_BYTE = re.compile(rb'\\x([0-9a-fA-F]{2})')


def expand(text: str) -> str:
    """``{{3 * "ab"}}`` -> ``ababab`` (the text is a JSON string literal)."""
    return _REPEAT.sub(lambda match: int(match.group(1)) * json.loads(match.group(2)), text)


def parse_options(text: str) -> dict[str, Any]:
    """``max_batch=3, ws_response_kwargs={'max_msg_size': 512}`` -> keyword arguments."""
    call = ast.parse(f'f({text})', mode='eval').body
    assert isinstance(call, ast.Call)
    return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords if keyword.arg}


def parse_expected(text: str) -> Expected:
    if text == 'PARSE_ERROR':
        return Expected('parse-error')
    if text == 'no reply':
        return Expected('no-reply')
    if text.startswith('status '):
        code, _, body = text[len('status ') :].partition(' ')
        return Expected('status', (int(code), body))
    if text.startswith('close '):
        return Expected('close', int(text[len('close ') :]))
    return Expected('json', json.loads(text))


def load_transcript(path: Path) -> Transcript:
    transcript = Transcript(name=path.stem, server={}, http_server={}, ws_server={}, cases=[])
    headers = {
        '# server:': transcript.server,
        '# http-server:': transcript.http_server,
        '# ws-server:': transcript.ws_server,
    }
    case: Case | None = None
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), start=1):
        for prefix, options in headers.items():
            if line.startswith(prefix):
                options.update(parse_options(line[len(prefix) :]))
        if not line.strip() or line.startswith('#'):
            continue
        if line.startswith('=== '):
            case = Case(name=line[4:].strip(), file=path.name, line=number)
            transcript.cases.append(case)
            continue
        if case is None:
            raise ValueError(f'{path.name}:{number}: text before the first case')
        if line == '>>>' or line.startswith('>>> '):
            case.body_lines.append(expand(line[4:]).encode())
        elif line.startswith('>>>b '):
            case.body_lines.append(_BYTE.sub(lambda match: bytes([int(match.group(1), 16)]), expand(line[5:]).encode()))
        elif line.startswith('<<<'):
            marker, _, rest = line.partition(' ')
            transport = marker[3:] or 'any'
            if transport not in ('any', 'http', 'ws'):
                raise ValueError(f'{path.name}:{number}: unknown transport {transport!r}')
            case.expected_lines.setdefault(transport, []).append(expand(rest))
        elif line.startswith('only: '):
            case.only = line[len('only: ') :].strip()
        elif line.startswith('requires-python: '):
            major, minor = line[len('requires-python: ') :].split('.')
            case.requires_python = (int(major), int(minor))
        elif line.startswith('header: '):
            name, _, value = line[len('header: ') :].partition(':')
            case.headers[name.strip()] = value.strip()
        elif line.startswith('drop-header: '):
            name = line[len('drop-header: ') :].strip()
            case.headers.pop(name, None)
            case.dropped_headers.append(name)
        elif line.startswith('send: '):
            mode = line[len('send: ') :].split()
            case.send = mode[0]
            if case.send == 'stall-after':
                case.stall_after = int(mode[1])
            elif case.send != 'chunked':
                raise ValueError(f'{path.name}:{number}: unknown send mode {mode}')
        elif line == 'frame: text':
            case.text_frame = True
        else:
            raise ValueError(f'{path.name}:{number}: cannot read {line!r}')
    return transcript


TRANSCRIPT_FILES = {path.stem: load_transcript(path) for path in sorted(TRANSCRIPTS.glob('*.txt'))}


def all_cases() -> list[Any]:
    params = []
    for transcript in TRANSCRIPT_FILES.values():
        for case in transcript.cases:
            # A case that needs a newer Python is not collected, rather than skipped: what it states cannot hold
            # on this one (the "Python 3.10" note of docs/streams.md says what happens there instead).
            if case.requires_python is not None and sys.version_info < case.requires_python:
                continue
            for transport in ('http', 'ws'):
                if case.only in (None, transport):
                    params.append(
                        pytest.param(transcript, case, transport, id=f'{transcript.name}/{case.name}/{transport}')
                    )
    return params


# -- replay --------------------------------------------------------------------------------------------------

Replay = Callable[[Transcript, Case], Awaitable[Any]]


@dataclass(frozen=True)
class Answer:
    """What came back: a decoded reply, ``NO_REPLY``, an HTTP status with its text, or a close code."""

    kind: str
    value: Any = None


NO_REPLY = Answer('no-reply')


def http_server_for(transcript: Transcript) -> aiohttp_rpc.JSONRPCServer:
    server = aiohttp_rpc.JSONRPCServer(
        middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, **transcript.server, **transcript.http_server
    )
    server.add_methods(METHODS)
    return server


def ws_server_for(transcript: Transcript) -> aiohttp_rpc.WSJSONRPCServer:
    # One frame is read at a time, so a reply to a frame always comes before the reply to the next one.
    server = aiohttp_rpc.WSJSONRPCServer(
        middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
        max_in_flight=1,
        **transcript.server,
        **transcript.ws_server,
    )
    server.add_methods(METHODS)
    return server


async def body_chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]


async def post(session: aiohttp.ClientSession, url: str, case: Case | None, body: bytes) -> Answer:
    headers = case.headers if case else {'Content-Type': 'application/json'}
    skip = case.dropped_headers if case else []
    data: Any = body_chunks(body) if case is not None and case.send == 'chunked' else body
    async with session.post(url, data=data, headers=headers, skip_auto_headers=skip) as response:
        raw = await response.read()
        status, content_type = response.status, response.content_type
    return decode_http(status, content_type, raw)


def decode_http(status: int, content_type: str, raw: bytes) -> Answer:
    if status == 204 and not raw:
        return NO_REPLY
    if status == 200 and content_type == 'application/json':
        return Answer('json', json.loads(raw))
    return Answer('status', (status, raw.decode()))


async def stall(url: str, case: Case) -> Answer:
    """Send the head with the whole Content-Length and only the first bytes of the body, then wait."""
    parsed = URL(url)
    assert parsed.host is not None
    assert parsed.port is not None
    headers = {'Host': f'{parsed.host}:{parsed.port}', **case.headers, 'Content-Length': str(len(case.body))}
    head = request_head('POST', parsed.path, headers)
    reply = await raw_http(parsed.host, parsed.port, head + case.body[: case.stall_after])
    return decode_http(reply.status, reply.headers.get('content-type', '').split(';')[0], reply.body)


@pytest.fixture
async def replay_http(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[Replay]:
    async with aiohttp.ClientSession() as session:

        async def replay(transcript: Transcript, case: Case) -> Answer:
            app = web.Application()
            app.router.add_post('/rpc', http_server_for(transcript).handle_http_request)
            url = str((await aiohttp_server(app)).make_url('/rpc'))
            answer = await (stall(url, case) if case.send == 'stall-after' else post(session, url, case, case.body))
            assert await post(session, url, None, PING) == Answer('json', result('pong', id='health'))
            return answer

        yield replay


async def send_frame(ws: aiohttp.ClientWebSocketResponse, case: Case) -> None:
    body = case.body
    try:
        text = body.decode()
    except UnicodeDecodeError:
        await ws.send_bytes(body)
    else:
        await ws.send_str(text)


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Answer:
    msg = await ws.receive(timeout=5)
    if msg.type is WSMsgType.TEXT:
        return Answer('json', json.loads(msg.data))
    if msg.type is WSMsgType.CLOSE:
        return Answer('close', msg.data)
    if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED):
        return Answer('close', ws.close_code)
    return Answer('unexpected', msg)


async def raw_text_frame(url: str, body: bytes) -> Answer:
    """Send ``body`` as one text frame, UTF-8 or not, and read what comes back. A raw client, because aiohttp's
    own sends such bytes only through ``send_frame``, which releases before 3.11 lack."""
    parsed = URL(url)
    assert parsed.port is not None
    async with await rawws.connect(parsed.port, parsed.path) as peer:
        peer.send_text(body)
        opcode, payload = await peer.receive(5)
    if opcode == rawws.CLOSE:
        return Answer('close', rawws.parse_close(payload)[0])
    if opcode == rawws.TEXT:
        return Answer('json', json.loads(payload))
    return Answer('unexpected', (opcode, payload))


async def ws_ping(session: aiohttp.ClientSession, url: str) -> Answer:
    async with session.ws_connect(url) as ws:
        await ws.send_bytes(PING)
        return await receive(ws)


@pytest.fixture
async def replay_ws(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[Replay]:
    async with aiohttp.ClientSession() as session:

        async def replay(transcript: Transcript, case: Case) -> Answer:
            server = ws_server_for(transcript)
            app = web.Application()
            app.router.add_get('/rpc', server.handle_http_request)
            app.on_shutdown.append(server.on_shutdown)
            url = str((await aiohttp_server(app)).make_url('/rpc'))
            if case.text_frame:
                answer = await raw_text_frame(url, case.body)
                assert await ws_ping(session, url) == Answer('json', result('pong', id='health'))
                return answer
            async with session.ws_connect(url, max_msg_size=0) as ws:
                await send_frame(ws, case)
                if case.expected('ws').kind == 'close':
                    answer = await receive(ws)
                else:
                    await ws.send_bytes(SENTINEL)
                    answer = await receive(ws)
                    if answer == Answer('json', result('pong', id='sentinel')):
                        answer = NO_REPLY
                    elif answer.kind == 'json':
                        assert await receive(ws) == Answer('json', result('pong', id='sentinel'))
            # The server keeps serving: a new connection is answered.
            assert await ws_ping(session, url) == Answer('json', result('pong', id='health'))
            return answer

        yield replay


def expected_answer(expected: Expected, transport: str) -> Answer:
    if expected.kind == 'parse-error':
        return Answer('json', PARSE_ERROR if transport == 'http' else WS_PARSE_ERROR)
    if expected.kind == 'no-reply':
        return NO_REPLY
    return Answer(expected.kind, expected.value)


@pytest.mark.parametrize(('transcript', 'case', 'transport'), all_cases())
async def test_transcript(
    transcript: Transcript, case: Case, transport: str, replay_http: Replay, replay_ws: Replay
) -> None:
    expected = expected_answer(case.expected(transport), transport)
    answer = await (replay_http if transport == 'http' else replay_ws)(transcript, case)
    if expected.kind == 'json' and answer.kind == 'json':
        assert canonical(answer.value) == canonical(expected.value)
        assert type(answer.value) is type(expected.value)  # a batch reply is an array, even with one member
    else:
        assert answer == expected


# -- the loader itself ---------------------------------------------------------------------------------------


def test_every_transcript_file_has_cases_for_both_transports() -> None:
    assert set(TRANSCRIPT_FILES) == {'batches', 'ids', 'limits', 'parsing', 'requests', 'results'}
    for transcript in TRANSCRIPT_FILES.values():
        transports = {
            transport for case in transcript.cases for transport in ('http', 'ws') if case.only in (None, transport)
        }
        assert transports == {'http', 'ws'}, transcript.name
        names = [case.name for case in transcript.cases]
        assert len(names) == len(set(names)), transcript.name
        for case in transcript.cases:
            for transport in ('http', 'ws'):
                if case.only in (None, transport):
                    case.expected(transport)  # every case says what it expects


def test_format_details() -> None:
    assert expand('a{{3 * "[\\""}}b') == 'a["["["b'
    assert parse_options(" max_batch=3, ws_response_kwargs={'max_msg_size': 512}") == {
        'max_batch': 3,
        'ws_response_kwargs': {'max_msg_size': 512},
    }
    assert parse_expected('status 413 Too big.') == Expected('status', (413, 'Too big.'))
    assert parse_expected('close 1009') == Expected('close', 1009)
    assert parse_expected('[1]') == Expected('json', [1])
    parsing = {case.name: case for case in TRANSCRIPT_FILES['parsing'].cases}
    assert (
        parsing['invalid-utf8-in-a-string'].body
        == b'{"jsonrpc": "2.0", "method": "echo", "params": ["\xff\xfe"], "id": 1}'
    )
    assert parsing['nesting-2000-arrays-unclosed'].body == b'[' * 2000
    assert (
        parsing['surrounding-whitespace-is-fine'].body == b'   \n\t{"jsonrpc": "2.0", "method": "ping", "id": 1}  \r\n'
    )
    assert TRANSCRIPT_FILES['limits'].http_server == {'max_body_size': 512, 'body_timeout': 0.2}
