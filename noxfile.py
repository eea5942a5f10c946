"""The version matrix: the whole test suite on the oldest releases pyproject.toml admits, a middle one and the newest.

``make matrix`` runs the default sessions (what ``.ci/run`` runs after ``make test``); ``.venv/bin/nox -l``
lists them all, ``.venv/bin/nox -s NAME`` runs one. Each session builds a fresh venv with uv, installs the
package editable with its ``dev`` extra (which builds the C extension for that interpreter) and runs pytest.

- ``floors``: the oldest Python we support, and every runtime dependency and optional extra at the floor
  pyproject.toml declares, found by uv's lowest-direct resolution (their own dependencies, and the dev tools,
  at the newest releases that fit). The extras are read from pyproject.toml, so a new extra (say
  ``redis = ["redis>=5"]``) is tested at its floor by adding that one line there; a service it needs (a Redis
  server) is started by ``.ci/run``, as Chromium is installed there.
- ``aiohttp-3.12``: a middle aiohttp minor, the rest newest.
- ``newest``: everything newest, on each Python. ``make test`` is ``newest`` on the machine's Python 3.11 (with
  ruff, mypy and coverage), so the default sessions leave that one out.

Interpreters: nox looks for ``python3.X`` on PATH; the pyenv installs that pyenv's shims hide unless selected
are put first on PATH here. nox never downloads one. A session whose interpreter is missing is skipped and
listed as such in nox's summary; with ``CI`` set in the environment (as ``.ci/run`` runs), nox fails it instead.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - nox itself runs on 3.11+ here
    import tomli as tomllib

PYTHONS = ('3.10', '3.11', '3.12', '3.13')
OLDEST = PYTHONS[0]
MIDDLE_AIOHTTP = '3.12'
DEVELOPMENT_EXTRAS = frozenset({'dev'})

nox.options.default_venv_backend = 'uv'
nox.options.download_python = 'never'
nox.options.sessions = ['floors', f'aiohttp-{MIDDLE_AIOHTTP}', f'newest-{PYTHONS[-1]}']

ROOT = Path(__file__).parent


def _pyenv_versions_first_on_path() -> None:
    """Put each wanted Python that pyenv installed (its newest patch) first on PATH, ahead of pyenv's shims,
    which answer 'command not found' for a version that is installed but not selected."""
    versions = Path(os.environ.get('PYENV_ROOT', Path.home() / '.pyenv')) / 'versions'
    found = []
    for wanted in PYTHONS:
        candidates = [path for path in versions.glob(f'{wanted}.*/bin/python{wanted}') if path.is_file()]
        if candidates:
            newest = max(candidates, key=lambda path: [int(part) for part in re.findall(r'\d+', path.parts[-3])])
            found.append(str(newest.parent))
    if found:
        os.environ['PATH'] = os.pathsep.join([*found, os.environ.get('PATH', '')])


_pyenv_versions_first_on_path()


def _runtime_extras() -> list[str]:
    """The optional extras users install (every one but the development extra)."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    return sorted(set(project.get('optional-dependencies', {})) - DEVELOPMENT_EXTRAS)


def _uv() -> str:
    """The uv that came with nox (``nox[uv]``), else the one on PATH."""
    beside_nox = shutil.which('uv', path=str(Path(sys.executable).parent))
    return beside_nox or 'uv'


_SHOW_VERSIONS = """
import sys
from importlib.metadata import version
print('Python', sys.version.split()[0] + ':', ', '.join(f'{name} {version(name)}' for name in sys.argv[1:]))
"""


def _install_and_test(session: nox.Session, *requirements: str) -> None:
    # Bytecode compiled at install, as pip does and uv does not by default: the suite starts many interpreters
    # (test_layering imports each module in a fresh one), and with PYTHONDONTWRITEBYTECODE set, as here, each of
    # them would compile aiohttp and the rest from source again.
    session.install('--compile-bytecode', '-e', '.[dev]', *requirements)
    session.run('python', '-c', _SHOW_VERSIONS, *sorted(_direct_dependencies()), silent=False)
    session.run('python', '-m', 'pytest', '-p', 'no:cacheprovider', *session.posargs)


@nox.session(python=OLDEST)
def floors(session: nox.Session) -> None:
    """Python 3.10, the runtime dependencies and every extra at their declared floors."""
    # In the venv's folder: session.create_tmp() would point TMPDIR inside the project, where the tests' own
    # pytest runs (pytester) would find this project's pyproject.toml as their configuration.
    floors_file = Path(session.virtualenv.location) / 'floors.txt'
    extras = [argument for extra in _runtime_extras() for argument in ('--extra', extra)]
    session.run_install(
        _uv(),
        'pip',
        'compile',
        'pyproject.toml',
        *extras,
        '--resolution',
        'lowest-direct',
        '--python-version',
        OLDEST,
        '--quiet',
        '--output-file',
        str(floors_file),
        external=True,
    )
    session.log('Floors: ' + ', '.join(_pins(floors_file, _direct_dependencies())))
    _install_and_test(session, '--constraint', str(floors_file))


@nox.session(name=f'aiohttp-{MIDDLE_AIOHTTP}', python='3.12')
def aiohttp_middle(session: nox.Session) -> None:
    """A middle aiohttp minor (its newest patch), everything else newest."""
    _install_and_test(session, f'aiohttp=={MIDDLE_AIOHTTP}.*')


@nox.session(python=PYTHONS)
def newest(session: nox.Session) -> None:
    """Everything at its newest release."""
    _install_and_test(session)


def _direct_dependencies() -> set[str]:
    """Names of the runtime dependencies and of what the runtime extras add."""
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    optional = project.get('optional-dependencies', {})
    requirements = [*project['dependencies'], *(req for extra in _runtime_extras() for req in optional[extra])]
    return {_canonical(re.split(r'[\s\[<>=!~;]', requirement, maxsplit=1)[0]) for requirement in requirements}


def _pins(lock: Path, names: set[str]) -> list[str]:
    """The ``name==version`` lines of ``lock`` for ``names``."""
    pins = []
    for line in lock.read_text().splitlines():
        name, separator, version = line.partition('==')
        if separator and _canonical(name) in names:
            pins.append(f'{name}=={version.split()[0]}')
    return pins


def _canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()
