"""The API console: its routes over plain HTTP, then the page itself in headless Chromium against a real server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import enum
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import JSONRPCError, ServerConfigurationError
from aiohttp_rpc.server import docs
from aiohttp_rpc.server.docs import mount_docs

with contextlib.suppress(ImportError):  # without playwright the browser tests skip (or fail on CI): tests/browser.py
    from playwright.async_api import Browser, Page, expect

OUTPUT = Path(__file__).parent / 'output'
HOSTILE = '<img src=x onerror="document.title=1">'


class InsufficientFunds(JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


class Currency(enum.Enum):
    EUR = 'EUR'
    USD = 'USD'


@dataclasses.dataclass
class Point:
    """A point on the plane."""

    x: float
    y: float


def build_server(server_class: type[aiohttp_rpc.BaseJSONRPCServer] = aiohttp_rpc.JSONRPCServer) -> Any:
    """A server with grouped, typed, failing and hostile-looking methods."""
    server = server_class(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, validate_params=True)
    math = aiohttp_rpc.MethodGroup(description='Arithmetic.')

    @math.method()
    def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: the first term.
            b: the second term.
        """
        return a + b

    @math.method()
    def distance(p: Point, q: Point | None = None) -> float:
        """The distance between two points (from the origin by default)."""
        q = q or Point(0, 0)
        return float(((p.x - q.x) ** 2 + (p.y - q.y) ** 2) ** 0.5)

    bank = aiohttp_rpc.MethodGroup()

    def withdraw(
        amount: int, account: str = 'main', mode: Literal['now', 'later'] = 'now', currency: Currency = Currency.EUR
    ) -> int:
        """Take money out of an account.

        Always refused: the account is nearly empty.
        """
        raise InsufficientFunds(data={'balance': 3, 'asked': amount})

    bank.add_method(aiohttp_rpc.JSONRPCMethod(withdraw, errors=[InsufficientFunds]))
    server.add_group('math', math)
    server.add_group('bank', bank)

    def echo(text: str, shout: bool = False) -> str:
        return text.upper() if shout else text

    server.add_method(aiohttp_rpc.JSONRPCMethod(echo, summary=f'Echo the text back. {HOSTILE}'))
    return server


def build_app(server: Any, **options: Any) -> web.Application:
    app = web.Application()
    route = web.get if isinstance(server, aiohttp_rpc.WSJSONRPCServer) else web.post
    app.router.add_routes([route('/rpc', server.handle_http_request)])
    mount_docs(app, server, **options)
    return app


# -- the routes ----------------------------------------------------------------------------------------------


async def test_page_is_self_contained_under_a_strict_policy(aiohttp_client: Any) -> None:
    client = await aiohttp_client(build_app(build_server(), title='Bank & <Math>'))
    response = await client.get('/docs')
    assert response.status == 200
    assert response.content_type == 'text/html'
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    page = await response.text()
    policy = response.headers['Content-Security-Policy']
    directives = dict(directive.strip().split(' ', 1) for directive in policy.split(';'))
    assert directives['default-src'] == "'none'"
    assert directives['connect-src'] == "'self'"
    assert directives['frame-ancestors'] == "'none'"
    assert 'unsafe' not in policy
    assert not re.search(r'https?:|//[\w.-]+\.\w', policy)

    # No URL anywhere: nothing to fetch from another host, no scheme-relative references either.
    assert not re.search(r'https?://', page, re.IGNORECASE)
    assert not re.search(r'(src|href|action)\s*=\s*["\']?//', page, re.IGNORECASE)
    assert not re.search(r'<(script|link|img|iframe)[^>]*\s(src|href)=(?!"data:,")', page, re.IGNORECASE)
    # The inline style and script are admitted by hash, and are the only ones.
    (style,) = re.findall(r'<style>(.*?)</style>', page, re.DOTALL)
    (script,) = re.findall(r'<script>(.*?)</script>', page, re.DOTALL)
    assert directives['style-src'] == f"'sha256-{_sha256(style)}'"
    assert directives['script-src'] == f"'sha256-{_sha256(script)}'"
    for sink in ('innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval('):
        assert sink not in script
    # The title is text, and the page finds the endpoint and the document by relative URLs.
    assert '<title>Bank &amp; &lt;Math&gt;</title>' in page
    assert 'data-endpoint="rpc" data-openrpc="openrpc.json" data-transport="http"' in page
    assert len(page.encode()) < 48 * 1024  # one small page, whatever the API: no framework, no fonts


async def test_openrpc_document_lists_methods_added_after_mounting(aiohttp_client: Any) -> None:
    server = build_server()
    client = await aiohttp_client(build_app(server, title='Bank', version='2.0.0', description='Money.'))
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda: 'pong', name='ping'))
    response = await client.get('/openrpc.json')
    assert response.status == 200
    assert response.content_type == 'application/json'
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    document = await response.json()
    assert document['openrpc'] == '1.3.2'
    assert document['info'] == {'title': 'Bank', 'version': '2.0.0', 'description': 'Money.'}
    assert document['servers'] == [{'name': 'http', 'url': 'rpc'}]
    methods = {method['name']: method for method in document['methods']}
    assert set(methods) == {'bank.withdraw', 'echo', 'math.add', 'math.distance', 'ping'}
    assert [param['name'] for param in methods['math.add']['params']] == ['a', 'b']
    assert methods['math.add']['tags'] == [{'name': 'math', 'description': 'Arithmetic.'}]  # MethodGroup(description=)


async def test_sub_application_and_nested_paths(aiohttp_client: Any) -> None:
    server = build_server(aiohttp_rpc.WSJSONRPCServer)
    api = build_app(server, path='/help/console', openrpc_path='/help/openrpc.json')
    app = web.Application()
    app.add_subapp('/api', api)
    client = await aiohttp_client(app)
    page = await (await client.get('/api/help/console')).text()
    assert 'data-endpoint="../rpc" data-openrpc="openrpc.json" data-transport="ws"' in page
    document = await (await client.get('/api/help/openrpc.json')).json()
    assert document['servers'] == [{'name': 'ws', 'url': '../rpc'}]


async def test_host_allow_list_applies_to_the_docs(aiohttp_client: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(allowed_hosts=['api.example.com'])
    client = await aiohttp_client(build_app(server))
    for path in ('/docs', '/openrpc.json'):
        assert (await client.get(path)).status == 403
        assert (await client.get(path, headers={'Host': 'api.example.com'})).status == 200


@pytest.mark.parametrize('endpoint', ['rpc', '//evil.example/rpc', 'https://evil.example/rpc'])
def test_paths_must_stay_on_this_origin(endpoint: str) -> None:
    with pytest.raises(ServerConfigurationError):
        mount_docs(web.Application(), aiohttp_rpc.JSONRPCServer(), endpoint=endpoint)


@pytest.mark.parametrize(
    ('target', 'base', 'expected'),
    [
        ('/rpc', '/', 'rpc'),
        ('/rpc', '/docs', '../rpc'),
        ('/v1/rpc/', '/v1', 'rpc/'),
        ('/', '/', './'),
        ('/a:b', '/', './a:b'),
    ],
)
def test_relative_url(target: str, base: str, expected: str) -> None:
    assert docs._relative_url(target, base) == expected


@pytest.mark.parametrize(('style', 'script'), [('a</style>', ''), ('', 'x = "</SCRIPT>"'), ('', '"{{title}}"')])
def test_assets_may_not_break_out_of_their_element(style: str, script: str) -> None:
    with pytest.raises(ServerConfigurationError):
        docs._Console('<style>{{style}}</style><script>{{script}}</script>', style, script)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# -- the page in a browser -----------------------------------------------------------------------------------


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f'http://{host}:{port}'
    finally:
        await runner.cleanup()


@asynccontextmanager
async def console_page(browser: Browser, base_url: str, **context_options: Any) -> AsyncIterator[Page]:
    """Open the console; fail on a request to any other origin, a script error or a policy violation."""
    context = await browser.new_context(viewport={'width': 1280, 'height': 900}, **context_options)
    problems: list[str] = []

    def complain(text: str) -> None:
        if not text.startswith('Failed to load resource'):  # the HTTP and network failures the test causes
            problems.append(f'console: {text}')

    async def only_this_origin(route: Any) -> None:
        if route.request.url.startswith(base_url + '/'):
            await route.continue_()
        else:
            problems.append(f'request to {route.request.url}')
            await route.abort()

    await context.route('**/*', only_this_origin)
    page = await context.new_page()
    page.on('pageerror', lambda error: problems.append(f'page error: {error}'))
    page.on('console', lambda message: message.type == 'error' and complain(message.text))
    try:
        await page.goto(base_url + '/docs')
        await expect(page.get_by_role('heading', name='math.add')).to_be_visible()
        yield page
        assert problems == []
    finally:
        await context.close()


def method_card(page: Page, name: str) -> Any:
    return page.locator('article', has=page.get_by_role('heading', name=name, exact=True))


async def call(card: Any, **values: str) -> Any:
    """Fill the card's fields by label, press Send, and return the reply box."""
    for name, value in values.items():
        field = card.get_by_label(name, exact=True)
        if await field.evaluate('el => el.tagName') == 'SELECT':
            await field.select_option(label=value)
        else:
            await field.fill(value)
    await card.get_by_role('button', name='Send').click()
    reply = card.locator('.reply')
    await expect(reply).to_be_visible()
    return reply


async def test_console_calls_the_server(browser: Browser) -> None:
    async with (
        serving(build_app(build_server(), title='Bank and maths')) as base_url,
        console_page(browser, base_url) as page,
    ):
        nav = page.get_by_role('navigation', name='Methods')
        for name in ('math', 'bank', 'math.add', 'math.distance', 'bank.withdraw', 'echo'):
            await expect(nav.get_by_role('link', name=name, exact=True)).to_be_visible()
        await expect(page.get_by_role('heading', name='math', exact=True)).to_be_visible()
        math_section = page.locator('section.group', has=page.get_by_role('heading', name='math', exact=True))
        await expect(math_section).to_contain_text('Arithmetic.')  # MethodGroup(description=...)
        add = method_card(page, 'math.add')
        await expect(add).to_contain_text('Add two integers.')
        await expect(add).to_contain_text('the first term.')

        reply = await call(add, a='2', b='3')
        await expect(reply).to_have_class(re.compile(r'\bok\b'))
        await expect(reply.get_by_label('Result')).to_have_text('5')

        # JSON-RPC errors: the method's own, then the validator's.
        withdraw = method_card(page, 'bank.withdraw')
        await expect(withdraw).to_contain_text('4001 Insufficient funds')  # the declared error
        reply = await call(withdraw, amount='10', mode='"later"', currency='"USD"')
        await expect(reply).to_have_class(re.compile(r'\berror\b'))
        await expect(reply).to_contain_text('Code 4001 Insufficient funds')
        await expect(reply.get_by_label('Error data')).to_contain_text('"balance": 3')
        reply = await call(add, a='"two"', b='1')
        await expect(reply).to_contain_text('Code -32602')

        # Structured params, and text taken as typed (the server's docs are text, never markup).
        distance = method_card(page, 'math.distance')
        await expect(distance.get_by_role('link', name='Point')).to_have_count(2)
        reply = await call(distance, p='{"x": 3, "y": 4}')
        await expect(reply.get_by_label('Result')).to_have_text('5.0')
        echo = method_card(page, 'echo')
        await expect(echo).to_contain_text(HOSTILE)
        assert await page.locator('main img').count() == 0
        reply = await call(echo, text='1 + 1', shout='true')
        await expect(reply.get_by_label('Result')).to_have_text('"1 + 1"')

        # Invalid JSON is caught before sending; HTTP and network failures are told apart.
        await distance.get_by_label('p', exact=True).fill('{"x": 3')
        await distance.get_by_role('button', name='Send').click()
        await expect(distance.get_by_text('Not valid JSON')).to_be_visible()
        await expect(distance.get_by_label('p', exact=True)).to_be_focused()
        await expect(distance.get_by_label('p', exact=True)).to_have_attribute('aria-invalid', 'true')
        await page.get_by_text('Authorize').click()
        await page.get_by_label('Other headers').fill('Content-Type: text/plain')
        reply = await call(add, a='2', b='1')
        await expect(reply).to_contain_text('HTTP 415 Unsupported Media Type')
        await page.get_by_label('Other headers').fill('')
        await page.route('**/rpc', lambda route: route.abort())
        reply = await call(add, a='2', b='1')
        await expect(reply).to_contain_text('Network error')
        await page.unroute('**/rpc')

        # The filter narrows the list and says how many are left.
        await page.keyboard.press('Escape')
        await page.locator('body').press('/')
        await expect(page.get_by_label('Filter methods')).to_be_focused()
        await page.keyboard.type('insufficient')
        await expect(page.locator('#count')).to_have_text('1 of 4 methods')
        await expect(add).to_be_hidden()
        await page.keyboard.press('Escape')
        await expect(add).to_be_visible()

        reply = await call(add, a='2', b='3')
        await expect(reply.get_by_label('Result')).to_have_text('5')
        await call(withdraw, amount='10')
        OUTPUT.mkdir(exist_ok=True)
        await page.evaluate('window.scrollTo(0, 0)')
        await page.screenshot(path=OUTPUT / 'docs-console.png', full_page=True)
        await page.emulate_media(color_scheme='dark')
        await page.screenshot(path=OUTPUT / 'docs-console-dark.png')


async def test_console_over_websocket(browser: Browser) -> None:
    async with (
        serving(build_app(build_server(aiohttp_rpc.WSJSONRPCServer))) as base_url,
        console_page(browser, base_url) as page,
    ):
        await expect(page.locator('#meta')).to_contain_text('WebSocket /rpc')
        add = method_card(page, 'math.add')
        reply = await call(add, a='20', b='22')
        await expect(reply.get_by_label('Result')).to_have_text('42')
        reply = await call(method_card(page, 'bank.withdraw'), amount='1')
        await expect(reply).to_contain_text('Code 4001 Insufficient funds')


async def test_console_helps_fill_check_and_share_a_call(browser: Browser) -> None:
    """Examples for structured params, required fields checked before sending (and the old reply cleared), a
    model view of the schemas, guarded methods marked, Authorize reloading the list, and copy as curl."""
    server = build_server()
    guarded = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_bearer_token({'s3cret'})])

    @guarded.method()
    def secret() -> str:
        return 'the answer'

    server.add_group('vault', guarded)
    async with (
        serving(build_app(server)) as base_url,
        console_page(browser, base_url, permissions=['clipboard-read', 'clipboard-write']) as page,
    ):
        distance = method_card(page, 'math.distance')
        await expect(distance.get_by_label('p', exact=True)).to_have_attribute('placeholder', '{"x":0,"y":0}')
        await distance.get_by_role('button', name='Insert an example for p').click()
        await expect(distance.get_by_label('p', exact=True)).to_have_value('{\n  "x": 0,\n  "y": 0\n}')
        reply = await call(distance)
        await expect(reply.get_by_label('Result')).to_have_text('0.0')

        add = method_card(page, 'math.add')
        await call(add, a='1', b='2')
        await add.get_by_label('a', exact=True).fill('')
        await add.get_by_role('button', name='Send').click()
        await expect(add.get_by_text('Required: give a value.')).to_be_visible()
        await expect(add.get_by_label('a', exact=True)).to_be_focused()
        await expect(add.locator('.reply')).to_have_count(0)  # nothing was sent: the old reply is gone

        await page.get_by_role('link', name='Point').first.click()
        fields = page.get_by_role('table', name='Fields of Point')
        await expect(fields.get_by_role('row', name='x')).to_contain_text('number')
        await expect(fields.get_by_role('row', name='x')).to_contain_text('required')

        await expect(page.get_by_role('heading', name='vault.secret')).to_have_count(0)  # not for this caller yet
        await page.get_by_text('Authorize').click()
        await page.get_by_label('Bearer token').fill('s3cret')
        await page.get_by_role('button', name='Apply').click()
        await expect(page.locator('#auth-status')).to_have_text('Applied 1 header; the list shows what they may call.')
        secret_card = method_card(page, 'vault.secret')
        await expect(secret_card).to_contain_text('Guarded: each call must pass a check')
        reply = await call(secret_card)
        await expect(reply.get_by_label('Result')).to_have_text('"the answer"')
        await secret_card.get_by_text('Request and response').click()
        command = secret_card.get_by_label('curl command')
        await expect(command).to_have_text(
            f"curl -sS -X POST '{base_url}/rpc' \\\n"
            "  -H 'accept: application/json' \\\n"
            "  -H 'authorization: Bearer s3cret' \\\n"
            "  -H 'content-type: application/json' \\\n"
            '  --data-raw \'{"jsonrpc":"2.0","method":"vault.secret","id":3}\''
        )
        await secret_card.get_by_role('button', name='Copy as curl').click()
        await expect(secret_card.get_by_role('button', name='Copied')).to_be_visible()
        pasted = await page.evaluate('navigator.clipboard.readText()')
        assert pasted == await command.text_content()
        shell = await asyncio.create_subprocess_exec('sh', '-c', pasted, stdout=asyncio.subprocess.PIPE)
        output, _ = await asyncio.wait_for(shell.communicate(), 30)  # the command runs as pasted
        assert json.loads(output) == {'jsonrpc': '2.0', 'id': 3, 'result': 'the answer'}


async def test_console_over_websocket_says_what_authorization_can_do(browser: Browser) -> None:
    async with (
        serving(build_app(build_server(aiohttp_rpc.WSJSONRPCServer))) as base_url,
        console_page(browser, base_url) as page,
    ):
        await page.get_by_text('Authorize').click()
        await expect(page.locator('#auth-note')).to_contain_text('Over a WebSocket a browser cannot send headers')
        await expect(page.get_by_label('Bearer token')).to_be_disabled()


async def test_console_live_panel_for_subscriptions(browser: Browser) -> None:
    """A subscription gets a Subscribe button and a live panel: items as they come, its end, and Unsubscribe."""
    server = build_server(aiohttp_rpc.WSJSONRPCServer)
    stopped = asyncio.Event()

    async def countdown(start: int) -> AsyncIterator[int]:
        """Count down to zero."""
        for number in range(start, -1, -1):
            yield number

    async def ticks() -> AsyncIterator[dict[str, int]]:
        try:
            for number in itertools.count():
                yield {'tick': number}
                await asyncio.sleep(0.05)
        finally:
            stopped.set()

    server.add_methods([countdown, ticks])
    async with serving(build_app(server)) as base_url, console_page(browser, base_url) as page:
        card = method_card(page, 'countdown')
        await expect(card).to_contain_text(
            'Subscription: yields integer as countdown notifications, until countdown.unsubscribe'
        )
        await card.get_by_label('start', exact=True).fill('3')
        await card.get_by_role('button', name='Subscribe').click()
        panel = card.get_by_label('Subscription to countdown')
        await expect(panel.get_by_role('status')).to_have_text('completed')
        await expect(panel).to_contain_text('4 items')
        await expect(panel.get_by_label('Item 4')).to_have_text('0')  # the newest first
        await expect(panel.get_by_label('Item 1')).to_have_text('3')
        await card.get_by_label('start', exact=True).fill('149')
        await card.get_by_role('button', name='Subscribe').click()
        await expect(panel.get_by_role('status')).to_have_text('completed')
        await expect(panel).to_contain_text('150 items')
        await expect(panel.locator('ol.items li')).to_have_count(100)  # the newest 100 are shown
        await expect(panel.get_by_label('Item 150')).to_have_text('0')
        await expect(panel.get_by_label('Item 50')).to_have_count(0)

        card = method_card(page, 'ticks')
        await card.get_by_role('button', name='Subscribe').click()
        panel = card.get_by_label('Subscription to ticks')
        await expect(panel.get_by_role('status')).to_have_text('live')
        await expect(panel.get_by_label('Item 3')).to_have_text('{"tick":2}')
        await panel.get_by_role('button', name='Unsubscribe').click()
        await expect(panel.get_by_role('status')).to_have_text('unsubscribed')
        OUTPUT.mkdir(exist_ok=True)
        await card.screenshot(path=OUTPUT / 'docs-console-subscription.png')
        assert stopped.is_set()  # the generator was closed before the unsubscribe was answered
        await expect(card.get_by_role('button', name='Subscribe')).not_to_have_attribute('aria-disabled', 'true')


async def test_console_reports_a_missing_document(browser: Browser) -> None:
    async with serving(build_app(build_server(), path='/help/docs')) as base_url:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.route('**/openrpc.json', lambda route: route.fulfill(status=500, body='boom'))
            await page.goto(base_url + '/help/docs')
            await expect(page.get_by_role('status')).to_contain_text('could not be loaded: HTTP 500')
        finally:
            await context.close()


async def test_what_add_discovery_says_is_what_every_view_shows(aiohttp_client: Any) -> None:
    """One place for the API's title, version and description: add_discovery, even after mounting the docs."""
    server = build_server()
    client = await aiohttp_client(build_app(server))
    default_page = await (await client.get('/docs')).text()
    assert '<title>JSON-RPC API</title>' in default_page
    server.add_discovery(title='Bank', version='2.0.0', description='Money.')
    expected = {'title': 'Bank', 'version': '2.0.0', 'description': 'Money.'}
    assert (await (await client.get('/openrpc.json')).json())['info'] == expected
    reply = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': 'rpc.discover', 'id': 1})
    assert (await reply.json())['result']['info'] == expected
    page = await (await client.get('/docs')).text()
    assert '<title>Bank</title>' in page
    assert '<h1 id="title">Bank</h1>' in page
    assert aiohttp_rpc.schema.build_openapi(server)['info'] == expected
    # What mount_docs is given explicitly still wins for its own views.
    other = await aiohttp_client(build_app(server, title='Console'))
    assert (await (await other.get('/openrpc.json')).json())['info'] == {**expected, 'title': 'Console'}


async def test_a_browser_opening_the_http_endpoint_is_pointed_to_the_console(aiohttp_client: Any) -> None:
    client = await aiohttp_client(build_app(build_server()))
    response = await client.get('/rpc')
    assert (response.status, response.headers['Allow'], response.content_type) == (405, 'POST', 'text/html')
    assert await response.text() == (
        '<!doctype html><title>JSON-RPC endpoint</title><p>This is a JSON-RPC endpoint: send requests with POST. '
        '<a href="docs">API console</a>'
    )
    reply = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': 'math.add', 'params': [1, 2], 'id': 1})
    assert await reply.json() == {'jsonrpc': '2.0', 'id': 1, 'result': 3}


async def test_an_app_that_routes_get_on_the_endpoint_keeps_its_route(aiohttp_client: Any) -> None:
    server = build_server()
    app = web.Application()
    app.router.add_route('*', '/rpc', server.handle_http_request)
    mount_docs(app, server)
    client = await aiohttp_client(app)
    response = await client.get('/rpc')
    assert (response.status, response.content_type) == (405, 'text/plain')  # the server's own refusal
