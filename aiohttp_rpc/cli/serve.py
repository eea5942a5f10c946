"""The ``serve`` command: run a server or an aiohttp application named as ``module:attribute``."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..schema.catalog import DISCOVER_METHOD
from ..schema.openrpc import api_info_of
from ..server.base import BaseJSONRPCServer
from ..server.websocket import WSJSONRPCServer
from .failures import TransportFailure, UsageError

__all__ = ('SHUTDOWN_TIMEOUT', 'ServeOptions', 'build_application', 'listen', 'load_target', 'resolve_target', 'serve')

SHUTDOWN_TIMEOUT = 10.0
"""Seconds running handlers get to finish after Ctrl-C or SIGTERM."""

_DOCS_PATHS = ('/docs', '/openrpc.json')

_SERVABLE = (BaseJSONRPCServer, web.Application)
_LOG_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'


@dataclass(frozen=True)
class ServeOptions:
    """What ``serve`` runs and where.

    Attributes:
        target: ``module:attribute``; the attribute may be dotted.
        host, port: where to listen (port 0: any free port).
        path: where a server object is mounted.
        docs: mount the API console and ``rpc.discover`` on a server object.
        debug: log at DEBUG instead of INFO.
        title, api_version, description: what the API says about itself (its ``api_info``), shown by
            ``rpc.discover``, ``/openrpc.json`` and the console; ``None`` keeps what the server says.
    """

    target: str
    host: str = '127.0.0.1'
    port: int = 8080
    path: str = '/rpc'
    docs: bool = True
    debug: bool = False
    title: str | None = None
    api_version: str | None = None
    description: str | None = None


def serve(options: ServeOptions, *, log: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM, then shut down gracefully; ``log`` gets the addresses once serving.

    Raises:
        UsageError: the target cannot be imported or is not something to serve.
        TransportFailure: the address cannot be listened on.
    """
    target = load_target(options.target)
    if not callable(target) and not isinstance(target, _SERVABLE):
        raise UsageError(_not_servable(options.target, target))
    logging.basicConfig(level=logging.DEBUG if options.debug else logging.INFO, format=_LOG_FORMAT)
    with listen(options.host, options.port) as sock:
        host, port = sock.getsockname()[:2]
        origin = f'http://[{host}]:{port}' if ':' in host else f'http://{host}:{port}'
        # The target (an async factory's too) is resolved on the loop that will serve it, but before run_app: a
        # factory that fails is then our one-line error on every aiohttp release (before 3.10.6 run_app also
        # logged the failed task, traceback and all, as an "unhandled exception during asyncio.run() shutdown").
        loop = asyncio.new_event_loop()
        try:
            resolved = loop.run_until_complete(resolve_target(target, options.target))
            app = build_application(resolved, options)
        except BaseException:
            loop.close()
            raise
        log(_banner(options, resolved, origin))
        web.run_app(app, sock=sock, print=None, shutdown_timeout=SHUTDOWN_TIMEOUT, handler_cancellation=True, loop=loop)


def load_target(spec: str) -> Any:
    """The object ``spec`` (``module:attribute``) names, importing the module with the current directory on
    ``sys.path``.

    Raises:
        UsageError: no such module or attribute. Errors raised by the module's own code propagate.
    """
    module_name, _, attribute = spec.partition(':')
    if not module_name or not attribute:
        raise UsageError(f'{spec!r}: expected module:attribute, e.g. myapp:rpc_server')
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(f'{exc.name}.')):
            raise  # the module exists but imports something missing: its own problem, with its traceback
        raise UsageError(f'cannot import {module_name!r}: no module named {exc.name!r} here') from None
    target: Any = module
    for name in attribute.split('.'):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise UsageError(f'module {module_name!r} has no attribute {attribute!r}') from None
    return target


async def resolve_target(target: Any, spec: str) -> BaseJSONRPCServer | web.Application:
    """``target`` itself, or what it returns when it is a factory (awaited when that is awaitable).

    Raises:
        UsageError: it is neither a server nor an application.
    """
    if not isinstance(target, _SERVABLE) and callable(target):
        _check_factory(target, spec)
        target = target()
        if inspect.isawaitable(target):
            target = await target
    if not isinstance(target, _SERVABLE):
        raise UsageError(_not_servable(spec, target))
    return target


def build_application(target: BaseJSONRPCServer | web.Application, options: ServeOptions) -> web.Application:
    """The application to run: ``target`` itself, or a new one with the server mounted on ``options.path``
    (POST for HTTP, GET for WebSocket), its console at ``/docs`` (``GET /`` redirects there) and
    ``rpc.discover`` unless ``options.docs`` is false.

    Raises:
        UsageError: ``options.path`` is one of the console's paths.
    """
    if isinstance(target, web.Application):
        return target
    if options.docs and options.path in _DOCS_PATHS:
        raise UsageError(f'--path {options.path} is where the console goes: choose another path or add --no-docs')
    app = web.Application()
    if isinstance(target, WSJSONRPCServer):
        app.router.add_get(options.path, target.handle_http_request)
        app.on_shutdown.append(target.on_shutdown)
    else:
        app.router.add_post(options.path, target.handle_http_request)
    if options.docs:
        if DISCOVER_METHOD not in target.methods:
            target.add_discovery()
        said = api_info_of(target, title=options.title, version=options.api_version, description=options.description)
        target.api_info = said
        target.mount_docs(app, endpoint=options.path)
        if options.path != '/':
            app.router.add_get('/', _to_the_console, allow_head=False)
    return app


async def _to_the_console(request: web.Request) -> web.Response:
    """``GET /`` on a served server: the console is what a browser there wants."""
    raise web.HTTPFound('/docs')


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises:
        TransportFailure: the address cannot be resolved or bound (e.g. already in use).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        return socket.create_server(address, family=family)
    except socket.gaierror as exc:
        raise TransportFailure(f'cannot listen on {host}:{port} ({_lower_first(exc.strerror or str(exc))})') from exc
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # strerror here also repeats the address
        raise TransportFailure(f'cannot listen on {host}:{port} ({_lower_first(reason)})') from exc


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _banner(options: ServeOptions, target: BaseJSONRPCServer | web.Application, origin: str) -> str:
    if isinstance(target, web.Application):
        return f'aiohttp-rpc: serving {options.target} (an aiohttp application) on {origin}/\nPress Ctrl-C to stop.'
    websocket = isinstance(target, WSJSONRPCServer)
    endpoint = ('ws' + origin.removeprefix('http') if websocket else origin) + options.path
    lines = [
        f'aiohttp-rpc: serving {options.target}',
        f'  JSON-RPC  {endpoint}  ({"WebSocket" if websocket else "HTTP POST"})',
    ]
    if options.docs:
        lines += [f'  console   {origin}/docs', f'  OpenRPC   {origin}/openrpc.json']
    lines.append('Press Ctrl-C to stop.')
    return '\n'.join(lines)


def _check_factory(target: Any, spec: str) -> None:
    """Refuse a callable that cannot be called without arguments (``serve calc:add`` names a method, not a
    factory), before calling it."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # no signature to read: call it and see
        return
    try:
        signature.bind()
    except TypeError:
        raise UsageError(
            f'{spec} takes arguments {signature}: TARGET must be a JSONRPCServer, a WSJSONRPCServer, an '
            'aiohttp.web.Application, or a callable taking no arguments that returns one'
        ) from None


def _not_servable(spec: str, target: Any) -> str:
    return (
        f'{spec} is {type(target).__name__!r}: expected a JSONRPCServer, a WSJSONRPCServer, an '
        'aiohttp.web.Application, or a callable returning one'
    )
