"""The scripts in examples/ run as real programs, with this interpreter, and print what they promise.

Each runs with ``-W error`` and must leave stderr empty: no warnings, no logged tracebacks, no unclosed
sessions. Servers bind to free loopback ports, so these tests can run in parallel.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'examples'
RUN_TIMEOUT = 30  # seconds for one example; pytest's own timeout is the backstop
CONNECT_TRIES = 200  # x 50 ms: how long a background server gets to start listening


def example_command(name: str, *args: str) -> list[str]:
    return [sys.executable, '-W', 'error', str(EXAMPLES / name), *args]


def run_example(name: str, *args: str) -> str:
    """Run an example to completion and return its stdout, after checking it exited cleanly.

    ``subprocess.run`` kills the example if it outlives the timeout.
    """
    completed = subprocess.run(
        example_command(name, *args), capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT
    )
    assert completed.returncode == 0, f'{name} exited with {completed.returncode}:\n{completed.stderr}'
    assert completed.stderr == '', f'{name} wrote to stderr:\n{completed.stderr}'
    return completed.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Poll until something accepts connections on ``port``; fail if ``process`` dies or never gets there."""
    for _ in range(CONNECT_TRIES):
        if process.poll() is not None:
            pytest.fail(f'the server exited early with code {process.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f'the server did not listen on port {port} in time')


def stop(process: subprocess.Popen[Any]) -> None:
    """Ask ``process`` to stop (SIGTERM), and kill it if it does not within a few seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_demo_once() -> None:
    output = run_example('demo.py', '--once', '--port', '0')

    assert 'Server listening on http://127.0.0.1:' in output
    # 1. plain call
    assert '<-- {"id": 1, "jsonrpc": "2.0", "result": "pong"}' in output
    assert "\n    'pong'\n" in output
    # 2. keyword arguments travel as an object
    assert '"params": {"dividend": 7, "divisor": 2}' in output
    assert '\n    3.5\n' in output
    # 3. the notification has no id, runs on the server, and gets 204 with no body
    notification = next(line for line in output.splitlines() if '--> {"method": "log"' in line)
    assert '"id"' not in notification
    assert '[server] log: hello from the client' in output
    assert '<-- HTTP 204 No Content: no reply to a notification' in output
    # 4. the batch: values in request order, the unknown method's error in its place
    assert "[0] 'pong'" in output
    assert "[1] {'args': ['one', 2], 'kwargs': {}}" in output
    assert '[2] 0.125' in output
    assert "[3] MethodNotFound(-32601, 'Method not found')" in output
    # 5. the application error comes back as its own class, with its data
    assert '"error": {"code": 1001, "message": "Cannot divide by zero", "data": {"dividend": 1}}' in output
    assert "raised DivisionByZero(1001, 'Cannot divide by zero') with data={'dividend': 1}" in output
    assert output.rstrip().endswith('Done (--once): stopping the server.')


@pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals')
@pytest.mark.parametrize('stop_signal', [signal.SIGINT, signal.SIGTERM], ids=['ctrl-c', 'sigterm'])
def test_demo_serves_until_stopped(stop_signal: signal.Signals) -> None:
    demo = subprocess.Popen(
        [sys.executable, '-u', *example_command('demo.py', '--port', '0')[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert demo.stdout is not None
        url = ''
        for line in demo.stdout:  # pytest's timeout bounds this if the demo hangs
            if line.startswith('Server listening on '):
                url = line.removeprefix('Server listening on ').split()[0]
            if line.startswith('Press Ctrl-C to stop.'):
                break
        else:
            pytest.fail('the demo ended without serving on')

        # Still serving: the request from the printed curl line gets its answer.
        body = json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': ['hi', 42], 'id': 1}).encode()
        request = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=RUN_TIMEOUT) as reply:
            assert json.load(reply) == {'jsonrpc': '2.0', 'id': 1, 'result': {'args': ['hi', 42], 'kwargs': {}}}

        demo.send_signal(stop_signal)
        rest, errors = demo.communicate(timeout=RUN_TIMEOUT)
    finally:
        stop(demo)
    assert demo.returncode == 0, errors
    assert errors == ''
    assert rest.strip() == 'Stopped.'


def test_demo_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            example_command('demo.py', '--once', '--port', str(port)),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            cwd=ROOT,
        )
    assert completed.returncode == 1
    assert 'Cannot start the demo server' in completed.stderr
    assert 'Traceback' not in completed.stderr


def test_custom_serializer_once() -> None:
    output = run_example('custom_serializer.py', '--once')

    assert 'get_order(0b7f5e2c-4c1d-4a57-9e43-2f6a1d8c9b10) returned:' in output
    assert "  order_id: '0b7f5e2c-4c1d-4a57-9e43-2f6a1d8c9b10'" in output
    assert "  item: 'teapot'" in output
    assert '  quantity: 2' in output
    assert "  unit_price: '19.90'" in output  # a Decimal, sent as a string without losing digits


def test_type_conversion_once() -> None:
    output = run_example('type_conversion.py', '--once')

    assert "  -> 'Hello, Ada! (user #1)'" in output
    assert "  -> 'Welcome back, Grace! (user #2)'" in output
    assert """  -> InvalidParams: code=-32602 data={'details': "unknown __type__ 'spaceship'"}""" in output
    assert "  -> InvalidParams: code=-32602 data={'details': 'no user with id 99'}" in output


def test_decorators_once() -> None:
    output = run_example('decorators.py', '--once')

    assert 'methods: add, client_address, text.shout, unique_words' in output
    assert 'add(2, 3)                     -> 5' in output
    assert "text.shout('hello')           -> HELLO!" in output
    assert "unique_words('b a b c a')     -> ['a', 'b', 'c']" in output
    assert 'client_address()              -> 127.0.0.1' in output
    assert 'add(2, 3) called locally      -> 5' in output


def test_middleware_once() -> None:
    lines = run_example('middleware.py', '--once').splitlines()

    results = [line for line in lines if '->' in line]
    assert results == [
        'add(1, 2)                -> 3',
        'set_maintenance(True)    -> True',
        "add(1, 2)                -> error -32001 'Service under maintenance', data={'retry_after_seconds': 30}",
        'set_maintenance(False)   -> False',
        'add(1, 2)                -> 3',
    ]
    # The timing middleware saw every call, including the one the maintenance switch refused.
    log = [line.split(' in ')[0] for line in lines if line.startswith('[server] ')]
    assert log == [
        '[server] add (id=1): ok',
        '[server] set_maintenance (id=2): ok',
        '[server] add (id=3): error -32001',
        '[server] set_maintenance (id=4): ok',
        '[server] add (id=5): ok',
    ]


def test_http_client_against_http_server(tmp_path: Path) -> None:
    port = free_port()
    server_log = tmp_path / 'server.log'
    with server_log.open('wb') as log_file:
        server = subprocess.Popen(
            example_command('http_server.py', '--port', str(port)),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        wait_until_listening(server, port)
        output = run_example('http_client.py', '--url', f'http://127.0.0.1:{port}/rpc')
    finally:
        stop(server)

    assert output.splitlines() == [
        'methods.ping()            -> pong',
        "methods.echo('a', 1)      -> {'args': ['a', 1], 'kwargs': {}}",
        "methods.echo(colour=red)  -> {'args': [], 'kwargs': {'colour': 'red'}}",
        "call('echo', 2.5, None)   -> {'args': [2.5, None], 'kwargs': {}}",
        "notify('echo', 'quiet')   -> sent, no reply expected",
        "direct_call(ping)         -> id='my-own-id' result='pong' (HTTP 200)",
        "batch(echo, ping, echo)   -> ({'args': ['first'], 'kwargs': {}}, 'pong', "
        "{'args': [], 'kwargs': {'last': True}})",
        'batch_notify(ping, echo)  -> sent, no reply expected',
        "methods.launch_rockets()  -> MethodNotFound: code=-32601 message='Method not found'",
    ]
    # SIGTERM is a graceful stop for web.run_app; the server saw each ping, the notifications included.
    assert server.returncode == 0
    server_output = server_log.read_text()
    assert f'Running on http://127.0.0.1:{port}' in server_output
    assert "ping (id='my-own-id') from 127.0.0.1" in server_output
    assert 'ping (id=None) from 127.0.0.1' in server_output
    assert 'Traceback' not in server_output


def test_make_demo_reuses_the_install_and_takes_a_port() -> None:
    """``make demo`` installs once (a stamp, remade only when pyproject.toml, setup.py or the C source change)
    and passes ``PORT`` on; here, after ``make test``'s install, it has nothing to install."""
    if not (ROOT / '.venv' / '.installed').exists():
        pytest.fail('the runtime install stamp is missing: run the tests through `make test`')
    environ = {key: value for key, value in os.environ.items() if key not in ('MAKEFLAGS', 'MAKELEVEL', 'MFLAGS')}
    completed = subprocess.run(
        ['make', '--no-print-directory', '-n', 'demo', 'PORT=8081'],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=ROOT,
        env=environ,
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        0,
        '.venv/bin/python examples/demo.py --port 8081\n',
        '',
    )
