"""A real Redis server for the backplane tests: Debian's ``redis-server`` (``.ci/run`` installs it), started on a
free loopback port for a test and stopped after it. Without it a test is skipped, except on CI (``CI=true``),
where it fails: CI must run them."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest

__all__ = ('RedisServer', 'start_redis')

REDIS_SERVER = shutil.which('redis-server') or '/usr/bin/redis-server'


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    def kill(self) -> None:
        """SIGKILL: an outage, not a shutdown."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def start_redis(port: int | None = None) -> RedisServer:
    """Start ``redis-server`` (no persistence) and return once it accepts connections."""
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get('CI') == 'true':
            pytest.fail(f'{REDIS_SERVER} is missing: CI must run the backplane tests (.ci/run installs it)')
        pytest.skip(f'{REDIS_SERVER} is missing (apt-get install redis-server)')
    port = port or _free_port()
    command = [REDIS_SERVER, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    said = b''
    while b'Ready to accept connections' not in said:  # read with os.read: select() cannot see a file's buffer
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(process.stdout.fileno(), 4096) if ready else b''
        if not chunk:
            process.kill()
            process.wait(10)
            raise AssertionError(f'redis-server did not start on port {port}: {said.decode()[-300:]}')
        said += chunk
    # Keep reading its log, so that a full pipe never blocks the server.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return RedisServer(port, process)
