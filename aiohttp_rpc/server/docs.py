"""The API console: a page that documents a server's methods and lets a person call them.

:func:`mount_docs` adds two GET routes to an aiohttp application: the server's OpenRPC document, and an HTML
page that reads it, lists the methods by group with their parameters, and sends real JSON-RPC requests to
the endpoint (HTTP POST, or a WebSocket for a :class:`~aiohttp_rpc.WSJSONRPCServer`).

The page is one response with its style and script inline, admitted by hash in a Content-Security-Policy that
names no origin but the page's own: it loads nothing from anywhere else and works offline. It refers to the
endpoint and the document by relative URLs, so it keeps working in a sub-application or behind a proxy that
serves the application under a path prefix.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import posixpath
import re
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from ..errors import ServerConfigurationError
from ..protocol.context import HTTP_REQUEST, RequestContext
from ..protocol.request import JSONRPCRequest
from ..schema.catalog import DISCOVER_METHOD
from ..schema.openrpc import api_info_of, build_openrpc
from ..schema.visibility import refused, shown_to
from ..serialization import json_serialize
from .origins import HOST_NOT_ALLOWED, HostPolicy

if TYPE_CHECKING:
    from .base import BaseJSONRPCServer

__all__ = ('mount_docs',)

# Sent with the page and the document; the page adds its Content-Security-Policy.
_HEADERS: Mapping[str, str] = {
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
}

_PLACEHOLDER = re.compile(r'\{\{(\w+)\}\}')


def mount_docs(
    app: web.Application,
    server: BaseJSONRPCServer,
    *,
    endpoint: str = '/rpc',
    path: str = '/docs',
    openrpc_path: str = '/openrpc.json',
    title: str | None = None,
    version: str | None = None,
    description: str | None = None,
    list_all: bool = False,
) -> None:
    """Serve the API console at ``GET path`` and the OpenRPC document at ``GET openrpc_path``.

    The document is built on each request, so methods added after mounting are listed. It leaves out the methods
    whose guards (the server's, their groups', their own) refuse the ``GET`` request, unless ``list_all``: the
    guards see a request whose context holds that HTTP request, so header, token, address and session guards
    decide as they would for a call (see :mod:`aiohttp_rpc.schema.visibility`). The console page itself lists
    what its browser's requests may call. Both routes answer 403 when ``server`` has ``allowed_hosts`` and the
    ``Host`` is not among them.

    Args:
        app: the application to add the routes to (a sub-application works: paths are relative to it).
        server: the server whose methods are documented; the console calls it over WebSocket when it is a
            :class:`~aiohttp_rpc.WSJSONRPCServer`, over HTTP POST otherwise.
        endpoint: the path the server is mounted on in ``app``.
        path: the path of the console page.
        openrpc_path: the path of the OpenRPC document.
        title, version, description: the document's ``info``; by default the server's ``api_info`` (what
            ``add_discovery`` was given), read on each request.
        list_all: list every method, also those whose guards refuse the caller.

    Raises:
        ServerConfigurationError: a path does not start with a single ``/`` (the console talks to its own
            origin only).

    Example::

        server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
        app = web.Application()
        app.router.add_post('/rpc', server.handle_http_request)
        mount_docs(app, server, title='Calculator')  # http://127.0.0.1:8080/docs
    """
    for name, value in (('endpoint', endpoint), ('path', path), ('openrpc_path', openrpc_path)):
        if not value.startswith('/') or value.startswith('//'):
            raise ServerConfigurationError(data={'details': f'{name} must be a path on this origin: {value!r}.'})
    base = posixpath.dirname(path)
    transport = _transport(server)
    endpoint_url, openrpc_url = _relative_url(endpoint, base), _relative_url(openrpc_path, base)
    pages: dict[str, str] = {}  # by title: the API's title may be set after mounting (add_discovery)
    page_headers = {**_HEADERS, 'Content-Security-Policy': _console().policy}
    hosts = HostPolicy(server.allowed_hosts) if server.allowed_hosts is not None else None
    # A relative server URL is relative to where the document is served (OpenRPC's Server Object).
    servers = [{'name': transport, 'url': _relative_url(endpoint, posixpath.dirname(openrpc_path))}]

    def check_host(request: web.Request) -> None:
        if hosts is not None and not hosts.allows(request):
            raise web.HTTPForbidden(reason=HOST_NOT_ALLOWED, text=HOST_NOT_ALLOWED)

    async def console_page(request: web.Request) -> web.Response:
        check_host(request)
        shown_title = api_info_of(server, title=title).title
        page = pages.get(shown_title)
        if page is None:
            pages.clear()
            page = pages[shown_title] = _render_page(shown_title, endpoint_url, openrpc_url, transport)
        return web.Response(text=page, content_type='text/html', charset='utf-8', headers=page_headers)

    async def openrpc_document(request: web.Request) -> web.Response:
        check_host(request)
        document = build_openrpc(server, title=title, version=version, description=description, servers=servers)
        if not list_all:
            caller = JSONRPCRequest(method=DISCOVER_METHOD, context=RequestContext({HTTP_REQUEST: request}))
            document = shown_to(document, await refused(server, [m['name'] for m in document['methods']], caller))
        body = json_serialize(document).encode()
        return web.Response(body=body, content_type='application/json', charset='utf-8', headers=_HEADERS)

    app.router.add_get(path, console_page)
    app.router.add_get(openrpc_path, openrpc_document)
    if transport == 'http':
        _point_browsers_to_the_console(app, endpoint, _relative_url(path, posixpath.dirname(endpoint)))


def _point_browsers_to_the_console(app: web.Application, endpoint: str, console: str) -> None:
    """Answer a ``GET`` on the HTTP endpoint (a browser opening it) 405, as before, with a page that links to the
    console (``console``: its URL relative to the endpoint), unless the application already routes ``GET``
    there."""
    text = html.escape('This is a JSON-RPC endpoint: send requests with POST.')
    body = f'<!doctype html><title>JSON-RPC endpoint</title><p>{text} <a href="{html.escape(console)}">API console</a>'
    headers = {**_HEADERS, 'Allow': 'POST', 'Content-Security-Policy': "default-src 'none'"}

    async def pointer(request: web.Request) -> web.Response:
        return web.Response(status=405, text=body, content_type='text/html', headers=headers)

    with contextlib.suppress(RuntimeError):  # GET (or every method) is routed there already: leave it
        app.router.add_get(endpoint, pointer, allow_head=False)


class _Console:
    """The page template with its style and script inlined, and the policy admitting exactly those."""

    def __init__(self, template: str, style: str, script: str) -> None:
        if '</style' in style.lower() or '</script' in script.lower() or _PLACEHOLDER.search(style + script):
            raise ServerConfigurationError(data={'details': 'A console asset breaks out of its element.'})
        assets = {'style': style, 'script': script}
        self.template = _PLACEHOLDER.sub(lambda match: assets.get(match[1], match[0]), template)
        self.policy = '; '.join(
            (
                "default-src 'none'",
                f"script-src '{_sha256(script)}'",
                f"style-src '{_sha256(style)}'",
                "connect-src 'self'",  # the endpoint and the document; 'self' covers ws:/wss: to this host
                "img-src 'self' data:",  # the empty data: favicon keeps the browser from asking for one
                "base-uri 'none'",
                "form-action 'none'",
                "frame-ancestors 'none'",
                "require-trusted-types-for 'script'",  # no HTML sinks: server text is only ever text
                "trusted-types 'none'",
            )
        )


@functools.cache
def _console() -> _Console:
    folder = resources.files(__package__).joinpath('console')
    return _Console(*(folder.joinpath(name).read_text('utf-8') for name in ('index.html', 'console.css', 'console.js')))


def _render_page(title: str, endpoint: str, openrpc: str, transport: str) -> str:
    values = {'title': title, 'endpoint': endpoint, 'openrpc': openrpc, 'transport': transport}
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    # One pass, so a value is never rescanned; the inlined assets hold no placeholder (checked at load).
    return _PLACEHOLDER.sub(lambda match: escaped.get(match[1], match[0]), _console().template)


def _transport(server: BaseJSONRPCServer) -> str:
    """``'ws'`` for a WebSocket server, ``'http'`` for any other.

    A WebSocket server is told by the live connections it keeps (``WSJSONRPCServer.peers``), not by class: this
    module imports no server class, so that the servers themselves may import it.
    """
    return 'ws' if hasattr(server, 'peers') else 'http'


def _relative_url(target: str, base: str) -> str:
    """``target`` (an absolute path) relative to the directory ``base``: what the page resolves against its
    own URL, so that a path prefix added in front of the application carries over."""
    relative = posixpath.relpath(target, base)
    if target.endswith('/') and not relative.endswith('/'):
        relative += '/'
    if ':' in relative.split('/', 1)[0]:
        relative = './' + relative  # 'a:b' would read as a URL scheme
    return relative


def _sha256(text: str) -> str:
    return 'sha256-' + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
