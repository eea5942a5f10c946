"""Child processes: core pinning, servers, one-shot load runs, and a process's resident memory."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import payloads

from .context import Bench, BenchError, warn
from .systems import HERE, System

__all__ = ('Server', 'choose_cores', 'free_port', 'pinned', 'post', 'rss_kib', 'run_child', 'shared_server')

STARTUP_TIMEOUT = 20.0
FD_LIMIT = 8192  # servers and clients of the memory scenario hold a socket per connection
WS_LOAD = HERE / 'ws_load.py'
RESULT_PREFIX = 'BENCH_RESULT '


def choose_cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, load cores): the first two cores we may use, or no pinning with fewer."""
    if not hasattr(os, 'sched_getaffinity'):
        warn('this platform cannot pin processes to cores; servers and load share the CPUs')
        return None, None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        warn(f'only {len(allowed)} core available: servers and load share it, figures are pessimistic')
        return None, None
    return {allowed[0]}, {allowed[1]}


def pinned(cores: set[int] | None) -> Callable[[], None]:
    """A preexec_fn for children: pin to ``cores`` (so every thread the child starts stays there) and
    raise the soft limit on open files to ``FD_LIMIT`` where the hard limit allows."""

    def prepare() -> None:
        if cores is not None:
            os.sched_setaffinity(0, cores)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < FD_LIMIT:
            target = FD_LIMIT if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))

    return prepare


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def post(url: str, data: bytes, timeout: float = 5) -> tuple[int, str, bytes]:
    """POST ``data`` as JSON; ``(status, content type, body)``."""
    request = urllib.request.Request(url, data=data, method='POST', headers={'Content-Type': 'application/json'})
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.headers.get('Content-Type', ''), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get('Content-Type', ''), exc.read()


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB, from ``/proc/PID/status`` (``VmRSS``)."""
    with open(f'/proc/{pid}/status', encoding='ascii') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise BenchError(f'no VmRSS for process {pid}')


class Server:
    """One system's server script in a child process on 127.0.0.1, its stderr kept in a log file."""

    def __init__(self, system: System, cores: set[int] | None, workdir: Path, name: str | None = None) -> None:
        self.system = system
        self.name = name or system.key
        self.cores = cores
        self.port = 0
        self.log_path = workdir / f'{self.name}.stderr.log'
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/rpc'

    @property
    def ws_url(self) -> str:
        return f'ws://127.0.0.1:{self.port}/rpc'

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f'{self.name} server is not running')
        return self.process.pid

    def start(self) -> None:
        for _attempt in range(3):  # the free port may be taken between free_port() and the child's bind
            self.port = free_port()
            with open(self.log_path, 'wb') as stderr:
                self.process = subprocess.Popen(
                    self.system.command(self.system.server, '--port', str(self.port)),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=self.system.cwd,
                    env=self.system.env(),
                    start_new_session=True,  # Ctrl-C reaches only us; we stop the children ourselves
                    preexec_fn=pinned(self.cores),
                )
            if self._wait_ready():
                return
            self.stop()
        raise BenchError(f'{self.name} server did not start; its stderr:\n{self.stderr_text()}')

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                post(self.url, payloads.body('ping'), timeout=2)
            except (ConnectionError, urllib.error.URLError, TimeoutError, OSError):
                time.sleep(0.05)
                continue
            return True
        return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self, during: str) -> None:
        if not self.alive():
            raise BenchError(f'{self.name} server died during {during}:\n{self.stderr_text()}')

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stderr_text(self) -> str:
        try:
            return self.log_path.read_text(errors='replace').strip()
        except OSError:
            return ''

    def sanity_check(self, bench: Bench) -> None:
        """One request per benchmark body over HTTP, and the same over one WebSocket; replies checked in full.

        Raises:
            BenchError: a reply is not exactly the expected one.
        """
        for scenario in payloads.SCENARIOS:
            status, content_type, raw = post(self.url, payloads.body(scenario))
            problem = None
            if status != 200:
                problem = f'HTTP {status}: {raw[:300]!r}'
            elif not content_type.startswith('application/json'):
                problem = f'Content-Type {content_type!r}'
            else:
                problem = payloads.check_reply(scenario, raw)
            if problem is not None:
                raise BenchError(f'sanity check failed: {self.name} http {scenario}: {problem}')
        bare = bench.systems['bare']
        run_child(
            f'sanity check {self.name} ws',
            bare.command(WS_LOAD, '--url', self.ws_url, '--sanity', '--timeout', '20'),
            bare,
            bench.load_cores,
            timeout=60,
        )


def shared_server(bench: Bench, key: str) -> Server:
    """The long-lived server of system ``key``, started (and sanity-checked) on first use."""
    server = bench.servers.get(key)
    if server is None:
        server = Server(bench.systems[key], bench.server_cores, bench.workdir)
        bench.servers[key] = server
        server.start()
        server.sanity_check(bench)
    server.check_alive('the run')
    return server


def run_child(
    label: str, command: list[str], system: System, cores: set[int] | None, timeout: float, stdin: bytes = b''
) -> dict[str, Any]:
    """Run a one-shot script to its end and return the JSON of its ``BENCH_RESULT`` line.

    Raises:
        BenchError: it failed, printed no result, or did not finish within ``timeout`` seconds.
    """
    try:
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=system.cwd,
            env=system.env(),
            start_new_session=True,
            preexec_fn=pinned(cores),
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed it already
        raise BenchError(f'{label}: did not finish in {timeout:.0f} s') from exc
    output = done.stdout.decode(errors='replace')
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        stderr = done.stderr.decode(errors='replace')
        raise BenchError(f'{label}: failed (exit {done.returncode}):\n{output[-1500:]}\n{stderr[-2500:]}')
    result: dict[str, Any] = orjson.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return result
