"""The pytest plugin (``aiohttp_rpc.testing``): ``rpc_client`` over every transport, and the error assertions.

The plugin is loaded here as everywhere aiohttp_rpc is installed, so this module uses it directly; pytester runs
a user's test suite with it in a sub-run, to check outcomes and failure messages as a user sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import aiohttp_rpc
from aiohttp_rpc import JSONRPCRequest, JSONRPCResponse, errors
from aiohttp_rpc.errors import InvalidParams, JSONRPCError, MethodNotFound
from aiohttp_rpc.testing import (
    NO_ASYNC_PLUGIN,
    LocalTransport,
    RPCClientFactory,
    assert_rpc_error,
    raises_rpc_error,
)
from aiohttp_rpc.typedefs import SingleRequestProcessorType

pytest_plugins = ['pytester']


class InsufficientFunds(JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


def add(a: int, b: int) -> int:
    return a + b


def withdraw(amount: int) -> None:
    raise InsufficientFunds(data={'balance': 3})


def transport_of(rpc_request: JSONRPCRequest) -> str:
    context = rpc_request.context
    if 'ws_connect' in context:
        return 'ws'
    return 'http' if 'http_request' in context else 'local'


@pytest.fixture
def rpc_server(rpc_transport: str) -> aiohttp_rpc.JSONRPCServer | aiohttp_rpc.WSJSONRPCServer:
    server_class = aiohttp_rpc.WSJSONRPCServer if rpc_transport == 'ws' else aiohttp_rpc.JSONRPCServer
    server = server_class(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([add, withdraw, aiohttp_rpc.JSONRPCMethod(transport_of, pass_extra_kwargs=True)])
    return server


# -- rpc_client -------------------------------------------------------------------------------------------------


async def test_local_by_default(rpc_client: aiohttp_rpc.BaseJSONRPCClient, rpc_transport: str) -> None:
    assert rpc_transport == 'local'
    assert isinstance(rpc_client.transport, LocalTransport)
    assert await rpc_client.methods.transport_of() == 'local'


@pytest.mark.rpc_transport('http', 'ws', 'local')
async def test_every_transport(rpc_client: aiohttp_rpc.BaseJSONRPCClient, rpc_transport: str) -> None:
    assert await rpc_client.methods.transport_of() == rpc_transport
    assert await rpc_client.methods.add(1, 2) == 3
    assert await rpc_client.batch(rpc_client.methods.add.request(2, 3), rpc_client.methods.nope.request()) == (
        5,
        MethodNotFound(),
    )
    await rpc_client.notify('add', 1, 1)
    with pytest.raises(JSONRPCError) as excinfo:
        await rpc_client.methods.withdraw(10)
    assert_rpc_error(excinfo, InsufficientFunds, 'Insufficient funds', data={'balance': 3})


@pytest.mark.rpc_transport
async def test_bare_marker_means_every_transport(request: pytest.FixtureRequest, rpc_transport: str) -> None:
    assert request.node.callspec.params['rpc_transport'] == rpc_transport
    assert rpc_transport in ('local', 'http', 'ws')


@pytest.mark.parametrize('rpc_transport', ['http'])
async def test_parametrize_the_fixture(rpc_client: aiohttp_rpc.BaseJSONRPCClient) -> None:
    assert isinstance(rpc_client, aiohttp_rpc.JSONRPCClient)
    assert await rpc_client.methods.transport_of() == 'http'


@pytest.mark.rpc_transport('ws')
async def test_client_kwargs_and_shared_server(
    rpc_server: aiohttp_rpc.WSJSONRPCServer, rpc_client_factory: RPCClientFactory
) -> None:
    received: list[tuple[int, str]] = []
    both = asyncio.Event()

    def news(text: str, *, who: int) -> None:
        received.append((who, text))
        if len(received) == 2:
            both.set()

    first = await rpc_client_factory(
        rpc_server, 'ws', methods=[aiohttp_rpc.JSONRPCMethod(lambda text: news(text, who=1), name='news')]
    )
    second = await rpc_client_factory(
        rpc_server, 'ws', methods=[aiohttp_rpc.JSONRPCMethod(lambda text: news(text, who=2), name='news')]
    )
    assert isinstance(first, aiohttp_rpc.WSJSONRPCClient)
    assert first.url == second.url  # one server, started once
    assert await rpc_server.broadcast('news', 'hello') == 2
    await both.wait()
    assert sorted(received) == [(1, 'hello'), (2, 'hello')]


async def test_transport_must_fit_the_server(rpc_client_factory: RPCClientFactory) -> None:
    http_server = aiohttp_rpc.JSONRPCServer()
    ws_server = aiohttp_rpc.WSJSONRPCServer()
    with pytest.raises(pytest.fail.Exception, match="'ws' needs a WSJSONRPCServer, not JSONRPCServer"):
        await rpc_client_factory(http_server, 'ws')
    with pytest.raises(pytest.fail.Exception, match="'http' needs a JSONRPCServer, not WSJSONRPCServer"):
        await rpc_client_factory(ws_server, 'http')
    with pytest.raises(pytest.fail.Exception, match="Unknown rpc_transport 'smoke'"):
        await rpc_client_factory(http_server, 'smoke')


# -- LocalTransport ---------------------------------------------------------------------------------------------


async def refuse(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
    if request.method == 'forbidden':
        raise errors.RequestRejected(403, 'Go away')
    return await handler(request)


async def test_local_transport() -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=[refuse])
    server.add_method(add)
    transport = LocalTransport(server, context={'tenant': 'acme'})
    client = aiohttp_rpc.BaseJSONRPCClient()
    client.transport = transport
    async with client:
        response = await client.direct_call(JSONRPCRequest(method='add', id=7, params=[1, 2]), headers={'X': '1'})
        assert response is not None
        assert response.result == 3
        assert response.context['server_context'] == {'tenant': 'acme'}
        assert await client.batch_notify(client.methods.add.notification(1, 2)) is None
        with pytest.raises(errors.HTTPStatusError) as excinfo:
            await client.methods.forbidden()
        assert excinfo.value.data == {'status': 403, 'message': 'Go away'}
        with pytest.raises(errors.EmptyResponse):  # a reply was expected: the server sent none
            await transport.send(b'{"jsonrpc": "2.0", "method": "add", "params": [1, 2]}', expect_reply=True)
    with pytest.raises(errors.TransportError):
        await transport.send(b'{}', expect_reply=True)
    await transport.aclose()


# -- assertions -------------------------------------------------------------------------------------------------


def test_assert_rpc_error_accepts_exceptions_and_excinfo() -> None:
    error = InvalidParams(data={'details': 'no'})
    assert assert_rpc_error(error, -32602) is error
    assert assert_rpc_error(error, InvalidParams, 'Invalid params', data={'details': 'no'}) is error
    with pytest.raises(JSONRPCError) as excinfo:
        raise error
    assert assert_rpc_error(excinfo, -32602) is error


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'code': -32601}, "InvalidParams(-32602, 'Invalid params') does not match: code -32602 != -32601"),
        ({'code': MethodNotFound}, 'code -32602 != -32601'),
        ({'code': -32602, 'message': 'Bad'}, "message 'Invalid params' != 'Bad'"),
        ({'code': -32602, 'data': None}, "data {'details': 'no'} != None"),
        (
            {'code': 1, 'message': 'x', 'data': 2},
            "code -32602 != 1; message 'Invalid params' != 'x'; data {'details': 'no'} != 2",
        ),
    ],
)
def test_assert_rpc_error_says_what_differs(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_rpc_error(InvalidParams(data={'details': 'no'}), **kwargs)
    assert message in str(excinfo.value)


def test_unchecked_reads_well_in_signatures() -> None:
    assert "data: 'Any' = UNCHECKED" in str(inspect.signature(assert_rpc_error))


def test_assert_rpc_error_needs_a_json_rpc_error() -> None:
    with pytest.raises(AssertionError, match=r"expected JSON-RPC error -32601, got ValueError\('boom'\)"):
        assert_rpc_error(ValueError('boom'), MethodNotFound)


async def test_raises_rpc_error(rpc_client: aiohttp_rpc.BaseJSONRPCClient) -> None:
    async with raises_rpc_error(MethodNotFound) as caught:
        await rpc_client.methods.nope()
    assert caught.value == MethodNotFound()
    with raises_rpc_error(4001, data={'balance': 3}) as caught_sync:
        await rpc_client.methods.withdraw(1)
    assert isinstance(caught_sync.value, JSONRPCError)
    with pytest.raises(AssertionError, match='code -32601 != -32602'):
        async with raises_rpc_error(InvalidParams):
            await rpc_client.methods.nope()
    with pytest.raises(pytest.fail.Exception, match='DID NOT RAISE a JSON-RPC error -32601'):
        async with raises_rpc_error(MethodNotFound):
            await rpc_client.methods.add(1, 2)
    with pytest.raises(KeyError), raises_rpc_error(MethodNotFound):  # other exceptions pass through
        raise KeyError('x')


# -- as a user sees it ------------------------------------------------------------------------------------------

USER_CONFTEST = """
    import pytest
    import aiohttp_rpc
    from aiohttp_rpc.errors import JSONRPCError


    class InsufficientFunds(JSONRPCError):
        code = 4001
        message = 'Insufficient funds'


    def add(a, b):
        return a + b


    def withdraw(amount):
        raise InsufficientFunds(data={'balance': 3})


    @pytest.fixture
    def rpc_server(rpc_transport):
        server_class = aiohttp_rpc.WSJSONRPCServer if rpc_transport == 'ws' else aiohttp_rpc.JSONRPCServer
        server = server_class(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
        server.add_methods([add, withdraw])
        return server
"""

USER_TESTS = """
    import pytest
    from aiohttp_rpc.errors import JSONRPCError, MethodNotFound
    from aiohttp_rpc.testing import assert_rpc_error, raises_rpc_error

    {mark}


    @pytest.mark.rpc_transport('http', 'ws', 'local')
    async def test_add(rpc_client):
        assert await rpc_client.methods.add(1, 2) == 3


    @pytest.mark.rpc_transport('http', 'ws', 'local')
    async def test_errors(rpc_client):
        async with raises_rpc_error(MethodNotFound):
            await rpc_client.methods.nope()
        with pytest.raises(JSONRPCError) as excinfo:
            await rpc_client.methods.withdraw(10)
        assert_rpc_error(excinfo, 4001, 'Insufficient funds', data={{'balance': 3}})


    async def test_default(rpc_client, rpc_transport):
        assert rpc_transport == 'local'
        assert await rpc_client.methods.add(2, 2) == 4


    async def test_wrong_code(rpc_client):
        async with raises_rpc_error(-32602):
            await rpc_client.methods.nope()
"""


def write_user_project(pytester: pytest.Pytester, *, mode: str) -> None:
    pytester.makeini(
        f"""
        [pytest]
        addopts = --strict-markers --strict-config -p no:cacheprovider
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        """
    )
    pytester.makeconftest(textwrap.dedent(USER_CONFTEST))
    mark = 'pytestmark = pytest.mark.asyncio' if mode == 'strict' else ''
    pytester.makepyfile(test_user=textwrap.dedent(USER_TESTS.format(mark=mark)))


@pytest.mark.parametrize('mode', ['auto', 'strict'])
def test_a_users_suite(pytester: pytest.Pytester, mode: str) -> None:
    write_user_project(pytester, mode=mode)
    result = pytester.runpytest('-v')
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*test_add?http? PASSED*',
            '*test_add?ws? PASSED*',
            '*test_add?local? PASSED*',
            "E*AssertionError: MethodNotFound(-32601, 'Method not found') does not match: code -32601 != -32602",
        ]
    )
    assert 'aiohttp_rpc/testing.py' not in result.stdout.str()  # the helpers hide their own frames
    assert 'warnings summary' not in result.stdout.str()


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini('[pytest]\nasyncio_default_fixture_loop_scope = function\n')
    result = pytester.runpytest('--markers')
    result.stdout.fnmatch_lines(['@pytest.mark.rpc_transport(*names): run the test once per transport*'])


def test_unknown_transport_is_a_collection_error(pytester: pytest.Pytester) -> None:
    write_user_project(pytester, mode='auto')
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.rpc_transport('carrier-pigeon')
        async def test_it(rpc_client):
            pass
        """
    )
    result = pytester.runpytest('test_bad.py')
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown transport 'carrier-pigeon'; choose among local, http, ws*"])


def test_harmless_without_rpc_server(pytester: pytest.Pytester) -> None:
    pytester.makeini('[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makepyfile(
        """
        def test_plain():
            assert True

        async def test_client_without_server(rpc_client):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'rpc_server' not found*"])


def documented_recipe() -> dict[str, str]:
    """The guide's pytest recipe (docs/testing.md): its ``# conftest.py`` and ``# test_api.py`` code blocks, as
    they are."""
    page = (Path(__file__).resolve().parent.parent / 'docs' / 'testing.md').read_text()
    blocks = re.findall(r'```python\n(# (\w+)\.py\n.*?)```', page, flags=re.S)
    return {name: code for code, name in blocks if name in ('conftest', 'test_api')}


@pytest.mark.parametrize('mode', ['strict', 'auto'])
def test_the_documented_recipe_runs_as_pasted(pytester: pytest.Pytester, mode: str) -> None:
    """In pytest-asyncio's default strict mode too, with no mark of the user's."""
    recipe = documented_recipe()
    assert set(recipe) == {'conftest', 'test_api'}
    pytester.makeini(f'[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n')
    pytester.makeconftest(recipe['conftest'])
    pytester.makepyfile(test_api=recipe['test_api'])
    result = pytester.runpytest_subprocess('-p', 'no:aiohttp', '-p', 'no:cacheprovider')
    result.assert_outcomes(passed=4)


def test_without_an_async_plugin_one_line_says_what_to_install(pytester: pytest.Pytester) -> None:
    recipe = documented_recipe()
    pytester.makeconftest(recipe['conftest'])
    pytester.makepyfile(test_api=recipe['test_api'])
    result = pytester.runpytest_subprocess('-p', 'no:aiohttp', '-p', 'no:asyncio', '-p', 'no:cacheprovider')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines == [f'ERROR: {NO_ASYNC_PLUGIN}', '']


@pytest.mark.parametrize(
    ('option', 'message'),
    [
        (
            'headers',
            "The 'local' transport takes no headers=: use the 'http' or 'ws' transport (no HTTP request goes "
            'in-process, so no headers reach guards).',
        ),
        (
            'methods',
            "The 'local' transport takes no methods=: use the 'ws' transport (a client serves methods to its server "
            'over a WebSocket).',
        ),
    ],
)
async def test_what_the_local_transport_cannot_carry_is_said_in_one_line(
    rpc_client_factory: RPCClientFactory, option: str, message: str
) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    with pytest.raises(ValueError, match=r"^The 'local' transport takes no") as raised:
        await rpc_client_factory(server, 'local', **{option: {}})
    assert str(raised.value) == message
