"""pytest plugin: a client bound to your JSON-RPC server (in-process, HTTP or WebSocket) and error assertions.

pytest loads it by itself wherever aiohttp_rpc is installed (the ``pytest11`` entry point). It registers one
marker and a few fixtures; nothing runs unless a test asks for it.

Define a fixture ``rpc_server`` returning your ``JSONRPCServer`` or ``WSJSONRPCServer``, and ask for
``rpc_client``::

    # conftest.py
    import pytest
    import aiohttp_rpc

    @pytest.fixture
    def rpc_server():
        server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
        server.add_methods([add])
        return server

    # test_api.py
    from aiohttp_rpc.errors import MethodNotFound
    from aiohttp_rpc.testing import raises_rpc_error

    async def test_add(rpc_client):                           # in-process: no sockets
        assert await rpc_client.methods.add(1, 2) == 3

    @pytest.mark.rpc_transport('http', 'local')               # the test runs once per transport
    async def test_unknown_method(rpc_client):
        async with raises_rpc_error(MethodNotFound):
            await rpc_client.methods.nope()

Async fixtures are declared with ``pytest_asyncio.fixture`` when pytest-asyncio is installed, so they work in its
strict and auto modes (and under pytest-aiohttp, which runs on pytest-asyncio).
"""

from __future__ import annotations

import contextlib
import enum
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar, cast

import pytest
from aiohttp import web

from .caller.base import BaseJSONRPCClient
from .client.http import JSONRPCClient
from .client.transports.local import LocalTransport
from .client.websocket import WSJSONRPCClient
from .dispatch.dispatcher import Dispatcher
from .errors import JSONRPCError
from .server.base import BaseJSONRPCServer
from .server.http import JSONRPCServer
from .server.websocket import WSJSONRPCServer

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without pytest-asyncio, async fixtures are left to whichever plugin runs them
    _declare_fixture: Callable[[Any], Any] = pytest.fixture
else:
    _declare_fixture = pytest_asyncio.fixture

_F = TypeVar('_F', bound=Callable[..., Any])

__all__ = (
    'NO_ASYNC_PLUGIN',
    'TRANSPORTS',
    'LocalTransport',
    'RaisesRPCError',
    'RPCClientFactory',
    'assert_rpc_error',
    'raises_rpc_error',
    'rpc_client',
    'rpc_client_factory',
    'rpc_transport',
)

TRANSPORTS = ('local', 'http', 'ws')
"""The transports ``rpc_client`` can use: in-process, HTTP POST and WebSocket."""

RPC_PATH = '/rpc'
"""Where the test server mounts ``rpc_server`` for the ``http`` and ``ws`` transports."""

_OVER_SOCKETS: Mapping[str, tuple[type[BaseJSONRPCServer], Callable[..., BaseJSONRPCClient]]] = {
    'http': (JSONRPCServer, JSONRPCClient),
    'ws': (WSJSONRPCServer, WSJSONRPCClient),
}

_MARKER_HELP = (
    'rpc_transport(*names): run the test once per transport for the rpc_client fixture; '
    f'names among {", ".join(TRANSPORTS)} (default: local)'
)


# -- hooks ------------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line('markers', _MARKER_HELP)


_OUR_ASYNC_FIXTURES = frozenset({'rpc_client', 'rpc_client_factory'})

NO_ASYNC_PLUGIN = (
    'aiohttp_rpc.testing: rpc_client and rpc_client_factory are async fixtures and need pytest-asyncio: '
    'pip install pytest-asyncio'
)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark an ``async def`` test that asks for our async fixtures with ``pytest.mark.asyncio``, so that it runs
    in pytest-asyncio's strict mode too (its default), as the documented recipe is written; in auto mode the mark
    changes nothing. Runs before items are made, where pytest-asyncio looks for the mark."""
    if not inspect.iscoroutinefunction(obj) or not collector.config.pluginmanager.has_plugin('asyncio'):
        return
    try:
        wanted = set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return
    marks = getattr(obj, 'pytestmark', [])
    if wanted & _OUR_ASYNC_FIXTURES and not any(mark.name == 'asyncio' for mark in marks):
        pytest.mark.asyncio(obj)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop with one clear line, rather than pytest's internal errors, when a test asks for our async fixtures
    and no plugin can run them."""
    if config.pluginmanager.has_plugin('asyncio'):
        return
    if any(_OUR_ASYNC_FIXTURES & set(getattr(item, 'fixturenames', ())) for item in items):
        raise pytest.UsageError(NO_ASYNC_PLUGIN)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if 'rpc_transport' not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker('rpc_transport')
    if marker is None:
        return
    names = marker.args or TRANSPORTS
    unknown = [name for name in names if name not in TRANSPORTS]
    if unknown:
        raise ValueError(f'rpc_transport: unknown transport {unknown[0]!r}; choose among {", ".join(TRANSPORTS)}.')
    metafunc.parametrize('rpc_transport', names, indirect=True)


# -- fixtures ---------------------------------------------------------------------------------------------------


def _async_fixture(function: _F) -> _F:
    """Declare an async fixture so that pytest-asyncio runs it in strict mode as well as in auto mode."""
    return cast('_F', _declare_fixture(function))


class RPCClientFactory(Protocol):
    """``await rpc_client_factory(server, transport='local', **client_kwargs)``: a connected client for ``server``.

    ``client_kwargs`` go to the client class (``JSONRPCClient``, ``WSJSONRPCClient``, or ``BaseJSONRPCClient``
    for ``local``). Clients are closed, and servers stopped, when the test ends.
    """

    async def __call__(
        self, server: Dispatcher, transport: str = 'local', **client_kwargs: Any
    ) -> BaseJSONRPCClient: ...


@pytest.fixture
def rpc_transport(request: pytest.FixtureRequest) -> str:
    """The transport ``rpc_client`` uses: ``'local'`` unless the ``rpc_transport`` marker (or a parametrization
    of this fixture) chooses ``'http'`` or ``'ws'``."""
    name: str = getattr(request, 'param', 'local')
    return name


@_async_fixture
async def rpc_client_factory() -> AsyncIterator[RPCClientFactory]:
    """Make clients for any server over any transport; everything is closed when the test ends.

    A server is started once per test however many clients connect to it (so WebSocket clients can see each
    other's broadcasts).

    Example::

        async def test_broadcast(rpc_client_factory):
            server = WSJSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
            first = await rpc_client_factory(server, 'ws', methods=[news])
            second = await rpc_client_factory(server, 'ws', methods=[news])
            assert await server.broadcast('news', 'hello') == 2
    """
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[int, str] = {}

        async def make(server: Dispatcher, transport: str = 'local', **client_kwargs: Any) -> BaseJSONRPCClient:
            client: BaseJSONRPCClient
            if transport == 'local':
                client = _local_client(server, client_kwargs)
            elif transport in _OVER_SOCKETS:
                server_class, client_class = _OVER_SOCKETS[transport]
                if not isinstance(server, server_class):
                    needs = f'{server_class.__name__}, not {type(server).__name__}'
                    pytest.fail(f'rpc_transport {transport!r} needs a {needs}.', pytrace=False)
                if id(server) not in urls:
                    urls[id(server)] = await _serve(server, stack)
                client = client_class(urls[id(server)], **client_kwargs)
            else:
                pytest.fail(
                    f'Unknown rpc_transport {transport!r}; choose among {", ".join(TRANSPORTS)}.', pytrace=False
                )
            await client.connect()
            stack.push_async_callback(client.disconnect)
            return client

        yield make


@_async_fixture
async def rpc_client(
    rpc_server: Dispatcher, rpc_transport: str, rpc_client_factory: RPCClientFactory
) -> BaseJSONRPCClient:
    """A connected client for your ``rpc_server`` fixture, over ``rpc_transport`` (in-process by default).

    Define a fixture ``rpc_server`` returning your ``JSONRPCServer`` / ``WSJSONRPCServer``. With
    ``@pytest.mark.rpc_transport('http', 'ws', 'local')`` the test runs once per transport: ``http`` needs a
    ``JSONRPCServer`` and ``ws`` a ``WSJSONRPCServer`` (mounted at ``/rpc`` of a server on 127.0.0.1), while
    ``local`` takes either. To serve both kinds, let ``rpc_server`` depend on ``rpc_transport``.
    """
    return await rpc_client_factory(rpc_server, rpc_transport)


# What the in-process transport cannot carry, and the transport that can.
_NEEDS_SOCKETS = {
    'headers': "the 'http' or 'ws' transport (no HTTP request goes in-process, so no headers reach guards)",
    'methods': "the 'ws' transport (a client serves methods to its server over a WebSocket)",
}


def _local_client(server: Dispatcher, client_kwargs: Mapping[str, Any]) -> BaseJSONRPCClient:
    for option, instead in _NEEDS_SOCKETS.items():
        if option in client_kwargs:
            raise ValueError(f"The 'local' transport takes no {option}=: use {instead}.")
    return BaseJSONRPCClient(transport=LocalTransport(server), **client_kwargs)


async def _serve(server: BaseJSONRPCServer, stack: contextlib.AsyncExitStack) -> str:
    """Mount ``server`` at ``/rpc`` of a new app on 127.0.0.1 (a free port); stopped when ``stack`` closes."""
    app = web.Application()
    if isinstance(server, WSJSONRPCServer):
        app.router.add_get(RPC_PATH, server.handle_http_request)
        app.on_shutdown.append(server.on_shutdown)
        scheme = 'ws'
    else:
        app.router.add_post(RPC_PATH, server.handle_http_request)
        scheme = 'http'
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=2.0)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, '127.0.0.1', 0).start()
    host, port = runner.addresses[0][:2]
    return f'{scheme}://{host}:{port}{RPC_PATH}'


# -- assertions -------------------------------------------------------------------------------------------------


class _Unchecked(enum.Enum):
    """Marks an expectation that was not given (``None`` is a value ``data`` may have to equal)."""

    UNCHECKED = enum.auto()

    def __repr__(self) -> str:
        return 'UNCHECKED'


UNCHECKED = _Unchecked.UNCHECKED


def assert_rpc_error(
    error: BaseException | pytest.ExceptionInfo[BaseException],
    code: int | type[JSONRPCError],
    message: str | None = None,
    data: Any = UNCHECKED,
) -> JSONRPCError:
    """Assert that ``error`` is a JSON-RPC error with ``code`` (and ``message`` and ``data`` when given).

    Args:
        error: the exception, or the ``ExceptionInfo`` of ``pytest.raises``.
        code: the expected code, or an error class whose code is expected (``MethodNotFound``); only the code
            is compared, whichever class the client raised.
        message: the exact expected message.
        data: the expected ``data`` (``None`` included); not checked when omitted.

    Returns:
        the error, for further checks.

    Raises:
        AssertionError: the error does not match; the message says how.

    Example::

        with pytest.raises(JSONRPCError) as excinfo:
            await rpc_client.methods.withdraw(10)
        assert_rpc_error(excinfo, 4001, 'Insufficient funds', data={'balance': 3})
    """
    __tracebackhide__ = True
    exc = error.value if isinstance(error, pytest.ExceptionInfo) else error
    expected = code if isinstance(code, int) else code.code
    if not isinstance(exc, JSONRPCError):
        raise AssertionError(f'expected JSON-RPC error {expected}, got {exc!r}')
    mismatches = []
    if exc.code != expected:
        mismatches.append(f'code {exc.code} != {expected}')
    if message is not None and exc.message != message:
        mismatches.append(f'message {exc.message!r} != {message!r}')
    if data is not UNCHECKED and exc.data != data:
        mismatches.append(f'data {exc.data!r} != {data!r}')
    if mismatches:
        raise AssertionError(f'{exc!r} does not match: {"; ".join(mismatches)}')
    return exc


class RaisesRPCError:
    """What :func:`raises_rpc_error` returns: a context manager (``with`` or ``async with``).

    Attributes:
        value: the error caught, once the block has exited.
    """

    value: JSONRPCError

    def __init__(self, code: int | type[JSONRPCError], message: str | None, data: Any) -> None:
        self.code = code
        self.message = message
        self.data = data

    def __enter__(self) -> RaisesRPCError:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        __tracebackhide__ = True
        if exc is None:
            expected = self.code if isinstance(self.code, int) else self.code.code
            pytest.fail(f'DID NOT RAISE a JSON-RPC error {expected}', pytrace=False)
        if not isinstance(exc, JSONRPCError):
            return False  # not ours to judge: it propagates, as with pytest.raises
        try:
            self.value = assert_rpc_error(exc, self.code, self.message, self.data)
        except AssertionError as mismatch:
            raise mismatch from None  # the message names the error; the client's own traceback is noise
        return True

    async def __aenter__(self) -> RaisesRPCError:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        __tracebackhide__ = True
        return self.__exit__(exc_type, exc, traceback)


def raises_rpc_error(
    code: int | type[JSONRPCError], message: str | None = None, data: Any = UNCHECKED
) -> RaisesRPCError:
    """Like ``pytest.raises``, for a JSON-RPC error with ``code`` (and ``message``/``data`` when given).

    Exceptions other than :class:`~aiohttp_rpc.errors.JSONRPCError` pass through; a JSON-RPC error that does
    not match fails the test with the differences (see :func:`assert_rpc_error`), as does no error at all.

    Example::

        async with raises_rpc_error(InvalidParams) as caught:
            await rpc_client.methods.add('one')
        assert caught.value.data == {'details': ...}
    """
    return RaisesRPCError(code, message, data)
