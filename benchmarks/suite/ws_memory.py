"""Memory of idle WebSocket connections: the server's RSS before and after 1,000 connections that have each
made one call (``ping``, a ~10 KB ``echo`` or a ~100 KB ``echo``) and then sit idle.

For each scenario, each repeat starts a fresh server per system (the order rotating), pinned to the server
core, and drives benchmarks/ws_idle.py (raw aiohttp, pinned to the load core) step by step: warm up with a
few connections that make the scenario's call and close, read the server's ``VmRSS``, open the connections
(each makes the call once and reads its reply), wait for the server to settle, read ``VmRSS`` again, close
everything. The figure is (after - before) / connections, in KiB.

Every server takes a 100 KB message: ours and 2.0.0 allow 1 MiB per WebSocket message (their
``ws_response_kwargs`` defaults), the bare handler aiohttp's default of 4 MiB; ws_idle.py reads replies with
aiohttp's client default of 4 MiB. A refused message would close the socket, which fails the step.
"""

from __future__ import annotations

import select
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from .context import Bench, BenchError, log
from .processes import Server, pinned, rss_kib
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('GROUP', 'SCENARIOS', 'Scenario', 'connections', 'run')

GROUP = 'memory'
CLIENT = HERE / 'ws_idle.py'
CONNECTIONS = 1_000
QUICK_CONNECTIONS = 300
WARM_CONNECTIONS = 10
SETTLE_S = 1.0  # after the last reply, for the server to finish setting up its side of each connection
STEP_TIMEOUT = 60.0  # ws_idle.py's own bound per step
READ_MARGIN = 15.0  # we wait this much longer for its answer, so its own error arrives first


@dataclass(frozen=True)
class Scenario:
    """One call made on every measured connection: ``ping``, or ``echo`` of a string of ``echo_bytes``."""

    label: str
    call: str
    echo_bytes: int = 0

    def client_args(self) -> tuple[str, ...]:
        if self.call == 'ping':
            return ('--call', 'ping')
        return ('--call', 'echo', '--echo-bytes', str(self.echo_bytes))


SCENARIOS = (
    Scenario('after ping', 'ping'),
    Scenario('after 10 KB echo', 'echo', 10_000),
    Scenario('after 100 KB echo', 'echo', 100_000),
)


def connections(bench: Bench) -> int:
    """How many connections each measurement opens: fewer with ``--quick``."""
    return QUICK_CONNECTIONS if bench.quick else CONNECTIONS


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


def _sizes(line: str) -> tuple[int, int]:
    """``(request bytes, reply bytes)`` from ws_idle.py's ``WARM <request> <reply>`` line."""
    parts = line.split()
    if len(parts) != 3 or parts[0] != 'WARM' or not parts[1].isdigit() or not parts[2].isdigit():
        raise BenchError(f'ws_idle.py: expected WARM <request bytes> <reply bytes>, got {line!r}')
    return int(parts[1]), int(parts[2])


def _measure(bench: Bench, server: Server, scenario: Scenario, count: int) -> dict[str, Any]:
    client = bench.systems['bare']
    command = client.command(
        CLIENT,
        *('--url', server.ws_url, '--connections', str(count), '--warm', str(WARM_CONNECTIONS)),
        *scenario.client_args(),
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
    wait = STEP_TIMEOUT + READ_MARGIN
    try:
        request_bytes, reply_bytes = _sizes(_read_line(process, wait))
        time.sleep(SETTLE_S / 2)
        before = rss_kib(server.pid)
        _say(process, 'open')
        opened = _read_line(process, wait)
        if opened != f'OPEN {count}':
            raise BenchError(f'ws_idle.py: expected OPEN {count}, got {opened!r}')
        time.sleep(SETTLE_S)
        after = rss_kib(server.pid)
        server.check_alive(f'the memory scenario ({scenario.label})')
        _say(process, 'close')
        if _read_line(process, wait) != 'CLOSED':
            raise BenchError('ws_idle.py: expected CLOSED')
        process.wait(timeout=STEP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return {
        'rss_before_kib': before,
        'rss_after_kib': after,
        'connections': count,
        'request_bytes': request_bytes,
        'reply_bytes': reply_bytes,
        'kib_per_connection': (after - before) / count,
    }


def _run_scenario(bench: Bench, scenario: Scenario, count: int) -> dict[str, Any]:
    keys = list(bench.systems)
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            name = f'memory-{scenario.call}{scenario.echo_bytes or ""}-{key}-{repeat + 1}'
            server = Server(bench.systems[key], bench.server_cores, bench.workdir, name=name)
            try:
                server.start()
                results[key] = _measure(bench, server, scenario, count)
            finally:
                server.stop()
            if server.stderr_text():
                bench.anomaly(f'{server.name} server wrote to stderr: {server.stderr_text()[-1500:]}')
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} ws idle memory {scenario.label}  '
            + '  '.join(f'{key} {results[key]["kib_per_connection"]:.1f} KiB/conn' for key in keys)
        )
    row = build_row(
        GROUP,
        'KiB/conn',
        'lower',
        runs,
        ratios=False,
        diffs=True,
        multiples=True,
        value=lambda raw: raw['kib_per_connection'],
    )
    if 'ours' in row['values'] and 'bare' in row['values'] and 'ours/bare' not in row['multiples']:
        bench.anomaly(f'ws idle memory {scenario.label}: bare grew by 0 KiB or less per connection, no ours/bare')
    first = runs[0]['results'][keys[0]]
    row.update(
        connections=count,
        call=scenario.call,
        echo_bytes=scenario.echo_bytes,
        request_bytes=first['request_bytes'],
        reply_bytes=first['reply_bytes'],
    )
    return row


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    count = connections(bench)
    rows = {}
    for scenario in SCENARIOS:
        log(f'  {scenario.label}, {count} connections')
        rows[f'ws idle memory, {scenario.label} ({count} conns)'] = _run_scenario(bench, scenario, count)
    return rows
