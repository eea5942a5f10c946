"""Where the HTTP rows' time goes: ``ping`` and ``echo`` served five ways by one server process, under wrk.

servers/floor.py serves, on one app: the bare handler (the ceiling), a minimal conforming JSON-RPC handler,
the same with our exact-integer and strict-JSON guarantees, our server with ``strict_floats=False``, and our
server with every default. Each is loaded in turn (server pinned to one core, wrk to another, 50 keep-alive
connections, every reply checked by wrk_post.lua), the order rotating over the repeats; the table gives
requests/s (median, min-max) and each variant's ratio to the bare handler in the same repeat. So the gap a row
of the main table shows splits into what any conforming server costs, what the guarantees cost, and what our
dispatcher and handler add.

Usage: python benchmarks/http_floor.py [--quick] [--duration S] [--repeats N] [--output FILE.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

import payloads
from servers.floor import ROUTES
from suite.context import Bench, BenchError, exit_with, log
from suite.http_servers import LoadGenerator, find_wrk
from suite.processes import choose_cores, free_port, pinned, post
from suite.report import grid
from suite.stats import rotated, summary
from suite.systems import HERE, LAUNCH

import aiohttp_rpc

__all__ = ('main',)

SERVER = HERE / 'servers' / 'floor.py'
SCENARIOS = ('ping', 'echo')
STARTUP_TIMEOUT = 20.0


def _start_server(port: int, cores: set[int] | None, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(LAUNCH), '--expect', f'ours:{aiohttp_rpc.__version__}', str(SERVER)]
    with open(log_path, 'wb') as stderr:
        process = subprocess.Popen(
            [*command, '--port', str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=HERE,
            start_new_session=True,
            preexec_fn=pinned(cores),
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            post(f'http://127.0.0.1:{port}/bare', payloads.body('ping'), timeout=2)
        except (ConnectionError, urllib.error.URLError, TimeoutError, OSError):
            time.sleep(0.05)
            continue
        return process
    process.kill()
    raise BenchError(f'the floor server did not start:\n{log_path.read_text(errors="replace")[-2000:]}')


def _check(route: str, port: int) -> None:
    """One request per scenario, the reply checked in full, before anything is timed."""
    for scenario in SCENARIOS:
        status, _, raw = post(f'http://127.0.0.1:{port}/{route}', payloads.body(scenario))
        problem = f'HTTP {status}' if status != 200 else payloads.check_reply(scenario, raw)
        if problem is not None:
            raise BenchError(f'{route} {scenario}: {problem}')


def _table(runs: dict[str, list[dict[str, float]]]) -> str:
    rows = [('scenario', 'variant', 'req/s', 'variant/bare')]
    for scenario, repeats in runs.items():
        for route in ROUTES:
            rate = summary([figures[route] for figures in repeats])
            ratio = summary([figures[route] / figures['bare'] for figures in repeats])
            rows.append(
                (
                    scenario,
                    route,
                    f'{rate["median"]:,.0f} ({rate["min"]:,.0f}-{rate["max"]:,.0f})',
                    f'{ratio["median"]:.2f} ({ratio["min"]:.2f}-{ratio["max"]:.2f})',
                )
            )
    return '\n'.join(grid(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='2 repeats of 3 s (default: 3 repeats of 8 s)')
    parser.add_argument('--duration', type=float, help='seconds per load run (bounded to 1-60)')
    parser.add_argument('--repeats', type=int, help='repeats (bounded to 1-10)')
    parser.add_argument('--connections', type=int, default=50)
    parser.add_argument('--output', type=Path, help='also save the runs as JSON here')
    args = parser.parse_args()
    duration = min(60.0, max(1.0, args.duration or (3.0 if args.quick else 8.0)))
    repeats = min(10, max(1, args.repeats or (2 if args.quick else 3)))

    server_cores, load_cores = choose_cores()
    workdir = Path(tempfile.mkdtemp(prefix='aiohttp-rpc-floor-'))
    bench = Bench(args.quick, repeats, duration, args.connections, server_cores, load_cores, workdir, {})
    loadgen = LoadGenerator(find_wrk('auto', allow_install=False), args.connections, load_cores, bench)
    port = free_port()
    process = _start_server(port, server_cores, workdir / 'floor.stderr.log')
    try:
        for route in ROUTES:
            _check(route, port)
        log(f'{loadgen.name}, {args.connections} connections, {repeats} x {duration:g} s per variant and scenario')
        for scenario in SCENARIOS:  # warm-up
            for route in ROUTES:
                loadgen.rate(f'http://127.0.0.1:{port}/{route}', scenario, 1.0)
        runs: dict[str, list[dict[str, float]]] = {scenario: [] for scenario in SCENARIOS}
        for repeat in range(repeats):
            for scenario in SCENARIOS:
                figures = {
                    route: loadgen.rate(f'http://127.0.0.1:{port}/{route}', scenario, duration)
                    for route in rotated(ROUTES, repeat)
                }
                runs[scenario].append(figures)
                log(f'  repeat {repeat + 1} {scenario}: ' + '  '.join(f'{k} {v:,.0f}' for k, v in figures.items()))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(_table(runs))
    if args.output:
        args.output.write_text(json.dumps({'duration': duration, 'repeats': repeats, 'runs': runs}, indent=1))
    return 0


if __name__ == '__main__':
    exit_with(main)
