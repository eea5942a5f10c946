"""Memory of idle WebSocket connections: the server's RSS before and after 1,000 idle connections.

Each repeat starts a fresh server per system (the order rotating), pinned to the server core, and drives
benchmarks/ws_idle.py (raw aiohttp, pinned to the load core) step by step: warm up with a few used and
closed connections, read the server's ``VmRSS``, open the idle connections, wait for the server to settle,
read ``VmRSS`` again, close everything. The figure is (after - before) / connections, in KiB.
"""

from __future__ import annotations

import select
import subprocess
import time
from typing import Any

from .context import Bench, BenchError, log
from .processes import Server, pinned, rss_kib
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('CONNECTIONS', 'GROUP', 'run')

GROUP = 'memory'
CLIENT = HERE / 'ws_idle.py'
CONNECTIONS = 1_000
WARM_CONNECTIONS = 10
SETTLE_S = 1.0  # after the last handshake, for the server to finish setting up its side of each connection
STEP_TIMEOUT = 60.0


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline().decode(errors='replace').strip() if ready else ''
    if not line:
        stderr = process.stderr.read().decode(errors='replace') if process.stderr and process.poll() is not None else ''
        raise BenchError(f'ws_idle.py stopped answering (exit {process.poll()}): {stderr[-1500:]}')
    return line


def _say(process: subprocess.Popen[bytes], word: str) -> None:
    assert process.stdin is not None
    process.stdin.write(word.encode() + b'\n')
    process.stdin.flush()


def _measure(bench: Bench, server: Server) -> dict[str, Any]:
    client = bench.systems['bare']
    command = client.command(
        CLIENT,
        *('--url', server.ws_url, '--connections', str(CONNECTIONS), '--warm', str(WARM_CONNECTIONS)),
        *('--timeout', str(STEP_TIMEOUT)),
    )
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=client.cwd,
        env=client.env(),
        start_new_session=True,
        preexec_fn=pinned(bench.load_cores),
    )
    try:
        if _read_line(process, STEP_TIMEOUT) != 'WARM':
            raise BenchError('ws_idle.py: expected WARM')
        time.sleep(SETTLE_S / 2)
        before = rss_kib(server.pid)
        _say(process, 'open')
        opened = _read_line(process, STEP_TIMEOUT)
        if opened != f'OPEN {CONNECTIONS}':
            raise BenchError(f'ws_idle.py: expected OPEN {CONNECTIONS}, got {opened!r}')
        time.sleep(SETTLE_S)
        after = rss_kib(server.pid)
        server.check_alive('the memory scenario')
        _say(process, 'close')
        if _read_line(process, STEP_TIMEOUT) != 'CLOSED':
            raise BenchError('ws_idle.py: expected CLOSED')
        process.wait(timeout=STEP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return {
        'rss_before_kib': before,
        'rss_after_kib': after,
        'connections': CONNECTIONS,
        'kib_per_connection': (after - before) / CONNECTIONS,
    }


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    keys = list(bench.systems)
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            server = Server(bench.systems[key], bench.server_cores, bench.workdir, name=f'memory-{key}-{repeat + 1}')
            try:
                server.start()
                results[key] = _measure(bench, server)
            finally:
                server.stop()
            if server.stderr_text():
                bench.anomaly(f'{server.name} server wrote to stderr: {server.stderr_text()[-1500:]}')
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} ws idle memory  '
            + '  '.join(f'{key} {results[key]["kib_per_connection"]:.1f} KiB/conn' for key in keys)
        )
    row = build_row(
        GROUP, 'KiB/conn', 'lower', runs, ratios=False, diffs=True, value=lambda raw: raw['kib_per_connection']
    )
    row['connections'] = CONNECTIONS
    return {f'ws idle memory ({CONNECTIONS} conns)': row}
