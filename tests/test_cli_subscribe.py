"""``aiohttp-rpc subscribe``: one JSON line per item, and an exit status that says how the stream ended. Run as a
child process and in a thread (see ``test_cli.py``), against a WebSocket server on loopback."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from aiohttp import web
from test_cli import MODULE_COMMAND, RunCLI, clean_environ, cli_runner, stop
from test_subscriptions import Probe, Served, subscriptions

import aiohttp_rpc

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=['process', 'thread'])
def run_cli(request: pytest.FixtureRequest) -> RunCLI:
    return cli_runner(request.param)


@pytest.fixture
async def served(aiohttp_server: Any) -> Served:
    probe = Probe()
    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_methods(subscriptions(probe))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)
    url = str(test_server.make_url('/rpc')).replace('http', 'ws', 1)
    return Served(url, test_server.port, probe, server)


async def test_prints_each_item_as_a_json_line_until_the_stream_completes(run_cli: RunCLI, served: Served) -> None:
    result = await run_cli('subscribe', served.url, 'count', '3')
    assert (result.status, result.stdout, result.stderr) == (0, '0\n1\n2\n', '')


async def test_count_stops_after_n_items_and_unsubscribes(run_cli: RunCLI, served: Served) -> None:
    result = await run_cli('subscribe', served.url, 'forever', '--count', '2')
    assert (result.status, result.stdout, result.stderr) == (0, '0\n1\n', '')
    await asyncio.wait_for(served.probe.closed.wait(), 5)


async def test_objects_are_compact_lines_and_names_are_configurable(run_cli: RunCLI, served: Served) -> None:
    result = await run_cli(
        'subscribe', served.url, 'eth_subscribe', 'newHeads', '--unsubscribe', 'eth_unsubscribe', '--count', '2'
    )
    assert (result.status, result.stderr) == (0, '')
    assert result.stdout == '{"kind":"newHeads","number":"0x0"}\n{"kind":"newHeads","number":"0x1"}\n'


async def test_a_stream_ended_by_an_error_exits_1(run_cli: RunCLI, served: Served) -> None:
    result = await run_cli('subscribe', served.url, 'overdrawn', '1')
    assert (result.status, result.stdout, result.stderr) == (
        1,
        '0\n',
        'error 4001: Insufficient funds\n{"balance":3}\n',
    )


async def test_a_refused_subscription_exits_1(run_cli: RunCLI, served: Served) -> None:
    result = await run_cli('subscribe', served.url, 'nothing')
    assert (result.status, result.stdout, result.stderr) == (1, '', 'error -32601: Method not found\n')


async def test_an_http_url_is_a_usage_error_with_the_fix(run_cli: RunCLI, served: Served) -> None:
    http_url = served.url.replace('ws', 'http', 1)
    result = await run_cli('subscribe', f'{http_url}?token=s3cret', 'count', '3')
    assert result.status == 2
    assert result.stderr == (
        f'aiohttp-rpc: subscriptions need a WebSocket: use {served.url} if the server serves one there\n'
    )


async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``aiohttp-rpc subscribe ...`` and return it with the first line it printed."""
    process = await asyncio.create_subprocess_exec(
        *MODULE_COMMAND,
        'subscribe',
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_environ(),
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), 30)
    return process, first.decode()


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        await stop(process)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_a_lost_connection_exits_3(served: Served) -> None:
    process, first = await start(served.url, 'hold')
    assert first == '"first"\n'
    (peer,) = served.server.peers
    await peer.disconnect()
    assert await finish(process) == (
        3,
        '',
        f'aiohttp-rpc: the connection to {served.url} failed '
        '(The connection carrying the subscription to hold was lost)\n',
    )


async def test_ctrl_c_exits_130_and_the_server_ends_the_stream(served: Served) -> None:
    process, first = await start(served.url, 'hold')
    assert first == '"first"\n'
    process.send_signal(signal.SIGINT)
    status, stdout, stderr = await finish(process)
    assert (status, stdout, stderr) == (130, '', '')
    await asyncio.wait_for(served.server.wait_peers(lambda peers: not peers), 5)
