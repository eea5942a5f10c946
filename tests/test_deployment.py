"""examples/app.py deployed as the guide says (docs/deployment.md), stopped with SIGTERM while it is busy.

The app runs as a real server in its own process group: under gunicorn with aiohttp's worker (two worker
processes), and alone with ``python examples/app.py`` (``web.run_app``). A graceful stop must:

* let every HTTP call that was running when the signal came complete, with its own result;
* close every WebSocket with 1001 Going Away;
* refuse new connections while those calls drain;
* exit with status 0 before the graceful timeout, killing nothing and logging no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import aiohttp_rpc

pytestmark = pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals and gunicorn')

ROOT = Path(__file__).resolve().parent.parent
GRACEFUL_TIMEOUT = 10  # seconds: gunicorn --graceful-timeout, and --shutdown-timeout for run_app
MAX_SLOW = 10  # seconds: the longest call examples/app.py's slow() takes
SLOW = 2.0  # seconds a slow call takes: longer than the 1 s aiohttp's gunicorn worker may take to notice SIGTERM
START_TIMEOUT = 20  # seconds every worker gets to boot and answer
POLL_TRIES = 200  # x 10 ms: how long the calls get to start, and the listener to close after SIGTERM
WORKERS = {'gunicorn': 2, 'run_app': 1}
# CPython gh-109564: a connection accepted in the event-loop tick in which the listener closes is never attached
# to the server, and its socket is left to the garbage collector, which warns. Only the probe for refused
# connections can hit that tick; ignore exactly those two warnings and turn every other one into an error.
WARNINGS = ['-W', 'error', '-W', 'ignore:unclosed <socket.socket:ResourceWarning',
            '-W', 'ignore:unclosed transport <_SelectorSocketTransport:ResourceWarning']  # fmt: skip


@dataclass
class Deployment:
    kind: str  # 'gunicorn' or 'run_app'
    process: subprocess.Popen[bytes]
    port: int
    stderr: Path
    pids: frozenset[int] = frozenset()  # the processes that answered calls

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/rpc'

    @property
    def ws_url(self) -> str:
        return f'ws://127.0.0.1:{self.port}/ws'

    def stderr_text(self) -> str:
        return _CPYTHON_GH_109564.sub('', self.stderr.read_text())


# CPython's own bug, fixed in 3.12.8 and 3.13.1 (gh-109564; pyenv here has 3.12.1 and 3.13.0): a connection the
# listening socket accepted just as the server closed is collected later, and asyncio's Server._wakeup, already
# run, fails on it. The refused() probes below make exactly such connections. Only that report is set aside.
_CPYTHON_GH_109564 = re.compile(
    r'Exception ignored in: <function _SelectorTransport\.__del__ at 0x[0-9a-f]+>\n'
    r'Traceback \(most recent call last\):\n'
    r'(?:  .*\n)*?'
    r'.*in _wakeup\n'
    r'(?:  .*\n)*?'
    r"TypeError: 'NoneType' object is not iterable\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


def command(kind: str, port: int) -> list[str]:
    if kind == 'run_app':
        return [sys.executable, *WARNINGS, 'examples/app.py', '--port', str(port),
                '--shutdown-timeout', str(GRACEFUL_TIMEOUT)]  # fmt: skip
    import gunicorn.config  # type: ignore[import-untyped]

    # gunicorn 25+ opens a control socket at one shared path by default; parallel runs must not share it.
    no_control_socket = ['--no-control-socket'] if hasattr(gunicorn.config, 'ControlSocketDisable') else []
    return [sys.executable, '-m', 'gunicorn', 'examples.app:app', '-k', 'aiohttp_rpc.server.worker.GunicornWebWorker',
            '-w', '2', '-b', f'127.0.0.1:{port}', '--graceful-timeout', str(GRACEFUL_TIMEOUT),
            *no_control_socket]  # fmt: skip


def answering_pids(deployment: Deployment, workers: int) -> frozenset[int]:
    """Call ``pid()`` on new connections until ``workers`` processes have answered; fail if the server dies or
    some worker never answers in time.

    Each connection goes to whichever worker accepts it first, and one may still be booting.
    """
    body = json.dumps({'jsonrpc': '2.0', 'method': 'pid', 'id': 1}).encode()
    request = urllib.request.Request(deployment.url, data=body, headers={'Content-Type': 'application/json'})
    pids: set[int] = set()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if deployment.process.poll() is not None:
            pytest.fail(f'the server exited with {deployment.process.returncode}:\n{deployment.stderr_text()}')
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:  # urllib opens a connection per request
                pids.add(json.load(reply)['result'])
        except (urllib.error.URLError, ConnectionError):
            pass
        if len(pids) == workers:
            return frozenset(pids)
        time.sleep(0.02)
    pytest.fail(f'{workers} workers did not all answer in time, only {pids}:\n{deployment.stderr_text()}')


@pytest.fixture(params=['gunicorn', 'run_app'])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """Start examples/app.py in a new process group, wait until it answers; kill the whole group at the end."""
    port = free_port()
    stderr = tmp_path / 'stderr.log'
    with stderr.open('wb') as stderr_file:
        process = subprocess.Popen(
            command(request.param, port),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=True,
        )
    try:
        deployed = Deployment(request.param, process, port, stderr)
        deployed.pids = answering_pids(deployed, WORKERS[request.param])
        yield deployed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def call(url: str, method: str, *args: Any) -> Any:
    """One call on a connection of its own."""
    async with aiohttp_rpc.JSONRPCClient(url) as rpc:
        return await rpc.call(method, *args)


async def timed_call(url: str, method: str, *args: Any) -> tuple[Any, float]:
    """One call on a connection of its own; its result and when it arrived."""
    result = await call(url, method, *args)
    return result, time.monotonic()


async def wait_until_running(url: str, calls: int) -> None:
    """Poll the workers' ``status()`` until ``calls`` calls are running in them in all.

    Each poll lands on whichever worker accepts it, so keep the latest count of each worker seen.
    """
    running: dict[int, int] = {}
    for _ in range(POLL_TRIES):
        status = await call(url, 'status')
        running[status['pid']] = status['in_flight']
        if sum(running.values()) == calls:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f'{calls} calls did not all start; running per worker: {running}')


async def wait_for_exit(process: subprocess.Popen[bytes]) -> int:
    """The exit status of ``process``; fail if it outlives the graceful timeout."""
    try:
        return await asyncio.to_thread(process.wait, GRACEFUL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f'the server was still running {GRACEFUL_TIMEOUT} s after SIGTERM')


async def refused(port: int) -> bool:
    """Whether a new connection is turned away: refused, or reset by a listener that is closing."""
    try:
        _, writer = await asyncio.open_connection('127.0.0.1', port)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return False


def assert_clean_log(deployment: Deployment) -> None:
    log = deployment.stderr_text()
    for sign_of_trouble in ('Traceback', '[ERROR]', '[CRITICAL]', 'SIGKILL', 'Error'):
        assert sign_of_trouble not in log, log
    if deployment.kind == 'run_app':
        assert log == ''
    else:
        # A worker still alive at the graceful timeout is SIGKILLed, and the master exits 0 all the same, often
        # without a word: only a worker that ended by itself logs this line.
        assert log.count('Worker exiting (pid: ') == 2, log


@pytest.mark.parametrize('deployment', ['gunicorn'], indirect=True)
def test_both_gunicorn_workers_serve(deployment: Deployment) -> None:
    # The fixture made calls on new connections until two processes had answered.
    assert len(deployment.pids) == 2
    assert deployment.process.pid not in deployment.pids  # the master only supervises


async def test_every_route_answers(deployment: Deployment) -> None:
    base = f'http://127.0.0.1:{deployment.port}'
    assert await call(deployment.url, 'echo', 'hi', 42) == {'args': ['hi', 42], 'kwargs': {}}
    with pytest.raises(aiohttp_rpc.errors.InvalidParams):
        await call(deployment.url, 'slow', 60)
    discovered = await call(deployment.url, 'rpc.discover')
    assert {'echo', 'slow', 'pid', 'status'} <= {method['name'] for method in discovered['methods']}

    async with aiohttp.ClientSession() as session:
        async with session.get(f'{base}/docs') as page:
            assert page.status == 200
            assert page.content_type == 'text/html'
        async with session.get(f'{base}/openrpc.json') as document:
            assert document.status == 200
            assert (await document.json())['methods'] == discovered['methods']
        async with session.ws_connect(deployment.ws_url) as ws:
            await ws.send_json({'jsonrpc': '2.0', 'method': 'status', 'id': 1})
            reply = await ws.receive_json(timeout=5)
            assert reply['result']['pid'] in deployment.pids
            assert reply['result']['websockets'] == 1


DEPARTING = 50  # clients that send a call that waits, then leave


async def test_calls_of_departed_clients_are_cancelled(deployment: Deployment) -> None:
    """50 clients start a 10 s call and leave: within about a second every worker runs none of them, quietly
    (under gunicorn our worker cancels the handler at once; under run_app the server notices within a second)."""
    body = json.dumps({'jsonrpc': '2.0', 'method': 'slow', 'params': [MAX_SLOW], 'id': 1}).encode()
    writers = []
    for _ in range(DEPARTING):
        _, writer = await asyncio.open_connection('127.0.0.1', deployment.port)
        writer.write(
            b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
            + f'Content-Length: {len(body)}\r\n\r\n'.encode()
            + body
        )
        writers.append(writer)
    await asyncio.gather(*(writer.drain() for writer in writers))
    await wait_until_running(deployment.url, DEPARTING)
    left = time.monotonic()
    for writer in writers:
        writer.close()
    await wait_until_running(deployment.url, 0)
    assert time.monotonic() - left < 2.5
    log = deployment.stderr_text()
    for sign_of_trouble in ('Traceback', 'WARNING', '[ERROR]', 'Error'):
        assert sign_of_trouble not in log, log


async def test_sigterm_lets_running_calls_finish_and_closes_websockets(deployment: Deployment) -> None:
    durations = [SLOW + index / 100 for index in range(6)]
    async with aiohttp.ClientSession() as session, session.ws_connect(deployment.ws_url) as ws:
        await ws.send_json({'jsonrpc': '2.0', 'method': 'echo', 'params': ['hi'], 'id': 1})
        assert await ws.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 1, 'result': {'args': ['hi'], 'kwargs': {}}}

        calls = [asyncio.create_task(timed_call(deployment.url, 'slow', seconds)) for seconds in durations]
        try:
            await wait_until_running(deployment.url, len(calls))
            deployment.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            close = await ws.receive(timeout=GRACEFUL_TIMEOUT)
            returncode = await wait_for_exit(deployment.process)
            exited = time.monotonic()
            replies = await asyncio.gather(*calls)
        finally:
            for task in calls:
                task.cancel()
            await asyncio.gather(*calls, return_exceptions=True)

    assert close.type is aiohttp.WSMsgType.CLOSE, close
    assert close.data == aiohttp.WSCloseCode.GOING_AWAY
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY

    assert [result for result, _ in replies] == [f'slept {seconds:g} s' for seconds in durations]
    assert all(signalled < arrived for _, arrived in replies), 'a call ended before SIGTERM: nothing was drained'

    assert returncode == 0, deployment.stderr_text()
    assert exited - signalled < GRACEFUL_TIMEOUT
    assert_clean_log(deployment)


async def test_sigterm_refuses_new_connections_while_calls_drain(deployment: Deployment) -> None:
    running = asyncio.create_task(call(deployment.url, 'slow', SLOW + 1))
    try:
        await wait_until_running(deployment.url, 1)
        deployment.process.send_signal(signal.SIGTERM)

        for _ in range(POLL_TRIES):
            if await refused(deployment.port):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail(f'new connections were still accepted {POLL_TRIES * 0.01:g} s after SIGTERM')
        assert not running.done(), 'the call ended before new connections were refused'

        assert await running == f'slept {SLOW + 1:g} s'
        assert await wait_for_exit(deployment.process) == 0, deployment.stderr_text()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert_clean_log(deployment)
