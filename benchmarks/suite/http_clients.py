"""HTTP clients, one call after another: our JSONRPCClient, 2.0.0's JSONRPCClient (in its venv) and a
bare aiohttp.ClientSession + orjson loop, all calling ``ping`` on the same bare server.

The server is the bare one (the cheapest), pinned to the server core; the clients (benchmarks/
http_client_load.py) run pinned to the load core. With one call at a time the rate is 1 / round-trip time,
so what differs between the columns is the client's own cost per call.
"""

from __future__ import annotations

from typing import Any

from .context import Bench, log
from .processes import run_child, shared_server
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('GROUP', 'run')

GROUP = 'http-client'
CLIENT = HERE / 'http_client_load.py'
CALLS = {False: 5_000, True: 1_500}  # by --quick
TIMEOUT = 120.0


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    keys = list(bench.systems)
    url = shared_server(bench, 'bare').url
    calls = CALLS[bench.quick]
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            system = bench.systems[key]
            kind = 'bare' if key == 'bare' else 'rpc'
            command = system.command(
                CLIENT,
                *('--client', kind, '--url', url, '--calls', str(calls), '--warmup', str(calls // 10)),
                *('--timeout', str(TIMEOUT)),
            )
            results[key] = run_child(f'http client {key}', command, system, bench.load_cores, timeout=TIMEOUT + 30)
            bench.servers['bare'].check_alive('http client ping')
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} http client ping (sequential)  '
            + '  '.join(f'{key} {results[key]["calls_per_s"]:>7,.0f}' for key in keys)
        )
    row = build_row(GROUP, 'calls/s', 'higher', runs, value=lambda raw: raw['calls_per_s'])
    row['calls'] = calls
    return {'http client ping (sequential)': row}
