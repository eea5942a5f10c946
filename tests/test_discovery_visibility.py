"""Discovery shows a caller only what it may call: ``rpc.discover``, ``GET /openrpc.json`` and the docs console
leave out the methods whose guards refuse the caller asking, and the types only those methods use. Over real
HTTP and WebSocket, and in headless Chromium for the console."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import AccessDenied
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES
from aiohttp_rpc.server.docs import mount_docs

pytestmark = pytest.mark.timeout(60)

ADMIN = {'Authorization': 'Bearer admin-token'}
BILLING = {'X-Team': 'billing'}


@dataclasses.dataclass
class Invoice:
    """An invoice: only the billing group's method uses this type."""

    number: int
    total: float


@dataclasses.dataclass
class Note:
    """A note: the public method uses this type."""

    text: str


def refuse_loudly(rpc_request: aiohttp_rpc.JSONRPCRequest) -> bool:
    raise AccessDenied(data={'details': 'never'})


def build_server(server_class: type[aiohttp_rpc.BaseJSONRPCServer] = aiohttp_rpc.JSONRPCServer, **options: Any) -> Any:
    """Public ``post_note``; ``purge`` behind a bearer token; ``billing.charge`` behind a group header guard;
    ``secret`` behind a guard that raises."""
    options.setdefault('middlewares', DEFAULT_MIDDLEWARES)
    server = server_class(**options)

    def post_note(note: Note) -> Note:
        return note

    def purge() -> int:
        return 0

    def charge(invoice: Invoice) -> Invoice:
        return invoice

    def secret() -> str:
        return 'x'

    server.add_method(post_note)
    server.add_method(aiohttp_rpc.JSONRPCMethod(purge, guards=[aiohttp_rpc.require_bearer_token({'admin-token'})]))
    server.add_method(aiohttp_rpc.JSONRPCMethod(secret, guards=[refuse_loudly]))
    billing = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_header('X-Team', 'billing')])
    billing.add_method(charge)
    server.add_group('billing', billing)
    return server


def build_app(server: Any, *, list_all: bool = False) -> web.Application:
    app = web.Application()
    route = web.get if isinstance(server, aiohttp_rpc.WSJSONRPCServer) else web.post
    app.router.add_routes([route('/rpc', server.handle_http_request)])
    server.add_discovery(title='Shop', version='1.0.0', list_all=list_all)
    mount_docs(app, server, title='Shop', version='1.0.0', list_all=list_all)
    return app


def names_and_types(document: dict[str, Any]) -> tuple[list[str], list[str]]:
    return [method['name'] for method in document['methods']], sorted(document['components']['schemas'])


DISCOVER = {'jsonrpc': '2.0', 'method': 'rpc.discover', 'id': 1}

CASES = [
    ({}, ['post_note'], ['Note']),
    (ADMIN, ['post_note', 'purge'], ['Note']),
    (BILLING, ['billing.charge', 'post_note'], ['Invoice', 'Note']),
    ({**ADMIN, **BILLING}, ['billing.charge', 'post_note', 'purge'], ['Invoice', 'Note']),
]


@pytest.mark.parametrize(('headers', 'names', 'types'), CASES)
async def test_each_caller_sees_what_it_may_call(
    aiohttp_client: Any, headers: dict[str, str], names: list[str], types: list[str]
) -> None:
    client = await aiohttp_client(build_app(build_server()))
    reply = await (await client.post('/rpc', json=DISCOVER, headers=headers)).json()
    assert names_and_types(reply['result']) == (names, types)
    document = await (await client.get('/openrpc.json', headers=headers)).json()
    assert names_and_types(document) == (names, types)
    assert {key: value for key, value in document.items() if key not in ('methods', 'components', 'servers')} == {
        key: value for key, value in reply['result'].items() if key not in ('methods', 'components', 'servers')
    }


async def test_what_is_shown_can_be_called_and_what_is_hidden_cannot(aiohttp_client: Any) -> None:
    """The filter is the guards themselves: for every caller, a listed method answers, a hidden one is -32001."""
    client = await aiohttp_client(build_app(build_server()))
    every = ['billing.charge', 'post_note', 'purge', 'secret']
    params = {'billing.charge': [{'number': 1, 'total': 2.5}], 'post_note': [{'text': 'hi'}]}
    for headers, names, _ in CASES:
        calls = [
            {'jsonrpc': '2.0', 'method': name, 'id': index, 'params': params.get(name, [])}
            for index, name in enumerate(every)
        ]
        replies = await (await client.post('/rpc', json=calls, headers=headers)).json()
        answered = sorted(every[reply['id']] for reply in replies if 'result' in reply)
        assert answered == names
        assert all(reply['error']['code'] == -32001 for reply in replies if 'error' in reply)


async def test_over_websocket_the_handshake_request_decides(aiohttp_client: Any) -> None:
    client = await aiohttp_client(build_app(build_server(aiohttp_rpc.WSJSONRPCServer)))
    for headers, names, _ in CASES:
        async with client.ws_connect('/rpc', headers=headers) as ws:
            await ws.send_json(DISCOVER)
            reply = await ws.receive_json()
        assert names_and_types(reply['result'])[0] == names


async def test_list_all_lists_every_method(aiohttp_client: Any) -> None:
    client = await aiohttp_client(build_app(build_server(), list_all=True))
    every = (['billing.charge', 'post_note', 'purge', 'secret'], ['Invoice', 'Note'])
    reply = await (await client.post('/rpc', json=DISCOVER)).json()
    assert names_and_types(reply['result']) == every
    assert names_and_types(await (await client.get('/openrpc.json')).json()) == every


async def test_a_server_without_middlewares_decides_per_caller_too(aiohttp_client: Any) -> None:
    """``rpc.discover`` gets its caller's request without ``inject_request_middleware`` as well."""
    client = await aiohttp_client(build_app(build_server(middlewares=())))
    for headers, names, _ in CASES:
        reply = await (await client.post('/rpc', json=DISCOVER, headers=headers)).json()
        assert names_and_types(reply['result'])[0] == names
        document = await (await client.get('/openrpc.json', headers=headers)).json()
        assert names_and_types(document)[0] == names


async def test_server_guards_refusing_show_nothing(aiohttp_client: Any) -> None:
    server = build_server(guards=[aiohttp_rpc.require_bearer_token({'admin-token'})])
    client = await aiohttp_client(build_app(server))
    reply = await (await client.post('/rpc', json=DISCOVER)).json()
    assert reply == {'jsonrpc': '2.0', 'id': 1, 'error': {'code': -32001, 'message': 'Access denied'}}
    assert names_and_types(await (await client.get('/openrpc.json')).json()) == ([], [])
    document = await (await client.get('/openrpc.json', headers=ADMIN)).json()
    assert names_and_types(document) == (['post_note', 'purge'], ['Note'])


async def test_the_console_lists_what_the_browser_may_call(browser: Any) -> None:
    from playwright.async_api import expect

    app = build_app(build_server())
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        base_url = 'http://{}:{}'.format(*runner.addresses[0][:2])
        for headers, names, _ in CASES:
            context = await browser.new_context(extra_http_headers=headers)
            try:
                page = await context.new_page()
                await page.goto(base_url + '/docs')
                await expect(page.get_by_role('heading', name='post_note', exact=True)).to_be_visible()
                headings = await page.locator('article h3').all_inner_texts()
                assert sorted(heading.strip() for heading in headings) == names
            finally:
                await context.close()
    finally:
        await runner.cleanup()
