"""Before and after a change, in one run: ours at a git revision against ours in the working tree, over HTTP.

Two machines' worth of noise separate two runs of ``run.py``; the ratio of two servers measured seconds apart
is what a change should be judged by. This script checks the revision out into a temporary git worktree, builds
its C extension there (when this tree has one built), and serves three systems side by side: the bare aiohttp
handler, ``before`` (the revision) and ``after`` (the working tree), each on the server core, wrk on the other.
For every repeat and scenario the three are loaded in turn, the order rotating over the repeats; the table gives
requests/s (median, min-max) and each one's ratio to bare in the same repeat.

``--shared-core`` loads the three at the same time instead, each by its own wrk: the three servers share the server
core, and the kernel gives each the same share of it while all three are busy, so each one's requests/s is that
share divided by what a request costs it. Whatever slows the machine down slows all three in the same second,
and the ratios stop moving with it: before and after both at the same commit gave ``after/before`` from 0.97 to
1.02 over 4 rounds this way, and from 0.72 to 1.10 over 12 rounds in turn (benchmarks/RESULTS.md). The rates are
about a third of those measured in turn; the ratios are what to read.

Usage: python benchmarks/ab.py [--before REV] [--quick] [--duration S] [--repeats N] [--scenarios ping,echo]
                               [--shared-core]

``--before`` defaults to ``HEAD`` (the last commit, against uncommitted changes). The worktree is removed at
the end. Needs git, wrk (installed as ``run.py`` does) and, to build the revision's extension, a C compiler.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import payloads
from suite.context import Bench, exit_with, log
from suite.http_servers import LoadGenerator, find_wrk
from suite.processes import Server, choose_cores
from suite.report import grid
from suite.stats import rotated, summary
from suite.systems import ROOT, System, make_systems

__all__ = ('main',)

ORDER = ('bare', 'before', 'after')


@dataclasses.dataclass(frozen=True)
class _Checkout(System):
    """``ours`` as a worktree has it: its own launch.py and server, its package first on ``sys.path``."""

    tree: Path = ROOT

    def command(self, script: Path, *args: str) -> list[str]:
        return [self.python, str(self.tree / 'benchmarks' / 'launch.py'), '--expect', 'ours', str(script), *args]

    def env(self) -> dict[str, str]:
        return {**super().env(), 'PYTHONPATH': str(self.tree)}


def _checkout(revision: str, workdir: Path) -> Path:
    tree = workdir / 'before'
    subprocess.run(['git', 'worktree', 'add', '--detach', '--quiet', str(tree), revision], cwd=ROOT, check=True)
    built = sorted((ROOT / 'aiohttp_rpc').glob('_speedups*.so'))
    if built:
        include = sysconfig.get_paths()['include']
        target = tree / 'aiohttp_rpc' / built[0].name
        source = tree / 'aiohttp_rpc' / '_speedups.c'
        command = ['cc', '-O2', '-shared', '-fPIC', f'-I{include}', str(source), '-o', str(target)]
        subprocess.run(command, check=True)
    else:
        log('no C extension in this tree: both sides run pure Python')
    return tree


def _table(runs: dict[str, list[dict[str, float]]]) -> str:
    rows = [('scenario', 'system', 'req/s', 'system/bare', 'after/before')]
    for scenario, repeats in runs.items():
        for key in ORDER:
            rate = summary([figures[key] for figures in repeats])
            ratio = summary([figures[key] / figures['bare'] for figures in repeats])
            change = summary([figures['after'] / figures['before'] for figures in repeats]) if key == 'after' else None
            rows.append(
                (
                    scenario,
                    key,
                    f'{rate["median"]:,.0f} ({rate["min"]:,.0f}-{rate["max"]:,.0f})',
                    f'{ratio["median"]:.2f} ({ratio["min"]:.2f}-{ratio["max"]:.2f})',
                    '' if change is None else f'{change["median"]:.2f} ({change["min"]:.2f}-{change["max"]:.2f})',
                )
            )
    return '\n'.join(grid(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--before', default='HEAD', help='the git revision to compare with (default: HEAD)')
    parser.add_argument('--quick', action='store_true', help='2 repeats of 3 s (default: 5 repeats of 5 s)')
    parser.add_argument('--duration', type=float, help='seconds per load run (bounded to 1-60)')
    parser.add_argument('--repeats', type=int, help='repeats (bounded to 1-20)')
    parser.add_argument('--connections', type=int, default=50)
    parser.add_argument('--scenarios', default=','.join(payloads.SCENARIOS), help='comma-separated')
    parser.add_argument('--output', type=Path, help='also save the runs as JSON here')
    parser.add_argument('--no-install', action='store_true', help='never apt-get wrk')
    parser.add_argument(
        '--shared-core', action='store_true', help='load the three at the same time, sharing the server core'
    )
    args = parser.parse_args()
    duration = min(60.0, max(1.0, args.duration or (3.0 if args.quick else 5.0)))
    repeats = min(20, max(1, args.repeats or (2 if args.quick else 5)))
    scenarios = [scenario for scenario in args.scenarios.split(',') if scenario]
    unknown = set(scenarios) - set(payloads.SCENARIOS)
    if unknown:
        parser.error(f'unknown scenarios {sorted(unknown)}; known: {", ".join(payloads.SCENARIOS)}')

    server_cores, load_cores = choose_cores()
    workdir = Path(tempfile.mkdtemp(prefix='aiohttp-rpc-ab-'))
    systems = make_systems(workdir, legacy=False, allow_install=False)
    tree = _checkout(args.before, workdir)
    ours = systems['ours']
    before = _Checkout('before', ours.python, 'ours', False, tree / 'benchmarks' / 'servers' / 'ours.py', tree, tree)
    bench = Bench(args.quick, repeats, duration, args.connections, server_cores, load_cores, workdir, systems)
    loadgen = LoadGenerator(find_wrk('auto', allow_install=not args.no_install), args.connections, load_cores, bench)
    servers = {
        'bare': Server(systems['bare'], server_cores, workdir),
        'before': Server(before, server_cores, workdir, name='before'),
        'after': Server(ours, server_cores, workdir, name='after'),
    }
    try:
        for server in servers.values():
            server.start()
            server.sanity_check(bench)
        mode = 'at the same time, sharing a core' if args.shared_core else 'in turn'
        log(f'{loadgen.name}, {args.connections} connections, {repeats} x {duration:g} s, {mode}')
        log(f'before = {args.before}')
        for scenario in scenarios:  # warm-up
            for server in servers.values():
                loadgen.rate(server.url, scenario, 1.0)
        runs: dict[str, list[dict[str, float]]] = {scenario: [] for scenario in scenarios}
        for repeat in range(repeats):
            for scenario in scenarios:
                if args.shared_core:
                    figures = loadgen.rates_together(
                        {key: server.url for key, server in servers.items()}, scenario, duration
                    )
                else:
                    figures = {
                        key: loadgen.rate(servers[key].url, scenario, duration) for key in rotated(ORDER, repeat)
                    }
                runs[scenario].append(figures)
                log(f'  repeat {repeat + 1} {scenario}: ' + '  '.join(f'{k} {v:,.0f}' for k, v in figures.items()))
    finally:
        for server in servers.values():
            server.stop()
        subprocess.run(['git', 'worktree', 'remove', '--force', str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    print(_table(runs))
    if args.output:
        record = {
            'before': args.before,
            'duration': duration,
            'repeats': repeats,
            'shared_core': args.shared_core,
            'runs': runs,
        }
        args.output.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == '__main__':
    exit_with(main)
