"""examples/typed_api.py and examples/guards_*.py run as real programs and print what they promise.

Each runs with ``-W error`` in a subprocess with this interpreter and must exit 0 with nothing on stderr.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'examples'
RUN_TIMEOUT = 30  # seconds for one example; pytest's timeout is the backstop
CONNECT_TRIES = 200  # x 50 ms: how long the background server gets to start listening

# Discovery and the docs console are landing separately; the example uses them where they exist.


def command(name: str, *args: str) -> list[str]:
    return [sys.executable, '-W', 'error', str(EXAMPLES / name), *args]


def run_once(name: str) -> list[str]:
    """Run ``name --once``; return its stdout lines after checking it exited cleanly and quietly."""
    completed = subprocess.run(command(name, '--once'), capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT)
    assert completed.returncode == 0, f'{name} exited with {completed.returncode}:\n{completed.stderr}'
    assert completed.stderr == '', f'{name} wrote to stderr:\n{completed.stderr}'
    return completed.stdout.splitlines()


def outcomes(lines: list[str]) -> list[str]:
    """The ``label -> outcome`` lines, with runs of spaces (column padding) folded."""
    return [' '.join(line.split()) for line in lines if ' -> ' in line]


def test_typed_api_once() -> None:
    lines = run_once('typed_api.py')
    routes = 'POST /rpc, GET /ws, GET /docs, GET /openrpc.json'
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert lines[0].endswith(f': {routes}')
    quote = '{"items": 4, "subtotal_cents": 450, "discount_cents": 45, "total_cents": 405}'
    bad_order_errors = [
        {
            'path': ['order', 'lines', 0, 'sku'],
            'message': "Input should be 'apple', 'pear' or 'melon'",
            'type': 'literal_error',
        },
        {
            'path': ['order', 'lines', 0, 'quantity'],
            'message': 'Input should be greater than or equal to 1',
            'type': 'greater_than_equal',
        },
        {'path': ['order', 'coupon'], 'message': 'Input should be a valid string', 'type': 'string_type'},
    ]
    not_a_param = [{'path': ['user'], 'message': 'Extra inputs are not permitted', 'type': 'extra_forbidden'}]
    public = [
        'market.price_feed',
        'market.price_feed.unsubscribe',
        'market.price_of',
        'ping',
        'shop.catalog.items',
        'shop.quote',
    ]
    every = ['account.place_order', 'account.whoami', *public]
    unknown = [{'path': ['sku'], 'message': 'Unknown item', 'type': 'unknown_sku'}]
    assert outcomes(lines) == [
        'ping() -> "pong"',
        'shop.catalog.items() -> [{"sku": "apple", "price_cents": 50}, {"sku": "pear", "price_cents": 75}, '
        '{"sku": "melon", "price_cents": 300}]',
        f'shop.quote(order) -> {quote}',
        f"shop.quote(bad order) -> error -32602 'Invalid params' data={json.dumps({'errors': bad_order_errors})}",
        "account.whoami() without a token -> error -32001 'Access denied'",
        f'rpc.discover() method names -> {json.dumps(public)}',
        f'rpc.discover() with a token -> {json.dumps(every)}',
        'account.whoami() with a token, as ada -> {"name": "ada"}',
        "account.whoami(user=root): not a param -> error -32602 'Invalid params' "
        f'data={json.dumps({"errors": not_a_param})}',
        f'[ws] account.place_order(order) as grace -> {{"number": 1001, "customer": "grace", "quote": {quote}}}',
        "[ws] account.place_order(order), no token -> error -32001 'Access denied'",
        '[ws] market.price_of("pear") via proxy -> 75',
        '[ws] market.price_of("kiwi") via proxy -> error -32602 \'Invalid params\' '
        f'data={json.dumps({"errors": unknown})}',
        '[ws] market.price_feed([melon, apple]) -> '
        '[{"sku": "melon", "price_cents": 300}, {"sku": "apple", "price_cents": 50}]',
    ]
    assert lines[-1] == 'Done (--once).'


def test_guards_bearer_token_once() -> None:
    lines = run_once('guards_bearer_token.py')
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert outcomes(lines) == [
        "ping Authorization: (none) -> 'pong'",
        "admin.stats Authorization: (none) -> error -32001 'Access denied'",
        "admin.stats Authorization: Basic s3cret -> error -32001 'Access denied'",
        "admin.stats Authorization: Bearer wrong -> error -32001 'Access denied'",
        "admin.stats Authorization: Bearer s3cret -> {'users': 42, 'orders': 7}",
        "reports.weekly Authorization: Bearer s3cret -> error -32001 'Access denied'",
        "reports.weekly Authorization: Bearer team-blue -> 'sales are up'",
    ]


def test_guards_header_once() -> None:
    lines = run_once('guards_header.py')
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert outcomes(lines) == [
        "ping (no headers) -> 'pong'",
        "inventory.count (no headers) -> error -32001 'Access denied'",
        "inventory.count X-Api-Key: key-999 -> error -32001 'Access denied'",
        'inventory.count X-Api-Key: key-123 -> 12',
        "inventory.restock X-Api-Key: key-123 -> error -32001 'Access denied'",
        'inventory.restock X-Api-Key: key-123, X-Request-Id: r-1 -> 5',
    ]


def test_guards_session_once() -> None:
    lines = run_once('guards_session.py')
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert [' '.join(line.split()) for line in lines[1:]] == [
        "http (nobody) ping -> 'pong'",
        "http (nobody) whoami -> error -32001 'Access denied'",
        "http guest whoami -> 'guest'",
        "http guest admin.stats -> error -32001 'Access denied'",
        "http admin whoami -> 'admin'",
        "http admin admin.stats -> {'users': 3, 'orders': 12}",
        "http (nobody) admin.stats -> error -32001 'Access denied'",
        "ws admin admin.stats -> {'users': 3, 'orders': 12}",
        "ws guest admin.stats -> error -32001 'Access denied'",
    ]


def test_guards_host_once() -> None:
    lines = run_once('guards_host.py')
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert outcomes(lines) == [
        "ping Host: anything.example -> 'pong'",
        "internal.version Host: 127.0.0.1:<port> (the URL) -> '4.2.0-internal'",
        "internal.version Host: api.corp.example -> '4.2.0-internal'",
        "internal.version Host: db.eu.corp.example:8443 -> '4.2.0-internal'",
        "internal.version Host: corp.example -> error -32001 'Access denied'",
        "internal.version Host: localhost -> error -32001 'Access denied'",
        "internal.version Host: evil.example -> error -32001 'Access denied'",
    ]


def test_guards_client_address_once() -> None:
    lines = run_once('guards_client_address.py')
    assert lines[0].startswith('Serving on http://127.0.0.1:')
    assert outcomes(lines) == [
        "[http] local.shutdown_plan from 127.0.0.1 -> 'drain, then stop'",
        "[http] office.printers from 127.0.0.1 -> error -32001 'Access denied'",
        "[ws] local.shutdown_plan from 127.0.0.1 -> 'drain, then stop'",
        "[ws] office.printers from 127.0.0.1 -> error -32001 'Access denied'",
    ]


# -- typed_api.py serving in the background ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(process: subprocess.Popen[str], port: int) -> None:
    """Poll (bounded) until something accepts connections on ``port``; fail if ``process`` exits first."""
    for _ in range(CONNECT_TRIES):
        if process.poll() is not None:
            pytest.fail(f'the server exited early with code {process.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f'the server did not listen on port {port} in time')


async def exercise(base: str) -> None:
    """One call over HTTP, one over WebSocket (with the upgrade headers the guard and the context read), and
    the docs routes where they exist."""
    call = {'jsonrpc': '2.0', 'method': 'shop.quote', 'params': {'order': {'lines': [{'sku': 'pear'}]}}, 'id': 1}
    headers = {'Content-Type': 'application/json'}
    async with aiohttp.ClientSession() as session:
        async with session.post(f'{base}/rpc', data=json.dumps(call), headers=headers) as response:
            assert response.status == 200
            assert await response.json() == {
                'jsonrpc': '2.0',
                'result': {'items': 1, 'subtotal_cents': 75, 'discount_cents': 0, 'total_cents': 75},
                'id': 1,
            }
        upgrade_headers = {'Authorization': 'Bearer demo-token', 'X-User': 'lin'}
        async with session.ws_connect(f'{base}/ws', headers=upgrade_headers) as ws:
            await ws.send_str('{"jsonrpc": "2.0", "method": "account.whoami", "id": "w"}')
            reply = await ws.receive(timeout=RUN_TIMEOUT)
            assert json.loads(reply.data) == {'jsonrpc': '2.0', 'result': {'name': 'lin'}, 'id': 'w'}
        async with session.get(f'{base}/docs') as response:
            assert response.status == 200
            assert response.content_type == 'text/html'
        async with session.get(f'{base}/openrpc.json') as response:
            assert response.status == 200
            document = await response.json()
        assert document['info'] == {'title': 'Fruit shop (aiohttp_rpc typed API example)', 'version': '1.0.0'}


def test_typed_api_serves_until_stopped() -> None:
    port = free_port()
    server = subprocess.Popen(
        command('typed_api.py', '--port', str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_until_listening(server, port)
        asyncio.run(exercise(f'http://127.0.0.1:{port}'))
        server.terminate()
        output, errors = server.communicate(timeout=RUN_TIMEOUT)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, errors
    assert errors == ''
    assert output.startswith(f'Serving on http://127.0.0.1:{port}: POST /rpc, GET /ws')
