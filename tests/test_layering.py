"""The package's shape, checked by machine: a core free of aiohttp, no import cycles, a pinned public list."""

from __future__ import annotations

import asyncio
import os
import pkgutil
import re
import sys
import textwrap

import pytest

import aiohttp_rpc

# Runs in a fresh interpreter. ``aiohttp_rpc/__init__.py`` imports the aiohttp transports, so the package is
# registered as a bare module with the right ``__path__`` and only the layers under test are imported.
BLOCKED_AIOHTTP = textwrap.dedent(
    """
    import importlib.abc
    import importlib.util
    import sys
    import types

    class BlockAiohttp(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == 'aiohttp' or name.startswith('aiohttp.'):
                raise ImportError(f'{name} is blocked')
            return None

    sys.meta_path.insert(0, BlockAiohttp())

    if sys.argv[1] == 'sanity':
        try:
            import aiohttp_rpc
        except ImportError as exc:
            print('blocked:', exc)
            sys.exit(0)
        sys.exit('aiohttp was not blocked')

    spec = importlib.util.find_spec('aiohttp_rpc')
    package = types.ModuleType('aiohttp_rpc')
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules['aiohttp_rpc'] = package

    import aiohttp_rpc.protocol
    assert 'asyncio' not in sys.modules, 'the protocol layer imports asyncio'

    import aiohttp_rpc.constants, aiohttp_rpc.errors, aiohttp_rpc.typedefs, aiohttp_rpc.serialization
    import aiohttp_rpc.methods, aiohttp_rpc.dispatch, aiohttp_rpc.utils

    assert not any(name == 'aiohttp' or name.startswith('aiohttp.') for name in sys.modules)
    print('ok')
    """
)


async def run_python(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        '-W',
        'error',
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_blocking_aiohttp_works() -> None:
    """The blocker itself is effective: the whole package cannot be imported without aiohttp."""
    returncode, output = await run_python('-c', BLOCKED_AIOHTTP, 'sanity')
    assert (returncode, output) == (0, 'blocked: aiohttp is blocked\n')


async def test_core_imports_without_aiohttp() -> None:
    returncode, output = await run_python('-c', BLOCKED_AIOHTTP, 'core')
    assert (returncode, output) == (0, 'ok\n')


def package_modules() -> list[str]:
    modules = ['aiohttp_rpc']
    for module in pkgutil.walk_packages(aiohttp_rpc.__path__, prefix='aiohttp_rpc.'):
        if module.name.rsplit('.', 1)[-1] != '__main__':  # running it is not importing it
            modules.append(module.name)
    return modules


@pytest.mark.timeout(180)  # some 110 interpreters, two at a time: about 40 s alone on 2 cores, past 60 s under load
async def test_every_module_imports_alone() -> None:
    """Each module imported first, in its own fresh interpreter: an import cycle fails at least one of them."""
    modules = package_modules()
    assert {'aiohttp_rpc.protocol.request', 'aiohttp_rpc.dispatch.dispatcher', 'aiohttp_rpc.server.http'} <= set(
        modules
    )
    limit = asyncio.Semaphore(os.cpu_count() or 2)

    async def try_import(module: str) -> tuple[str, int, str]:
        async with limit:
            returncode, output = await run_python('-c', f'import {module}')
        return module, returncode, output

    results = await asyncio.gather(*(try_import(module) for module in modules))
    failures = {module: output for module, returncode, output in results if returncode != 0 or output}
    assert failures == {}


AIOHTTP_RPC_2_0_NAMES = {
    'BaseJSONRPCClient',
    'BaseJSONRPCMethod',
    'BaseJSONRPCServer',
    'JSONRPCBatchRequest',
    'JSONRPCBatchResponse',
    'JSONRPCClient',
    'JSONRPCDuplicatedResults',
    'JSONRPCMethod',
    'JSONRPCRequest',
    'JSONRPCResponse',
    'JSONRPCServer',
    'JSONRPCUnlinkedResults',
    'WSJSONRPCClient',
    'WSJSONRPCServer',
    'client',
    'constants',
    'decorators',
    'errors',
    'middlewares',
    'protocol',
    'rpc_method',
    'rpc_server',
    'server',
    'utils',
}

OUR_NAMES = {
    'CloseReason',
    'ContextKey',
    'Dispatcher',
    'Emitter',
    'Gap',
    'JSONRPCSubscription',
    'MethodGroup',
    'Progress',
    'ProgressReport',
    'ReconnectPolicy',
    'RedisBackplane',
    'RequestContext',
    'Subscription',
    'WSPeer',
    '__version__',
    'get_peer',
    'require_bearer_token',
    'require_client_address',
    'require_header',
    'require_host',
    'require_session',
}


def test_public_names_are_pinned() -> None:
    assert list(aiohttp_rpc.__all__) == sorted(AIOHTTP_RPC_2_0_NAMES | OUR_NAMES)


def test_public_names_resolve() -> None:
    namespace: dict[str, object] = {}
    exec('from aiohttp_rpc import *', namespace)
    del namespace['__builtins__']
    assert namespace.keys() == set(aiohttp_rpc.__all__)
    assert re.fullmatch(r'\d+\.\d+\.\d+(\.dev\d+)?', aiohttp_rpc.__version__)


# Which package each one may not reach, directly or through another module: the server never imports the client
# (both stand on ``ws`` and ``dispatch``), and ``ws`` and the caller core know neither.
FORBIDDEN_EDGES = {
    'server': ('aiohttp_rpc.client',),
    'ws': ('aiohttp_rpc.client', 'aiohttp_rpc.server'),
    'caller': ('aiohttp_rpc.client', 'aiohttp_rpc.server', 'aiohttp_rpc.ws'),
}

REACHED = textwrap.dedent(
    """
    import importlib, importlib.util, pkgutil, sys, types

    spec = importlib.util.find_spec('aiohttp_rpc')
    package = types.ModuleType('aiohttp_rpc')
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules['aiohttp_rpc'] = package
    sub = importlib.import_module('aiohttp_rpc.' + sys.argv[1])
    for module in pkgutil.walk_packages(sub.__path__, prefix=sub.__name__ + '.'):
        importlib.import_module(module.name)
    print('\\n'.join(sorted(name for name in sys.modules if name.startswith('aiohttp_rpc.'))))
    """
)


async def test_layers_do_not_reach_the_ones_above() -> None:
    """Import each package with all its modules in a fresh interpreter and list every ``aiohttp_rpc`` module
    that came with it: an import of a forbidden package, however indirect, shows up here."""
    reached = {}
    for package, forbidden in FORBIDDEN_EDGES.items():
        returncode, output = await run_python('-c', REACHED, package)
        assert returncode == 0, output
        reached[package] = sorted(name for name in output.split() if name.startswith(forbidden))
    assert reached == {package: [] for package in FORBIDDEN_EDGES}
