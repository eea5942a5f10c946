"""Cross-origin calls from browsers (aiohttp_rpc.server.cors, on aiohttp-cors): the preflight over plain HTTP, then
real fetches in headless Chromium from pages on two other loopback origins, one allowed and one not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import ServerConfigurationError
from aiohttp_rpc.server.cors import allow_cross_origin

pytestmark = pytest.mark.timeout(60)


class Calls:
    def __init__(self) -> None:
        self.count = 0

    def ping(self) -> str:
        self.count += 1
        return 'pong'


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    try:
        yield f'http://127.0.0.1:{runner.addresses[0][1]}'
    finally:
        await runner.cleanup()


def rpc_app(calls: Calls, origins: Iterable[str], **options: Any) -> web.Application:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(calls.ping, name='ping'))
    app = web.Application()
    route = app.router.add_post('/rpc', server.handle_http_request)
    allow_cross_origin(app, route, origins, **options)
    return app


PREFLIGHT = {'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type'}


async def test_the_preflight_answers_listed_origins_only() -> None:
    calls = Calls()
    async with serve(rpc_app(calls, ['https://app.example'])) as base, aiohttp.ClientSession() as session:
        async with session.options(f'{base}/rpc', headers={'Origin': 'https://app.example', **PREFLIGHT}) as allowed:
            assert allowed.status == 200
            assert {name: value for name, value in allowed.headers.items() if name.startswith('Access-Control')} == {
                'Access-Control-Allow-Origin': 'https://app.example',
                'Access-Control-Allow-Methods': 'POST',
                'Access-Control-Allow-Headers': 'CONTENT-TYPE',
                'Access-Control-Max-Age': '600',
            }
        async with session.options(f'{base}/rpc', headers={'Origin': 'https://evil.example', **PREFLIGHT}) as other:
            assert other.status == 403
            assert 'Access-Control-Allow-Origin' not in other.headers
        call = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}
        async with session.post(f'{base}/rpc', json=call, headers={'Origin': 'https://app.example'}) as reply:
            assert reply.headers['Access-Control-Allow-Origin'] == 'https://app.example'
            assert 'Access-Control-Allow-Credentials' not in reply.headers  # credentials off unless asked
            assert await reply.json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'pong'}
        # The server's own defences stay: a "simple" cross-site form post still gets 415, and runs nothing.
        form = {'Origin': 'https://app.example', 'Content-Type': 'text/plain'}
        async with session.post(
            f'{base}/rpc', data=b'{"jsonrpc": "2.0", "method": "ping", "id": 2}', headers=form
        ) as refused:
            assert refused.status == 415
    assert calls.count == 1


async def test_credentials_only_when_asked() -> None:
    app = rpc_app(Calls(), ['https://app.example'], allow_credentials=True)
    async with (
        serve(app) as base,
        aiohttp.ClientSession() as session,
        session.options(f'{base}/rpc', headers={'Origin': 'https://app.example', **PREFLIGHT}) as allowed,
    ):
        assert allowed.headers['Access-Control-Allow-Credentials'] == 'true'


@pytest.mark.parametrize('origins', [[], ['*'], ['https://app.example', '*']])
def test_origins_must_be_listed(origins: list[str]) -> None:
    app = web.Application()
    route = app.router.add_post('/rpc', aiohttp_rpc.JSONRPCServer().handle_http_request)
    with pytest.raises(ServerConfigurationError) as raised:
        allow_cross_origin(app, route, origins)
    assert raised.value.data == {
        'details': 'List the origins allowed to call, e.g. ["https://app.example.com"], not "*".'
    }


PAGE = """<!doctype html><title>loading</title>
<script>
fetch(%(endpoint)r, {method: 'POST', headers: {'Content-Type': 'application/json'},
                     body: JSON.stringify({jsonrpc: '2.0', method: 'ping', id: 1})})
  .then(response => response.json())
  .then(reply => { document.title = 'reply: ' + reply.result; })
  .catch(error => { document.title = 'blocked: ' + error.name; });
</script>"""


def page_app(html: dict[str, str]) -> web.Application:
    """A site serving one page, whose HTML is filled in once the endpoint's address is known."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html['page'], content_type='text/html')

    app = web.Application()
    app.router.add_get('/', page)
    return app


async def test_a_browser_on_an_allowed_origin_calls_and_another_is_blocked(browser: Any) -> None:
    calls = Calls()
    html = {'page': ''}
    async with serve(page_app(html)) as allowed_origin, serve(page_app(html)) as other_origin:
        endpoint_app = rpc_app(calls, [allowed_origin])  # the origins are known once the page sites listen
        async with serve(endpoint_app) as endpoint:
            html['page'] = PAGE % {'endpoint': f'{endpoint}/rpc'}
            context = await browser.new_context()
            try:
                for origin, expected in [(allowed_origin, 'reply: pong'), (other_origin, 'blocked: TypeError')]:
                    tab = await context.new_page()
                    await tab.goto(f'{origin}/')
                    await tab.wait_for_function("document.title !== 'loading'", timeout=10_000)
                    assert await tab.title() == expected
                    await tab.close()
            finally:
                await context.close()
    assert calls.count == 1  # the blocked origin's call was never sent
