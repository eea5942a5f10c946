"""WebSocket servers: one connection, 100 ``ping`` calls kept in flight by the same raw client for all.

The load generator (benchmarks/ws_load.py, plain aiohttp + orjson, in our venv) runs pinned to the load
core; the servers are the long-lived ones of each system, pinned to the server core. Each repeat runs every
server once, the order rotating.
"""

from __future__ import annotations

from typing import Any

from .context import Bench, log
from .processes import run_child, shared_server
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('CALLS', 'GROUP', 'IN_FLIGHT', 'run')

GROUP = 'ws'
WS_LOAD = HERE / 'ws_load.py'
IN_FLIGHT = 100
CALLS = {False: 100_000, True: 20_000}  # by --quick; runs of about a second: shorter ones were mostly scheduling noise
TIMEOUT = 120.0


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    keys = list(bench.systems)
    servers = {key: shared_server(bench, key) for key in keys}
    calls = CALLS[bench.quick]
    client = bench.systems['bare']  # the same raw client, in our venv, for every server
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            command = client.command(
                WS_LOAD,
                *('--url', servers[key].ws_url, '--calls', str(calls), '--warmup', str(calls // 10)),
                *('--in-flight', str(IN_FLIGHT), '--timeout', str(TIMEOUT)),
            )
            results[key] = run_child(f'ws {key}', command, client, bench.load_cores, timeout=TIMEOUT + 30)
            servers[key].check_alive('ws ping')
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} ws ping (1 conn, {IN_FLIGHT} in flight)  '
            + '  '.join(f'{key} {results[key]["calls_per_s"]:>9,.0f}' for key in keys)
        )
    row = build_row(GROUP, 'calls/s', 'higher', runs, value=lambda raw: raw['calls_per_s'])
    row['calls'] = calls
    row['in_flight'] = IN_FLIGHT
    return {f'ws ping (1 conn, {IN_FLIGHT} in flight)': row}
