"""Errors that say whose they are: a method that takes ``rpc_request`` gets it on any server, and an error a
method got from its peer does not pass for the method's own. Real HTTP and WebSocket on loopback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

pytestmark = pytest.mark.timeout(30)


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


def whoami(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    return rpc_request.method


@pytest.mark.parametrize('middlewares', [(), aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES], ids=['none', 'default'])
async def test_pass_extra_kwargs_gets_rpc_request_on_any_server(aiohttp_client: Any, middlewares: Any) -> None:
    """Without inject_request_middleware every call used to fail with -32602 (rpc_request missing)."""
    server = aiohttp_rpc.JSONRPCServer(middlewares=middlewares)
    server.add_method(aiohttp_rpc.JSONRPCMethod(whoami, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    response = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': 'whoami', 'id': 1})
    assert await response.json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'whoami'}


async def test_a_peers_protocol_error_does_not_pass_for_the_methods_own(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger='aiohttp_rpc.dispatch')
    server = aiohttp_rpc.WSJSONRPCServer()

    async def ask_client(name: str, rpc_request: aiohttp_rpc.JSONRPCRequest) -> Any:
        return await aiohttp_rpc.get_peer(rpc_request).call(name)

    server.add_method(aiohttp_rpc.JSONRPCMethod(ask_client, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    url = str((await aiohttp_client(app)).make_url('/rpc'))

    def broke() -> None:
        raise InsufficientFunds(data={'balance': 3})

    async with aiohttp_rpc.WSJSONRPCClient(url, methods=[broke]) as client:
        reply = await client.send_json({'jsonrpc': '2.0', 'method': 'ask_client', 'params': ['nope'], 'id': 1})
        assert reply[0] == {
            'jsonrpc': '2.0',
            'id': 1,
            'error': {
                'code': -32000,
                'message': 'Server error.',
                'data': {
                    'details': 'ask_client called its peer, which answered -32601 Method not found.',
                    'peer_error': {'code': -32601, 'message': 'Method not found'},
                },
            },
        }
        # An application error of the peer's is the method's to pass on, as it is.
        reply = await client.send_json({'jsonrpc': '2.0', 'method': 'ask_client', 'params': ['broke'], 'id': 2})
        assert reply[0] == {
            'jsonrpc': '2.0',
            'id': 2,
            'error': {'code': 4001, 'message': 'Insufficient funds', 'data': {'balance': 3}},
        }
        with pytest.raises(errors.MethodNotFound) as raised:  # the server's own -32601 is still -32601
            await client.call('missing')
    assert raised.value.remote is True
    assert errors.MethodNotFound().remote is False
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert [record.getMessage() for record in caplog.records if record.name == 'aiohttp_rpc.dispatch'] == [
        "Method 'ask_client' got -32601 'Method not found' from its peer; answered -32000"
    ]
