"""The systems compared, and how their processes are started.

- ``bare``: plain aiohttp and orjson, in our ``.venv``; imports no ``aiohttp_rpc``.
- ``ours``: this repository's ``aiohttp_rpc``, in our ``.venv``.
- ``2.0.0``: aiohttp-rpc 2.0.0 from PyPI, in ``benchmarks/.venvs/aiohttp-rpc-2.0.0`` (made on demand with
  ``python -m venv`` and ``pip install aiohttp-rpc==2.0.0 orjson``). Both packages import as
  ``aiohttp_rpc``, so its processes run with that venv's python, ``-I`` (no script folder, no user site, no
  ``PYTHON*`` variables on ``sys.path``), ``PYTHONPATH`` removed from the environment and the working
  directory outside the repository, each script passed by absolute path.

Every process that imports ``aiohttp_rpc`` starts through benchmarks/launch.py, which checks the version and
the location of the package it gets before running the script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import BenchError, log

__all__ = ('HERE', 'LAUNCH', 'LEGACY_VENV', 'LEGACY_VERSION', 'ROOT', 'SYSTEM_KEYS', 'System', 'make_systems')

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parent
LAUNCH = HERE / 'launch.py'
LEGACY_VERSION = '2.0.0'
LEGACY_VENV = HERE / '.venvs' / f'aiohttp-rpc-{LEGACY_VERSION}'
SYSTEM_KEYS = ('bare', 'ours', LEGACY_VERSION)
INSTALL_TIMEOUT = 900


@dataclass(frozen=True)
class System:
    """How to start a process of one system.

    Attributes:
        key: ``'bare'``, ``'ours'`` or ``'2.0.0'`` (the table's column).
        python: the interpreter.
        expect: what launch.py must find (``None``: no launcher, the script does not import aiohttp_rpc).
        isolated: run with ``-I``, outside the repository, without ``PYTHONPATH``.
        server: the server script (HTTP and WebSocket on ``/rpc``).
        cwd: the working directory of its processes.
    """

    key: str
    python: str
    expect: str | None
    isolated: bool
    server: Path
    cwd: Path

    def _interpreter(self) -> list[str]:
        if self.expect is None:
            return [self.python]
        flags = ['-I'] if self.isolated else []
        return [self.python, *flags, str(LAUNCH), '--expect', self.expect]

    def command(self, script: Path, *args: str) -> list[str]:
        """The command line running ``script`` (an absolute path) with ``args`` in this system."""
        return [*self._interpreter(), str(script), *args]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.isolated:
            for name in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'VIRTUAL_ENV'):
                env.pop(name, None)
        return env

    def describe(self) -> dict[str, Any]:
        """Versions as this system's processes see them (runs launch.py --describe)."""
        if self.expect is None:
            raise ValueError('the bare system imports no aiohttp_rpc')
        command = [*self._interpreter(), '--describe']
        done = subprocess.run(command, capture_output=True, timeout=120, check=False, cwd=self.cwd, env=self.env())
        if done.returncode != 0:
            raise BenchError(f'{self.key}: {done.stderr.decode(errors="replace").strip()[-1500:]}')
        described: dict[str, Any] = json.loads(done.stdout)
        return described


def _legacy_system(workdir: Path) -> System:
    return System(
        key=LEGACY_VERSION,
        python=str(LEGACY_VENV / 'bin' / 'python'),
        expect=LEGACY_VERSION,
        isolated=True,
        server=HERE / 'servers' / 'pypi_2_0_0.py',
        cwd=workdir,
    )


def _run_install(command: list[str]) -> None:
    log('  $ ' + ' '.join(command))
    try:
        done = subprocess.run(command, capture_output=True, timeout=INSTALL_TIMEOUT, check=False, cwd=HERE)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f'{command[0]} did not finish in {INSTALL_TIMEOUT} s') from exc
    if done.returncode != 0:
        raise BenchError(f'{" ".join(command)} failed:\n{done.stderr.decode(errors="replace")[-2000:]}')


def _ensure_legacy(workdir: Path, allow_install: bool) -> System:
    """The 2.0.0 system, creating its venv first if it is missing or incomplete (unless not allowed)."""
    system = _legacy_system(workdir)
    python = Path(system.python)
    try:
        if python.exists():
            system.describe()
            return system
    except BenchError:
        pass
    if not allow_install:
        raise BenchError(f'{LEGACY_VENV} is missing or incomplete and --no-install forbids making it')
    log(f'making the aiohttp-rpc {LEGACY_VERSION} venv in {LEGACY_VENV} ...')
    if not python.exists():
        _run_install([sys.executable, '-m', 'venv', str(LEGACY_VENV)])
    _run_install([str(python), '-m', 'pip', 'install', '--quiet', f'aiohttp-rpc=={LEGACY_VERSION}', 'orjson'])
    system.describe()  # raises if it is still not the expected package
    return system


def make_systems(workdir: Path, *, legacy: bool, allow_install: bool) -> dict[str, System]:
    """``bare``, ``ours`` and (unless ``legacy`` is false) ``2.0.0``, each checked to import what it should.

    Raises:
        BenchError: a system's ``aiohttp_rpc`` is not the expected one, or the 2.0.0 venv cannot be made.
    """
    import aiohttp_rpc

    systems = {
        'bare': System('bare', sys.executable, None, False, HERE / 'servers' / 'bare.py', ROOT),
        'ours': System(
            'ours', sys.executable, f'ours:{aiohttp_rpc.__version__}', False, HERE / 'servers' / 'ours.py', ROOT
        ),
    }
    systems['ours'].describe()
    if legacy:
        systems[LEGACY_VERSION] = _ensure_legacy(workdir, allow_install)
    return systems
