"""Instructions per HTTP request, counted by callgrind: bare, ``before`` (a git revision) and ``after`` (this tree).

Requests/s on a shared 2-core machine move by more than a small change is worth, even with ``ab.py
--shared-core``. An instruction count does not move with the machine's load: callgrind counts what the server
process executes, so the same code, started the same way, gives the same count to within about 0.2%, and a change
of one Python call per request (a few hundred of some 300,000 instructions) shows.

Two things move it that are not the code, and a difference below about 1.5% must be read with both in mind:

* String hashing: a batch of 100 moved by up to 1.2% from one process to the next with random hashing (each lays
  its dicts out differently). Each server runs once per ``PYTHONHASHSEED`` (``--seeds``, one by default, seeds
  0, 1, ...) and the table gives the median and range, ratios taken seed by seed.
* Where the interpreter's objects land in memory. CPython 3.11 caches attribute lookups by type and by the
  address of the attribute's name, so the layout decides whether two of a request's lookups share a slot and keep
  evicting each other: a step of about 3,400 instructions (1.3% of a ``ping``) that comes and goes with things
  unrelated to the code. The same working tree read 258,371 instructions per ``ping`` counted by this script and
  254,993 counted by a copy of it under another name; the per-function costs put the whole difference in
  type-cache misses (``find_name_in_mro`` and lookups in the types' dicts) (benchmarks/RESULTS.md). Compare the
  per-function costs of the dumps (``callgrind_annotate``) before trusting such a difference, and ``ab.py
  --shared-core``, whose servers restart with fresh layouts, for the wall-clock effect.

It is a proxy: it weighs every instruction alike, where cache misses and branches make some dearer, and so far it
has read about 0.02-0.03 above the ``ab.py --shared-core`` ratio of the same code (benchmarks/RESULTS.md). Judge a
change by both.

Each server runs under ``valgrind --tool=callgrind`` (about 50 times slower, which does not matter here). For
each scenario the script sends ``--warmup`` requests, zeroes the counters, sends ``--requests`` more over
``--connections`` keep-alive connections from this process (not counted), and dumps the counters: the
instructions the server executed for them, divided by their number. Replies are checked.

Usage: python benchmarks/instructions.py [--before REV] [--scenarios ping,echo] [--requests N] [--seeds N]

About 2 minutes per server per seed: 6 minutes for one seed.

Needs valgrind (``apt-get install valgrind``) and what ``ab.py`` needs to check the revision out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import payloads
from ab import _Checkout, _checkout
from suite.context import exit_with, log
from suite.processes import free_port
from suite.report import grid
from suite.stats import summary
from suite.systems import ROOT, System, make_systems

__all__ = ('main',)

ORDER = ('bare', 'before', 'after')
STARTUP_TIMEOUT = 180.0  # Python's start-up alone takes about 15 s under callgrind here


class _GrindedServer:
    """One system's server under callgrind, on 127.0.0.1."""

    def __init__(self, name: str, system: System, workdir: Path, seed: int) -> None:
        self.name = name
        self.system = system
        self.workdir = workdir
        self.seed = seed
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        grind = [
            'valgrind',
            '--tool=callgrind',
            f'--callgrind-out-file={self.workdir / self.name}.%p.out',
        ]
        with open(self.workdir / f'{self.name}.stderr.log', 'wb') as stderr:
            self.process = subprocess.Popen(
                [*grind, *self.system.command(self.system.server, '--port', str(self.port))],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=self.system.cwd,
                # A given string hashing: with a random one, dicts probe differently from one process to the
                # next, and a batch's count moved by up to 0.8% (benchmarks/RESULTS.md).
                env={**self.system.env(), 'PYTHONHASHSEED': str(self.seed)},
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'{self.name} server exited; see {self.workdir / self.name}.stderr.log')
            try:
                asyncio.run(_send(self.port, payloads.body('ping'), 1, 1))
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f'{self.name} server did not answer within {STARTUP_TIMEOUT:g} s')

    def count(self, scenario: str, warmup: int, requests: int, connections: int) -> float:
        """Instructions per request for ``requests`` requests of ``scenario``."""
        assert self.process is not None
        body = payloads.body(scenario)
        asyncio.run(_send(self.port, body, warmup, connections))
        self._control('-z')
        replies = asyncio.run(_send(self.port, body, requests, connections))
        self._control(f'--dump={scenario}')
        for reply in replies:
            problem = payloads.check_reply(scenario, reply)
            if problem is not None:
                raise RuntimeError(f'{self.name} {scenario}: {problem}')
        dumps = sorted(self.workdir.glob(f'{self.name}.{self.process.pid}.out.*'), key=lambda p: p.stat().st_mtime)
        summary = next(line for line in dumps[-1].read_text().splitlines() if line.startswith('summary:'))
        return int(summary.split()[1]) / (requests // connections * connections)

    def _control(self, *args: str) -> None:
        assert self.process is not None
        subprocess.run(['callgrind_control', *args, str(self.process.pid)], check=True, capture_output=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


async def _send(port: int, body: bytes, requests: int, connections: int) -> list[bytes]:
    """``requests`` POSTs of ``body`` spread over ``connections`` keep-alive connections; the last reply of each."""
    head = (
        f'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n'
        f'Content-Length: {len(body)}\r\n\r\n'
    ).encode()

    async def one_connection(count: int) -> bytes:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        reply = b''
        try:
            for _ in range(count):
                writer.write(head + body)
                status, *headers = (await reader.readuntil(b'\r\n\r\n')).split(b'\r\n')
                if not status.startswith(b'HTTP/1.1 200'):
                    raise RuntimeError(f'unexpected reply: {status!r}')
                length = next(int(h.split(b':')[1]) for h in headers if h.lower().startswith(b'content-length:'))
                reply = await reader.readexactly(length)
        finally:
            writer.close()
        return reply

    return await asyncio.gather(*(one_connection(max(1, requests // connections)) for _ in range(connections)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--before', default='HEAD', help='the git revision to compare with (default: HEAD)')
    parser.add_argument('--scenarios', default=','.join(payloads.SCENARIOS), help='comma-separated')
    parser.add_argument('--requests', type=int, default=2000, help='requests counted per scenario (100-20000)')
    parser.add_argument('--warmup', type=int, default=400, help='requests sent first, not counted (0-5000)')
    parser.add_argument('--connections', type=int, default=8, help='keep-alive connections (1-64)')
    parser.add_argument('--seeds', type=int, default=1, help='runs of each server, one per PYTHONHASHSEED (1-9)')
    args = parser.parse_args()
    seeds = range(min(9, max(1, args.seeds)))
    requests = min(20_000, max(100, args.requests))
    warmup = min(5_000, max(0, args.warmup))
    connections = min(64, max(1, args.connections))
    scenarios = [scenario for scenario in args.scenarios.split(',') if scenario]
    unknown = set(scenarios) - set(payloads.SCENARIOS)
    if unknown:
        parser.error(f'unknown scenarios {sorted(unknown)}; known: {", ".join(payloads.SCENARIOS)}')
    if shutil.which('valgrind') is None or shutil.which('callgrind_control') is None:
        parser.error('valgrind is not installed (apt-get install valgrind)')

    workdir = Path(tempfile.mkdtemp(prefix='aiohttp-rpc-instructions-'))
    systems = make_systems(workdir, legacy=False, allow_install=False)
    tree = _checkout(args.before, workdir)
    ours = systems['ours']
    before = _Checkout('before', ours.python, 'ours', False, tree / 'benchmarks' / 'servers' / 'ours.py', tree, tree)
    # counts[scenario][system][i]: instructions per request under seed i
    counts: dict[str, dict[str, list[float]]] = {scenario: {name: [] for name in ORDER} for scenario in scenarios}
    try:
        for seed in seeds:
            for name, system in (('bare', systems['bare']), ('before', before), ('after', ours)):
                server = _GrindedServer(name, system, workdir, seed)
                log(f'{name}: starting under callgrind, PYTHONHASHSEED={seed}')
                try:
                    server.start()
                    for scenario in scenarios:
                        counts[scenario][name].append(server.count(scenario, warmup, requests, connections))
                        log(f'  {name} {scenario}: {counts[scenario][name][-1]:,.0f} instructions per request')
                finally:
                    server.stop()
    finally:
        subprocess.run(['git', 'worktree', 'remove', '--force', str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f'before = {args.before}; {requests} requests per scenario over {connections} connections; ', end='')
    print(f'median (min-max) over PYTHONHASHSEED {", ".join(map(str, seeds))}, ratios taken seed by seed')
    print(_table(counts))
    return 0


def _table(counts: dict[str, dict[str, list[float]]]) -> str:
    def spread(values: list[float], form: str) -> str:
        figures = summary(values)
        if len(values) == 1:
            return format(figures['median'], form)
        return f'{figures["median"]:{form}} ({figures["min"]:{form}}-{figures["max"]:{form}})'

    rows = [('scenario', 'system', 'instructions/request', 'bare/system', 'after/before')]
    for scenario, figures in counts.items():
        for name in ORDER:
            to_bare = [bare / mine for bare, mine in zip(figures['bare'], figures[name], strict=True)]
            change = [old / new for old, new in zip(figures['before'], figures['after'], strict=True)]
            rows.append(
                (
                    scenario,
                    name,
                    spread(figures[name], ',.0f'),
                    spread(to_bare, '.3f'),
                    spread(change, '.3f') if name == 'after' else '',
                )
            )
    return '\n'.join(grid(rows))


if __name__ == '__main__':
    exit_with(main)
