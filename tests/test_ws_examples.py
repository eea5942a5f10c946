"""Run the WebSocket examples as a user would: real processes on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / 'examples'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen[str], attempts: int = 200) -> None:
    for _ in range(attempts):
        assert process.poll() is None, 'server exited early'
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f'nothing listening on {port}')


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=30, check=False)


def test_ws_callbacks_example() -> None:
    result = run(str(EXAMPLES / 'ws_callbacks.py'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'client calls process([10, 20, 30])',
        '  progress: 1/3',
        '  progress: 2/3',
        '  progress: 3/3',
        '  server asks to approve total=60: yes',
        "result: {'total': 60, 'approved': True}",
    ]


def test_ws_streams_example() -> None:
    result = run(str(EXAMPLES / 'ws_streams.py'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'subscribe to ticker("BTC", 100)',
        "  {'symbol': 'BTC', 'price': 100}",
        "  {'symbol': 'BTC', 'price': 101.0}",
        "  {'symbol': 'BTC', 'price': 102.01}",
        "  {'symbol': 'BTC', 'price': 103.03}",
        '  server: ticker BTC stopped',
        '  closed: unsubscribed',
        'call build(3) with on_progress',
        '  progress: 1/3 step 1',
        '  progress: 2/3 step 2',
        '  progress: 3/3 step 3',
        '  result: built',
        'call sleep(60), cancelled once it runs',
        '  client: the call was cancelled',
        '  server: sleep was cancelled by its caller',
    ]


def test_ws_server_and_client_examples() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / 'ws_server.py'), '--port', str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listening(port, server)
        result = run(str(EXAMPLES / 'ws_client.py'), '--url', f'ws://127.0.0.1:{port}/rpc')
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[:6] == [
            'ping -> pong',
            "echo -> {'args': ['hello'], 'kwargs': {}} {'args': [], 'kwargs': {'lang': 'en'}}",
            'who_am_i -> You are example-client, one of 1 connected client(s).',
            "100 calls in flight -> 100 answers, last {'args': [99], 'kwargs': {}}",
            "batch -> ('pong', {'args': [], 'kwargs': {'n': 1}}, None)",
            "error -> MethodNotFound(-32601, 'Method not found')",
        ]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert 'Traceback' not in stderr
