"""aiohttp-rpc 1.x code runs: the 1.x names as deprecated aliases, 1.x behaviour where 1.x differed, and the
2.0 classes unchanged by any of it. The programs in ``tests/programs_1x/`` run as real processes."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.legacy import ALIASES, Alias
from aiohttp_rpc.legacy.client import JsonRpcClient, WsJsonRpcClient
from aiohttp_rpc.legacy.protocol import JsonRpcMethod, JsonRpcRequest
from aiohttp_rpc.legacy.server import JsonRpcServer, WsJsonRpcServer
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES

pytestmark = pytest.mark.timeout(60)

PROGRAMS = Path(__file__).resolve().parent / 'programs_1x'
DEPRECATED = 'is deprecated since aiohttp-rpc 2.0: use '


def all_aliases() -> list[tuple[str, str, Alias]]:
    return [(module, name, alias) for module, names in ALIASES.items() for name, alias in names.items()]


@pytest.mark.parametrize(('module', 'name', 'alias'), all_aliases(), ids=lambda value: str(value))
def test_every_1x_name_warns_and_resolves(module: str, name: str, alias: Alias) -> None:
    target_module, attribute = alias.target.split(':')
    target = getattr(__import__(target_module, fromlist=[attribute]), attribute)
    with pytest.warns(DeprecationWarning, match=re.escape(DEPRECATED)) as caught:
        value = getattr(sys.modules[module], name)
    assert value is target
    assert [str(warning.message) for warning in caught] == [f'{module}.{name} {DEPRECATED}{alias.instead}']
    assert caught[0].filename == __file__  # attributed to the line that named it


def test_the_warning_points_at_the_import_line() -> None:
    with pytest.warns(DeprecationWarning, match='JsonRpcServer') as caught:
        from aiohttp_rpc import JsonRpcServer  # noqa: F401

    assert (caught[0].filename, str(caught[0].message)) == (
        __file__,
        f'aiohttp_rpc.JsonRpcServer {DEPRECATED}JSONRPCServer',
    )


@pytest.mark.parametrize('module', sorted(ALIASES))
def test_names_that_never_existed_still_raise_attribute_error(module: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with pytest.raises(AttributeError, match=re.escape(f"module {module!r} has no attribute 'JsonRpcNope'")):
            sys.modules[module].JsonRpcNope  # noqa: B018


def test_1x_names_stay_out_of_the_2_0_public_list() -> None:
    every_1x_name = {name for names in ALIASES.values() for name in names}
    assert every_1x_name.isdisjoint(aiohttp_rpc.__all__)


# -- the 2.0 classes are not changed by the aliases --------------------------------------------------------


async def test_2_0_servers_serve_no_get_methods_and_pass_rpc_request_only_when_asked(aiohttp_client: Any) -> None:
    async def ping(rpc_request: Any) -> str:
        return f'pong {rpc_request}'

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_method(ping)
    assert set(server.methods) == {'ping'}
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    batch = [
        {'jsonrpc': '2.0', 'id': 1, 'method': 'ping', 'params': ['from the client']},
        {'jsonrpc': '2.0', 'id': 2, 'method': 'get_methods'},
    ]
    response = await client.post('/rpc', json=batch)
    assert await response.json() == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 'pong from the client'},
        {'jsonrpc': '2.0', 'id': 2, 'error': {'code': -32601, 'message': 'Method not found'}},
    ]


def test_2_0_clients_have_no_method_attributes() -> None:
    client = aiohttp_rpc.JSONRPCClient('http://127.0.0.1:1/rpc')
    with pytest.raises(AttributeError):
        client.ping  # noqa: B018


# -- JsonRpcRequest and the 1.x attribute names ------------------------------------------------------------


def test_json_rpc_request_takes_both_spellings() -> None:
    old = JsonRpcRequest(method_name='add', id=1, args=[1, 2], extra_args={'x': 1})
    new = JsonRpcRequest(method='add', id=1, args=[1, 2], extra_kwargs={'x': 1})
    positional = JsonRpcRequest('add', 1, '2.0', {'x': 1}, None, [1, 2])
    expected = aiohttp_rpc.JSONRPCRequest(method='add', id=1, params=[1, 2], extra_kwargs={'x': 1})
    for request in (old, new, positional):
        assert isinstance(request, aiohttp_rpc.JSONRPCRequest)
        assert (request.dump(), request.extra_kwargs, request.args) == (expected.dump(), {'x': 1}, [1, 2])


@pytest.mark.parametrize('names', [{}, {'method_name': 'a', 'method': 'a'}])
def test_json_rpc_request_needs_exactly_one_method_name(names: dict[str, str]) -> None:
    with pytest.raises(TypeError, match=re.escape('needs the method name, as method_name= (1.x) or method= (2.0)')):
        JsonRpcRequest(**names)  # type: ignore[arg-type]


def test_method_name_and_extra_args_read_and_write_the_2_0_fields() -> None:
    request = aiohttp_rpc.JSONRPCRequest(method='a')
    with pytest.warns(
        DeprecationWarning, match='JSONRPCRequest.method_name is deprecated .* use JSONRPCRequest.method$'
    ):
        request.method_name = 'b'  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match='use JSONRPCRequest.extra_kwargs$'):
        request.extra_args = {'k': 1}  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match='JSONRPCRequest'):
        assert (request.method_name, request.extra_args) == ('b', {'k': 1})  # type: ignore[attr-defined]
    assert (request.method, request.extra_kwargs) == ('b', {'k': 1})


# -- JsonRpcMethod: rpc_request by parameter name --------------------------------------------------------


async def post(aiohttp_client: Any, server: aiohttp_rpc.JSONRPCServer, body: Any) -> Any:
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    response = await client.post('/rpc', json=body)
    return await response.json()


def call(request_id: int, method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {'jsonrpc': '2.0', 'id': request_id, 'method': method}
    if params is not None:
        message['params'] = params
    return message


async def test_json_rpc_method_passes_extra_values_by_parameter_name(aiohttp_client: Any) -> None:
    async def leading(rpc_request: Any, text: str) -> str:
        return f'{rpc_request.method}:{text}'

    def keyword(text: str, *, rpc_request: Any) -> str:
        return f'{text}@{rpc_request.id}'

    def neither(text: str) -> str:
        return text

    def refused(rpc_request: Any = None) -> str:
        return repr(rpc_request)

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_methods(
        [
            JsonRpcMethod(leading),
            JsonRpcMethod(keyword),
            JsonRpcMethod(neither),
            JsonRpcMethod(refused, add_extra_args=False),
        ]
    )
    body = [
        call(1, 'leading', ['hi']),
        call(2, 'leading', {'text': 'named'}),
        call(3, 'keyword', ['hi']),
        call(4, 'neither', ['plain']),
        call(5, 'refused'),
    ]
    assert await post(aiohttp_client, server, body) == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 'leading:hi'},
        {'jsonrpc': '2.0', 'id': 2, 'result': 'leading:named'},
        {'jsonrpc': '2.0', 'id': 3, 'result': 'hi@3'},
        {'jsonrpc': '2.0', 'id': 4, 'result': 'plain'},
        {'jsonrpc': '2.0', 'id': 5, 'result': 'None'},
    ]


def test_json_rpc_method_tells_1x_details_and_hides_injected_params_from_schemas() -> None:
    def greet(rpc_request: Any, name: str, *, greeting: str = 'hi') -> str:
        """Greet."""
        return name

    method = JsonRpcMethod(greet, name='hello')
    assert (method.name, method.doc, method.supported_args, method.supported_kwargs) == (
        'hello',
        'Greet.',
        ('rpc_request', 'name'),
        ('greeting',),
    )
    assert [param.name for param in method.params] == ['name', 'greeting']


def test_rpc_method_with_add_extra_args_registers_a_1x_method() -> None:
    server = aiohttp_rpc.JSONRPCServer()

    def ping(rpc_request: Any) -> str:
        return 'pong'

    with pytest.warns(DeprecationWarning, match=r'rpc_method\(add_extra_args=...\) .* use rpc_method\(pass_extra'):
        aiohttp_rpc.rpc_method(rpc_server=server, add_extra_args=True)(ping)
    method = server.methods['ping']
    assert isinstance(method, JsonRpcMethod)
    assert method.add_extra_args


# -- the 1.x servers ------------------------------------------------------------------------------------


async def test_1x_server_serves_get_methods_and_wraps_bare_functions(aiohttp_client: Any) -> None:
    async def ping(rpc_request: Any) -> str:
        return 'pong'

    def echo(*args: Any, **kwargs: Any) -> Any:
        return {'args': args, 'kwargs': kwargs}

    server = JsonRpcServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_methods([ping, echo])
    assert isinstance(server, aiohttp_rpc.JSONRPCServer)
    body = [call(1, 'ping'), call(2, 'get_methods'), call(3, 'get_method', ['ping']), call(4, 'get_method', ['x'])]
    replies = await post(aiohttp_client, server, body)
    methods = replies[1]['result']
    assert (sorted(methods), methods['ping'], methods['echo']) == (
        ['echo', 'get_method', 'get_methods', 'ping'],
        {'doc': None, 'args': ['rpc_request'], 'kwargs': []},
        {'doc': None, 'args': [], 'kwargs': []},
    )
    assert [replies[0], replies[2], replies[3]] == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 'pong'},
        {'jsonrpc': '2.0', 'id': 3, 'result': {'doc': None, 'args': ['rpc_request'], 'kwargs': []}},
        {'jsonrpc': '2.0', 'id': 4, 'result': None},
    ]


def test_1x_server_given_its_own_methods_serves_only_those() -> None:
    server = JsonRpcServer(methods={})
    assert dict(server.methods) == {}


async def test_2_0_server_get_methods_and_call_extra_args_are_deprecated_but_work() -> None:
    def greet(name: str, *, rpc_request: Any = None) -> str:
        """Greet."""
        return f'{name} {rpc_request}'

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(greet, pass_extra_kwargs=True))
    with pytest.warns(DeprecationWarning, match=r'get_methods\(\) .* use server.methods, or rpc.discover'):
        assert server.get_methods() == {'greet': {'doc': 'Greet.', 'args': ['name'], 'kwargs': ['rpc_request']}}
    with pytest.warns(DeprecationWarning, match=r'use server.methods\[name\]'):
        assert server.get_method('nope') is None
    with pytest.warns(DeprecationWarning, match=r'call\(extra_args=...\) .* use call\(extra_kwargs=...\)'):
        assert await server.call('greet', args=['a'], extra_args={'rpc_request': 'R'}) == 'a R'


async def test_1x_ws_server_context_has_a_client_for_the_peer(aiohttp_client: Any) -> None:
    server = WsJsonRpcServer(middlewares=DEFAULT_MIDDLEWARES)
    clients: list[Any] = []

    async def remember(rpc_request: Any) -> bool:
        clients.append(rpc_request.context['ws_rpc_client'])
        return True

    server.add_method(remember)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_client = await aiohttp_client(app)
    url = str(test_client.make_url('/rpc'))
    async with WsJsonRpcClient(url) as one, WsJsonRpcClient(url) as two:
        for _ in range(2):
            assert await one.remember() is True
        assert await two.remember() is True
        assert len(server.rcp_websockets) == 2
    assert clients[0] is clients[1]
    assert clients[0] is not clients[2]
    assert all(isinstance(client, WsJsonRpcClient) for client in clients)


# -- the 1.x clients ------------------------------------------------------------------------------------


@pytest.fixture
async def echo_url(aiohttp_client: Any) -> str:
    def echo(*args: Any, **kwargs: Any) -> Any:
        return [args, kwargs]

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(echo)
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return str((await aiohttp_client(app)).make_url('/rpc'))


async def test_1x_client_methods_as_attributes_and_1x_batches(echo_url: str) -> None:
    async with JsonRpcClient(echo_url) as rpc:
        assert await rpc.echo(1, 2) == [[1, 2], {}]
        assert await rpc.echo(a=1) == [[], {'a': 1}]
        batch = await rpc.batch(
            [
                'echo',
                ['echo'],
                ['echo', 7],
                ['echo', [1, 2]],
                ['echo', {'a': 1}],
                ['echo', [3], {}],
                rpc.build_request('echo', (9,)),
            ]
        )
        assert batch == ([[], {}], [[], {}], [[7], {}], [[1, 2], {}], [[], {'a': 1}], [[3], {}], [[9], {}])
        assert await rpc.batch(rpc.build_request('echo', (1,)), rpc.build_request('echo', (2,))) == (
            [[1], {}],
            [[2], {}],
        )
        assert await rpc.batch_notify(['echo', ['echo', [1]]]) is None
        with pytest.raises(aiohttp_rpc.errors.InvalidParams) as raised:
            await rpc.batch([['echo', 1, 2, 3]])
        assert 'got a list of 4' in str(raised.value)


def test_1x_client_attributes_are_not_invented_for_private_or_declared_names() -> None:
    client = JsonRpcClient('http://127.0.0.1:1/rpc')
    for name in ('_private', '__deepcopy__'):
        with pytest.raises(AttributeError, match=name):
            getattr(client, name)
    assert callable(client.anything)


async def test_1x_ws_client_handlers_for_requests_and_unmatched_replies(aiohttp_client: Any) -> None:
    async def peer(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"jsonrpc": "2.0", "method": "hello", "params": [1]}')
        await ws.send_str('{"jsonrpc": "2.0", "id": "stray", "result": 5}')
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get('/ws', peer)
    url = str((await aiohttp_client(app)).make_url('/ws'))
    requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    unmatched: asyncio.Queue[Any] = asyncio.Queue()

    async def on_request(*, ws_connect: Any, ws_msg: aiohttp.WSMessage, json_request: dict[str, Any]) -> None:
        await requests.put(json_request)

    def on_unmatched(*, ws_connect: Any, ws_msg: aiohttp.WSMessage, json_response: Any) -> None:
        unmatched.put_nowait(json_response)

    async with WsJsonRpcClient(url, json_request_handler=on_request, unprocessed_json_response_handler=on_unmatched):
        assert await requests.get() == {'jsonrpc': '2.0', 'method': 'hello', 'params': [1]}
        assert await unmatched.get() == {'jsonrpc': '2.0', 'id': 'stray', 'result': 5}


# -- 1.x programs, as processes ---------------------------------------------------------------------------

EXPECTED_OUTPUT = {
    'http_readme.py': [
        '#1 pong',
        "#2 {'args': ['one', 'two'], 'kwargs': {}}",
        "#3 {'args': [], 'kwargs': {'three': '3'}}",
        '#4 None',
        "#5 {'get_method': {'doc': 'What :meth:`get_methods` tells about one method, or ``None`` when no method has "
        "that name.', 'args': ['name'], 'kwargs': []}, 'get_methods': {'doc': \"``{name: {'doc': ..., 'args': [...], "
        "'kwargs': [...]}}`` for every served method, as 1.x told it.\", 'args': [], 'kwargs': []}, 'ping': {'doc': "
        "None, 'args': ['rpc_request'], 'kwargs': []}, 'echo': {'doc': None, 'args': [], 'kwargs': []}, 'method_of': "
        "{'doc': None, 'args': ['rpc_request', 'suffix'], 'kwargs': []}, 'generate_user_token': {'doc': None, 'args': "
        "['user'], 'kwargs': []}}",
        "#6 ({'args': [2], 'kwargs': {}}, MethodNotFound(-32601, 'Method not found'), 'pong')",
        '#7 method_of!',
        '#8 token-600d57b3',
        '#9 -32602 Invalid params',
        "#10 {'doc': None, 'args': ['rpc_request', 'suffix'], 'kwargs': []}",
    ],
    'ws_server_subclass.py': [
        '#1 4001 Log in first.',
        '#2 hello alice',
        "#3 {'user': 'alice', 'calls': 3}",
        '#4 4001 Log in first.',
        '#5 4002 cannot withdraw 100',
        '#6 3',
        "#7 ('heard', ['HEY']) ('heard', ['hey'])",
        '#8 2',
        "#9 ('hello alice2', {'user': 'alice2', 'calls': 7})",
    ],
    'direct_calls.py': [
        "#1 {'doc': 'Greet someone.', 'args': ['name'], 'kwargs': ['greeting']}",
        '#2 3',
        '#3 JSONRPCResponse 1 42 None',
        '#4 mike',
        '#5 1 hello ann None',
        '#5 2 hey bo None',
        '#5 3 None Method not found',
        "#6 ('hello ann', 'hey bo', MethodNotFound(-32601, 'Method not found'), None)",
        '#7 -32602',
        '#8 outer session closed: False',
    ],
}

EXPECTED_DEPRECATIONS = {
    'http_readme.py': {
        'aiohttp_rpc.JsonRpcServer ... JSONRPCServer',
        'aiohttp_rpc.JsonRpcClient ... JSONRPCClient',
        'aiohttp_rpc.middlewares.extra_args_middleware ... inject_request_middleware',
        'JSONRPCRequest.method_name ... JSONRPCRequest.method',
    },
    'ws_server_subclass.py': {
        'aiohttp_rpc.WsJsonRpcServer ... WSJSONRPCServer',
        'aiohttp_rpc.WsJsonRpcClient ... WSJSONRPCClient',
        'aiohttp_rpc.JsonRpcResponse ... JSONRPCResponse',
        'aiohttp_rpc.errors.JsonRpcError ... JSONRPCError',
        'aiohttp_rpc.middlewares.extra_args_middleware ... inject_request_middleware',
        "aiohttp_rpc.middlewares.ws_client_for_server_response ... get_peer(rpc_request) (or the context's 'rpc_peer')",
        'JSONRPCRequest.method_name ... JSONRPCRequest.method',
        'JSONRPCRequest.extra_args ... JSONRPCRequest.extra_kwargs',
    },
    'direct_calls.py': {
        'aiohttp_rpc.JsonRpcServer ... JSONRPCServer',
        'aiohttp_rpc.JsonRpcClient ... JSONRPCClient',
        'aiohttp_rpc.JsonRpcMethod ... JSONRPCMethod',
        'aiohttp_rpc.JsonRpcRequest ... JSONRPCRequest',
        'aiohttp_rpc.JsonRpcBatchRequest ... JSONRPCBatchRequest',
    },
}


@pytest.mark.parametrize('program', sorted(EXPECTED_OUTPUT))
def test_1x_programs_run_unchanged(program: str) -> None:
    """Each runs with every warning an error except the deprecations, which are listed, each naming the 2.0
    spelling; nothing else reaches stderr."""
    completed = subprocess.run(
        [sys.executable, '-W', 'error', '-W', 'always::DeprecationWarning', str(PROGRAMS / program)],
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == EXPECTED_OUTPUT[program]
    lines = completed.stderr.splitlines()
    warning_lines = lines[::2]  # each warning is its line, then the source line it points at
    deprecations = {re.sub(r'^.*?: DeprecationWarning: (.*)', r'\1', line) for line in warning_lines}
    assert {message.replace(f' {DEPRECATED}', ' ... ') for message in deprecations} == EXPECTED_DEPRECATIONS[program]
    assert all(line.startswith(str(PROGRAMS / program)) for line in warning_lines)
    assert all(line.startswith('  ') for line in lines[1::2])


def test_with_traceback_without_a_traceback_keeps_the_error_as_it_is() -> None:
    error = aiohttp_rpc.errors.InternalError()
    with pytest.warns(DeprecationWarning, match=r'with_traceback\(\) without a traceback .* use raise the error'):
        assert error.with_traceback() is error
    assert error.data is None  # 1.x put the traceback here, for the client to read
    with pytest.raises(ValueError, match='inner') as raised:
        raise ValueError('inner')
    traceback = raised.value.__traceback__
    assert error.with_traceback(traceback).__traceback__ is traceback


def test_type_checkers_flag_every_1x_name(tmp_path: Path) -> None:
    """The alias hooks are hidden from type checkers: mypy reports each 1.x name, so a code base can find them."""
    snippet = tmp_path / 'uses_1x.py'
    uses = [f'{module}.{name}' for module, name, _ in all_aliases()]
    imports = sorted({use.rsplit('.', 1)[0] for use in uses})
    snippet.write_text('\n'.join([*(f'import {module}' for module in imports), '', *uses, '']))
    completed = subprocess.run(
        [sys.executable, '-m', 'mypy', '--strict', '--no-incremental', str(snippet)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    flagged = re.findall(r':(\d+): error: Module has no attribute "(\w+)"', completed.stdout)
    first_use = len(imports) + 2
    assert flagged == [(str(first_use + index), use.rsplit('.', 1)[1]) for index, use in enumerate(uses)]
