"""What the command line reports when a command fails, and the exit status that goes with it.

Every failure a user can cause or meet is a :class:`CLIError`: it knows its exit status and the one line
(or, for error replies, the line and the ``data``) to print on stderr. The outer guard in ``program.py``
prints it; nothing else in the command line prints errors.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from .output import render_json

__all__ = ('CLIError', 'ErrorReply', 'ExitStatus', 'TransportFailure', 'UsageError')


class ExitStatus(enum.IntEnum):
    """The command line's exit statuses."""

    OK = 0
    ERROR_REPLY = 1  # the server answered with a JSON-RPC error object
    USAGE = 2  # bad arguments or input (argparse uses 2 as well)
    TRANSPORT = 3  # no usable reply: connection refused, timeout, HTTP error status, malformed reply
    UNEXPECTED = 4  # a bug here, or the served application failed; --debug shows the traceback
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class CLIError(Exception):
    """Base of the failures the command line reports in one line, without a traceback.

    Args:
        message: what went wrong, for a person; printed after ``aiohttp-rpc: ``.
    """

    status: ClassVar[ExitStatus]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def lines(self) -> Iterator[str]:
        """The lines to print on stderr."""
        yield f'aiohttp-rpc: {self.message}'


class UsageError(CLIError):
    """Raised when the command line or its input cannot be used: params that mix positional and named
    values, a batch file that is not a JSON array, a ``serve`` target that cannot be imported."""

    status = ExitStatus.USAGE


class TransportFailure(CLIError):
    """Raised when no usable reply came: the connection failed, timed out, was answered with an HTTP error
    status or with something that is not a JSON-RPC reply; or ``serve`` cannot listen on its address."""

    status = ExitStatus.TRANSPORT


class ErrorReply(CLIError):
    """Raised when the server answered with one or more JSON-RPC error objects.

    Args:
        errors: the ``error`` members, as received.
        ids: the request id of each error, shown when there are several (a batch); ``None`` to leave out.
    """

    status = ExitStatus.ERROR_REPLY

    def __init__(self, errors: Sequence[Any], ids: Sequence[Any] | None = None) -> None:
        super().__init__(f'{len(errors)} error replies')
        self.errors = tuple(errors)
        self.ids = None if ids is None else tuple(ids)

    def lines(self) -> Iterator[str]:
        for index, error in enumerate(self.errors):
            if not isinstance(error, Mapping):  # a server that does not follow the specification
                yield f'error: {render_json(error)}'
                continue
            code = render_json(error.get('code'))
            message = error.get('message')
            # A message with control characters (a newline, a terminal escape) is shown as a JSON string.
            text = message if isinstance(message, str) and message.isprintable() else render_json(message)
            suffix = '' if self.ids is None else f' (id {render_json(self.ids[index])})'
            yield f'error {code}: {text}{suffix}'
            if error.get('data') is not None:
                yield render_json(error['data'])
