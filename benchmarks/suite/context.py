"""The state one benchmark run shares between its parts, and how it talks to the user."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .processes import Server
    from .systems import System

__all__ = ('Bench', 'BenchError', 'exit_with', 'log', 'warn')


class BenchError(Exception):
    """The benchmark cannot go on, or a result cannot be trusted."""


def exit_with(main: Callable[[], int]) -> NoReturn:
    """Exit with what ``main()`` returns; a :class:`BenchError` is printed as one line and exits 1."""
    try:
        raise SystemExit(main())
    except BenchError as exc:
        print(f'error: {exc}', file=sys.stderr)
        raise SystemExit(1) from None


def log(message: str) -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(f'*** WARNING: {message}', file=sys.stderr, flush=True)


@dataclass
class Bench:
    """One run: its options, where things run, the systems compared and the servers started for them.

    ``servers`` holds the long-lived servers (one per system, serving HTTP and WebSocket on ``/rpc``),
    started on first use by :func:`suite.processes.shared_server` and stopped at the end of the run.
    """

    quick: bool
    repeats: int
    duration: float
    connections: int
    server_cores: set[int] | None
    load_cores: set[int] | None
    workdir: Path
    systems: dict[str, System]
    servers: dict[str, Server] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def anomaly(self, message: str, *, now: bool = True) -> None:
        """Record something that makes a figure less trustworthy; say it now too unless ``now`` is false
        (every anomaly is repeated after the table)."""
        self.anomalies.append(message)
        if now:
            warn(message)
