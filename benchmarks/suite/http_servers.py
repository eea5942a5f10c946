"""HTTP servers under wrk: ``ping``, ``echo`` and ``batch100`` POSTed by every connection, over and over.

Each system's server runs pinned to the server core; wrk (``-t 1 -c N``, wrk_post.lua checking every reply)
or, without wrk, the slower Python fallback (pyload.py) runs pinned to the load core. After one warm-up run
per server and scenario, every repeat runs each scenario on every server back to back, the order rotating.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
from typing import Any

import orjson
import payloads

from .context import Bench, BenchError, log, warn
from .processes import Server, pinned, shared_server
from .stats import build_row, rotated
from .systems import HERE

__all__ = ('GROUP', 'LoadGenerator', 'find_wrk', 'run')

GROUP = 'http'
WRK_SCRIPT = HERE / 'wrk_post.lua'
PYLOAD = HERE / 'pyload.py'
# A safety bound on replies per load run: far above what one Python core can serve per second.
MAX_REQUESTS_PER_SECOND = 200_000
ERROR_KEYS = ('non200', 'rpc_errors', 'connect_errors', 'read_errors', 'write_errors', 'timeouts')


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

    def __init__(self, wrk: str | None, connections: int, cores: set[int] | None, bench: Bench) -> None:
        self.wrk = wrk
        self.connections = connections
        self.cores = cores
        self.workdir = bench.workdir
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
                preexec_fn=pinned(self.cores),
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

    def rate(self, url: str, scenario: str, duration: float) -> float:
        """Requests per second of one load run in which every reply was the expected one.

        Raises:
            BenchError: a reply was wrong, or a socket error happened, or nothing was answered.
        """
        result = self.run(url, scenario, duration)
        bad = {key: result[key] for key in ERROR_KEYS if result.get(key)}
        if bad or not result['requests']:
            raise BenchError(
                f'{url} {scenario}: bad replies or errors {bad}; first bad reply: {result.get("first_bad")!r}'
            )
        return float(result['requests_per_s'])

    def rates_together(self, urls: dict[str, str], scenario: str, duration: float) -> dict[str, float]:
        """:meth:`rate` of every URL, all loaded at the same time (one load generator each).

        With their servers pinned to one core, the kernel gives each server the same share of it while all are
        busy, so each one's rate is that share over what a request costs it; a slowdown of the machine hits all
        of them in the same second (``--shared-core`` of ab.py and http_floor.py).
        """
        with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
            running = {key: pool.submit(self.rate, url, scenario, duration) for key, url in urls.items()}
            return {key: future.result() for key, future in running.items()}


def _measure(
    bench: Bench, loadgen: LoadGenerator, server: Server, scenario: str, duration: float, label: str
) -> dict[str, Any]:
    """One load run, failing loudly on any non-200 reply, JSON-RPC error or socket error."""
    result = loadgen.run(server.url, scenario, duration)
    bad = {key: result[key] for key in ERROR_KEYS if result.get(key)}
    if result['requests'] == 0:
        bad['requests'] = 0
    if bad:
        first_bad = result.get('first_bad')
        raise BenchError(
            f'{label} {server.name} {scenario}: bad replies or errors {bad}; first bad reply: {first_bad!r}'
        )
    server.check_alive(f'{label} {scenario}')
    if result['capped']:
        bench.anomaly(f'{label} {server.name} {scenario} hit the request cap: its rate is understated')
    return result


def run(bench: Bench) -> dict[str, dict[str, Any]]:
    loadgen: LoadGenerator = bench.extra['loadgen']
    keys = list(bench.systems)
    servers = {key: shared_server(bench, key) for key in keys}
    duration = loadgen.effective_duration(bench.duration)
    warmup = loadgen.effective_duration(min(2.0, duration / 2))
    scenarios = list(payloads.SCENARIOS)
    log(f'http: {loadgen.name}, {bench.connections} connections, {duration:g} s per run (warm-up {warmup:g} s)')
    for scenario in scenarios:
        for key in keys:
            _measure(bench, loadgen, servers[key], scenario, warmup, 'warm-up')

    runs: dict[str, list[dict[str, Any]]] = {scenario: [] for scenario in scenarios}
    for repeat in range(bench.repeats):
        order = rotated(keys, repeat)
        for scenario in scenarios:
            results = {
                key: _measure(bench, loadgen, servers[key], scenario, duration, f'repeat {repeat + 1}') for key in order
            }
            runs[scenario].append({'repeat': repeat + 1, 'order': order, 'results': results})
            calls = payloads.CALLS_PER_REQUEST[scenario]
            log(
                f'  repeat {repeat + 1} http {scenario:<9} '
                + '  '.join(
                    f'{key} {results[key]["requests_per_s"] * calls:>9,.0f} '
                    f'(p50 {results[key]["latency_p50_us"] / 1000:.1f} ms)'
                    for key in keys
                )
            )

    rows = {}
    for scenario in scenarios:
        calls = payloads.CALLS_PER_REQUEST[scenario]
        row = build_row(
            GROUP,
            'calls/s' if calls > 1 else 'req/s',
            'higher',
            runs[scenario],
            value=lambda raw, calls=calls: raw['requests_per_s'] * calls,
        )
        row['calls_per_request'] = calls
        rows[f'http {scenario}'] = row
    return rows
