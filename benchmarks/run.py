"""HTTP benchmark: our JSON-RPC server against a bare aiohttp handler doing the same JSON work.

Both servers run in their own process on 127.0.0.1, pinned to one core; the load generator (wrk, or a Python
fallback) runs in another process pinned to another core. Every scenario runs bare and ours back to back,
``--repeats`` times, and the table gives the median (min-max) of each and of the per-repeat ratio ours/bare.
An in-process micro-benchmark of the dispatcher (benchmarks/inprocess.py) is run too and shown in the table.

Usage:
    python benchmarks/run.py [--quick] [--duration SECONDS] [--output FILE] [--compare OLD.json]
                             [--loadgen auto|wrk|python] [--no-install]

Only loopback traffic: servers bind 127.0.0.1 and every load run is bounded in time and in request count.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import orjson
import payloads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVERS = {'bare': HERE / 'servers' / 'bare.py', 'ours': HERE / 'servers' / 'ours.py'}
SYSTEMS = ('bare', 'ours')
DEFAULT_OUTPUT = HERE / 'results' / 'latest.json'
WRK_SCRIPT = HERE / 'wrk_post.lua'
PYLOAD = HERE / 'pyload.py'
INPROCESS = HERE / 'inprocess.py'

FULL_DURATION = 10.0
QUICK_DURATION = 2.0
# A safety bound on replies per load run: far above what one Python core can serve per second.
MAX_REQUESTS_PER_SECOND = 200_000
STARTUP_TIMEOUT = 20.0


class BenchError(Exception):
    """The benchmark cannot go on, or a result cannot be trusted."""


def log(message: str) -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(f'*** WARNING: {message}', file=sys.stderr, flush=True)


# -- processes ------------------------------------------------------------------------------------------------


def _pinned(cores: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn pinning the child (and so every thread it later starts) to ``cores`` before exec."""
    if cores is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cores)

    return pin


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


class Server:
    """One server script running in a child process on 127.0.0.1, its stderr kept in a log file."""

    def __init__(self, name: str, cores: set[int] | None, workdir: Path) -> None:
        self.name = name
        self.cores = cores
        self.port = 0
        self.log_path = workdir / f'{name}.stderr.log'
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/rpc'

    def start(self) -> None:
        for _attempt in range(3):  # the free port may be taken between free_port() and the child's bind
            self.port = free_port()
            with open(self.log_path, 'wb') as stderr:
                self.process = subprocess.Popen(
                    [sys.executable, str(SERVERS[self.name]), '--port', str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=ROOT,
                    start_new_session=True,  # Ctrl-C reaches only us; we stop the children ourselves
                    preexec_fn=_pinned(self.cores),
                )
            if self._wait_ready():
                return
            self.stop()
        raise BenchError(f'{self.name} server did not start; its stderr:\n{self.stderr_text()}')

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                post(self.url, payloads.body('ping'), timeout=2)
            except (ConnectionError, urllib.error.URLError, TimeoutError, OSError):
                time.sleep(0.05)
                continue
            return True
        return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stderr_text(self) -> str:
        try:
            return self.log_path.read_text(errors='replace').strip()
        except OSError:
            return ''


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def post(url: str, data: bytes, timeout: float = 5) -> tuple[int, str, bytes]:
    """POST ``data`` as JSON; ``(status, content type, body)``."""
    request = urllib.request.Request(url, data=data, method='POST', headers={'Content-Type': 'application/json'})
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.headers.get('Content-Type', ''), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get('Content-Type', ''), exc.read()


def sanity_check(server: Server) -> None:
    """One real request per scenario, each reply checked in full before anything is measured."""
    for scenario in payloads.SCENARIOS:
        status, content_type, raw = post(server.url, payloads.body(scenario))
        problem = None
        if status != 200:
            problem = f'HTTP {status}: {raw[:300]!r}'
        elif not content_type.startswith('application/json'):
            problem = f'Content-Type {content_type!r}'
        else:
            problem = payloads.check_reply(scenario, raw)
        if problem is not None:
            raise BenchError(f'sanity check failed: {server.name} {scenario}: {problem}')


# -- load generators ------------------------------------------------------------------------------------------


def find_wrk(loadgen: str, allow_install: bool) -> str | None:
    """The wrk binary, installed with apt-get if allowed and possible; ``None`` to use the fallback."""
    if loadgen == 'python':
        return None
    wrk = shutil.which('wrk')
    if wrk is None and allow_install and hasattr(os, 'geteuid') and os.geteuid() == 0 and shutil.which('apt-get'):
        log('wrk not found; installing it: apt-get install -y wrk')
        env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
        install = ['apt-get', 'install', '-y', '-q', 'wrk']
        try:
            done = subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
            if done.returncode != 0:  # stale package lists: refresh once and try again
                subprocess.run(['apt-get', 'update', '-q'], env=env, capture_output=True, timeout=300, check=False)
                done = subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
            if done.returncode != 0:
                warn(f'apt-get install wrk failed:\n{done.stderr.decode(errors="replace")[-1000:]}')
        except (OSError, subprocess.TimeoutExpired) as exc:
            warn(f'apt-get install wrk failed: {exc}')
        wrk = shutil.which('wrk')
    if wrk is None and loadgen == 'wrk':
        raise BenchError('--loadgen wrk: wrk is not installed (apt-get install wrk)')
    return wrk


class LoadGenerator:
    """Runs one bounded load run against a URL and returns wrk_post.lua's BENCH_RESULT fields."""

    def __init__(self, wrk: str | None, connections: int, cores: set[int] | None, workdir: Path) -> None:
        self.wrk = wrk
        self.connections = connections
        self.cores = cores
        self.workdir = workdir
        self.name = 'wrk' if wrk else 'python (benchmarks/pyload.py)'

    def version(self) -> str:
        if not self.wrk:
            return 'pyload (aiohttp client)'
        done = subprocess.run([self.wrk, '--version'], capture_output=True, timeout=10, check=False)
        return (done.stdout or done.stderr).decode(errors='replace').strip().splitlines()[0]

    def effective_duration(self, duration: float) -> float:
        return float(max(1, round(duration))) if self.wrk else duration

    def run(self, url: str, scenario: str, duration: float) -> dict[str, Any]:
        body_file = self.workdir / f'{scenario}.json'
        if not body_file.exists():
            body_file.write_bytes(payloads.body(scenario))
        expect = payloads.CALLS_PER_REQUEST[scenario]
        duration = self.effective_duration(duration)
        max_requests = int(duration * MAX_REQUESTS_PER_SECOND)
        env = dict(os.environ)
        if self.wrk:
            env.update(
                BENCH_BODY_FILE=str(body_file), BENCH_EXPECT_RESULTS=str(expect), BENCH_MAX_REQUESTS=str(max_requests)
            )
            command = [self.wrk, '-t', '1', '-c', str(self.connections), '-d', f'{int(duration)}s']
            command += ['--timeout', '10s', '-s', str(WRK_SCRIPT), url]
        else:
            command = [sys.executable, str(PYLOAD), '--url', url, '--body-file', str(body_file)]
            command += ['--duration', str(duration), '--connections', str(self.connections)]
            command += ['--expect-results', str(expect), '--max-requests', str(max_requests)]
        try:
            done = subprocess.run(
                command,
                env=env,
                capture_output=True,
                timeout=duration + 60,
                check=False,
                start_new_session=True,
                preexec_fn=_pinned(self.cores),
            )
        except subprocess.TimeoutExpired as exc:  # run() has killed it already
            raise BenchError(f'load generator did not finish in {duration + 60:.0f} s') from exc
        output = done.stdout.decode(errors='replace')
        lines = [line for line in output.splitlines() if line.startswith('BENCH_RESULT ')]
        if done.returncode != 0 or not lines:
            stderr = done.stderr.decode(errors='replace')
            raise BenchError(f'load generator failed (exit {done.returncode}):\n{output[-2000:]}\n{stderr[-2000:]}')
        result: dict[str, Any] = orjson.loads(lines[-1].removeprefix('BENCH_RESULT '))
        result['requests_per_s'] = result['requests'] / (result['duration_us'] / 1e6)
        result['capped'] = result['replies'] >= max_requests
        return result


def check_load_result(label: str, result: dict[str, Any]) -> None:
    """Fail loudly on any non-200 reply, JSON-RPC error or socket error."""
    bad = {
        key: result[key]
        for key in ('non200', 'rpc_errors', 'connect_errors', 'read_errors', 'write_errors', 'timeouts')
        if result.get(key)
    }
    if result['requests'] == 0:
        bad['requests'] = 0
    if bad:
        raise BenchError(f'{label}: bad replies or errors {bad}; first bad reply: {result.get("first_bad")!r}')


# -- statistics and the table ---------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}


def fmt_rate(stats: dict[str, float]) -> str:
    return f'{stats["median"]:,.0f} ({stats["min"]:,.0f}-{stats["max"]:,.0f})'


def fmt_ratio(stats: dict[str, float]) -> str:
    return f'{stats["median"]:.2f} ({stats["min"]:.2f}-{stats["max"]:.2f})'


def grid(rows: list[tuple[str, ...]]) -> list[str]:
    """Align rows in columns: the first two left-aligned, the rest right-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append('  '.join(cells))
        if index == 0:
            lines.append('  '.join('-' * width for width in widths))
    return lines


def render_table(results: dict[str, Any]) -> str:
    rows = [('scenario', 'unit', 'bare', 'ours', 'ours/bare')]
    for scenario, entry in results['http'].items():
        rows.append(
            (
                f'http {scenario}',
                entry['unit'],
                fmt_rate(entry['bare']),
                fmt_rate(entry['ours']),
                fmt_ratio(entry['ratio']),
            )
        )
    for scenario, entry in results.get('inprocess', {}).items():
        rows.append(
            (
                f'in-process {scenario}',
                'µs/call',
                f'{entry["bare_us"]:.2f}',
                f'{entry["ours_us"]:.2f}',
                f'{entry["ratio"]:.2f}',
            )
        )
    lines = grid(rows)
    config = results['config']
    lines.append('')
    lines.append(
        f'http: median (min-max) of {config["repeats"]} repeats, {config["duration_s"]:g} s each, '
        f'{config["connections"]} connections, load generator: {config["loadgen"]}.'
    )
    lines.append('ours/bare: median (min-max) of per-repeat throughput ratios; 1.00 = as fast as the bare handler.')
    if results.get('inprocess'):
        lines.append('in-process: best of 5, µs per JSON-RPC call (lower is better); ours/bare = bare µs / ours µs.')
    return '\n'.join(lines)


def render_comparison(old: dict[str, Any], new: dict[str, Any]) -> str:
    def change(before: float, after: float) -> str:
        return f'{(after - before) / before * 100:+.1f}%' if before else 'n/a'

    rows = [('scenario', 'what', 'old', 'new', 'change')]
    for scenario, entry in new['http'].items():
        previous = old.get('http', {}).get(scenario)
        if previous is None:
            continue
        for what in ('bare', 'ours'):
            before, after = previous[what]['median'], entry[what]['median']
            rows.append(
                (
                    f'http {scenario}',
                    f'{what} {entry["unit"]}',
                    f'{before:,.0f}',
                    f'{after:,.0f}',
                    change(before, after),
                )
            )
        before, after = previous['ratio']['median'], entry['ratio']['median']
        rows.append((f'http {scenario}', 'ours/bare', f'{before:.2f}', f'{after:.2f}', change(before, after)))
    for scenario, entry in new.get('inprocess', {}).items():
        previous = old.get('inprocess', {}).get(scenario)
        if previous is None:
            continue
        before, after = previous['ours_us'], entry['ours_us']
        rows.append((f'in-process {scenario}', 'ours µs/call', f'{before:.2f}', f'{after:.2f}', change(before, after)))
        before, after = previous['ratio'], entry['ratio']
        rows.append((f'in-process {scenario}', 'ours/bare', f'{before:.2f}', f'{after:.2f}', change(before, after)))
    lines = grid(rows)
    notes = ['Compare the ours/bare rows first: absolute rates move with machine load, ratios much less.']
    if old.get('config', {}).get('loadgen') != new['config']['loadgen']:
        notes.append('The two runs used different load generators: absolute rates are not comparable.')
    if old.get('meta', {}).get('python') != new['meta']['python']:
        notes.append(f'Python differs: {old.get("meta", {}).get("python")} -> {new["meta"]["python"]}.')
    return '\n'.join([*lines, '', *notes])


# -- the run --------------------------------------------------------------------------------------------------


def choose_cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, load cores): the first two cores we may use, or no pinning with fewer."""
    if not hasattr(os, 'sched_getaffinity'):
        warn('this platform cannot pin processes to cores; server and load share the CPUs')
        return None, None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        warn(f'only {len(allowed)} core available: server and load generator share it, figures are pessimistic')
        return None, None
    return {allowed[0]}, {allowed[1]}


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


def metadata(loadgen: LoadGenerator, server_cores: set[int] | None, load_cores: set[int] | None) -> dict[str, Any]:
    import aiohttp

    import aiohttp_rpc

    return {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'python': platform.python_version(),
        'implementation': platform.python_implementation(),
        'aiohttp': aiohttp.__version__,
        'aiohttp_rpc': aiohttp_rpc.__version__,
        'orjson': orjson.__version__,
        'git_commit': git_commit(),
        'platform': platform.platform(),
        'cpu_count': os.cpu_count(),
        'server_cores': sorted(server_cores) if server_cores else None,
        'load_cores': sorted(load_cores) if load_cores else None,
        'loadgen_version': loadgen.version(),
        'loadavg_at_start': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
    }


def run_inprocess(quick: bool, cores: set[int] | None) -> dict[str, Any]:
    command = [sys.executable, str(INPROCESS), '--json'] + (['--quick'] if quick else [])
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=600, check=False, cwd=ROOT, preexec_fn=_pinned(cores)
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError('in-process benchmark did not finish in 600 s') from exc
    if done.returncode != 0:
        raise BenchError(f'in-process benchmark failed:\n{done.stderr.decode(errors="replace")[-2000:]}')
    results: dict[str, Any] = orjson.loads(done.stdout)
    for entry in results.values():
        entry['ratio'] = entry['bare_us'] / entry['ours_us']
    return results


def measure(loadgen: LoadGenerator, server: Server, scenario: str, duration: float, label: str) -> dict[str, Any]:
    result = loadgen.run(server.url, scenario, duration)
    check_load_result(f'{label} {server.name} {scenario}', result)
    if not server.alive():
        raise BenchError(f'{server.name} server died during {scenario}:\n{server.stderr_text()}')
    if result['capped']:
        warn(f'{label} {server.name} {scenario} hit the request cap: its rate is understated')
    return result


def run(args: argparse.Namespace, workdir: Path, servers: dict[str, Server]) -> dict[str, Any]:
    server_cores, load_cores = choose_cores()
    if load_cores is not None:
        os.sched_setaffinity(0, load_cores)  # keep this orchestrator off the server's core too
    wrk = find_wrk(args.loadgen, allow_install=not args.no_install)
    loadgen = LoadGenerator(wrk, args.connections, load_cores, workdir)
    if wrk is None:
        warn(
            'wrk is not available: falling back to the Python load generator (benchmarks/pyload.py). It is much '
            'slower than wrk and probably the bottleneck, so rates are low and ours/bare is pulled toward 1.00. '
            'Install wrk (apt-get install wrk) for real figures.'
        )
    duration = loadgen.effective_duration(args.duration)
    warmup = loadgen.effective_duration(min(2.0, duration / 2))
    scenarios = list(payloads.SCENARIOS)
    results: dict[str, Any] = {
        'meta': metadata(loadgen, server_cores, load_cores),
        'config': {
            'quick': args.quick,
            'duration_s': duration,
            'warmup_s': warmup,
            'repeats': args.repeats,
            'connections': args.connections,
            'loadgen': 'wrk' if wrk else 'python',
            'bodies_bytes': {scenario: len(payloads.body(scenario)) for scenario in scenarios},
        },
        'http': {},
        'anomalies': [],
    }
    log(
        f'load: {loadgen.name}, {args.connections} connections, {duration:g} s per run, {args.repeats} repeats; '
        f'server cores {sorted(server_cores) if server_cores else "any"}, '
        f'load cores {sorted(load_cores) if load_cores else "any"}'
    )
    loadavg = results['meta']['loadavg_at_start']
    if loadavg and loadavg[0] >= 0.5:
        results['anomalies'].append(f'load average {loadavg[0]:.2f} at start: other processes share the CPUs')
        warn(results['anomalies'][-1])

    for name in SYSTEMS:
        servers[name] = Server(name, server_cores, workdir)
        servers[name].start()
        sanity_check(servers[name])
    log('sanity check passed: both servers answer every scenario correctly')

    log('in-process micro-benchmark ...')
    results['inprocess'] = run_inprocess(args.quick, server_cores)

    log(f'warm-up: {warmup:g} s per server and scenario ...')
    for scenario in scenarios:
        for name in SYSTEMS:
            measure(loadgen, servers[name], scenario, warmup, 'warm-up')

    runs: dict[str, list[dict[str, Any]]] = {scenario: [] for scenario in scenarios}
    for repeat in range(args.repeats):
        order = SYSTEMS if repeat % 2 == 0 else SYSTEMS[::-1]  # alternate who goes first against drift
        for scenario in scenarios:
            pair = {name: measure(loadgen, servers[name], scenario, duration, f'repeat {repeat + 1}') for name in order}
            ratio = pair['ours']['requests_per_s'] / pair['bare']['requests_per_s']
            runs[scenario].append({'repeat': repeat + 1, 'order': list(order), **pair, 'ratio': ratio})
            calls = payloads.CALLS_PER_REQUEST[scenario]
            log(
                f'  repeat {repeat + 1} {scenario:<9} '
                + '  '.join(
                    f'{name} {pair[name]["requests_per_s"] * calls:>9,.0f} '
                    f'(p50 {pair[name]["latency_p50_us"] / 1000:.1f} ms)'
                    for name in SYSTEMS
                )
                + f'  ours/bare {ratio:.2f}'
            )

    for scenario in scenarios:
        calls = payloads.CALLS_PER_REQUEST[scenario]
        entry: dict[str, Any] = {'unit': 'calls/s' if calls > 1 else 'req/s', 'calls_per_request': calls}
        for name in SYSTEMS:
            entry[name] = summary([run[name]['requests_per_s'] * calls for run in runs[scenario]])
        entry['ratio'] = summary([run['ratio'] for run in runs[scenario]])
        entry['runs'] = runs[scenario]
        results['http'][scenario] = entry
        spread = (entry['ratio']['max'] - entry['ratio']['min']) / entry['ratio']['median']
        if spread > 0.10:
            results['anomalies'].append(f'{scenario}: ours/bare varies by {spread:.0%} across repeats (noisy machine?)')

    for name, server in servers.items():
        text = server.stderr_text()
        if text:
            results['anomalies'].append(f'{name} server wrote to stderr: {text[-1500:]}')
    if hasattr(os, 'getloadavg'):
        results['meta']['loadavg_at_end'] = list(os.getloadavg())
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark aiohttp_rpc against a bare aiohttp handler (loopback only).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('--quick', action='store_true', help=f'{QUICK_DURATION:g} s runs (about a minute in all)')
    parser.add_argument('--duration', type=float, help=f'seconds per load run (default {FULL_DURATION:g})')
    parser.add_argument('--repeats', type=int, default=3, help='bare/ours pairs per scenario')
    parser.add_argument('--connections', type=int, default=50, help='concurrent keep-alive connections')
    parser.add_argument('--output', type=Path, default=DEFAULT_OUTPUT, help='where to save the results as JSON')
    parser.add_argument('--compare', type=Path, metavar='OLD_JSON', help='print deltas against an earlier run')
    parser.add_argument(
        '--loadgen', choices=('auto', 'wrk', 'python'), default='auto', help='wrk, the Python fallback, or auto'
    )
    parser.add_argument('--no-install', action='store_true', help='never apt-get install wrk')
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
def stopping(servers: dict[str, Server]) -> Iterator[None]:
    """Stop every server on the way out: normal end, error, Ctrl-C or SIGTERM."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        for server in servers.values():
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    old = orjson.loads(args.compare.read_bytes()) if args.compare else None
    servers: dict[str, Server] = {}
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix='aiohttp-rpc-bench-') as tmp, stopping(servers):
            results = run(args, Path(tmp), servers)
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
    server_errors = [anomaly for anomaly in results['anomalies'] if 'stderr' in anomaly]
    return 1 if server_errors else 0


if __name__ == '__main__':
    sys.exit(main())
