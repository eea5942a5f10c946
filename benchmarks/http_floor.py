"""Where the HTTP rows' time goes: ``ping`` and ``echo`` served seven ways by one server process, under wrk.

servers/floor.py serves, on one app: the bare handler (the ceiling), a minimal conforming JSON-RPC handler,
the same with our exact-integer and strict-JSON guarantees, our dispatcher in the minimal handler, our HTTP
handler around the minimal strict dispatcher, our server with ``strict_floats=False``, and our server with every
default. Each is loaded in turn (server pinned to one core, wrk to another, 50 keep-alive
connections, every reply checked by wrk_post.lua), the order rotating over the repeats; the table gives
requests/s (median, min-max) and each variant's ratio to the bare handler in the same repeat. So the gap a row
of the main table shows splits into what any conforming server costs, what the guarantees cost, what our
dispatcher adds and what our HTTP handler adds.

``--shared-core`` starts one server process per variant, all on the server core, and loads all of them at the same
time, each by its own wrk (see ``LoadGenerator.rates_together``): the ratios then hold still while the machine's
speed moves.

Usage: python benchmarks/http_floor.py [--quick] [--duration S] [--repeats N] [--output FILE.json] [--shared-core]
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


def _check(url: str) -> None:
    """One request per scenario, the reply checked in full, before anything is timed."""
    for scenario in SCENARIOS:
        status, _, raw = post(url, payloads.body(scenario))
        problem = f'HTTP {status}' if status != 200 else payloads.check_reply(scenario, raw)
        if problem is not None:
            raise BenchError(f'{url} {scenario}: {problem}')


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
    parser.add_argument(
        '--shared-core', action='store_true', help='a server per variant, all loaded at the same time on one core'
    )
    args = parser.parse_args()
    duration = min(60.0, max(1.0, args.duration or (3.0 if args.quick else 8.0)))
    repeats = min(10, max(1, args.repeats or (2 if args.quick else 3)))

    server_cores, load_cores = choose_cores()
    workdir = Path(tempfile.mkdtemp(prefix='aiohttp-rpc-floor-'))
    bench = Bench(args.quick, repeats, duration, args.connections, server_cores, load_cores, workdir, {})
    loadgen = LoadGenerator(find_wrk('auto', allow_install=False), args.connections, load_cores, bench)
    copies = len(ROUTES) if args.shared_core else 1
    ports = [free_port() for _ in range(copies)]
    processes = []
    try:
        for index, port in enumerate(ports):
            processes.append(_start_server(port, server_cores, workdir / f'floor-{index}.stderr.log'))
        # One process for all the variants, or (shared core) the i-th variant on the i-th process.
        urls = {route: f'http://127.0.0.1:{ports[index % copies]}/{route}' for index, route in enumerate(ROUTES)}
        for url in urls.values():
            _check(url)
        mode = 'at the same time, one process each, sharing a core' if args.shared_core else 'in turn'
        log(f'{loadgen.name}, {args.connections} connections, {repeats} x {duration:g} s per variant, {mode}')
        for scenario in SCENARIOS:  # warm-up
            for url in urls.values():
                loadgen.rate(url, scenario, 1.0)
        runs: dict[str, list[dict[str, float]]] = {scenario: [] for scenario in SCENARIOS}
        for repeat in range(repeats):
            for scenario in SCENARIOS:
                if args.shared_core:
                    figures = loadgen.rates_together(urls, scenario, duration)
                else:
                    figures = {
                        route: loadgen.rate(urls[route], scenario, duration) for route in rotated(ROUTES, repeat)
                    }
                runs[scenario].append(figures)
                log(f'  repeat {repeat + 1} {scenario}: ' + '  '.join(f'{k} {v:,.0f}' for k, v in figures.items()))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    print(_table(runs))
    if args.output:
        record = {'duration': duration, 'repeats': repeats, 'shared_core': args.shared_core, 'runs': runs}
        args.output.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == '__main__':
    exit_with(main)
