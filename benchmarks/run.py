"""Benchmark suite: our JSON-RPC library against bare aiohttp doing the same JSON work, and against
aiohttp-rpc 2.0.0 from PyPI (in its own venv), over HTTP, WebSocket, clients, in-process and memory.

Servers run in their own processes on 127.0.0.1, pinned to one core; load generators and clients run in
other processes pinned to another core. Every scenario runs each system back to back, ``--repeats`` times
in rotating order, and the table gives the median (min-max) of each figure and of the per-repeat ratios.
See benchmarks/README.md for what each scenario measures and why the comparison is fair.

Usage:
    python benchmarks/run.py [--quick] [--only GROUP[,GROUP]] [--duration SECONDS] [--repeats N]
                             [--output FILE] [--compare OLD.json] [--loadgen auto|wrk|python]
                             [--no-install] [--no-legacy]

Only loopback traffic: servers bind 127.0.0.1, and every load run is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import orjson
import payloads
from suite import http_clients, http_servers, inprocess_runs, ws_memory, ws_pairs, ws_servers
from suite.context import Bench, BenchError, log, warn
from suite.processes import choose_cores
from suite.report import render_comparison, render_table
from suite.systems import HERE, LEGACY_VERSION, ROOT, make_systems

DEFAULT_OUTPUT = HERE / 'results' / 'latest.json'
FULL_DURATION = 10.0
QUICK_DURATION = 2.0
RATIO_SPREAD_WARNING = 0.10
# In the order they run: the in-process figures first, while the machine is quietest, memory last.
GROUPS = {
    module.GROUP: module for module in (inprocess_runs, http_servers, ws_servers, ws_pairs, http_clients, ws_memory)
}


def git_commit() -> str:
    try:
        done = subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, timeout=10, check=False
        )
        dirty = subprocess.run(
            ['git', 'status', '--porcelain', '--', 'aiohttp_rpc'],
            cwd=ROOT,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return 'unknown'
    commit = done.stdout.decode().strip() or 'unknown'
    return commit + ('+dirty' if dirty.stdout.strip() else '')


def metadata(bench: Bench) -> dict[str, Any]:
    import aiohttp

    import aiohttp_rpc

    meta: dict[str, Any] = {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'python': platform.python_version(),
        'implementation': platform.python_implementation(),
        'aiohttp': aiohttp.__version__,
        'aiohttp_rpc': aiohttp_rpc.__version__,
        'orjson': orjson.__version__,
        'git_commit': git_commit(),
        'platform': platform.platform(),
        'cpu_count': os.cpu_count(),
        'server_cores': sorted(bench.server_cores) if bench.server_cores else None,
        'load_cores': sorted(bench.load_cores) if bench.load_cores else None,
        'loadavg_at_start': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
        'systems': {key: system.describe() for key, system in bench.systems.items() if system.expect is not None},
    }
    legacy = meta['systems'].get(LEGACY_VERSION)
    if legacy and legacy['aiohttp'] != meta['aiohttp']:
        bench.anomaly(f'aiohttp differs: {meta["aiohttp"]} for bare/ours, {legacy["aiohttp"]} in the 2.0.0 venv')
    return meta


def run(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    if bench.load_cores is not None:
        os.sched_setaffinity(0, bench.load_cores)  # keep this orchestrator off the servers' core too
    groups = args.only
    results: dict[str, Any] = {
        'meta': metadata(bench),
        'config': {
            'quick': args.quick,
            'groups': groups,
            'systems': list(bench.systems),
            'duration_s': args.duration,
            'repeats': args.repeats,
            'connections': args.connections,
            'loadgen': None,
            'bodies_bytes': {scenario: len(payloads.body(scenario)) for scenario in payloads.SCENARIOS},
        },
        'rows': {},
        'anomalies': bench.anomalies,
    }
    if 'http' in groups:
        wrk = http_servers.find_wrk(args.loadgen, allow_install=not args.no_install)
        loadgen = http_servers.LoadGenerator(wrk, args.connections, bench.load_cores, bench)
        if wrk is None:
            warn(
                'wrk is not available: falling back to the Python load generator (benchmarks/pyload.py). It is much '
                'slower than wrk and probably the bottleneck, so http rates are low and their ratios are pulled '
                'toward 1.00. Install wrk (apt-get install wrk) for real figures.'
            )
        bench.extra['loadgen'] = loadgen
        results['config']['loadgen'] = 'wrk' if wrk else 'python'
        results['config']['duration_s'] = loadgen.effective_duration(args.duration)
        results['meta']['loadgen_version'] = loadgen.version()
    log(
        f'systems: {", ".join(bench.systems)}; groups: {", ".join(groups)}; {args.repeats} repeats; '
        f'server cores {sorted(bench.server_cores) if bench.server_cores else "any"}, '
        f'load cores {sorted(bench.load_cores) if bench.load_cores else "any"}'
    )
    loadavg = results['meta']['loadavg_at_start']
    if loadavg and loadavg[0] >= 0.5:
        bench.anomaly(f'load average {loadavg[0]:.2f} at start: other processes share the CPUs')

    for group, module in GROUPS.items():
        if group in groups:
            log(f'{group} ...')
            results['rows'].update(module.run(bench))

    for name, row in results['rows'].items():
        for pair, stats in [*row['ratios'].items(), *row.get('multiples', {}).items()]:
            spread = (stats['max'] - stats['min']) / stats['median'] if stats['median'] > 0 else 0.0
            if spread > RATIO_SPREAD_WARNING:
                bench.anomaly(f'{name}: {pair} varies by {spread:.0%} across repeats (noisy machine?)', now=False)
    for server in bench.servers.values():
        text = server.stderr_text()
        if text:
            bench.anomaly(f'{server.name} server wrote to stderr: {text[-1500:]}', now=False)
    if hasattr(os, 'getloadavg'):
        results['meta']['loadavg_at_end'] = list(os.getloadavg())
    return results


def _groups(text: str) -> list[str]:
    wanted = [part.strip() for part in text.split(',') if part.strip()]
    unknown = [group for group in wanted if group not in GROUPS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f'choose from {", ".join(GROUPS)} (got {text!r})')
    return [group for group in GROUPS if group in wanted]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark aiohttp_rpc against bare aiohttp and aiohttp-rpc 2.0.0 (loopback only).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('--quick', action='store_true', help=f'{QUICK_DURATION:g} s http runs, fewer calls (~2 min)')
    parser.add_argument('--only', type=_groups, default=list(GROUPS), help=f'groups to run: {",".join(GROUPS)}')
    parser.add_argument('--duration', type=float, help=f'seconds per http load run (default {FULL_DURATION:g})')
    parser.add_argument('--repeats', type=int, default=3, help='rounds of every system per scenario')
    parser.add_argument('--connections', type=int, default=50, help='concurrent keep-alive connections (http)')
    parser.add_argument('--output', type=Path, default=DEFAULT_OUTPUT, help='where to save the results as JSON')
    parser.add_argument('--compare', type=Path, metavar='OLD_JSON', help='print deltas against an earlier run')
    parser.add_argument(
        '--loadgen', choices=('auto', 'wrk', 'python'), default='auto', help='http: wrk, the Python fallback, or auto'
    )
    parser.add_argument('--no-install', action='store_true', help='never apt-get wrk nor make the 2.0.0 venv')
    parser.add_argument('--no-legacy', action='store_true', help=f'leave out aiohttp-rpc {LEGACY_VERSION}')
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = QUICK_DURATION if args.quick else FULL_DURATION
    if not 0 < args.duration <= 600:
        parser.error('--duration must be in (0, 600] seconds')
    if not 1 <= args.repeats <= 20:
        parser.error('--repeats must be in [1, 20]')
    if not 1 <= args.connections <= 1000:
        parser.error('--connections must be in [1, 1000]')
    if args.compare is not None and not args.compare.is_file():
        parser.error(f'--compare: no such file: {args.compare}')
    return args


def _exit_on_sigterm(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stopping(bench: Bench) -> Iterator[None]:
    """Stop every server on the way out: normal end, error, Ctrl-C or SIGTERM."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        for server in bench.servers.values():
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    old = orjson.loads(args.compare.read_bytes()) if args.compare else None
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix='aiohttp-rpc-bench-') as tmp:
            workdir = Path(tmp)
            server_cores, load_cores = choose_cores()
            systems = make_systems(workdir, legacy=not args.no_legacy, allow_install=not args.no_install)
            bench = Bench(
                quick=args.quick,
                repeats=args.repeats,
                duration=args.duration,
                connections=args.connections,
                server_cores=server_cores,
                load_cores=load_cores,
                workdir=workdir,
                systems=systems,
            )
            with stopping(bench):
                results = run(args, bench)
    except BenchError as exc:
        print(f'\nBENCHMARK FAILED: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('\ninterrupted; servers stopped', file=sys.stderr)
        return 130
    results['meta']['wall_time_s'] = round(time.monotonic() - started, 1)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b'\n')
    log('')
    log(render_table(results))
    log(f'\nsaved {args.output} ({results["meta"]["wall_time_s"]:g} s wall time)')
    if old is not None:
        log(f'\ncompared with {args.compare}:')
        log(render_comparison(old, results))
    for anomaly in results['anomalies']:
        warn(anomaly)
    server_errors = [anomaly for anomaly in results['anomalies'] if 'wrote to stderr' in anomaly]
    return 1 if server_errors else 0


if __name__ == '__main__':
    sys.exit(main())
