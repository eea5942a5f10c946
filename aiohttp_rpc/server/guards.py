"""Common guards: checks on the HTTP request behind a call (over WebSocket, the upgrade request).

A guard is ``guard(rpc_request) -> bool`` (sync or async) or raises a ``JSONRPCError``; attach guards to a
server (``JSONRPCServer(guards=[...])``), a group (``MethodGroup(guards=[...])``) or a method
(``JSONRPCMethod(func, guards=[...])``). A guard that returns false answers -32001 Access denied and the
method does not run. Calls that did not come through HTTP (in-process) fail every guard here.
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ServerConfigurationError
from ..protocol.context import HTTP_REQUEST
from .origins import HostPolicy

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest

__all__ = ('require_bearer_token', 'require_client_address', 'require_header', 'require_host', 'require_session')

TokenCheck = Callable[[str], 'bool | Awaitable[bool]']


def _http_request(rpc_request: JSONRPCRequest) -> Any:
    return rpc_request.context.get(HTTP_REQUEST)


def require_bearer_token(tokens: Iterable[str] | TokenCheck) -> Callable[[JSONRPCRequest], Awaitable[bool]]:
    """Admit calls whose ``Authorization: Bearer <token>`` is one of ``tokens`` (compared in constant time),
    or for which ``tokens(token)`` (sync or async) returns true.

    Example::

        JSONRPCServer(guards=[require_bearer_token({os.environ['API_TOKEN']})])
    """
    known = None if callable(tokens) else tuple(token.encode() for token in tokens)
    check = tokens if callable(tokens) else None

    async def bearer_token_guard(rpc_request: JSONRPCRequest) -> bool:
        http_request = _http_request(rpc_request)
        header = http_request.headers.get('Authorization', '') if http_request is not None else ''
        scheme, _, token = header.partition(' ')
        token = token.strip()
        if scheme.lower() != 'bearer' or not token:
            return False
        if check is not None:
            verdict = check(token)
            return bool(await verdict if inspect.isawaitable(verdict) else verdict)
        candidate = token.encode()
        return any(hmac.compare_digest(candidate, secret) for secret in known or ())

    return bearer_token_guard


def require_header(name: str, value: str | None = None) -> Callable[[JSONRPCRequest], bool]:
    """Admit calls whose HTTP request carries header ``name`` (with exactly ``value``, when given)."""

    def header_guard(rpc_request: JSONRPCRequest) -> bool:
        http_request = _http_request(rpc_request)
        if http_request is None:
            return False
        present = http_request.headers.get(name)
        return present is not None and (value is None or hmac.compare_digest(present.encode(), value.encode()))

    return header_guard


def require_host(hosts: Iterable[str]) -> Callable[[JSONRPCRequest], bool]:
    """Admit calls whose ``Host`` header is listed (``'api.example.com'``, ``'127.0.0.1:8080'``,
    ``'*.example.com'``): the host check of flask-rpc, per method or group. (For a whole server,
    ``allowed_hosts=`` refuses with HTTP 403 before the body is read.)"""
    policy = HostPolicy(hosts)

    def host_guard(rpc_request: JSONRPCRequest) -> bool:
        http_request = _http_request(rpc_request)
        return http_request is not None and policy.allows(http_request)

    return host_guard


def require_client_address(networks: Iterable[str]) -> Callable[[JSONRPCRequest], bool]:
    """Admit calls from client addresses inside ``networks`` (``'127.0.0.1'``, ``'10.0.0.0/8'``, ``'::1'``).

    The address is the peer of the TCP connection (``request.remote``): behind a reverse proxy, make aiohttp
    see the real client first (e.g. aiohttp-remotes' ``XForwardedRelaxed``).
    """
    allowed = tuple(ipaddress.ip_network(network, strict=False) for network in networks)

    def client_address_guard(rpc_request: JSONRPCRequest) -> bool:
        http_request = _http_request(rpc_request)
        remote = getattr(http_request, 'remote', None)
        if not remote:
            return False
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        return any(address.version == network.version and address in network for network in allowed)

    return client_address_guard


def require_session(key: str, values: Iterable[Hashable] | None = None) -> Callable[[JSONRPCRequest], Awaitable[bool]]:
    """Admit calls whose aiohttp-session session holds ``key`` (with one of ``values``, when given): the session
    locks of flask-rpc, per server, group or method. Over WebSocket the session is the one of the upgrade request.
    Needs ``pip install "aiohttp-rpc[session]"`` and ``aiohttp_session.setup(app, storage)`` on the app.

    Example::

        admin_only = MethodGroup(guards=[require_session('role', {'admin'})])

    Raises:
        ServerConfigurationError: aiohttp-session is not installed.
    """
    try:
        import aiohttp_session
    except ImportError as exc:
        raise ServerConfigurationError(
            data={'details': 'Session guards need aiohttp-session: pip install "aiohttp-rpc[session]".'}
        ) from exc
    allowed = None if values is None else frozenset(values)

    async def session_guard(rpc_request: JSONRPCRequest) -> bool:
        http_request = _http_request(rpc_request)
        if http_request is None:
            return False
        session = await aiohttp_session.get_session(http_request)  # no session middleware: a RuntimeError saying so
        if key not in session:
            return False
        return allowed is None or session[key] in allowed

    return session_guard
