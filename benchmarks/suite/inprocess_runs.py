"""In-process micro-benchmarks: bytes-in/bytes-out dispatch and the aiohttp handler called directly.

Each repeat runs benchmarks/inprocess.py once per system (a fresh process each, the order rotating, pinned
to the server core), over the same bodies from payloads.py, and checks every reply it returns.
"""

from __future__ import annotations

import json
from typing import Any

import payloads

from .context import Bench, BenchError, log
from .processes import run_child
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('GROUP', 'run')

GROUP = 'inprocess'
SCRIPT = HERE / 'inprocess.py'
PATHS = ('dispatch', 'handler')
TIMEOUT = 300.0


def _check(key: str, result: dict[str, Any]) -> None:
    for path in PATHS:
        for scenario, row in result[path].items():
            problem = row['problem'] or payloads.check_reply(scenario, row['reply'].encode())
            if problem is not None:
                raise BenchError(f'in-process {key} {path} {scenario}: {problem}')
            del row['reply']  # checked; the saved results need not carry every reply


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    bodies_file = bench.workdir / 'bodies.json'
    bodies = {
        scenario: {'body': payloads.body(scenario).decode(), 'calls': payloads.CALLS_PER_REQUEST[scenario]}
        for scenario in payloads.SCENARIOS
    }
    bodies_file.write_text(json.dumps(bodies))
    keys = list(bench.systems)
    runs = []
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        results = {}
        for key in order:
            system = bench.systems[key]
            command = system.command(SCRIPT, '--server', str(system.server), '--bodies', str(bodies_file))
            command += ['--quick'] if bench.quick else []
            results[key] = run_child(f'in-process {key}', command, system, bench.server_cores, timeout=TIMEOUT)
            _check(key, results[key])
        runs.append({'repeat': repeat + 1, 'order': order, 'results': results})
        log(
            f'  repeat {repeat + 1} in-process dispatch/handler ping µs  '
            + '  '.join(
                f'{key} {results[key]["dispatch"]["ping"]["us"]:.2f}/{results[key]["handler"]["ping"]["us"]:.1f}'
                for key in keys
            )
        )

    rows = {}
    for path in PATHS:
        for scenario in payloads.SCENARIOS:
            row = build_row(GROUP, 'µs/call', 'lower', runs, value=lambda raw, p=path, s=scenario: raw[p][s]['us'])
            row['iterations'] = {key: runs[0]['results'][key][path][scenario]['iterations'] for key in keys}
            rows[f'in-process {path} {scenario}'] = row
    build = build_row(GROUP, 'µs/req', 'lower', runs, ratios=False, value=lambda raw: raw['request_build_us'])
    build['note'] = 'make_mocked_request + fed StreamReader alone; included in every in-process handler row'
    rows['in-process request build'] = build
    return rows
