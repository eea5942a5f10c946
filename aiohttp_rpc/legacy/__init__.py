"""aiohttp-rpc 1.x names, kept as deprecated aliases so 1.x code runs unchanged.

Each public module that had a 1.x name answers it through its module ``__getattr__``, which calls
:func:`resolve`: the name is looked up in :data:`ALIASES`, a ``DeprecationWarning`` naming the 2.0 spelling is
issued, and the object is returned. Where 1.x behaved differently (``JsonRpcMethod`` injecting ``rpc_request``
by parameter name, clients with ``client.some_method(...)`` and 1.x batch descriptions, servers exposing
``get_method``/``get_methods``), the alias is a subclass with the 1.x behaviour, in
:mod:`aiohttp_rpc.legacy.protocol`, :mod:`~aiohttp_rpc.legacy.server` and :mod:`~aiohttp_rpc.legacy.client`;
the 2.0 classes are unchanged. docs/migration-1x.md lists what could not be aliased, and why.

Type checkers do not see these names (the module ``__getattr__`` hooks are hidden from them), so
``mypy`` points at every 1.x spelling left in a code base.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from ..deprecation import warn_deprecated

__all__ = ('ALIASES', 'Alias', 'resolve')


class Alias(NamedTuple):
    """Where a 1.x name lives now.

    Attributes:
        target: ``'module:attribute'`` of the object the 1.x name returns.
        instead: the 2.0 spelling the warning tells users to write.
    """

    target: str
    instead: str


_SERVER = 'aiohttp_rpc.legacy.server'
_CLIENT = 'aiohttp_rpc.legacy.client'
_PROTOCOL = 'aiohttp_rpc.legacy.protocol'

_CLASSES = {
    'BaseJsonRpcServer': Alias('aiohttp_rpc.server.base:BaseJSONRPCServer', 'BaseJSONRPCServer'),
    'JsonRpcServer': Alias(f'{_SERVER}:JsonRpcServer', 'JSONRPCServer'),
    'WsJsonRpcServer': Alias(f'{_SERVER}:WsJsonRpcServer', 'WSJSONRPCServer'),
    'BaseJsonRpcClient': Alias('aiohttp_rpc.caller.base:BaseJSONRPCClient', 'BaseJSONRPCClient'),
    'JsonRpcClient': Alias(f'{_CLIENT}:JsonRpcClient', 'JSONRPCClient'),
    'WsJsonRpcClient': Alias(f'{_CLIENT}:WsJsonRpcClient', 'WSJSONRPCClient'),
}
_MESSAGES = {
    'JsonRpcRequest': Alias(f'{_PROTOCOL}:JsonRpcRequest', 'JSONRPCRequest'),
    'JsonRpcBatchRequest': Alias('aiohttp_rpc.protocol.request:JSONRPCBatchRequest', 'JSONRPCBatchRequest'),
    'JsonRpcResponse': Alias('aiohttp_rpc.protocol.response:JSONRPCResponse', 'JSONRPCResponse'),
    'JsonRpcBatchResponse': Alias('aiohttp_rpc.protocol.response:JSONRPCBatchResponse', 'JSONRPCBatchResponse'),
    'JsonRpcUnlinkedResults': Alias('aiohttp_rpc.protocol.results:JSONRPCUnlinkedResults', 'JSONRPCUnlinkedResults'),
    'JsonRpcDuplicatedResults': Alias(
        'aiohttp_rpc.protocol.results:JSONRPCDuplicatedResults', 'JSONRPCDuplicatedResults'
    ),
    'BaseJsonRpcMethod': Alias('aiohttp_rpc.methods.method:BaseJSONRPCMethod', 'BaseJSONRPCMethod'),
    'JsonRpcMethod': Alias(f'{_PROTOCOL}:JsonRpcMethod', 'JSONRPCMethod'),
}
_SERVER_CLASSES = {name: alias for name, alias in _CLASSES.items() if 'Server' in name}
_CLIENT_CLASSES = {name: alias for name, alias in _CLASSES.items() if 'Client' in name}

#: ``module -> {1.x name -> Alias}``: every 1.x name, under every module 1.x offered it from.
ALIASES: dict[str, dict[str, Alias]] = {
    'aiohttp_rpc': {**_CLASSES, **_MESSAGES},
    'aiohttp_rpc.server': _SERVER_CLASSES,
    'aiohttp_rpc.client': _CLIENT_CLASSES,
    'aiohttp_rpc.protocol': _MESSAGES,
    'aiohttp_rpc.errors': {'JsonRpcError': Alias('aiohttp_rpc.errors:JSONRPCError', 'JSONRPCError')},
    'aiohttp_rpc.middlewares': {
        'extra_args_middleware': Alias(
            'aiohttp_rpc.dispatch.middleware:inject_request_middleware', 'inject_request_middleware'
        ),
        'ws_client_for_server_response': Alias(
            f'{_CLIENT}:ws_client_for_server_response', "get_peer(rpc_request) (or the context's 'rpc_peer')"
        ),
    },
    'aiohttp_rpc.typedefs': {
        'JsonRpcIdType': Alias('aiohttp_rpc.typedefs:JSONRPCIDType', 'JSONRPCIDType'),
        'UnboundJSONEncoderType': Alias('aiohttp_rpc.typedefs:JSONEncoderType', 'JSONEncoderType'),
        'ServerMethodDescriptionType': Alias('aiohttp_rpc.methods.registry:MethodDescription', 'MethodDescription'),
    },
}


def resolve(module: str, name: str) -> object:
    """The object the 1.x name ``module.name`` stands for, after a ``DeprecationWarning`` naming the 2.0
    spelling. Called by the module ``__getattr__`` hooks.

    Raises:
        AttributeError: ``name`` was never a 1.x name of ``module`` (the usual message for a missing attribute).
    """
    alias = ALIASES.get(module, {}).get(name)
    if alias is None:
        raise AttributeError(f'module {module!r} has no attribute {name!r}')
    # stacklevel: warn_deprecated -> resolve -> the module __getattr__ -> the line that named it.
    warn_deprecated(f'{module}.{name}', alias.instead, stacklevel=4)
    where, attribute = alias.target.split(':')
    return getattr(importlib.import_module(where), attribute)
