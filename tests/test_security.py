"""Who may talk to a server, and what a hostile client can make it do: content types, the Host allow-list,
the WebSocket Origin policy, origin checks before the body is read, reserved names, and log hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from wire import PARSE_ERROR, WS_PARSE_ERROR, raw_http, request_head, result, serve_ws
from yarl import URL

import aiohttp_rpc
from aiohttp_rpc import errors

AiohttpServer = Callable[..., Awaitable[TestServer]]

PING = b'{"jsonrpc": "2.0", "method": "ping", "id": 1}'
PONG = result('pong', id=1)
UNSUPPORTED = 'Send JSON-RPC as one of: application/json, application/json-rpc, application/jsonrequest.'


def ping() -> str:
    return 'pong'


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class Calls:
    """A method that counts its calls, to prove a refused request never reached it."""

    def __init__(self) -> None:
        self.count = 0

    def method(self) -> aiohttp_rpc.JSONRPCMethod:
        def ping() -> str:
            self.count += 1
            return 'pong'

        return aiohttp_rpc.JSONRPCMethod(ping)


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], *, skip: tuple[str, ...] = ()
) -> tuple[int, Any]:
    async with session.post(url, data=body, headers=headers, skip_auto_headers=skip) as response:
        raw = await response.read()
        if response.content_type == 'application/json':
            return response.status, json.loads(raw)
        return response.status, raw.decode()


# -- content types ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('content_type', 'expected'),
    [
        ('application/json', (200, PONG)),
        ('application/json; charset=utf-8', (200, PONG)),
        ('Application/JSON', (200, PONG)),
        ('application/json-rpc', (200, PONG)),
        ('application/jsonrequest', (200, PONG)),
        ('text/plain', (415, UNSUPPORTED)),
        ('text/plain; charset=utf-8', (415, UNSUPPORTED)),
        ('application/x-www-form-urlencoded', (415, UNSUPPORTED)),
        ('multipart/form-data; boundary=x', (415, UNSUPPORTED)),
        ('application/javascript', (415, UNSUPPORTED)),
        ('application/json-patch+json', (415, UNSUPPORTED)),
        ('application/octet-stream', (415, UNSUPPORTED)),
        (None, (415, UNSUPPORTED)),
    ],
)
async def test_content_types(
    rpc_server_factory: Any, session: aiohttp.ClientSession, content_type: str | None, expected: Any
) -> None:
    calls = Calls()
    url = await rpc_server_factory(calls.method())
    if content_type is None:
        answer = await post(session, url, PING, {}, skip=('Content-Type',))
    else:
        answer = await post(session, url, PING, {'Content-Type': content_type})
    assert answer == expected
    assert calls.count == (1 if expected[0] == 200 else 0)


@pytest.mark.parametrize('content_type', ['text/plain', 'application/x-www-form-urlencoded', None])
async def test_content_types_none_accepts_anything(
    rpc_server_factory: Any, session: aiohttp.ClientSession, content_type: str | None
) -> None:
    url = await rpc_server_factory(ping, content_types=None)
    if content_type is None:
        assert await post(session, url, PING, {}, skip=('Content-Type',)) == (200, PONG)
    else:
        assert await post(session, url, PING, {'Content-Type': content_type}) == (200, PONG)


async def test_custom_content_types_compare_case_insensitively(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    url = await rpc_server_factory(ping, content_types=['Application/Vnd.Example+JSON'])
    assert await post(session, url, PING, {'Content-Type': 'application/vnd.example+json'}) == (200, PONG)
    assert await post(session, url, PING, {'Content-Type': 'application/json'}) == (
        415,
        'Send JSON-RPC as one of: application/vnd.example+json.',
    )


# -- hosts --------------------------------------------------------------------------------------------------

ALLOWED_HOSTS = ['api.example.com', '*.example.org']
HOSTS = [
    ('api.example.com', True),
    ('API.Example.COM', True),
    ('api.example.com:8080', True),
    ('www.example.org', True),
    ('a.b.example.org:443', True),
    ('example.org', False),
    ('evil.example', False),
    ('api.example.com.evil.example', False),
    ('evilexample.org', False),
    ('example.org.evil.example', False),
    ('127.0.0.1', False),
    ('localhost', False),
]


@pytest.mark.parametrize(('host', 'allowed'), HOSTS)
async def test_allowed_hosts_over_http(
    rpc_server_factory: Any, session: aiohttp.ClientSession, host: str, allowed: bool
) -> None:
    calls = Calls()
    url = await rpc_server_factory(calls.method(), allowed_hosts=ALLOWED_HOSTS)
    answer = await post(session, url, PING, {'Content-Type': 'application/json', 'Host': host})
    assert answer == ((200, PONG) if allowed else (403, 'Host not allowed.'))
    assert calls.count == int(allowed)


@pytest.mark.parametrize(('host', 'allowed'), HOSTS)
async def test_allowed_hosts_over_websocket(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession, host: str, allowed: bool
) -> None:
    server, url = await serve_ws(aiohttp_server, ping, allowed_hosts=ALLOWED_HOSTS)
    if allowed:
        async with session.ws_connect(url, headers={'Host': host}) as ws:
            await ws.send_bytes(PING)
            assert json.loads((await ws.receive(timeout=5)).data) == PONG
    else:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url, headers={'Host': host})
        assert info.value.status == 403
        assert not server.peers


async def test_a_missing_host_is_not_allowed(rpc_server_factory: Any) -> None:
    """HTTP/1.0 may leave out Host (aiohttp itself answers 400 to HTTP/1.1 without one)."""
    url = URL(await rpc_server_factory(ping, allowed_hosts=ALLOWED_HOSTS))
    assert url.host is not None
    assert url.port is not None
    headers = {'Content-Type': 'application/json', 'Content-Length': str(len(PING))}
    head = request_head('POST', url.path, headers, version='1.0')
    reply = await raw_http(url.host, url.port, head + PING)
    assert (reply.status, reply.body) == (403, b'Host not allowed.')


# -- the WebSocket Origin policy ----------------------------------------------------------------------------

SERVER_ORIGIN = 'the server itself'


@pytest.mark.parametrize(
    ('origin', 'host', 'allowed'),
    [
        pytest.param(None, None, True, id='no-origin'),
        pytest.param(SERVER_ORIGIN, None, True, id='same-origin-loopback'),
        pytest.param('http://rpc.example.net', 'rpc.example.net', True, id='same-origin-named-host'),
        pytest.param('http://rpc.example.net:8443', 'rpc.example.net:8443', True, id='same-origin-with-port'),
        pytest.param('http://localhost:1234', None, True, id='localhost'),
        pytest.param('http://LOCALHOST:1234', None, True, id='localhost-upper-case'),
        pytest.param('http://127.0.0.1:9', None, True, id='loopback-v4'),
        pytest.param('http://[::1]:8000', None, True, id='loopback-v6'),
        pytest.param('https://evil.example', None, False, id='other-site'),
        pytest.param('https://evil.example', 'rpc.example.net', False, id='other-site-named-host'),
        pytest.param('http://rpc.example.net:8443', 'rpc.example.net', False, id='same-host-other-port'),
        pytest.param('http://localhost.evil.example', None, False, id='localhost-prefix'),
        pytest.param('http://127.0.0.1.evil.example', None, False, id='loopback-prefix'),
        pytest.param('null', None, False, id='null-origin'),
        pytest.param('file://', None, False, id='file-origin'),
        pytest.param('garbage', None, False, id='not-a-url'),
    ],
)
async def test_default_ws_origin_policy(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession, origin: str | None, host: str | None, allowed: bool
) -> None:
    calls = Calls()
    server, url = await serve_ws(aiohttp_server, calls.method())
    headers = {}
    if origin == SERVER_ORIGIN:
        origin = f'http://{URL(url).host}:{URL(url).port}'
    if host is not None:
        headers['Host'] = host
    if allowed:
        async with session.ws_connect(url, origin=origin, headers=headers) as ws:
            await ws.send_bytes(PING)
            assert json.loads((await ws.receive(timeout=5)).data) == PONG
        assert calls.count == 1
    else:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url, origin=origin, headers=headers)
        assert info.value.status == 403
        assert not server.peers
        assert calls.count == 0


@pytest.mark.parametrize('origin', [None, 'https://evil.example', 'null', 'garbage'])
async def test_ws_allowed_origins_star_admits_everyone(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession, origin: str | None
) -> None:
    _, url = await serve_ws(aiohttp_server, ping, allowed_origins='*')
    async with session.ws_connect(url, origin=origin) as ws:
        await ws.send_bytes(PING)
        assert json.loads((await ws.receive(timeout=5)).data) == PONG


@pytest.mark.parametrize(
    ('allowed_origins', 'origin', 'allowed'),
    [
        (['https://App.Example.com'], 'https://app.example.COM', True),
        (['https://App.Example.com'], 'https://other.example', False),
        (['https://App.Example.com'], 'http://app.example.com', False),
        (['https://App.Example.com'], 'http://localhost', False),
        (['https://App.Example.com'], None, False),
        ([None, 'https://App.Example.com'], None, True),
        ('https://app.example.com', 'HTTPS://APP.EXAMPLE.COM', True),
    ],
)
async def test_explicit_origin_lists(
    aiohttp_server: AiohttpServer,
    rpc_server_factory: Any,
    session: aiohttp.ClientSession,
    allowed_origins: Any,
    origin: str | None,
    allowed: bool,
) -> None:
    _, ws_url = await serve_ws(aiohttp_server, ping, allowed_origins=allowed_origins)
    if allowed:
        async with session.ws_connect(ws_url, origin=origin) as ws:
            await ws.send_bytes(PING)
            assert json.loads((await ws.receive(timeout=5)).data) == PONG
    else:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(ws_url, origin=origin)
        assert info.value.status == 403
    http_url = await rpc_server_factory(ping, allowed_origins=allowed_origins)
    headers = {'Content-Type': 'application/json', **({'Origin': origin} if origin is not None else {})}
    assert await post(session, http_url, PING, headers) == ((200, PONG) if allowed else (403, 'Origin not allowed.'))


async def test_http_server_has_no_origin_check_by_default(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    """Cross-site POSTs are stopped by the content-type check (415), not by an Origin policy."""
    url = await rpc_server_factory(ping)
    headers = {'Content-Type': 'application/json', 'Origin': 'https://evil.example'}
    assert await post(session, url, PING, headers) == (200, PONG)


# -- origin checks happen before the body is read ----------------------------------------------------------


def origin_checked_server(how: str, calls: Calls) -> aiohttp_rpc.JSONRPCServer:
    allowed = {'https://app.example.com'}
    if how == 'check_origins':
        middlewares = [aiohttp_rpc.middlewares.check_origins(allowed), *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES]
        server = aiohttp_rpc.JSONRPCServer(middlewares=middlewares, body_timeout=None)
    else:
        server = aiohttp_rpc.JSONRPCServer(allowed_origins=allowed, body_timeout=None)
    server.add_method(calls.method())
    return server


@pytest.mark.parametrize('how', ['check_origins', 'allowed_origins'])
async def test_origin_is_refused_before_the_body_is_parsed(
    rpc_server_factory: Any, session: aiohttp.ClientSession, how: str
) -> None:
    calls = Calls()
    url = await rpc_server_factory(rpc_server=origin_checked_server(how, calls))
    evil = {'Content-Type': 'application/json', 'Origin': 'https://evil.example'}
    good = {'Content-Type': 'application/json', 'Origin': 'https://app.example.com'}
    assert await post(session, url, b'{"this is": not json', evil) == (403, 'Origin not allowed.')
    assert await post(session, url, PING, evil) == (403, 'Origin not allowed.')
    assert calls.count == 0
    assert await post(session, url, b'{"this is": not json', good) == (200, PARSE_ERROR)
    assert await post(session, url, PING, good) == (200, PONG)
    assert calls.count == 1


@pytest.mark.parametrize('how', ['check_origins', 'allowed_origins'])
async def test_origin_is_refused_without_waiting_for_the_body(rpc_server_factory: Any, how: str) -> None:
    """The head promises 100,000 bytes and none follow; with no body timeout, reading the body would hang."""
    calls = Calls()
    url = URL(await rpc_server_factory(rpc_server=origin_checked_server(how, calls)))
    assert url.host is not None
    assert url.port is not None
    headers = {
        'Host': f'{url.host}:{url.port}',
        'Content-Type': 'application/json',
        'Content-Length': '100000',
        'Origin': 'https://evil.example',
    }
    reply = await raw_http(url.host, url.port, request_head('POST', url.path, headers), timeout=5)
    assert (reply.status, reply.body) == (403, b'Origin not allowed.')
    assert calls.count == 0


async def test_check_origins_middleware_guards_the_websocket_handshake(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    middlewares = [
        aiohttp_rpc.middlewares.check_origins({'https://app.example.com'}),
        *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
    ]
    server, url = await serve_ws(aiohttp_server, ping, middlewares=middlewares, allowed_origins='*')
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await session.ws_connect(url, origin='https://evil.example')
    assert info.value.status == 403
    assert not server.peers
    async with session.ws_connect(url, origin='https://app.example.com') as ws:
        await ws.send_bytes(PING)
        assert json.loads((await ws.receive(timeout=5)).data) == PONG


# -- reserved names -----------------------------------------------------------------------------------------


def discover() -> str:
    return 'schema'


@pytest.mark.parametrize('server_class', [aiohttp_rpc.JSONRPCServer, aiohttp_rpc.WSJSONRPCServer])
def test_rpc_names_are_reserved(server_class: type[aiohttp_rpc.JSONRPCServer]) -> None:
    server = server_class()
    with pytest.raises(errors.ServerConfigurationError):
        server.add_method(aiohttp_rpc.JSONRPCMethod(discover, name='rpc.discover'))
    with pytest.raises(errors.ServerConfigurationError):
        server.add_methods([ping, aiohttp_rpc.JSONRPCMethod(discover, name='rpc.x')])
    assert 'rpc.discover' not in server.methods
    server.add_method(aiohttp_rpc.JSONRPCMethod(discover, name='rpc.discover'), allow_reserved=True)
    assert 'rpc.discover' in server.methods
    server.add_method(aiohttp_rpc.JSONRPCMethod(discover, name='rpcdiscover'))  # only the "rpc." prefix


async def test_an_allowed_reserved_name_is_served(rpc_server_factory: Any, session: aiohttp.ClientSession) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(discover, name='rpc.discover'), allow_reserved=True)
    url = await rpc_server_factory(rpc_server=server)
    body = b'{"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}'
    assert await post(session, url, body, {'Content-Type': 'application/json'}) == (200, result('schema', id=1))


# -- log hygiene --------------------------------------------------------------------------------------------

NOTIFICATION = b'{"jsonrpc": "2.0", "method": "no_such_method"}'
BAD_MESSAGES: list[bytes] = [
    b'{"jsonrpc": "2.0", "method": "ping", "id": 1',
    b'\xff\xfe\x00garbage',
    b'[' * 2000,
    b'{"jsonrpc": "2.0", "method": "ping", "params": [NaN], "id": 1}',
    b'{"jsonrpc": "2.0", "method": "no_such_method", "id": 1}',
    NOTIFICATION,
    b'{"jsonrpc": "2.0", "method": "ping", "id": true}',
    b'{"jsonrpc": "1.0", "method": "ping", "id": 1}',
    b'{"method": "ping", "id": 1}',
    b'{"jsonrpc": "2.0", "method": 1, "id": 1}',
    b'{"jsonrpc": "2.0", "method": "ping", "params": "x", "id": 1}',
    b'{"jsonrpc": "2.0", "method": "ping", "params": [1, 2], "id": 1}',
    b'{"jsonrpc": "2.0", "method": "' + b'm' * 3000 + b'", "id": 1}',
    b'[]',
    b'[1, 2, 3]',
    b'"just a string"',
    b'[' + b','.join([b'{"jsonrpc": "2.0", "method": "ping", "id": 1}'] * 1001) + b']',
    b'',
]


def noisy_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.exc_info or record.levelno >= logging.WARNING]


async def test_a_flood_of_bad_http_requests_leaves_the_log_quiet(
    rpc_server_factory: Any, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    url = await rpc_server_factory(ping, max_body_size=64 * 1024)
    caplog.set_level(logging.DEBUG)
    statuses = set()
    for i in range(200):
        body = BAD_MESSAGES[i % len(BAD_MESSAGES)]
        content_type = 'text/plain' if i % 50 == 49 else 'application/json'
        status, _ = await post(session, url, body, {'Content-Type': content_type})
        statuses.add(status)
    status, _ = await post(session, url, b'{"x": "' + b'x' * 70_000 + b'"}', {'Content-Type': 'application/json'})
    statuses.add(status)
    assert statuses == {200, 204, 413, 415}
    assert await post(session, url, PING, {'Content-Type': 'application/json'}) == (200, PONG)
    assert noisy_records(caplog) == []


async def test_a_flood_of_bad_ws_frames_leaves_the_log_quiet(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = await serve_ws(aiohttp_server, ping)
    caplog.set_level(logging.DEBUG)
    async with session.ws_connect(url, max_msg_size=0) as ws:
        for i in range(200):
            await ws.send_bytes(BAD_MESSAGES[i % len(BAD_MESSAGES)])
        await ws.send_bytes(PING)
        replies = []
        for _ in range(300):  # bounded: every bad frame but the notification gets one reply, then the ping's
            msg = await ws.receive(timeout=5)
            assert msg.type is WSMsgType.TEXT
            replies.append(json.loads(msg.data))
            if replies[-1] == PONG:
                break
    assert replies[-1] == PONG
    assert WS_PARSE_ERROR in replies
    answered = sum(1 for i in range(200) if BAD_MESSAGES[i % len(BAD_MESSAGES)] != NOTIFICATION)
    assert len(replies) == answered + 1
    assert noisy_records(caplog) == []


async def test_a_refused_websocket_handshake_logs_nothing_noisy(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = await serve_ws(aiohttp_server, ping, max_ws_connections=1)
    caplog.set_level(logging.DEBUG)
    for origin in ['https://evil.example'] * 20:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url, origin=origin)
    async with session.ws_connect(url) as ws:
        for _ in range(20):
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(url)
        await ws.send_bytes(PING)
        assert json.loads((await ws.receive(timeout=5)).data) == PONG
    assert noisy_records(caplog) == []


async def test_refusals_answer_without_internals(aiohttp_server: AiohttpServer, session: aiohttp.ClientSession) -> None:
    server = aiohttp_rpc.JSONRPCServer(allowed_hosts=['api.example.com'], max_body_size=16)
    server.add_method(ping)
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    url = str((await aiohttp_server(app)).make_url('/rpc'))
    for headers, expected in [
        ({'Host': 'evil.example'}, (403, 'Host not allowed.')),
        ({'Host': 'api.example.com', 'Content-Type': 'text/plain'}, (415, UNSUPPORTED)),
    ]:
        assert await post(session, url, PING, {'Content-Type': 'application/json', **headers}) == expected
    too_large = await post(session, url, PING, {'Content-Type': 'application/json', 'Host': 'api.example.com'})
    assert too_large == (
        413,
        {
            'id': None,
            'jsonrpc': '2.0',
            'error': {
                'code': -32600,
                'message': 'Invalid Request',
                'data': {'details': 'Maximum request body size 16 exceeded.'},
            },
        },
    )


# -- replies with ids no call can have -----------------------------------------------------------------------


async def test_a_reply_with_an_unhashable_id_does_not_break_the_client(aiohttp_server: AiohttpServer) -> None:
    """A hostile server answers with ids that are arrays and objects; calls still pending are unaffected."""
    slow_received = asyncio.Event()
    slow_id: list[Any] = []

    async def hostile(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            call = json.loads(msg.data)
            if call['method'] == 'slow':
                slow_id.append(call['id'])
                slow_received.set()
                continue
            await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'bogus', 'id': [call['id']]}))
            await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'bogus', 'id': {'id': call['id']}}))
            await ws.send_str(json.dumps([{'jsonrpc': '2.0', 'result': 'bogus', 'id': [call['id']]}]))
            await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'ok', 'id': call['id']}))
            await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'late', 'id': slow_id[0]}))
        return ws

    app = web.Application()
    app.router.add_get('/rpc', hostile)
    url = str((await aiohttp_server(app)).make_url('/rpc'))
    async with aiohttp_rpc.WSJSONRPCClient(url, timeout=5) as rpc:
        slow = asyncio.ensure_future(rpc.call('slow'))
        await asyncio.wait_for(slow_received.wait(), 5)
        assert await rpc.call('fast') == 'ok'
        assert await slow == 'late'


async def test_a_reply_with_an_unhashable_id_does_not_break_the_server(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    """A peer answers the server's call-back with an array id first; the call-back still gets its reply."""

    async def ask(rpc_request: aiohttp_rpc.JSONRPCRequest) -> Any:
        return await aiohttp_rpc.get_peer(rpc_request).methods.confirm()

    _, url = await serve_ws(aiohttp_server, aiohttp_rpc.JSONRPCMethod(ask, pass_extra_kwargs=True))
    async with session.ws_connect(url) as ws:
        await ws.send_str('{"jsonrpc": "2.0", "method": "ask", "id": 1}')
        callback = json.loads((await ws.receive(timeout=5)).data)
        assert callback['method'] == 'confirm'
        await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'bogus', 'id': [callback['id']]}))
        await ws.send_str(json.dumps({'jsonrpc': '2.0', 'result': 'yes', 'id': callback['id']}))
        msg = await ws.receive(timeout=5)
        assert msg.type is WSMsgType.TEXT, msg
        assert json.loads(msg.data) == result('yes', id=1)
