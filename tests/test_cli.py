"""The ``aiohttp-rpc`` command line, run against real servers on loopback.

The servers run in the test's event loop (pytest-aiohttp's ``aiohttp_server``), so the command line must not
block that loop: it runs either as a child process (``asyncio.create_subprocess_exec``: the real thing, exit
statuses and all) or in a worker thread calling ``main()`` (the same code, measured by coverage). The
``run_cli`` fixture runs every case both ways. ``serve`` always runs as a child process, on port 0: the test
reads the address from its banner instead of guessing a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.cli import main
from aiohttp_rpc.cli.failures import TransportFailure, UsageError
from aiohttp_rpc.cli.messages import batch_from_json, parse_params
from aiohttp_rpc.cli.output import JSONWriter, render_json, wants_colour
from aiohttp_rpc.cli.serve import ServeOptions, build_application, listen, load_target, resolve_target
from aiohttp_rpc.constants import NOTHING

PROCESS_TIMEOUT = 30.0
ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;]*m')
MODULE_COMMAND = (sys.executable, '-W', 'error', '-m', 'aiohttp_rpc')
SCRIPT = Path(sys.executable).with_name('aiohttp-rpc')


# -- running the command line ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without colour settings, plus ``extra``."""
    environ = {name: value for name, value in os.environ.items() if name not in ('NO_COLOR', 'TERM')}
    return {**environ, **(extra or {})}


async def run_process(
    command: Sequence[str | Path],
    *,
    stdin: bytes = b'',
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run a child process to completion (killed if it outlives ``PROCESS_TIMEOUT``)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_environ() if env is None else env,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), PROCESS_TIMEOUT)
    finally:
        await stop(process)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def stop(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` unless it has ended, and reap it."""
    if process.returncode is None:
        process.kill()
    await process.wait()


def run_in_thread(args: Sequence[str], stdin: bytes, environ: Mapping[str, str]) -> Result:
    """``main(args)`` with its own stdin, stdout and stderr (not terminals) and environment."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding='utf-8')
    stderr = io.StringIO()
    streams = {'stdin': io.TextIOWrapper(io.BytesIO(stdin), encoding='utf-8'), 'stdout': stdout, 'stderr': stderr}
    with mock.patch.multiple(sys, **streams), mock.patch.dict(os.environ, environ, clear=True):
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            status = exc.code if isinstance(exc.code, int) else 1
        stdout.flush()
    buffer = stdout.buffer
    assert isinstance(buffer, io.BytesIO)
    return Result(status, buffer.getvalue().decode(), stderr.getvalue())


RunCLI = Callable[..., Awaitable[Result]]


def cli_runner(mode: str) -> RunCLI:
    """Run ``aiohttp-rpc ARGS...``: as ``python -W error -m aiohttp_rpc`` in a child process (``mode``
    ``'process'``), or ``main()`` in a worker thread (``'thread'``)."""

    async def run(*args: str, stdin: bytes = b'', env: Mapping[str, str] | None = None) -> Result:
        environ = clean_environ(env)
        if mode == 'process':
            return await run_process([*MODULE_COMMAND, *args], stdin=stdin, env=environ)
        return await asyncio.to_thread(run_in_thread, args, stdin, environ)

    return run


@pytest.fixture(params=['process', 'thread'])
def run_cli(request: pytest.FixtureRequest) -> RunCLI:
    """Run the command line both ways (see :func:`cli_runner`)."""
    return cli_runner(request.param)


# -- the server the commands talk to --------------------------------------------------------------------------


class InsufficientFunds(aiohttp_rpc.errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


@dataclass
class Service:
    http: str
    ws: str
    notes: list[Any]
    slow_started: asyncio.Event


@pytest.fixture
async def service(aiohttp_server: Any) -> Service:
    """One application: a JSONRPCServer on ``POST /rpc`` and a WSJSONRPCServer on ``GET /ws``, serving the
    same methods, both with ``rpc.discover``."""
    notes: list[Any] = []
    slow_started = asyncio.Event()

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def echo(*args: Any, **kwargs: Any) -> Any:
        return kwargs if kwargs else list(args)

    def greet(name: str, punctuation: str = '.') -> str:
        return f'Hello, {name}{punctuation}'

    def note(value: Any) -> None:
        notes.append(value)

    def header(name: str, rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[str]:
        return list(rpc_request.context['http_request'].headers.getall(name, []))

    async def slow() -> None:
        slow_started.set()
        await asyncio.sleep(PROCESS_TIMEOUT)

    def withdraw(amount: int) -> None:
        raise InsufficientFunds(data={'balance': 3})

    methods = [add, echo, greet, note, slow, withdraw, aiohttp_rpc.JSONRPCMethod(header, pass_extra_kwargs=True)]
    middlewares = aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES
    http_server = aiohttp_rpc.JSONRPCServer(middlewares=middlewares)
    ws_server = aiohttp_rpc.WSJSONRPCServer(middlewares=middlewares)
    for rpc_server in (http_server, ws_server):
        rpc_server.add_methods(methods)
        rpc_server.add_discovery()
    app = web.Application()
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    server = await aiohttp_server(app)
    return Service(
        http=str(server.make_url('/rpc')),
        ws=str(server.make_url('/ws')).replace('http', 'ws', 1),
        notes=notes,
        slow_started=slow_started,
    )


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on a port that is bound but not listening: connecting is refused, and nothing else can take it."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        yield f'http://127.0.0.1:{sock.getsockname()[1]}/rpc'


# -- call, notify, batch, discover ----------------------------------------------------------------------------


async def test_call_with_positional_json_args(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('call', service.http, 'add', '1', '2') == Result(0, '3\n', '')
    result = await run_cli(
        'call', service.http, 'echo', '1', '"text"', '[1,2]', '{"a": 1}', 'word', 'true', 'null', '-5'
    )
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == [1, 'text', [1, 2], {'a': 1}, 'word', True, None, -5]


async def test_call_with_named_params(run_cli: RunCLI, service: Service) -> None:
    result = await run_cli('call', service.http, 'echo', 'a=1', 'b=word', 'c=[1, "x"]', 'd="7"', 'e=')
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == {'a': 1, 'b': 'word', 'c': [1, 'x'], 'd': '7', 'e': ''}
    assert await run_cli('call', service.http, 'greet', 'name=Ada', 'punctuation=!') == Result(0, '"Hello, Ada!"\n', '')


async def test_call_with_json_params(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('call', service.http, 'add', '--json', '{"a": 40, "b": 2}') == Result(0, '42\n', '')
    assert await run_cli('call', service.http, 'echo', '--json', '[[1, 2], {"b": null}]') == Result(
        0, '[[1,2],{"b":null}]\n', ''
    )


async def test_call_with_a_string_arg(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('call', service.http, 'greet', 'Ada') == Result(0, '"Hello, Ada."\n', '')
    assert await run_cli('call', service.http, 'greet', 'Ada Lovelace', ' ?') == Result(
        0, '"Hello, Ada Lovelace ?"\n', ''
    )


async def test_raw_call_prints_the_whole_reply(run_cli: RunCLI, service: Service) -> None:
    result = await run_cli('call', '--raw', service.http, 'add', '1', '2')
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == {'jsonrpc': '2.0', 'id': 1, 'result': 3}


async def test_notify_prints_nothing(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('notify', service.http, 'note', '{"seen": true}') == Result(0, '', '')
    assert service.notes == [{'seen': True}]  # over HTTP the server answers a notification after running it


async def test_batch_from_a_file(run_cli: RunCLI, service: Service, tmp_path: Path) -> None:
    requests = [
        {'method': 'add', 'params': [1, 2]},
        {'method': 'greet', 'params': {'name': 'Ada'}, 'id': 1},
        {'jsonrpc': '2.0', 'method': 'echo', 'id': 'x'},
    ]
    path = tmp_path / 'batch.json'
    path.write_text(json.dumps(requests))
    result = await run_cli('batch', service.http, str(path))
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == [
        {'jsonrpc': '2.0', 'id': 2, 'result': 3},  # 1 is taken: the first free id
        {'jsonrpc': '2.0', 'id': 1, 'result': 'Hello, Ada.'},
        {'jsonrpc': '2.0', 'id': 'x', 'result': []},
    ]


async def test_batch_from_stdin(run_cli: RunCLI, service: Service) -> None:
    stdin = b'[{"method": "add", "params": [2, 3]}, {"method": "add", "params": {"a": 1, "b": 1}}]'
    result = await run_cli('batch', service.http, '-', stdin=stdin)
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 5},
        {'jsonrpc': '2.0', 'id': 2, 'result': 2},
    ]


async def test_batch_with_errors_prints_every_reply_and_exits_1(run_cli: RunCLI, service: Service) -> None:
    stdin = b'[{"method": "add", "params": [2, 3]}, {"method": "nope"}]'
    result = await run_cli('batch', service.ws, '-', stdin=stdin)
    assert result.status == 1
    assert json.loads(result.stdout) == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 5},
        {'jsonrpc': '2.0', 'id': 2, 'error': {'code': -32601, 'message': 'Method not found'}},
    ]
    assert result.stderr == 'error -32601: Method not found (id 2)\n'


async def test_raw_batch_is_sent_as_it_is(run_cli: RunCLI, service: Service) -> None:
    stdin = b'[{"jsonrpc": "2.0", "method": "note", "params": ["raw"]}]'  # no id: a notification
    assert await run_cli('batch', '--raw', service.http, '-', stdin=stdin) == Result(0, '[]\n', '')
    assert service.notes == ['raw']


async def test_discover(run_cli: RunCLI, service: Service) -> None:
    result = await run_cli('discover', service.http)
    assert result.status == 0, result.stderr
    assert '\n' not in result.stdout.rstrip('\n')  # piped: one compact line
    document = json.loads(result.stdout)
    assert document['openrpc'].startswith('1.')
    assert {'add', 'echo', 'greet'} <= {method['name'] for method in document['methods']}


async def test_headers_reach_the_server(run_cli: RunCLI, service: Service) -> None:
    headers = ('-H', 'X-Token: s3cret', '--header', 'X-Many: 1', '--header', 'X-Many:2')
    result = await run_cli('call', service.http, 'header', 'X-Token', *headers)
    assert result == Result(0, '["s3cret"]\n', '')
    assert await run_cli('call', service.http, 'header', 'X-Many', *headers) == Result(0, '["1","2"]\n', '')
    assert await run_cli('call', service.ws, 'header', 'X-Token', *headers) == Result(0, '["s3cret"]\n', '')


async def test_websocket_url(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('call', service.ws, 'add', 'a=1', 'b=2') == Result(0, '3\n', '')
    result = await run_cli('discover', service.ws)
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout)['openrpc'].startswith('1.')


# -- failures and exit statuses -------------------------------------------------------------------------------


async def test_error_reply_exits_1_with_code_on_stderr(run_cli: RunCLI, service: Service) -> None:
    assert await run_cli('call', service.http, 'withdraw', '10') == Result(
        1, '', 'error 4001: Insufficient funds\n{"balance":3}\n'
    )
    assert await run_cli('call', service.ws, 'nope') == Result(1, '', 'error -32601: Method not found\n')
    result = await run_cli('call', service.http, 'add', '1')
    assert (result.status, result.stdout) == (1, '')
    assert result.stderr.startswith('error -32602: ')


async def test_raw_error_reply_is_printed_and_exits_1(run_cli: RunCLI, service: Service) -> None:
    result = await run_cli('call', service.http, 'nope', '--raw')
    assert (result.status, result.stderr) == (1, 'error -32601: Method not found\n')
    assert json.loads(result.stdout) == {
        'jsonrpc': '2.0',
        'id': 1,
        'error': {'code': -32601, 'message': 'Method not found'},
    }


async def test_connection_refused_exits_3_with_one_line(run_cli: RunCLI, refused_url: str) -> None:
    result = await run_cli('call', refused_url, 'add', '1', '2')
    assert result == Result(3, '', f'aiohttp-rpc: cannot connect to {refused_url} (connection refused)\n')
    ws_url = refused_url.replace('http', 'ws', 1)
    result = await run_cli('notify', ws_url, 'add')
    assert result == Result(3, '', f'aiohttp-rpc: cannot connect to {ws_url} (connection refused)\n')


async def test_debug_adds_the_traceback(run_cli: RunCLI, refused_url: str) -> None:
    result = await run_cli('call', '--debug', refused_url, 'add')
    assert result.status == 3
    assert 'Traceback (most recent call last)' in result.stderr
    assert result.stderr.endswith(f'aiohttp-rpc: cannot connect to {refused_url} (connection refused)\n')


@pytest.mark.parametrize('transport', ['http', 'ws'])
async def test_timeout_exits_3(run_cli: RunCLI, service: Service, transport: str) -> None:
    url = service.http if transport == 'http' else service.ws
    started = time.monotonic()
    result = await run_cli('call', url, 'slow', '--timeout', '0.5')
    assert result == Result(3, '', f'aiohttp-rpc: no reply from {url} within 0.5 s (timeout)\n')
    assert time.monotonic() - started < PROCESS_TIMEOUT / 2


async def test_http_status_and_handshake_failures_exit_3(run_cli: RunCLI, service: Service) -> None:
    missing = service.http.replace('/rpc', '/missing')
    assert await run_cli('call', missing, 'add') == Result(
        3, '', f'aiohttp-rpc: {missing} answered HTTP 404 Not Found\n'
    )
    not_ws = service.http.replace('http', 'ws', 1)  # POST-only route
    result = await run_cli('call', not_ws, 'add')
    assert result == Result(
        3,
        '',
        f'aiohttp-rpc: {not_ws} refused the WebSocket handshake (HTTP 405); if it is an HTTP endpoint, use http://\n',
    )


async def test_the_wrong_scheme_gets_a_hint(run_cli: RunCLI, service: Service) -> None:
    """https:// to a plain server, http:// to a WebSocket endpoint (ws:// to an HTTP one: above)."""
    for plain, tls in (
        (service.http, service.http.replace('http', 'https', 1)),
        (service.ws, service.ws.replace('ws', 'wss', 1)),
    ):
        result = await run_cli('call', tls, 'add')
        assert result.status == 3
        assert result.stderr.startswith(f'aiohttp-rpc: cannot connect to {tls} (')
        assert result.stderr.endswith(f'; if the server speaks plain HTTP, use {plain.split(":")[0]}://\n')
    ws_as_http = service.ws.replace('ws', 'http', 1)
    result = await run_cli('call', ws_as_http, 'add')
    assert result == Result(
        3,
        '',
        f'aiohttp-rpc: {ws_as_http} answered HTTP 405 Method Not Allowed; if it is a WebSocket endpoint, use ws://\n',
    )


@pytest.fixture
async def misbehaving(aiohttp_server: Any) -> str:
    """A server that answers POST /<path> with something that is not a usable JSON-RPC reply; returns its
    origin."""

    async def answer(request: web.Request) -> web.Response:
        bodies = {
            'garbage': b'not json',
            'shape': b'{"foo": 1}',
            'empty': b'',
            'number': b'7',
            'odd-errors': json.dumps(
                [{'id': 1, 'error': 'boom'}, {'id': 2, 'error': {'code': 5, 'message': 'a\nb\x1b[31m'}}]
            ),
        }
        body = bodies[request.match_info['kind']]
        return web.Response(body=body.encode() if isinstance(body, str) else body, content_type='application/json')

    async def drop(request: web.Request) -> web.Response:
        # The body is read first: closing with bytes unread makes the kernel answer with a reset instead of a
        # clean close, which the client reports as a failed connection, not a dropped reply (aiohttp 3.10.0 had
        # often not read the body yet when the handler ran).
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    app = web.Application()
    app.router.add_post('/drop', drop)
    app.router.add_post('/{kind}', answer)
    server = await aiohttp_server(app)
    return str(server.make_url('/')).rstrip('/')


@pytest.mark.parametrize(
    ('command', 'path', 'message'),
    [
        ('call', '/garbage', 'sent something that is not a JSON-RPC reply (Invalid JSON)'),
        (
            'call',
            '/shape',
            'sent something that is not a JSON-RPC reply (The "jsonrpc" field is required and must be "2.0")',
        ),
        ('call', '/empty', 'sent an empty reply'),
        ('call', '/drop', 'closed the connection without a reply'),
        ('batch', '/number', 'sent something that is not a JSON-RPC reply'),
    ],
)
async def test_unusable_replies_exit_3(
    run_cli: RunCLI, misbehaving: str, command: str, path: str, message: str
) -> None:
    url = misbehaving + path
    result = await run_cli(command, url, *(['-'] if command == 'batch' else ['add']), stdin=b'[{"method": "add"}]')
    assert result == Result(3, '', f'aiohttp-rpc: {url} {message}\n')


async def test_odd_error_replies_are_shown_safely(run_cli: RunCLI, misbehaving: str) -> None:
    result = await run_cli('batch', f'{misbehaving}/odd-errors', '-', stdin=b'[{"method": "a"}, {"method": "b"}]')
    assert (result.status, result.stderr) == (1, 'error: "boom"\nerror 5: "a\\nb\\u001b[31m" (id 2)\n')


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGINT')
async def test_ctrl_c_exits_130_quietly(service: Service) -> None:
    process = await asyncio.create_subprocess_exec(
        *MODULE_COMMAND,
        'call',
        service.http,
        'slow',
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_environ(),
    )
    try:
        await asyncio.wait_for(service.slow_started.wait(), PROCESS_TIMEOUT)
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        await stop(process)
    assert (process.returncode, stdout, stderr) == (130, b'', b'')


async def test_a_closed_pipe_is_not_an_error(service: Service) -> None:
    """``aiohttp-rpc discover URL | head -c 0``: the reader is gone before the output is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = await asyncio.create_subprocess_exec(
            *MODULE_COMMAND,
            'discover',
            service.http,
            stdout=writer,
            stderr=asyncio.subprocess.PIPE,
            env=clean_environ(),
        )
    finally:
        os.close(writer)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        await stop(process)
    assert (process.returncode, stderr) == (0, b'')


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['1', 'b=2'], "cannot mix positional and named params ('1' and 'b=2')"),
        (['a=1', 'a=2'], "the param 'a' is given twice"),
        (['1', '--json', '[1]'], 'give the params either as arguments or with --json, not both'),
        (['--json', '5'], '--json must be a JSON array or object'),
        (['--json', '[1,'], '--json is not valid JSON'),
        (['{"a": 1'], """'{"a": 1' is not valid JSON"""),
    ],
)
async def test_bad_params_exit_2_with_one_line(
    run_cli: RunCLI, refused_url: str, args: list[str], message: str
) -> None:
    result = await run_cli('call', refused_url, 'add', *args)  # refused before any connection is tried
    assert (result.status, result.stdout) == (2, '')
    assert result.stderr.startswith(f'aiohttp-rpc: {message}')
    assert result.stderr.count('\n') == 1


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['call', 'ftp://127.0.0.1/rpc', 'add'], 'argument URL: expected an http://, https://, ws:// or wss:// URL'),
        (['call', 'http://127.0.0.1/rpc', 'add', '-H', 'no colon'], "argument -H/--header: expected 'Name: value'"),
        (['call', 'http://127.0.0.1/rpc', 'add', '--timeout', '0'], 'argument -t/--timeout: expected a number'),
        (['call', 'http://127.0.0.1/rpc'], 'the following arguments are required: METHOD'),
        (['serve', 'app:server', '--port', '70000'], 'argument --port: expected a port number'),
        (['serve', 'app:server', '--path', 'rpc'], 'argument --path: expected a path starting with one /'),
        ([], 'the following arguments are required: COMMAND'),
    ],
)
async def test_argparse_usage_errors_exit_2(run_cli: RunCLI, args: list[str], message: str) -> None:
    result = await run_cli(*args)
    assert (result.status, result.stdout) == (2, '')
    assert result.stderr.startswith('usage: aiohttp-rpc')
    reason = result.stderr.splitlines()[-1].split(': error: ', 1)[1]
    if message.startswith('the following arguments are required'):
        assert reason == message  # all of them, and only them (ARG is optional)
    else:
        assert reason.startswith(message)


async def test_bad_batch_input_exits_2(run_cli: RunCLI, refused_url: str, tmp_path: Path) -> None:
    missing = tmp_path / 'missing.json'
    result = await run_cli('batch', refused_url, str(missing))
    assert result == Result(2, '', f'aiohttp-rpc: cannot read {missing}: No such file or directory\n')
    result = await run_cli('batch', refused_url, '-', stdin=b'{"method": "add"}')
    assert result == Result(2, '', 'aiohttp-rpc: stdin must hold a non-empty JSON array of request objects\n')
    result = await run_cli('batch', refused_url, '-', stdin=b'[1]')
    assert result.stderr == 'aiohttp-rpc: stdin: member 1 is not a request object (use --raw to send it anyway)\n'
    result = await run_cli('batch', refused_url, '-', stdin=b'[')
    assert (result.status, result.stderr.startswith('aiohttp-rpc: stdin is not valid JSON (')) == (2, True)


async def test_version_and_help(run_cli: RunCLI) -> None:
    assert await run_cli('--version') == Result(0, f'aiohttp-rpc {aiohttp_rpc.__version__}\n', '')
    result = await run_cli('call', '--help')
    assert result.status == 0
    assert 'NAME=VALUE' in result.stdout


async def test_unexpected_failure_is_one_line(monkeypatch: pytest.MonkeyPatch, service: Service) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError('something broke')

    monkeypatch.setattr('aiohttp_rpc.cli.program.call', broken)
    result = await asyncio.to_thread(run_in_thread, ['call', service.http, 'add'], b'', clean_environ())
    assert result == Result(4, '', 'aiohttp-rpc: ValueError: something broke (run with --debug for the traceback)\n')


# -- output ---------------------------------------------------------------------------------------------------


async def test_piped_output_is_compact_json(run_cli: RunCLI, service: Service) -> None:
    value = {'text': 'Grüße \x1b[31m', 'list': [1, 2.5, None, True], 'empty': {}, 'nested': [[]]}
    result = await run_cli('call', service.http, 'echo', '--json', json.dumps([value]), env={'TERM': 'xterm'})
    assert result.status == 0, result.stderr
    assert result.stdout.count('\n') == 1
    assert '\x1b' not in result.stdout
    assert json.loads(result.stdout) == [value]


async def run_in_terminal(*args: str, env: Mapping[str, str]) -> Result:
    """Run the command line with its stdout on a pseudo-terminal."""
    import pty  # POSIX only

    controller, terminal = pty.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            *MODULE_COMMAND,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=terminal,
            stderr=asyncio.subprocess.PIPE,
            env=clean_environ(env),
        )
    finally:
        os.close(terminal)
    try:
        output, (_, stderr) = await asyncio.wait_for(
            asyncio.gather(asyncio.to_thread(read_until_closed, controller), process.communicate()), PROCESS_TIMEOUT
        )
    finally:
        await stop(process)
        os.close(controller)
    assert process.returncode is not None
    return Result(process.returncode, output.decode().replace('\r\n', '\n'), stderr.decode())


def read_until_closed(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side of the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks)


@pytest.mark.skipif(sys.platform == 'win32', reason='needs a pseudo-terminal')
async def test_terminal_output_is_pretty_and_coloured(service: Service) -> None:
    result = await run_in_terminal('call', service.http, 'echo', 'a=1', 'b="x"', env={'TERM': 'xterm'})
    assert result.status == 0, result.stderr
    assert '\x1b[' in result.stdout
    plain = ANSI_ESCAPE.sub('', result.stdout)
    assert plain == '{\n  "a": 1,\n  "b": "x"\n}\n'


@pytest.mark.skipif(sys.platform == 'win32', reason='needs a pseudo-terminal')
async def test_no_color_keeps_terminal_output_pretty_but_plain(service: Service) -> None:
    result = await run_in_terminal('call', service.http, 'echo', 'a=1', 'b="x"', env={'TERM': 'xterm', 'NO_COLOR': '1'})
    assert result == Result(0, '{\n  "a": 1,\n  "b": "x"\n}\n', '')


def test_render_json_colours_tokens_not_text() -> None:
    value = {'key': ['s', 1, 2.5, True, False, None, {}, []]}
    coloured = render_json(value, indent=2, colour=True)
    assert '\x1b[1;34m"key"\x1b[0m' in coloured
    assert '\x1b[32m"s"\x1b[0m' in coloured
    assert '\x1b[36m2.5\x1b[0m' in coloured
    assert '\x1b[33mtrue\x1b[0m' in coloured
    assert '\x1b[90mnull\x1b[0m' in coloured
    assert ANSI_ESCAPE.sub('', coloured) == json.dumps(value, indent=2)
    assert render_json(value) == json.dumps(value, separators=(',', ':'))


def test_render_json_escapes_what_a_server_sends() -> None:
    text = render_json({'evil': '\x1b]0;title\x07\n'}, indent=2, colour=True)
    assert '\x1b]' not in text
    assert '\x07' not in text
    assert json.loads(ANSI_ESCAPE.sub('', text)) == {'evil': '\x1b]0;title\x07\n'}


def test_render_json_handles_deep_nesting() -> None:
    value: Any = 0
    for _ in range(5000):
        value = [value]
    assert render_json(value) == '[' * 5000 + '0' + ']' * 5000


@pytest.mark.parametrize(
    ('is_terminal', 'environ', 'expected'),
    [
        (True, {}, True),
        (True, {'NO_COLOR': '1'}, False),
        (True, {'NO_COLOR': ''}, True),  # https://no-color.org: set *and not empty*
        (True, {'TERM': 'dumb'}, False),
        (False, {}, False),
    ],
)
def test_wants_colour(is_terminal: bool, environ: dict[str, str], expected: bool) -> None:
    stream = mock.Mock(spec=io.TextIOWrapper)
    stream.isatty.return_value = is_terminal
    assert wants_colour(stream, environ) is expected


def test_json_writer_without_a_byte_buffer() -> None:
    stream = io.StringIO()
    JSONWriter(stream, {}).write({'a': 'é'})
    assert stream.getvalue() == '{"a":"é"}\n'


# -- messages -------------------------------------------------------------------------------------------------


def test_parse_params() -> None:
    assert parse_params([]) is NOTHING
    assert parse_params(['1', 'x', '"y"', '1.5e3', 'NaN', 'a-b=1', '=1']) == [1, 'x', 'y', 1500.0, 'NaN', 'a-b=1', '=1']
    assert parse_params(['a=1', 'b==', 'c=x=y']) == {'a': 1, 'b': '=', 'c': 'x=y'}
    assert parse_params([], '{"a": [1]}') == {'a': [1]}
    assert parse_params([], '[]') == []
    assert parse_params(['12345678901234567890123']) == [12345678901234567890123]  # exact, past 64 bits


def test_batch_ids_fill_the_gaps() -> None:
    data = b'[{"method": "a", "id": 2}, {"method": "b"}, {"method": "c", "id": null}, {"method": "d"}]'
    assert batch_from_json(data, source='f') == [
        {'jsonrpc': '2.0', 'method': 'a', 'id': 2},
        {'jsonrpc': '2.0', 'method': 'b', 'id': 1},
        {'jsonrpc': '2.0', 'method': 'c', 'id': None},  # "id": null is a request: kept
        {'jsonrpc': '2.0', 'method': 'd', 'id': 3},
    ]
    assert batch_from_json(b'[1, {"method": "x"}]', source='f', as_is=True) == [1, {'method': 'x'}]


# -- serve ----------------------------------------------------------------------------------------------------

SERVED_MODULE = textwrap.dedent(
    """
    import aiohttp_rpc
    from aiohttp import web


    def add(a: int, b: int) -> int:
        return a + b


    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(add)


    async def ws_server():
        rpc_server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
        rpc_server.add_method(add)
        return rpc_server


    async def hello(request):
        return web.json_response('hello')


    app = web.Application()
    app.router.add_get('/', hello)
    number = 42


    def broken():
        raise ValueError('broken factory')
    """
)


@pytest.fixture
def served_module(tmp_path: Path) -> Path:
    (tmp_path / 'tinyapp.py').write_text(SERVED_MODULE)
    return tmp_path


@contextlib.asynccontextmanager
async def serving(directory: Path, *args: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``aiohttp-rpc serve ARGS... --port 0`` (the installed script) in ``directory``; yields the process and
    its banner, read until it says how to stop. The process is killed if still running afterwards."""
    assert SCRIPT.exists(), f'the aiohttp-rpc script is not installed next to {sys.executable}'
    process = await asyncio.create_subprocess_exec(
        SCRIPT,
        'serve',
        *args,
        '--port',
        '0',
        cwd=directory,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_environ({'PYTHONWARNINGS': 'error'}),
    )
    try:
        banner = await asyncio.wait_for(read_banner(process), PROCESS_TIMEOUT)
        yield process, banner
    finally:
        await stop(process)


async def read_banner(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    lines = []
    while not lines or lines[-1] != 'Press Ctrl-C to stop.\n':
        line = (await process.stderr.readline()).decode()
        assert line, f'serve ended before serving:\n{"".join(lines)}'
        lines.append(line)
    return ''.join(lines)


async def stop_gracefully(process: asyncio.subprocess.Process) -> Result:
    process.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGTERM')
async def test_serve_sets_what_the_api_says_about_itself(served_module: Path) -> None:
    args = ('tinyapp:server', '--title', 'Tiny', '--api-version', '0.3.0', '--description', 'Adds.')
    async with serving(served_module, *args) as (process, banner):
        endpoint = re.search(r'JSON-RPC  (http://127\.0\.0\.1:\d+/rpc)  \(HTTP POST\)', banner)
        assert endpoint, banner
        url = endpoint[1]
        result = await run_process([*MODULE_COMMAND, 'discover', url])
        expected = {'title': 'Tiny', 'version': '0.3.0', 'description': 'Adds.'}
        assert json.loads(result.stdout)['info'] == expected
        async with aiohttp.ClientSession() as session:
            async with session.get(url.replace('/rpc', '/openrpc.json')) as response:
                assert (await response.json())['info'] == expected
            async with session.get(url.replace('/rpc', '/docs')) as response:
                assert '<title>Tiny</title>' in await response.text()
            async with session.get(url.replace('/rpc', '/'), allow_redirects=False) as response:
                assert (response.status, response.headers['Location']) == (302, '/docs')
        await stop_gracefully(process)


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGTERM')
async def test_serve_a_server_object(served_module: Path) -> None:
    async with serving(served_module, 'tinyapp:server') as (process, banner):
        endpoint = re.search(r'JSON-RPC  (http://127\.0\.0\.1:\d+/rpc)  \(HTTP POST\)', banner)
        assert endpoint, banner
        url = endpoint[1]
        assert await run_process([*MODULE_COMMAND, 'call', url, 'add', '1', '2']) == Result(0, '3\n', '')
        result = await run_process([*MODULE_COMMAND, 'discover', url])
        assert [method['name'] for method in json.loads(result.stdout)['methods']] == ['add']
        async with aiohttp.ClientSession() as session:
            async with session.get(url.replace('/rpc', '/docs')) as response:
                assert response.status == 200
                assert response.content_type == 'text/html'
            async with session.get(url.replace('/rpc', '/openrpc.json')) as response:
                assert response.status == 200
        stopped = await stop_gracefully(process)
    assert (stopped.status, stopped.stdout) == (0, '')
    assert 'Traceback' not in banner + stopped.stderr


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGTERM')
async def test_serve_a_websocket_server_from_an_async_factory(served_module: Path) -> None:
    async with serving(served_module, 'tinyapp:ws_server', '--path', '/ws', '--no-docs') as (process, banner):
        endpoint = re.search(r'JSON-RPC  (ws://127\.0\.0\.1:\d+/ws)  \(WebSocket\)', banner)
        assert endpoint, banner
        assert '/docs' not in banner
        assert await run_process([*MODULE_COMMAND, 'call', endpoint[1], 'add', '2', '2']) == Result(0, '4\n', '')
        result = await run_process([*MODULE_COMMAND, 'discover', endpoint[1]])
        assert result == Result(1, '', 'error -32601: Method not found\n')  # --no-docs: no rpc.discover either
        stopped = await stop_gracefully(process)
    assert stopped.status == 0
    assert 'Traceback' not in banner + stopped.stderr


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGTERM')
async def test_serve_an_application(served_module: Path) -> None:
    async with serving(served_module, 'tinyapp:app') as (process, banner):
        origin = re.search(r'an aiohttp application\) on (http://127\.0\.0\.1:\d+/)', banner)
        assert origin, banner
        async with aiohttp.ClientSession() as session, session.get(origin[1]) as response:
            assert await response.json() == 'hello'
        stopped = await stop_gracefully(process)
    assert stopped.status == 0
    assert 'Traceback' not in banner + stopped.stderr


@pytest.mark.parametrize(
    ('target', 'status', 'message'),
    [
        ('nosuchmodule:server', 2, "aiohttp-rpc: cannot import 'nosuchmodule': no module named 'nosuchmodule' here"),
        ('tinyapp:missing', 2, "aiohttp-rpc: module 'tinyapp' has no attribute 'missing'"),
        ('tinyapp:number', 2, "aiohttp-rpc: tinyapp:number is 'int': expected a JSONRPCServer"),
        ('tinyapp', 2, "aiohttp-rpc: 'tinyapp': expected module:attribute"),
        ('tinyapp:broken', 4, 'aiohttp-rpc: ValueError: broken factory (run with --debug for the traceback)'),
        (
            'tinyapp:add',
            2,
            'aiohttp-rpc: tinyapp:add takes arguments (a: int, b: int) -> int: TARGET must be a JSONRPCServer, a '
            'WSJSONRPCServer, an aiohttp.web.Application, or a callable taking no arguments that returns one',
        ),
    ],
)
async def test_serve_failures_are_one_line(served_module: Path, target: str, status: int, message: str) -> None:
    result = await run_process([*MODULE_COMMAND, 'serve', target, '--port', '0'], cwd=served_module)
    assert (result.status, result.stdout) == (status, '')
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count('\n') == 1
    assert 'Traceback' not in result.stderr


async def test_serve_on_a_busy_port_exits_3(served_module: Path) -> None:
    with socket.create_server(('127.0.0.1', 0)) as busy:
        port = busy.getsockname()[1]
        result = await run_process([*MODULE_COMMAND, 'serve', 'tinyapp:server', '--port', str(port)], cwd=served_module)
    assert result == Result(3, '', f'aiohttp-rpc: cannot listen on 127.0.0.1:{port} (address already in use)\n')


# -- serve, the parts that run before aiohttp takes over ------------------------------------------------------


@pytest.fixture
def importable(served_module: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(served_module)
    monkeypatch.setattr(sys, 'path', [entry for entry in sys.path if entry not in ('', os.getcwd())])
    yield
    sys.modules.pop('tinyapp', None)


@pytest.mark.usefixtures('importable')
async def test_build_application_mounts_server_and_docs(aiohttp_client: Any) -> None:
    server = await resolve_target(load_target('tinyapp:server'), 'tinyapp:server')
    assert isinstance(server, aiohttp_rpc.JSONRPCServer)
    client = await aiohttp_client(build_application(server, ServeOptions('tinyapp:server', path='/api')))
    response = await client.post('/api', json={'jsonrpc': '2.0', 'method': 'rpc.discover', 'id': 1})
    assert (await response.json())['result']['methods'][0]['name'] == 'add'
    assert (await client.get('/docs')).status == 200
    with pytest.raises(UsageError, match='--path /docs is where the console goes'):
        build_application(server, ServeOptions('tinyapp:server', path='/docs'))


@pytest.mark.usefixtures('importable')
async def test_build_application_for_websocket_without_docs(aiohttp_client: Any) -> None:
    server = await resolve_target(load_target('tinyapp:ws_server'), 'tinyapp:ws_server')
    client = await aiohttp_client(build_application(server, ServeOptions('tinyapp:ws_server', docs=False)))
    async with aiohttp_rpc.WSJSONRPCClient(ws_connect=await client.ws_connect('/rpc')) as rpc:
        assert await rpc.call('add', 1, 2) == 3
    assert (await client.get('/docs')).status == 404


@pytest.mark.usefixtures('importable')
async def test_resolve_target_refuses_what_cannot_be_served() -> None:
    app = load_target('tinyapp:app')
    assert await resolve_target(app, 'tinyapp:app') is app
    with pytest.raises(UsageError, match="tinyapp:x is 'int'"):
        await resolve_target(lambda: 1, 'tinyapp:x')
    with pytest.raises(UsageError, match='no module named'):
        load_target('nosuchmodule:x')


def test_listen_on_a_busy_port() -> None:
    with socket.create_server(('127.0.0.1', 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(TransportFailure, match=r'address already in use\)$'):
            listen('127.0.0.1', port)


async def test_error_lines_never_show_credentials_of_the_url(
    run_cli: RunCLI, refused_url: str, service: Service
) -> None:
    """``user:password@`` and the query (``?token=``) are left out of every line printed about a URL."""

    def with_secrets(url: str) -> str:
        return url.replace('://', '://alice:s3cret-pw@', 1) + '?token=s3cret-token#s3cret-fragment'

    refused_ws = refused_url.replace('http', 'ws', 1)
    missing = service.http.replace('/rpc', '/missing')
    expected = {
        refused_url: f'cannot connect to {refused_url} (connection refused)',
        refused_ws: f'cannot connect to {refused_ws} (connection refused)',
        missing: f'{missing} answered HTTP 404 Not Found',
    }
    for url, line in expected.items():
        result = await run_cli('call', with_secrets(url), 'add')
        assert result == Result(3, '', f'aiohttp-rpc: {line}\n')
    result = await run_cli('call', with_secrets(service.http), 'slow', '--timeout', '0.3')
    assert result == Result(3, '', f'aiohttp-rpc: no reply from {service.http} within 0.3 s (timeout)\n')
    result = await run_cli('call', 'ftp://alice:s3cret-pw@host/x?token=s3cret-token', 'add')
    assert result.status == 2
    assert "got 'ftp://host/x'" in result.stderr
    assert 's3cret' not in result.stderr
