"""The ``aiohttp-rpc`` program: parse the command line, run the command, turn any failure into one line on
stderr and an exit status."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from .failures import CLIError, ExitStatus, UsageError
from .gen_client import gen_client, is_url
from .messages import batch_from_json, parse_params
from .output import JSONWriter
from .parser import build_parser
from .remote import Endpoint, batch, call, discover, notify
from .serve import ServeOptions, serve
from .subscribe import subscribe

__all__ = ('main',)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default) and return the exit status.

    Usage errors found by argparse (and ``--help``, ``--version``) exit through ``SystemExit`` as argparse
    does; every other failure is printed as one line on stderr, never as a traceback unless ``--debug``.

    Example::

        main(['call', 'http://127.0.0.1:8080/rpc', 'add', '1', '2'])  # prints 3, returns 0
    """
    args = build_parser().parse_args(argv)
    debug: bool = args.debug
    try:
        _run(args)
    except CLIError as exc:
        if debug:
            traceback.print_exception(exc)
        _report(*exc.lines())
        return exc.status
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # the reader went away (e.g. `| head`): nothing more to say to it
        _silence_stdout()
        return ExitStatus.OK
    except Exception as exc:  # noqa: BLE001 - the program's one outer guard: a line, not a traceback
        if debug:
            traceback.print_exception(exc)
        hint = '' if debug else ' (run with --debug for the traceback)'
        _report(f'aiohttp-rpc: {type(exc).__name__}: {exc}{hint}')
        return ExitStatus.UNEXPECTED
    return ExitStatus.OK


def _run(args: argparse.Namespace) -> None:
    command: str = args.command
    if command == 'serve':
        options = ServeOptions(
            target=args.target,
            host=args.host,
            port=args.port,
            path=args.path,
            docs=args.docs,
            debug=args.debug,
            title=args.title,
            api_version=args.api_version,
            description=args.description,
        )
        serve(options, log=_report)
        return
    if command == 'gen-client':
        source: str = args.source
        remote = Endpoint(url=source, headers=tuple(args.headers), timeout=args.timeout) if is_url(source) else None
        gen_client(source, endpoint=remote, output=args.output, print_text=_print)
        return
    endpoint = Endpoint(url=args.url, headers=tuple(args.headers), timeout=args.timeout)
    writer = JSONWriter(sys.stdout, os.environ)
    if command == 'call':
        call(endpoint, args.method, parse_params(args.args, args.json_params), writer=writer, raw=args.raw)
    elif command == 'notify':
        notify(endpoint, args.method, parse_params(args.args, args.json_params))
    elif command == 'subscribe':
        params = parse_params(args.args, args.json_params)
        subscribe(endpoint, args.method, params, print_line=_print, unsubscribe=args.unsubscribe, count=args.count)
    elif command == 'batch':
        source = 'stdin' if args.file == '-' else args.file
        batch(endpoint, batch_from_json(_read(args.file), source=source, as_is=args.raw), writer=writer)
    else:
        discover(endpoint, writer=writer)


def _read(file: str) -> bytes:
    try:
        if file == '-':
            return sys.stdin.buffer.read()
        with open(file, 'rb') as stream:
            return stream.read()
    except OSError as exc:
        raise UsageError(f'cannot read {file}: {exc.strerror or exc}') from None


def _print(line: str) -> None:
    print(line, flush=True)


def _report(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    # Python flushes stdout again at exit, which would raise once more; point it at nothing instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
