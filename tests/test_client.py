"""``JSONRPCClient`` against real servers: lifecycle, the high- and low-level API, error mapping, failures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import JSONRPCClient, JSONRPCRequest, errors
from aiohttp_rpc.client import ClientState
from aiohttp_rpc.client.transports.http import HTTPTransport
from aiohttp_rpc.client.transports.local import LocalTransport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ping() -> str:
    return 'pong'


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {'args': list(args), 'kwargs': kwargs}


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


def withdraw(amount: int) -> None:
    raise InsufficientFunds(data={'requested': amount})


@pytest.fixture
async def url(rpc_server_factory: Any) -> str:
    return await rpc_server_factory(ping, echo, subtract, withdraw)


@pytest.fixture
def route_url(aiohttp_server: Any) -> Callable[[Handler], Awaitable[str]]:
    """Serve a hand-written aiohttp handler on ``POST /rpc`` (for servers that misbehave); return the URL."""

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post('/rpc', handler)
        return str((await aiohttp_server(app)).make_url('/rpc'))

    return serve


# -- lifecycle ------------------------------------------------------------------------------------------------


async def test_async_with(url: str) -> None:
    client = JSONRPCClient(url)
    assert client.state is ClientState.UNOPENED
    assert client.session is None

    async with client as rpc:
        assert rpc is client
        assert client.state is ClientState.OPENED
        session = client.session
        assert isinstance(session, aiohttp.ClientSession)
        assert await rpc.call('ping') == 'pong'

    assert client.state is ClientState.CLOSED
    assert session.closed
    assert client.session is None


async def test_connect_and_disconnect(url: str) -> None:
    client = JSONRPCClient(url)
    await client.connect()
    await client.connect()  # a no-op when already open
    session = client.session
    assert await client.call('ping') == 'pong'
    assert client.session is session

    await client.disconnect()
    await client.disconnect()  # closing twice is fine
    assert client.state is ClientState.CLOSED
    assert session is not None
    assert session.closed


async def test_connects_by_itself_on_first_call(url: str) -> None:
    client = JSONRPCClient(url)
    try:
        assert await client.call('ping') == 'pong'
        assert client.state is ClientState.OPENED
    finally:
        await client.disconnect()


async def test_outer_session_is_never_closed(url: str, http_session: aiohttp.ClientSession) -> None:
    async with JSONRPCClient(url, session=http_session) as rpc:
        assert rpc.session is http_session
        assert await rpc.call('ping') == 'pong'
    assert not http_session.closed

    client = JSONRPCClient(url, session=http_session)
    await client.disconnect()
    await client.disconnect()
    assert not http_session.closed


@pytest.mark.parametrize('opened', [True, False], ids=['after-use', 'never-opened'])
async def test_closed_client_cannot_be_used(url: str, opened: bool) -> None:
    client = JSONRPCClient(url)
    if opened:
        async with client:
            assert await client.call('ping') == 'pong'
    else:
        await client.disconnect()

    for attempt in (lambda: client.call('ping'), lambda: client.notify('ping'), client.connect):
        with pytest.raises(RuntimeError, match='closed'):
            await attempt()
    with pytest.raises(RuntimeError):
        async with client:
            pass


async def test_transport_must_be_open() -> None:
    transport = HTTPTransport('http://127.0.0.1:1/rpc')
    with pytest.raises(RuntimeError, match='not open'):
        await transport.send(b'{}', expect_reply=True)
    await transport.aclose()


# -- the API --------------------------------------------------------------------------------------------------


async def test_call(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        assert await rpc.call('ping') == 'pong'
        assert await rpc.call('subtract', 10, 4) == 6
        assert await rpc.call('subtract', subtrahend=4, minuend=10) == 6
        assert await rpc.call('echo', 'a', [1, None]) == {'args': ['a', [1, None]], 'kwargs': {}}
        with pytest.raises(errors.InvalidParams):
            await rpc.call('subtract', 1, b=2)
        with pytest.raises(errors.MethodNotFound):
            await rpc.call('missing')


async def test_methods_proxy(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        assert await rpc.methods.ping() == 'pong'
        assert await rpc.methods.echo('one', 'two') == {'args': ['one', 'two'], 'kwargs': {}}
        assert await rpc.methods.echo(three='3') == {'args': [], 'kwargs': {'three': '3'}}
        assert await rpc.methods['subtract'](5, 2) == 3
        assert rpc.methods.ping is rpc.methods['ping']

        request = rpc.methods.echo.request('x', 1)
        assert isinstance(request, JSONRPCRequest)
        assert (request.method, request.args, request.is_notification) == ('echo', ('x', 1), False)
        assert rpc.methods.echo.request().id != request.id

        notification = rpc.methods.echo.notification(a=1)
        assert (notification.method, notification.kwargs, notification.is_notification) == ('echo', {'a': 1}, True)
        assert notification.dump() == {'method': 'echo', 'jsonrpc': '2.0', 'params': {'a': 1}}

        with pytest.raises(AttributeError):
            rpc.methods.__wrapped__  # noqa: B018


async def test_methods_proxy_cache_is_bounded() -> None:
    methods = aiohttp_rpc.client.JSONRPCClientMethods(JSONRPCClient('http://127.0.0.1:1/rpc'), max_cache_size=2)
    first = methods.a
    second = methods.b
    assert methods.a is first  # ``a`` becomes the most recently used
    assert methods.c is not second  # evicts ``b``
    assert methods.a is first
    assert methods._cache.keys() == {'a', 'c'}


@pytest.fixture
def inbox(rpc_server_factory: Any) -> tuple[list[Any], Callable[[], Awaitable[str]]]:
    """A server whose ``record`` method appends its params to a list; returns (list, start-server)."""
    received: list[Any] = []

    def record(*args: Any, **kwargs: Any) -> str:
        received.append(list(args) or kwargs)
        return 'recorded'

    async def start() -> str:
        return await rpc_server_factory(record)

    return received, start


async def test_notify(inbox: Any) -> None:
    received, start = inbox
    async with JSONRPCClient(await start()) as rpc:
        assert await rpc.notify('record', 1, 2) is None
        assert await rpc.methods.record.notify(key='value') is None
        assert await rpc.notify('missing') is None  # no reply, so no error either
    assert received == [[1, 2], {'key': 'value'}]


async def test_notify_is_delivered_before_it_returns(rpc_server_factory: Any) -> None:
    arrived = asyncio.Event()

    def signal() -> None:
        arrived.set()

    async with JSONRPCClient(await rpc_server_factory(signal)) as rpc:
        await rpc.notify('signal')
        assert arrived.is_set()


async def test_batch_keeps_request_order_with_errors_in_place(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        values = await rpc.batch(
            rpc.methods.ping.request(),
            rpc.methods.missing.request(),
            rpc.methods.echo.request('one', 'two'),
            rpc.methods.echo.notification('ignored'),
            rpc.methods.withdraw.request(7),
            rpc.methods.subtract.request(minuend=3, subtrahend=1),
        )
    assert len(values) == 6
    assert values[0] == 'pong'
    assert isinstance(values[1], errors.MethodNotFound)
    assert values[2] == {'args': ['one', 'two'], 'kwargs': {}}
    assert values[3] is None
    assert type(values[4]) is errors.JSONRPCError
    assert (values[4].code, values[4].data) == (4001, {'requested': 7})
    assert values[5] == 2


async def reversed_batch(http_request: web.Request) -> web.Response:
    """A server that answers batch members in reverse order, each with ``[method, params]``."""
    batch = await http_request.json()
    replies = [
        {'jsonrpc': '2.0', 'id': item['id'], 'result': [item['method'], item.get('params')]}
        for item in reversed(batch)
        if 'id' in item
    ]
    return web.json_response(replies)


@pytest.mark.parametrize(
    ('save_order', 'expected'),
    [
        pytest.param(True, (['a', None], ['b', [1]], None, ['c', {'x': 2}]), id='save-order'),
        pytest.param(False, (['c', {'x': 2}], ['b', [1]], ['a', None]), id='reply-order'),
    ],
)
async def test_batch_order(route_url: Any, save_order: bool, expected: tuple[Any, ...]) -> None:
    async with JSONRPCClient(await route_url(reversed_batch)) as rpc:
        values = await rpc.batch(
            rpc.methods.a.request(),
            rpc.methods.b.request(1),
            rpc.methods.n.notification(),
            rpc.methods.c.request(x=2),
            save_order=save_order,
        )
    assert values == expected


async def test_batch_notify(inbox: Any) -> None:
    received, start = inbox
    async with JSONRPCClient(await start()) as rpc:
        assert (
            await rpc.batch_notify(
                rpc.methods.record.notification('a'),
                rpc.methods.record.notification(b=2),
            )
            is None
        )
    assert sorted(map(str, received)) == ["['a']", "{'b': 2}"]


async def test_empty_batch_is_refused_locally(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        with pytest.raises(errors.InvalidRequest):
            await rpc.batch()
        with pytest.raises(errors.InvalidRequest):
            await rpc.batch_notify()


async def test_batch_rejected_as_a_whole(rpc_server_factory: Any) -> None:
    async with JSONRPCClient(await rpc_server_factory(ping, max_batch=1)) as rpc:
        with pytest.raises(errors.InvalidRequest) as exc_info:
            await rpc.batch(rpc.methods.ping.request(), rpc.methods.ping.request())
    assert exc_info.value.data == {'details': 'Batch too large.'}


async def test_direct_call_forwards_headers_and_exposes_the_http_response(rpc_server_factory: Any) -> None:
    async def header(name: str, rpc_request: JSONRPCRequest) -> str | None:
        return rpc_request.context['http_request'].headers.get(name)

    url = await rpc_server_factory(aiohttp_rpc.JSONRPCMethod(header, pass_extra_kwargs=True))
    async with JSONRPCClient(url) as rpc:
        response = await rpc.direct_call(
            JSONRPCRequest(method='header', id=123, params=['X-Custom-Header']),
            headers={'X-Custom-Header': 'custom value'},
            timeout=aiohttp.ClientTimeout(total=30),
        )
        assert response is not None
        assert (response.id, response.result, response.error) == (123, 'custom value', None)
        http_response = response.context['http_response']
        assert isinstance(http_response, aiohttp.ClientResponse)
        assert http_response.status == 200

        content_type = await rpc.direct_call(JSONRPCRequest(method='header', id=124, params=['Content-Type']))
        assert content_type is not None
        assert content_type.result == 'application/json'

        assert await rpc.direct_call(JSONRPCRequest(method='header', params=['X'])) is None


async def test_direct_batch(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        batch = aiohttp_rpc.JSONRPCBatchRequest(
            requests=(JSONRPCRequest(method='ping', id='p'), JSONRPCRequest(method='subtract', id=2, params=[2, 1]))
        )
        batch_response = await rpc.direct_batch(batch, headers={'X-Ignored': '1'})
        assert batch_response is not None
        by_id = {response.id: response for response in batch_response.responses}
        assert (by_id['p'].result, by_id[2].result) == ('pong', 1)
        assert all(isinstance(r.context['http_response'], aiohttp.ClientResponse) for r in batch_response.responses)

        notifications = aiohttp_rpc.JSONRPCBatchRequest(requests=(JSONRPCRequest(method='ping'),))
        assert await rpc.direct_batch(notifications) is None


class RecordingClient(JSONRPCClient):
    """Every message goes through ``send_json``: recording it here sees all traffic."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[Any, bool]] = []

    async def send_json(self, data: Any, *, ignore_response: bool = False, **kwargs: Any) -> Any:
        self.sent.append((data, ignore_response))
        return await super().send_json(data, ignore_response=ignore_response, **kwargs)


async def test_send_json_is_the_single_extension_point(url: str) -> None:
    async with RecordingClient(url) as rpc:
        await rpc.call('ping')
        await rpc.notify('ping')
        await rpc.methods.subtract(3, 2)
        await rpc.batch(rpc.methods.ping.request(), rpc.methods.ping.notification())
        await rpc.batch_notify(rpc.methods.ping.notification())
        await rpc.direct_call(JSONRPCRequest(method='ping', id='d'))

    assert rpc.sent == [
        ({'method': 'ping', 'jsonrpc': '2.0', 'id': 1}, False),
        ({'method': 'ping', 'jsonrpc': '2.0'}, True),
        ({'method': 'subtract', 'jsonrpc': '2.0', 'id': 2, 'params': (3, 2)}, False),
        (({'method': 'ping', 'jsonrpc': '2.0', 'id': 3}, {'method': 'ping', 'jsonrpc': '2.0'}), False),
        (({'method': 'ping', 'jsonrpc': '2.0'},), True),
        ({'method': 'ping', 'jsonrpc': '2.0', 'id': 'd'}, False),
    ]


async def test_send_json_can_replace_the_transport() -> None:
    class Loopback(JSONRPCClient):
        async def send_json(self, data: Any, *, ignore_response: bool = False, **kwargs: Any) -> Any:
            return {'jsonrpc': '2.0', 'id': data['id'], 'result': data['method'][::-1]}, {}

    client = Loopback('http://127.0.0.1:1/never-used')
    assert await client.call('hello') == 'olleh'
    assert client.state is ClientState.UNOPENED


async def test_calls_go_through_steps_replaced_on_the_instance_or_overridden(url: str) -> None:
    """``call`` takes a shortcut only while build_request, direct_call and send_json are the library's own."""
    async with JSONRPCClient(url) as rpc:
        sent: list[Any] = []
        plain_send_json = rpc.send_json

        async def recording_send_json(data: Any, **kwargs: Any) -> Any:
            sent.append(data)
            return await plain_send_json(data, **kwargs)

        rpc.send_json = recording_send_json  # type: ignore[method-assign]
        assert await rpc.methods.subtract(5, 3) == 2
        assert sent == [{'method': 'subtract', 'jsonrpc': '2.0', 'id': 1, 'params': (5, 3)}]
        del rpc.send_json
        assert await rpc.methods.subtract(5, 4) == 1
        assert len(sent) == 1

    class NumberedByName(JSONRPCClient):
        built: ClassVar[list[Any]] = []

        def build_request(self, method_name: str, args: Any = (), kwargs: Any = None, **options: Any) -> Any:
            request = super().build_request(method_name, args, kwargs, **options)
            request.id = f'{method_name}-{request.id}'
            self.built.append(request.dump())
            return request

    class Counting(JSONRPCClient):
        replies: ClassVar[list[Any]] = []

        async def direct_call(self, request: JSONRPCRequest, **kwargs: Any) -> Any:
            response = await super().direct_call(request, **kwargs)
            self.replies.append(response.dump() if response is not None else None)
            return response

    async with NumberedByName(url) as numbered:
        assert await numbered.methods.subtract(9, 1) == 8
        with pytest.raises(errors.MethodNotFound):
            await numbered.methods.missing()
    assert NumberedByName.built == [
        {'method': 'subtract', 'jsonrpc': '2.0', 'id': 'subtract-1', 'params': (9, 1)},
        {'method': 'missing', 'jsonrpc': '2.0', 'id': 'missing-2'},
    ]
    async with Counting(url) as counting:
        assert await counting.methods.subtract(9, 2) == 7
    assert Counting.replies == [{'id': 1, 'jsonrpc': '2.0', 'result': 7}]


async def test_custom_client_json_codec(rpc_server_factory: Any) -> None:
    url = await rpc_server_factory(echo)
    calls: list[str] = []

    def dumps(value: Any) -> str:
        calls.append('dumps')
        return json.dumps(value)

    def loads(value: Any) -> Any:
        calls.append('loads')
        return json.loads(value)

    async with JSONRPCClient(url, json_serialize=dumps, json_deserialize=loads) as rpc:
        assert await rpc.methods.echo(1.5) == {'args': [1.5], 'kwargs': {}}
    assert calls == ['dumps', 'loads']


# -- error mapping --------------------------------------------------------------------------------------------


async def test_user_defined_error_is_mapped_back(url: str) -> None:
    error_map = {**errors.DEFAULT_KNOWN_ERRORS_MAP, InsufficientFunds.code: InsufficientFunds}
    async with JSONRPCClient(url, error_map=error_map) as rpc:
        with pytest.raises(InsufficientFunds) as exc_info:
            await rpc.methods.withdraw(10)
        with pytest.raises(errors.MethodNotFound):
            await rpc.call('missing')
    assert exc_info.value == InsufficientFunds(data={'requested': 10})
    assert (exc_info.value.code, exc_info.value.message) == (4001, 'Insufficient funds')


async def test_unmapped_error_is_a_plain_jsonrpc_error(url: str) -> None:
    async with JSONRPCClient(url) as rpc:
        with pytest.raises(errors.JSONRPCError) as exc_info:
            await rpc.methods.withdraw(10)
    assert type(exc_info.value) is errors.JSONRPCError
    assert exc_info.value.to_dict() == {'code': 4001, 'message': 'Insufficient funds', 'data': {'requested': 10}}


async def test_empty_error_map(url: str) -> None:
    async with JSONRPCClient(url, error_map={}) as rpc:
        with pytest.raises(errors.JSONRPCError) as exc_info:
            await rpc.call('missing')
    assert type(exc_info.value) is errors.JSONRPCError
    assert exc_info.value.code == -32601


# -- failures on the client side ------------------------------------------------------------------------------


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port bound but not listening: connecting to it is refused, and no one else can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        yield f'http://127.0.0.1:{sock.getsockname()[1]}/rpc'


async def test_connection_refused(refused_url: str) -> None:
    async with JSONRPCClient(refused_url) as rpc:
        attempts = (
            lambda: rpc.call('ping'),
            lambda: rpc.notify('ping'),
            lambda: rpc.batch(rpc.methods.ping.request()),
        )
        for attempt in attempts:
            with pytest.raises(errors.TransportError) as exc_info:
                await attempt()
            assert isinstance(exc_info.value, ConnectionError)
            assert not isinstance(exc_info.value, errors.RequestTimeoutError)
            assert isinstance(exc_info.value.__cause__, aiohttp.ClientError)
            assert exc_info.value.data['details'].startswith('ClientConnectorError')


@dataclasses.dataclass
class Stuck:
    """A server whose ``wait`` method waits on an event that is never set."""

    url: str
    started: asyncio.Event
    cancelled: asyncio.Event

    async def assert_dropped(self) -> None:
        """Once the client has gone, the server cancels a call it had started (aiohttp's handler cancellation).

        The client may time out before the request is even read, in which case the call never starts.
        """
        if self.started.is_set():
            await asyncio.wait_for(self.cancelled.wait(), timeout=30)


@pytest.fixture
async def stuck(rpc_server_factory: Any) -> Stuck:
    never = asyncio.Event()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def wait() -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    return Stuck(await rpc_server_factory(wait), started, cancelled)


async def test_timeout(stuck: Stuck) -> None:
    async with JSONRPCClient(stuck.url, timeout=aiohttp.ClientTimeout(total=0.05)) as rpc:
        with pytest.raises(errors.RequestTimeoutError) as exc_info:
            await rpc.call('wait')
    error = exc_info.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, errors.TransportError)
    assert isinstance(error, ConnectionError)
    # aiohttp's timeout, chained: asyncio.TimeoutError, which is TimeoutError itself from Python 3.11 on.
    assert isinstance(error.__cause__, asyncio.TimeoutError)
    assert error.data == {'details': f'No reply from {stuck.url} in time.'}
    await stuck.assert_dropped()


async def test_per_call_timeout(stuck: Stuck) -> None:
    async with JSONRPCClient(stuck.url) as rpc:
        with pytest.raises(errors.RequestTimeoutError):
            await rpc.direct_call(JSONRPCRequest(method='wait', id=1), timeout=aiohttp.ClientTimeout(sock_read=0.05))
    await stuck.assert_dropped()


async def text_500(http_request: web.Request) -> web.Response:
    return web.Response(status=500, text='Something broke')


async def empty_502(http_request: web.Request) -> web.Response:
    return web.Response(status=502)


async def empty_200(http_request: web.Request) -> web.Response:
    return web.Response(status=200)


async def not_json_200(http_request: web.Request) -> web.Response:
    return web.Response(status=200, text='<html>hello</html>')


async def empty_array_200(http_request: web.Request) -> web.Response:
    return web.json_response([])


async def rpc_error_500(http_request: web.Request) -> web.Response:
    request = await http_request.json()
    error = {'code': -32603, 'message': 'Internal error', 'data': {'where': 'proxy'}}
    return web.json_response({'jsonrpc': '2.0', 'id': request['id'], 'error': error}, status=500)


async def not_a_response_200(http_request: web.Request) -> web.Response:
    return web.json_response({'jsonrpc': '2.0', 'id': 1})


@pytest.mark.parametrize(
    ('handler', 'expected'),
    [
        pytest.param(
            text_500,
            errors.HTTPStatusError(data={'status': 500, 'message': 'Internal Server Error', 'body': 'Something broke'}),
            id='500-text',
        ),
        pytest.param(
            empty_502,
            errors.HTTPStatusError(data={'status': 502, 'message': 'Bad Gateway'}),
            id='502-empty',
        ),
        pytest.param(empty_200, errors.EmptyResponse(), id='200-empty'),
        pytest.param(not_json_200, errors.ParseError(data={'details': 'Invalid JSON'}), id='200-not-json'),
        pytest.param(
            rpc_error_500,
            errors.InternalError(data={'where': 'proxy'}),
            id='500-with-a-json-rpc-body',
        ),
        pytest.param(
            not_a_response_200,
            errors.ParseError(
                '"result" or "error" not found in data.', data={'raw_response': {'jsonrpc': '2.0', 'id': 1}}
            ),
            id='200-not-a-response',
        ),
    ],
)
async def test_bad_replies(route_url: Any, handler: Handler, expected: errors.JSONRPCError) -> None:
    async with JSONRPCClient(await route_url(handler)) as rpc:
        with pytest.raises(errors.JSONRPCError) as exc_info:
            await rpc.call('anything')
    assert type(exc_info.value) is type(expected)
    assert exc_info.value == expected


@pytest.mark.parametrize(
    ('handler', 'expected'),
    [
        pytest.param(text_500, errors.HTTPStatusError, id='500-text'),
        pytest.param(empty_502, errors.HTTPStatusError, id='502-empty'),
        pytest.param(empty_array_200, errors.ParseError, id='200-empty-array'),
        pytest.param(empty_200, errors.EmptyResponse, id='200-empty'),
    ],
)
async def test_bad_batch_replies(route_url: Any, handler: Handler, expected: type[Exception]) -> None:
    async with JSONRPCClient(await route_url(handler)) as rpc:
        with pytest.raises(expected):
            await rpc.batch(rpc.methods.a.request(), rpc.methods.b.request())


async def test_notification_with_an_error_status(route_url: Any) -> None:
    async with JSONRPCClient(await route_url(empty_502)) as rpc:
        with pytest.raises(errors.HTTPStatusError) as exc_info:
            await rpc.notify('anything')
    assert exc_info.value.data == {'status': 502, 'message': 'Bad Gateway'}


async def test_notification_ignores_a_reply_body(route_url: Any) -> None:
    async with JSONRPCClient(await route_url(not_json_200)) as rpc:
        assert await rpc.notify('anything') is None


@pytest.mark.parametrize(
    'bad_error',
    [
        pytest.param({'code': 4001, 'message': ''}, id='empty-message'),
        pytest.param({'code': None, 'message': 'No code'}, id='null-code'),
        pytest.param({'code': 4001, 'message': None}, id='null-message'),
        pytest.param({'code': '4001', 'message': 'String code'}, id='string-code'),
    ],
)
async def test_malformed_error_object_is_a_parse_error(route_url: Any, bad_error: dict[str, Any]) -> None:
    async def reply(http_request: web.Request) -> web.Response:
        request = await http_request.json()
        return web.json_response({'jsonrpc': '2.0', 'id': request['id'], 'error': bad_error})

    async with JSONRPCClient(await route_url(reply)) as rpc:
        with pytest.raises(errors.ParseError) as exc_info:
            await rpc.call('anything')
    assert exc_info.value.data == {'raw_error': bad_error}


async def test_a_client_takes_its_transport_in_its_constructor() -> None:

    async def ping() -> str:
        return 'pong'

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(ping)
    async with aiohttp_rpc.BaseJSONRPCClient(transport=LocalTransport(server)) as client:
        assert await client.call('ping') == 'pong'
        assert await client.methods.ping() == 'pong'


async def test_a_client_without_a_transport_says_how_to_give_one() -> None:
    client = aiohttp_rpc.BaseJSONRPCClient()
    with pytest.raises(RuntimeError) as raised:
        await client.call('ping')
    assert str(raised.value) == 'This client has no transport: pass one, as in BaseJSONRPCClient(transport=...).'


async def test_an_overridden_direct_call_sees_every_call() -> None:
    """``call()`` takes one path, through ``build_request``, ``direct_call`` and ``send_json``, whatever a subclass
    overrides (no probing for overrides)."""

    async def ping() -> str:
        return 'pong'

    seen: list[str] = []

    class Recording(aiohttp_rpc.BaseJSONRPCClient):
        async def direct_call(self, request: JSONRPCRequest, **kwargs: Any) -> Any:
            seen.append(request.method)
            return await super().direct_call(request, **kwargs)

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(ping)
    async with Recording(transport=LocalTransport(server)) as client:
        assert await client.call('ping') == 'pong'
        client.send_json = _counting(client.send_json, seen)  # type: ignore[method-assign]
        assert await client.call('ping') == 'pong'
    assert seen == ['ping', 'ping', 'send_json']


def _counting(send_json: Any, seen: list[str]) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        seen.append('send_json')
        return await send_json(*args, **kwargs)

    return wrapper


class CannedTransport:
    """A transport of one's own moves bytes only: it returns canned reply bytes, and decodes nothing."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sent: list[bytes] = []

    async def open(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def send(self, payload: bytes, *, expect_reply: bool, **kwargs: Any) -> tuple[bytes | None, dict[str, Any]]:
        self.sent.append(payload)
        return (self.reply if expect_reply else None), {'canned': True}

    def unreadable(self, body: bytes, context: Any) -> errors.JSONRPCError:
        return errors.ParseError(data={'details': f'canned: {body[:5]!r}'})


async def test_the_client_alone_decodes_what_its_transport_moves() -> None:
    decoded: list[bytes] = []

    def loads(data: bytes) -> Any:
        decoded.append(data)
        return json.loads(data)

    transport = CannedTransport(b'{"jsonrpc": "2.0", "id": 1, "result": "pong"}')
    async with aiohttp_rpc.BaseJSONRPCClient(transport=transport, json_deserialize=loads) as client:
        assert await client.call('ping') == 'pong'
        assert await client.send_json({'jsonrpc': '2.0', 'method': 'ping'}, ignore_response=True) == (
            None,
            {'canned': True},
        )
        transport.reply = b'<html>oops'
        with pytest.raises(errors.ParseError) as raised:
            await client.call('ping')
    assert decoded == [b'{"jsonrpc": "2.0", "id": 1, "result": "pong"}', b'<html>oops']
    assert raised.value.data == {'details': "canned: b'<html'"}


async def test_an_http_error_page_is_told_by_the_transport(aiohttp_server: Any) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(status=502, text='<h1>Bad gateway</h1>', content_type='text/html')

    app = web.Application()
    app.router.add_post('/rpc', page)
    server = await aiohttp_server(app)
    async with JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        with pytest.raises(errors.HTTPStatusError) as raised:
            await rpc.call('ping')
    assert raised.value.data == {'status': 502, 'message': 'Bad Gateway', 'body': '<h1>Bad gateway</h1>'}


async def test_a_websocket_reply_is_decoded_once(aiohttp_client: Any) -> None:
    """The reader decodes each frame to route it; the client takes that message as it is."""
    ws_server = aiohttp_rpc.WSJSONRPCServer()
    ws_server.add_method(lambda: 'pong')
    app = web.Application()
    app.router.add_get('/ws', ws_server.handle_http_request)
    url = str((await aiohttp_client(app)).make_url('/ws'))
    decoded: list[Any] = []

    def loads(data: Any) -> Any:
        decoded.append(data)
        return json.loads(data)

    async with aiohttp_rpc.WSJSONRPCClient(url, json_deserialize=loads) as client:
        assert await client.call('<lambda>') == 'pong'
    assert len(decoded) == 1


async def test_str_of_local_errors_says_why(aiohttp_server: Any) -> None:
    """A traceback's last line names the cause a user can act on, not just the error class's message."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))  # bound, not listening: connecting is refused
        refused = f'http://127.0.0.1:{sock.getsockname()[1]}/rpc'
        async with JSONRPCClient(refused) as rpc:
            with pytest.raises(errors.TransportError) as raised:
                await rpc.call('ping')
    assert str(raised.value).startswith('Transport error: ClientConnectorError: Cannot connect to host 127.0.0.1:')

    async def page(request: web.Request) -> web.Response:
        return web.Response(status=503, text='down for maintenance')

    app = web.Application()
    app.router.add_post('/rpc', page)
    server = await aiohttp_server(app)
    async with JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        with pytest.raises(errors.HTTPStatusError) as status:
            await rpc.call('ping')
    assert str(status.value) == 'HTTP status error: 503 Service Unavailable'

    rpc_server = aiohttp_rpc.JSONRPCServer()
    rpc_server.add_method(aiohttp_rpc.JSONRPCMethod(len, name='size'))
    with pytest.raises(errors.ServerConfigurationError) as duplicate:
        rpc_server.add_method(aiohttp_rpc.JSONRPCMethod(len, name='size'))
    assert str(duplicate.value) == 'Server configuration error: Method size has already been added.'


async def test_methods_of_groups_by_attribute() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    math = aiohttp_rpc.MethodGroup()
    inner = aiohttp_rpc.MethodGroup()

    @math.method()
    def add(a: int, b: int) -> int:
        return a + b

    @inner.method()
    def notify(text: str) -> str:
        return text.upper()

    math.add_group('deep', inner)
    server.add_group('math', math)
    async with aiohttp_rpc.BaseJSONRPCClient(transport=LocalTransport(server)) as rpc:
        assert await rpc.methods.math.add(2, 3) == 5
        assert rpc.methods.math.add is rpc.methods['math.add']  # the same cached proxy
        assert await rpc.methods['math.deep.notify']('hi') == 'HI'  # notify is the proxy's own name
        assert await rpc.methods.math.deep.notify('ignored') is None  # ... so this is a notification of math.deep
        with pytest.raises(AttributeError):
            rpc.methods.math.__deepcopy__  # noqa: B018
