"""Run a benchmark script after checking which ``aiohttp_rpc`` this interpreter imports.

Two packages import as ``aiohttp_rpc``: ours (this repository, installed in editable mode in ``.venv``) and
aiohttp-rpc 2.0.0 from PyPI (in ``benchmarks/.venvs/aiohttp-rpc-2.0.0``). Every child process that imports
the package is started through this file, so a process can never measure the wrong one by accident:

    python launch.py --expect ours:2.1.0.dev0 SCRIPT [ARGS...]   # must be this repository's package
    python -I launch.py --expect 2.0.0 SCRIPT [ARGS...]          # must be the PyPI release, from outside
    python -I launch.py --expect 2.0.0 --describe                # print versions as JSON and exit

For ``2.0.0`` the distribution version must be exactly that, the package must not load from this repository
and no ``sys.path`` entry may point into it (run it with ``-I``, a working directory outside the repository
and ``PYTHONPATH`` unset). For ``ours:VERSION`` the package must load from this repository and its
``__version__`` must be VERSION. On success nothing is printed and SCRIPT runs as ``__main__`` in this same
process (so its PID is the one the runner measures); on failure the reason goes to stderr and the exit
status is 3. Only the standard library is imported before the check.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / 'benchmarks' / '.venvs'  # inside the repository's folder, but no part of its source
BAD_PACKAGE = 3


def _inside_repo(path: str) -> bool:
    """Whether ``path`` is in this repository's source tree (the benchmark venvs do not count)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError):
        return False
    return resolved.is_relative_to(REPO) and not resolved.is_relative_to(VENVS)


def check(expect: str) -> str | None:
    """``None`` when the importable ``aiohttp_rpc`` is the expected one, else what is wrong."""
    if expect != 'ours' and not expect.startswith('ours:'):
        leaks = [entry for entry in sys.path if entry and _inside_repo(entry)]
        if leaks:
            return f'sys.path reaches into the repository: {leaks}'
    try:
        package = importlib.import_module('aiohttp_rpc')
    except ImportError as exc:
        return f'cannot import aiohttp_rpc: {exc}'
    location = str(getattr(package, '__file__', '') or '')
    if expect.startswith('ours'):
        wanted = expect.partition(':')[2]
        found = getattr(package, '__version__', None)
        if not _inside_repo(location):
            return f"expected this repository's aiohttp_rpc, imported {location}"
        if wanted and found != wanted:
            return f'expected aiohttp_rpc {wanted}, imported {found} from {location}'
        return None
    try:
        found = importlib.metadata.version('aiohttp-rpc')
    except importlib.metadata.PackageNotFoundError:
        return 'the aiohttp-rpc distribution is not installed'
    if found != expect:
        return f'expected aiohttp-rpc {expect}, found {found}'
    if _inside_repo(location):
        return f'aiohttp_rpc was imported from the repository ({location}), not from the installed {expect}'
    return None


def describe() -> dict[str, str]:
    import aiohttp

    import aiohttp_rpc

    try:
        orjson_version = importlib.metadata.version('orjson')
    except importlib.metadata.PackageNotFoundError:
        orjson_version = 'not installed'
    try:
        dist_version = importlib.metadata.version('aiohttp-rpc')
    except importlib.metadata.PackageNotFoundError:
        dist_version = 'not installed'
    return {
        'aiohttp_rpc': getattr(aiohttp_rpc, '__version__', dist_version),
        'aiohttp_rpc_dist': dist_version,
        'aiohttp_rpc_file': str(aiohttp_rpc.__file__),
        'aiohttp': aiohttp.__version__,
        'orjson': orjson_version,
        'python': platform.python_version(),
        'executable': sys.executable,
    }


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != '--expect':
        print(
            f'usage: {Path(__file__).name} --expect ours[:VERSION]|VERSION SCRIPT [ARGS] | --describe', file=sys.stderr
        )
        return 2
    expect, rest = argv[1], argv[2:]
    problem = check(expect)
    if problem is not None:
        print(f'launch.py: wrong aiohttp_rpc: {problem}', file=sys.stderr)
        return BAD_PACKAGE
    if rest == ['--describe']:
        print(json.dumps(describe()))
        return 0
    script = str(Path(rest[0]).resolve())
    sys.argv = [script, *rest[1:]]
    runpy.run_path(script, run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
