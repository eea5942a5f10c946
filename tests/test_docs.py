"""Every code block of the guide (README.md and docs/*.md) runs as pasted, and prints what the page shows.

Our own extractor rather than Sybil or pytest-examples: the blocks are whole programs, servers, and shell sessions
that talk to those servers, run in order in a directory of their own, as a reader goes down a page. Sybil runs
blocks in one namespace in the test process, pytest-examples runs each block alone against its ``print``
comments; neither starts a server for the blocks after it, and this module is short enough to read.

One test per runnable block, named ``page:line`` (of its opening fence). The conventions, all visible in the
Markdown source:

- A ``python`` block is a program. It runs with this interpreter in the page's working directory (a fresh
  temporary directory per page, holding the files the page writes and a link to the repository's
  ``examples/``), and must exit 0, write nothing to stderr (a traceback or a warning fails it) and print nothing:
  output a page shows is compared, so a block that prints is a file run from a console block.
- A block whose first line is a comment naming a file (``# client.py``, ``# pytest.ini``) is that file: written to
  the working directory, and used by a later block of the page, which names it (``$ python client.py``,
  ``aiohttp-rpc serve calc:rpc_server``, ``import calc_api``); ``conftest.py``, ``pytest.ini`` and ``test_*.py``
  are used by a later ``$ pytest``.
- A ``python`` block that calls ``web.run_app(`` is a server: it starts in the background (as ``python FILE``
  when it names one), and the blocks after it talk to it.
- A ``console`` block is a shell session. Each ``$ command`` runs with bash in the working directory (a line
  ending in a backslash goes on), and the lines after it are what it prints, stdout and stderr together as a
  terminal shows them. A command must exit 0 unless the next one is ``echo $?``, which prints its status.
  Nothing may print a traceback.
- ``<!-- docs: server -->`` on the line before a ``console`` block: its one command starts a server in the
  background; the lines shown are the first ones it prints.
- ``<!-- docs: not-run REASON -->`` on the line before a ``sh`` block: an installation or set-up command, not
  run. ``NOT_RUN`` lists every such block, so that a new one is a decision. Every other ``sh``/``bash`` block
  fails: runnable shell examples are ``console`` blocks.
- ``text`` blocks (diagrams, message flows, file trees) are not code; a block without a language fails.
- Ports: the documented ports 8080 and 8081 become free loopback ports, in code, commands and shown output alike
  (a fresh one each time a server starts there); 6379 becomes the port of a ``redis-server`` started for the
  page (``tests/redis_server.py``) when a block names it. A block naming 8080 or 8081 where no server of the
  page listens fails. Nothing else in a block is changed.
- A server runs until another server of the page takes its port, or the page ends: then it gets SIGTERM and must
  exit 0, with nothing on stderr (a ``python`` server) or no traceback in its output (a ``console`` one); if
  not, the block that stopped it fails.
- Output is compared line by line (trailing spaces ignored) after ``NORMALIZE``, which blanks timings and
  nothing else; the working directory, the reader's own, is shown as ``/path/to``. Commands run as in an
  80-column terminal (``COLUMNS=80``), where pytest lays its lines out.

Every wait is bounded: a command gets ``COMMAND_TIMEOUT`` seconds, a server ``START_TIMEOUT`` to accept
connections (polled by connecting) and print what the page shows, ``STOP_TIMEOUT`` to exit.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from tests.redis_server import RedisServer, start_redis

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
BIN = Path(sys.executable).parent

COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
POLL_INTERVAL = 0.05

DOCUMENTED_PORTS = ('8080', '8081')
REDIS_PORT = '6379'
PORT_PATTERN = re.compile(r'(?<!\d)(8080|8081|6379)(?!\d)')

SHELL = frozenset({'sh', 'bash', 'shell'})
NOT_CODE = frozenset({'text'})
FILE_LANGUAGES = frozenset({'python', 'ini', 'toml'})

# The blocks that are not run, by page and first command (its comment left out): installation and set-up only.
NOT_RUN = {
    ('README.md', "git clone <this repository's URL> aiohttp_rpc"),
    ('README.md', 'make demo'),
    ('docs/index.md', "git clone <this repository's URL> aiohttp_rpc"),
    ('docs/development.md', 'make demo'),
    ('docs/development.md', 'make docs'),
}

# What changes from run to run, blanked in the output shown and in the output got alike.
NORMALIZE = [
    (re.compile(r'\b\d+\.\d+ ms\b'), '<time> ms'),  # the call log's "-> ok in 0.172 ms", a middleware's timing
    (re.compile(r'\bin \d+\.\d+s\b'), 'in <time>s'),  # pytest's "4 passed in 0.31s"
]

WORKDIR_SHOWN = '/path/to'

FENCE = re.compile(r'^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$', re.M | re.S)
MARKER = re.compile(r'<!-- docs: (?P<what>[\w-]+)(?: (?P<detail>[^>]*?))? -->\s*$')
FILE_COMMENT = re.compile(r'^(?:#|;) (?P<name>[\w./-]+\.(?:py|ini|toml))$')


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository, as in test ids
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: str | None
    detail: str | None

    @property
    def file_name(self) -> str | None:
        first = self.text.split('\n', 1)[0]
        found = FILE_COMMENT.match(first)
        return found['name'] if found and self.lang in FILE_LANGUAGES else None

    @property
    def is_python_server(self) -> bool:
        return self.lang == 'python' and 'web.run_app(' in self.text

    @property
    def id(self) -> str:
        return f'{self.page}:{self.line}'


def read_blocks(source: str, name: str) -> list[Block]:
    """The fenced blocks of a page's Markdown ``source``, with the marker on the line before each."""
    blocks = []
    for fence in FENCE.finditer(source):
        line = source.count('\n', 0, fence.start()) + 1
        before = source[: fence.start()].rstrip('\n').rsplit('\n', 1)[-1]
        marker = MARKER.search(before)
        indent = len(fence['indent'])
        body = '\n'.join(text[indent:] for text in fence['body'].split('\n'))
        blocks.append(
            Block(
                page=name,
                line=line,
                lang=fence['lang'],
                text=body,
                marker=marker['what'] if marker else None,
                detail=marker['detail'] if marker else None,
            )
        )
    return blocks


BLOCKS = {
    page.relative_to(ROOT).as_posix(): read_blocks(page.read_text(), page.relative_to(ROOT).as_posix())
    for page in PAGES
}
ALL_BLOCKS = [block for blocks in BLOCKS.values() for block in blocks]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def normalize(text: str) -> list[str]:
    for pattern, replacement in NORMALIZE:
        text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.split('\n')]
    while lines and not lines[-1]:
        lines.pop()
    return lines


class Output:
    """The lines a background process prints, read by a thread so that its pipe never fills."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self.lines: list[str] = []
        self.done = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in iter(stream.readline, ''):
                with self._changed:
                    self.lines.append(line.rstrip('\n'))
                    self._changed.notify_all()
        with self._changed:
            self.done = True
            self._changed.notify_all()

    def wait_lines(self, count: int, timeout: float) -> list[str]:
        with self._changed:
            self._changed.wait_for(lambda: self.done or len(self.lines) >= count, timeout)
            return self.lines[:count]

    def text(self) -> str:
        self._thread.join(STOP_TIMEOUT)
        return '\n'.join(self.lines)


@dataclass
class Server:
    block: Block
    process: subprocess.Popen[str]
    stdout: Output
    stderr: Output | None  # None: merged into stdout (a console server)

    def stop(self) -> str | None:
        """SIGTERM, then what went wrong, if anything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the server and whatever it started
            self.process.wait()
            return f'the server of {self.block.id} did not stop within {STOP_TIMEOUT} s of SIGTERM'
        printed = self.stdout.text()
        errors = self.stderr.text() if self.stderr is not None else printed
        if code != 0:
            return f'the server of {self.block.id} exited with {code}:\n{printed}\n{errors}'
        if self.stderr is not None and errors:
            return f'the server of {self.block.id} wrote to stderr:\n{errors}'
        if 'Traceback' in printed:
            return f'the server of {self.block.id} printed a traceback:\n{printed}'
        return None


@dataclass
class PageRun:
    """One page read top to bottom: its working directory, its servers, the blocks run so far."""

    blocks: list[Block]
    command_timeout: float = COMMAND_TIMEOUT
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix='aiohttp-rpc-docs-')))
    ports: dict[str, str] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)
    redis: RedisServer | None = None
    done: int = 0
    results: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.workdir / 'examples').symlink_to(ROOT / 'examples')

    # -- running ---------------------------------------------------------------------------------------------

    def run_through(self, index: int) -> str | None:
        """Run the blocks up to ``index`` not yet run; what went wrong with block ``index``, if anything."""
        while self.done <= index:
            block = self.blocks[self.done]
            try:
                self.results.append(self.run(block))
            except BlockFailed as failure:
                self.results.append(str(failure))
            self.done += 1
        return self.results[index]

    def run(self, block: Block) -> str | None:
        if block.marker == 'not-run' or block.lang in NOT_CODE:
            return None
        if block.is_python_server or block.marker == 'server':
            return self.start(block)
        text = self.substitute(block)
        if block.file_name is not None:
            self.write_file(block, text)
            return None
        if block.lang == 'python':
            self.run_python(block, self.script(block, text))
            return None
        if block.lang == 'console':
            return self.run_console(block, text)
        raise BlockFailed(f'{block.id}: nothing to do with a {block.lang!r} block')

    def substitute(self, block: Block, *, server: bool = False) -> str:
        def port_for(found: re.Match[str]) -> str:
            documented = found[1]
            if documented == REDIS_PORT:
                if self.redis is None:
                    self.redis = start_redis()
                return str(self.redis.port)
            if not server and documented not in self.servers:
                raise BlockFailed(f'{block.id} names port {documented}, where no server of the page listens')
            return self.ports[documented]

        return PORT_PATTERN.sub(port_for, block.text)

    def write_file(self, block: Block, text: str, *, runs_now: bool = False) -> None:
        name = block.file_name
        assert name is not None
        later = self.blocks[self.blocks.index(block) + 1 :]
        stem = re.compile(rf'\b{re.escape(name.rsplit(".", 1)[0])}\b')  # python calc.py, serve calc:..., import calc
        used = any(stem.search(other.text) for other in later) or (
            re.fullmatch(r'conftest\.py|pytest\.ini|test_\w+\.py', name) is not None
            and any(other.text.startswith('$ pytest') for other in later)
        )
        if not (used or runs_now):
            raise BlockFailed(f'{block.id}: no later block of the page uses {name}')
        (self.workdir / name).write_text(text)

    def script(self, block: Block, text: str) -> str:
        name = f'block_{block.line}.py'
        (self.workdir / name).write_text(text)
        return name

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env['PATH'] = os.pathsep.join([str(BIN), env.get('PATH', '')])
        env['PYTHONUNBUFFERED'] = '1'  # a background server's banner arrives when printed
        env['COLUMNS'] = '80'  # the width pytest and argparse lay their output out for
        for name in ('PYTEST_ADDOPTS', 'PYTEST_CURRENT_TEST', 'COVERAGE_PROCESS_START', 'NO_COLOR'):
            env.pop(name, None)
        return env

    def spawn(self, argv: list[str], *, merged: bool) -> subprocess.Popen[str]:
        """Start ``argv`` in the page's directory, in a session of its own (so that ending it ends what it started,
        and Ctrl-C in the terminal running pytest is not its)."""
        return subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run_to_end(self, block: Block, argv: list[str], *, merged: bool) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in its own session, so that a timeout ends it and whatever it started."""
        with self.spawn(argv, merged=merged) as process:
            try:
                stdout, stderr = process.communicate(timeout=self.command_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise BlockFailed(f'{block.id}: `{argv[-1]}` did not end within {self.command_timeout} s') from None
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr or '')

    def run_python(self, block: Block, script: str) -> None:
        completed = self.run_to_end(block, [sys.executable, script], merged=False)
        if completed.returncode != 0 or completed.stderr:
            raise BlockFailed(
                f'{block.id} exited with {completed.returncode}\nstdout:\n{completed.stdout}\n'
                f'stderr:\n{completed.stderr}'
            )
        if completed.stdout:  # what a program prints is shown on the page, where it is compared
            raise BlockFailed(
                f'{block.id} printed what the page does not show: make it a file (`# name.py`) and show '
                f'`$ python name.py` with its output in a console block\n{completed.stdout}'
            )

    def run_console(self, block: Block, text: str) -> str | None:
        session = parse_console(block, text)
        status = 0
        for position, (command, shown) in enumerate(session):
            completed = self.run_to_end(block, ['bash', '-c', f'(exit {status}); {command}'], merged=True)
            status = completed.returncode
            next_command = session[position + 1][0] if position + 1 < len(session) else ''
            if status != 0 and next_command != 'echo $?':
                raise BlockFailed(f'{block.id}: `{command}` exited with {status}:\n{completed.stdout}')
            if 'Traceback' in completed.stdout:
                raise BlockFailed(f'{block.id}: `{command}` printed a traceback:\n{completed.stdout}')
            problem = compare(block, command, shown, self.shown_paths(completed.stdout).split('\n'))
            if problem is not None:
                return problem
        return None

    def shown_paths(self, output: str) -> str:
        """The working directory, which is the reader's own, as the pages show it: /path/to."""
        for path in {str(self.workdir), os.path.realpath(self.workdir)}:
            output = output.replace(path, WORKDIR_SHOWN)
        return output

    # -- servers ---------------------------------------------------------------------------------------------

    def server_port(self, block: Block) -> str:
        documented = sorted({found[1] for found in PORT_PATTERN.finditer(block.text) if found[1] in DOCUMENTED_PORTS})
        if len(documented) != 1:
            raise BlockFailed(f'{block.id}: a server names one of the ports {DOCUMENTED_PORTS}, not {documented}')
        return documented[0]

    def start(self, block: Block) -> str | None:
        """Start a server block; wait until it listens and has printed what the page shows."""
        documented = self.server_port(block)
        problem = None
        if documented in self.servers:  # the reader stops the old server before starting the new one
            problem = self.servers.pop(documented).stop()
        self.ports[documented] = str(free_port())
        text = self.substitute(block, server=True)
        shown: list[str] = []
        if block.lang == 'console':
            session = parse_console(block, text)
            if len(session) != 1:
                raise BlockFailed(f'{block.id}: a server block holds one command, not {len(session)}')
            command, shown = session[0]
            argv = ['bash', '-c', command]
        elif block.file_name is not None:
            self.write_file(block, text, runs_now=True)
            argv = [sys.executable, block.file_name]
        else:
            argv = [sys.executable, self.script(block, text)]
        merged = block.lang == 'console'
        process = self.spawn(argv, merged=merged)
        server = Server(block, process, Output(process.stdout), None if merged else Output(process.stderr))
        self.servers[documented] = server
        port = int(self.ports[documented])
        deadline = time.monotonic() + START_TIMEOUT
        while not accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                self.servers.pop(documented)
                raise BlockFailed(server.stop() or f'the server of {block.id} did not listen on its port in time')
            time.sleep(POLL_INTERVAL)
        if shown:
            got = server.stdout.wait_lines(len(shown), START_TIMEOUT)
            problem = problem or compare(block, argv[-1], shown, got)
        return problem

    def close(self) -> list[str]:
        problems = [problem for server in self.servers.values() if (problem := server.stop()) is not None]
        self.servers.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


class BlockFailed(Exception):
    """A block did not do what its page says."""


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1):
            return True
    except OSError:
        return False


def parse_console(block: Block, text: str) -> list[tuple[str, list[str]]]:
    """A console block as (command, the lines it prints) pairs; a command may go on with a trailing ``\\``."""
    session: list[tuple[str, list[str]]] = []
    lines = text.rstrip('\n').split('\n')
    position = 0
    while position < len(lines):
        line = lines[position]
        if not line.startswith('$ '):
            raise BlockFailed(f'{block.id}: output before any `$ ` command: {line!r}')
        command = line[2:]
        while command.endswith('\\') and position + 1 < len(lines):
            position += 1
            command = command[:-1] + '\n' + lines[position]
        shown = []
        while position + 1 < len(lines) and not lines[position + 1].startswith('$ '):
            position += 1
            shown.append(lines[position])
        session.append((command, shown))
        position += 1
    return session


def compare(block: Block, command: str, shown: list[str], got: list[str]) -> str | None:
    """None if ``command`` printed what the page shows, else a diff from the page's lines to what it printed."""
    expected, actual = normalize('\n'.join(shown)), normalize('\n'.join(got))
    if expected == actual:
        return None
    diff = difflib.unified_diff(expected, actual, 'the page shows', 'the command printed', lineterm='')
    return f'{block.id}: `{command}` printed something else\n' + '\n'.join(diff)


# -- the tests -------------------------------------------------------------------------------------------------

RUNS: dict[str, PageRun] = {}


@pytest.fixture(scope='module', autouse=True)
def _close_every_page() -> Iterator[None]:
    yield
    problems = [problem for run in RUNS.values() for problem in run.close()]
    RUNS.clear()
    assert not problems, '\n'.join(problems)


RUNNABLE = [block for block in ALL_BLOCKS if block.lang not in NOT_CODE and block.marker != 'not-run']


@pytest.mark.parametrize('block', RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_block(block: Block) -> None:
    blocks = BLOCKS[block.page]
    if block.page not in RUNS:
        RUNS[block.page] = PageRun(blocks)
    run = RUNS[block.page]
    index = blocks.index(block)
    problem = run.run_through(index)
    if index == len(blocks) - 1:
        problems = run.close()
        del RUNS[block.page]
        problem = '\n'.join(filter(None, [problem, *problems])) or None
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def test_every_block_has_a_language() -> None:
    unlabelled = [block.id for block in ALL_BLOCKS if not block.lang]
    assert unlabelled == [], 'give each block a language (text for diagrams and message flows)'


def test_shell_blocks_run_unless_listed() -> None:
    not_run = {
        (block.page, block.text.split('\n', 1)[0].split(' #', 1)[0].strip())
        for block in ALL_BLOCKS
        if block.marker == 'not-run'
    }
    assert not_run == NOT_RUN
    unmarked = [block.id for block in ALL_BLOCKS if block.lang in SHELL and block.marker != 'not-run']
    assert unmarked == [], 'write runnable shell examples as console blocks with `$ ` prompts'
    reasons = [block.id for block in ALL_BLOCKS if block.marker == 'not-run' and not block.detail]
    assert reasons == [], 'say why a block is not run'


def test_known_languages_and_markers() -> None:
    known = {'python', 'console', 'text', 'ini', 'toml', *SHELL}
    assert sorted({block.lang for block in ALL_BLOCKS} - known) == []
    assert sorted({block.marker for block in ALL_BLOCKS if block.marker} - {'server', 'not-run'}) == []
    misplaced = [
        block.id
        for block in ALL_BLOCKS
        if (block.marker == 'server' and block.lang != 'console')
        or (block.marker == 'not-run' and block.lang not in SHELL)
    ]
    assert misplaced == [], 'server marks console blocks, not-run marks sh blocks'


@pytest.mark.parametrize('page', PAGES, ids=[page.relative_to(ROOT).as_posix() for page in PAGES])
def test_every_marker_is_on_a_block(page: Path) -> None:
    """A marker that is not on the line before a fence (a typo, a blank line between) would be ignored."""
    markers = re.findall(r'^<!-- docs: .*-->[ \t]*$', page.read_text(), flags=re.M)
    attached = [block for block in BLOCKS[page.relative_to(ROOT).as_posix()] if block.marker]
    assert len(markers) == len(attached), markers


# -- the runner itself: a page that lies fails -------------------------------------------------------------------

BROKEN_PAGES = {
    'a program that raises': ('```python\nraise SystemExit(3)\n```\n', 'exited with 3'),
    'a program that warns': (
        '```python\nimport warnings\nwarnings.warn("careful")\n```\n',
        'UserWarning: careful',
    ),
    'output the page does not show': ('```python\nprint(42)\n```\n', 'printed what the page does not show'),
    'output that differs': ('```console\n$ echo 41\n42\n```\n', '-42\n+41'),
    'a failing command': ('```console\n$ false\n```\n', '`false` exited with 1'),
    'a traceback in a command': (
        '```console\n$ python -c "raise KeyError(1)"\n$ echo $?\n1\n```\n',
        'printed a traceback',
    ),
    'a port nobody serves': ('```console\n$ curl -s 127.0.0.1:8080\n```\n', 'no server of the page listens'),
    'a file nobody uses': ('```python\n# orphan.py\nx = 1\n```\n', 'no later block of the page uses orphan.py'),
    'a server with a traceback': (
        '```python\n'
        'import logging\n'
        'from aiohttp import web\n'
        'try:\n'
        '    1 / 0\n'
        'except ZeroDivisionError:\n'
        "    logging.exception('oops')\n"
        "web.run_app(web.Application(), host='127.0.0.1', port=8080, print=None)\n"
        '```\n',
        'wrote to stderr',
    ),
}


@pytest.mark.parametrize(('source', 'problem'), BROKEN_PAGES.values(), ids=BROKEN_PAGES)
def test_a_page_that_lies_fails(source: str, problem: str) -> None:
    run = PageRun(read_blocks(source, 'broken.md'))
    problems: list[str | None] = []
    try:
        problems.append(run.run_through(len(run.blocks) - 1))
    finally:
        problems.extend(run.close())
    said = '\n'.join(filter(None, problems))
    assert problem in said, said


def test_a_command_that_hangs_is_ended() -> None:
    run = PageRun(read_blocks('```console\n$ sleep 600 | cat\n```\n', 'broken.md'), command_timeout=0.5)
    try:
        said = run.run_through(0)
    finally:
        run.close()
    assert said is not None
    assert 'did not end within 0.5 s' in said
