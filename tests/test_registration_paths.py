"""Every way a method gets into a server serves it the same: its guards hold, and a sync method runs in the
server's ``sync_executor`` unless it has an executor of its own. Over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES

pytestmark = pytest.mark.timeout(30)

Register = Callable[[Any, Callable[..., Any], dict[str, Any]], None]


def via_add_method(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    server.add_method(aiohttp_rpc.JSONRPCMethod(func, **options) if options else func)


def via_add_methods(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    server.add_methods([aiohttp_rpc.JSONRPCMethod(func, **options)])


def via_mapping(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    server.methods[func.__name__] = aiohttp_rpc.JSONRPCMethod(func, **options)


def via_decorator(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    aiohttp_rpc.rpc_method(rpc_server=server, **options)(func)


def via_group(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    server.add_group('g', aiohttp_rpc.MethodGroup(methods=[aiohttp_rpc.JSONRPCMethod(func, **options)]))


def via_group_after_attaching(server: Any, func: Callable[..., Any], options: dict[str, Any]) -> None:
    group = aiohttp_rpc.MethodGroup()
    server.add_group('g', group)
    group.add_method(aiohttp_rpc.JSONRPCMethod(func, **options))


PATHS = [via_add_method, via_add_methods, via_mapping, via_decorator, via_group, via_group_after_attaching]


def name_of(register: Register, func: Callable[..., Any]) -> str:
    return f'g.{func.__name__}' if 'group' in register.__name__ else func.__name__


async def start(aiohttp_server: Any, server: aiohttp_rpc.JSONRPCServer) -> str:
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return str((await aiohttp_server(app)).make_url('/rpc'))


async def rpc(session: aiohttp.ClientSession, url: str, method: str, id: int = 1) -> Any:
    async with session.post(url, json={'jsonrpc': '2.0', 'method': method, 'id': id}) as response:
        return await response.json()


@pytest.mark.parametrize('register', PATHS, ids=lambda register: register.__name__)
async def test_a_methods_own_guards_hold_on_every_path(aiohttp_server: Any, register: Register) -> None:
    def secret() -> str:
        return 'the secret'

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    register(server, secret, {'guards': [lambda request: False]})
    url = await start(aiohttp_server, server)
    async with aiohttp.ClientSession() as session:
        assert await rpc(session, url, name_of(register, secret)) == {
            'jsonrpc': '2.0',
            'id': 1,
            'error': {'code': -32001, 'message': 'Access denied'},
        }


@pytest.mark.parametrize('register', PATHS, ids=lambda register: register.__name__)
async def test_sync_executor_runs_every_sync_method(aiohttp_server: Any, register: Register) -> None:
    """While one client's sync call blocks its thread, another client's call is answered: the loop is free."""
    release = threading.Event()
    threads: list[str] = []

    def blocker() -> str:
        threads.append(threading.current_thread().name)
        release.wait(10)
        return 'released'

    def quick() -> str:
        threads.append(threading.current_thread().name)
        return 'quick'

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix='rpc-sync') as pool:
        server = aiohttp_rpc.JSONRPCServer(sync_executor=pool)
        register(server, blocker, {})
        server.add_method(quick)
        url = await start(aiohttp_server, server)
        async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
            blocked = asyncio.ensure_future(rpc(first, url, name_of(register, blocker)))
            assert await rpc(second, url, 'quick', id=2) == {'jsonrpc': '2.0', 'id': 2, 'result': 'quick'}
            assert not release.is_set()  # answered while the blocker still holds its thread
            release.set()
            assert await blocked == {'jsonrpc': '2.0', 'id': 1, 'result': 'released'}
    assert len(threads) == 2
    assert all(name.startswith('rpc-sync') for name in threads)


async def test_a_methods_own_executor_wins(aiohttp_server: Any) -> None:
    def where() -> str:
        return threading.current_thread().name

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix='server-pool') as server_pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix='own-pool') as own_pool,
    ):
        server = aiohttp_rpc.JSONRPCServer(sync_executor=server_pool)
        server.add_method(aiohttp_rpc.JSONRPCMethod(where, executor=own_pool))
        url = await start(aiohttp_server, server)
        async with aiohttp.ClientSession() as session:
            reply = await rpc(session, url, 'where')
    assert reply['result'].startswith('own-pool')


async def test_without_sync_executor_sync_methods_run_inline(aiohttp_server: Any) -> None:
    def where() -> str:
        return threading.current_thread().name

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(where))
    url = await start(aiohttp_server, server)
    async with aiohttp.ClientSession() as session:
        reply = await rpc(session, url, 'where')
    assert reply['result'] == threading.main_thread().name


async def test_discovery_is_behind_the_servers_guards(aiohttp_server: Any) -> None:
    """``rpc.discover`` is a route like any other: a server's guards hold for it too."""

    def ping() -> str:
        return 'pong'

    server = aiohttp_rpc.JSONRPCServer(
        middlewares=DEFAULT_MIDDLEWARES, guards=[aiohttp_rpc.require_bearer_token(['s3cret'])]
    )
    server.add_method(ping)
    server.add_discovery(title='Guarded', version='1.0.0')
    url = await start(aiohttp_server, server)
    body = {'jsonrpc': '2.0', 'method': 'rpc.discover', 'id': 1}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as response:
            assert await response.json() == {
                'jsonrpc': '2.0',
                'id': 1,
                'error': {'code': -32001, 'message': 'Access denied'},
            }
        async with session.post(url, json=body, headers={'Authorization': 'Bearer s3cret'}) as response:
            reply = await response.json()
    assert reply['id'] == 1
    assert reply['result']['info'] == {'title': 'Guarded', 'version': '1.0.0'}
    assert [method['name'] for method in reply['result']['methods']] == ['ping']
