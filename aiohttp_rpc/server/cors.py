"""Cross-origin calls from browsers (CORS), with aiohttp-cors (``pip install "aiohttp-rpc[cors]"``).

A page on another origin can POST JSON to the endpoint only after the browser's preflight (``OPTIONS``) is
answered with that origin's permission. :func:`allow_cross_origin` sets that up on a route with every option
explicit: the origins, the one method (POST), the request headers, and no credentials unless asked for.
aiohttp-cors answers the preflight itself, before the handler runs and before any body is read; an origin not
listed gets no permission, so the browser never sends its call. Nothing else changes: the server's own checks
(Content-Type, ``allowed_origins``, ``allowed_hosts``) still apply to every request.

Why aiohttp-cors rather than a ``cors=`` option of our own: it is the aio-libs project made for this, kept with
aiohttp, and already answers preflights per resource and per origin (with ``Access-Control-Max-Age`` and the
credentials flag); a JSON-RPC endpoint needs nothing it does not offer, so our part is only to make every option
explicit.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ..errors import ServerConfigurationError

__all__ = ('DEFAULT_CORS_HEADERS', 'DEFAULT_CORS_MAX_AGE', 'allow_cross_origin')

DEFAULT_CORS_HEADERS = ('Content-Type', 'Authorization')
"""Request headers a cross-origin page may send: the JSON body's type, and a bearer token."""

DEFAULT_CORS_MAX_AGE = 600
"""Seconds a browser may keep a preflight's answer."""

_CONFIG_KEY = web.AppKey('aiohttp_rpc.cors', object)


def allow_cross_origin(
    app: web.Application,
    route: web.AbstractRoute,
    origins: Iterable[str],
    *,
    allow_headers: Iterable[str] = DEFAULT_CORS_HEADERS,
    expose_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    max_age: int | None = DEFAULT_CORS_MAX_AGE,
) -> None:
    """Let pages on ``origins`` call ``route`` (the JSON-RPC endpoint's POST route) from a browser.

    Args:
        app: the application ``route`` belongs to.
        route: what ``app.router.add_post('/rpc', server.handle_http_request)`` returned.
        origins: exact origins, e.g. ``['https://app.example.com']``; ``'*'`` is refused (list them).
        allow_headers: request headers the page may send.
        expose_headers: response headers the page may read.
        allow_credentials: let the browser send cookies and HTTP authentication (off by default).
        max_age: seconds a browser may cache the preflight's answer.

    Raises:
        ServerConfigurationError: aiohttp-cors is not installed, or ``origins`` is empty or holds ``'*'``.

    Example::

        route = app.router.add_post('/rpc', server.handle_http_request)
        allow_cross_origin(app, route, ['https://app.example.com'])
    """
    try:
        import aiohttp_cors
    except ImportError as exc:
        raise ServerConfigurationError(
            data={'details': 'CORS needs aiohttp-cors: pip install "aiohttp-rpc[cors]".'}
        ) from exc
    allowed = tuple(origins)
    if not allowed or '*' in allowed:
        details = 'List the origins allowed to call, e.g. ["https://app.example.com"], not "*".'
        raise ServerConfigurationError(data={'details': details})
    config = app.get(_CONFIG_KEY)
    if not isinstance(config, aiohttp_cors.CorsConfig):  # one aiohttp-cors set-up per app
        config = aiohttp_cors.setup(app)
        app[_CONFIG_KEY] = config
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]  # aiohttp-cors leaves it unannotated
        allow_credentials=allow_credentials,
        allow_headers=tuple(allow_headers),
        expose_headers=tuple(expose_headers),
        allow_methods=('POST',),
        max_age=max_age,
    )
    config.add(route, {origin: options for origin in allowed})
