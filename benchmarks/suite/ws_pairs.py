"""WebSocket client and server of the same library: our WSJSONRPCClient against our WSJSONRPCServer, and
2.0.0's client against 2.0.0's server (both in the 2.0.0 venv).

The client (benchmarks/ws_client_load.py) runs pinned to the load core and the server to the server core,
so this measures the pair: whichever side is slower sets the rate. ``ping`` calls, 100 in flight. There is
no bare column: a bare client against a bare server is the ``ws ping`` row's bare figure's job.
"""

from __future__ import annotations

from typing import Any

from .context import Bench, log
from .processes import run_child, shared_server
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('GROUP', 'run')

GROUP = 'ws-pair'
CLIENT = HERE / 'ws_client_load.py'
IN_FLIGHT = 100
CALLS = {False: 100_000, True: 20_000}  # by --quick; runs of about a second: shorter ones were mostly scheduling noise
TIMEOUT = 120.0


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    keys = [key for key in bench.systems if key != 'bare']
    servers = {key: shared_server(bench, key) for key in keys}
    calls = CALLS[bench.quick]
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            system = bench.systems[key]
            command = system.command(
                CLIENT,
                *('--url', servers[key].ws_url, '--calls', str(calls), '--warmup', str(calls // 10)),
                *('--in-flight', str(IN_FLIGHT), '--timeout', str(TIMEOUT)),
            )
            results[key] = run_child(f'ws client {key}', command, system, bench.load_cores, timeout=TIMEOUT + 30)
            servers[key].check_alive('ws client+server ping')
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} ws client+server ping  '
            + '  '.join(f'{key} {results[key]["calls_per_s"]:>9,.0f}' for key in keys)
        )
    row = build_row(GROUP, 'calls/s', 'higher', runs, value=lambda raw: raw['calls_per_s'])
    row['calls'] = calls
    row['in_flight'] = IN_FLIGHT
    return {f'ws client+server ping ({IN_FLIGHT} in flight)': row}
