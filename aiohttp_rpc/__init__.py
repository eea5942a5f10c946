"""aiohttp_rpc: a fast, strict JSON-RPC 2.0 server and client for aiohttp.

A drop-in replacement for aiohttp-rpc 2.0.0: the same names, signatures and behaviour, plus more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import client, constants, decorators, errors, middlewares, protocol, server, utils
from .caller.subscription import CloseReason, Gap, Subscription
from .client import BaseJSONRPCClient, JSONRPCClient, WSJSONRPCClient
from .client.transports.websocket import ReconnectPolicy
from .decorators import rpc_method
from .dispatch import Dispatcher
from .methods import BaseJSONRPCMethod, JSONRPCMethod, JSONRPCSubscription, MethodGroup
from .methods.progress import Progress, ProgressReport
from .protocol import (
    ContextKey,
    JSONRPCBatchRequest,
    JSONRPCBatchResponse,
    JSONRPCDuplicatedResults,
    JSONRPCRequest,
    JSONRPCResponse,
    JSONRPCUnlinkedResults,
    RequestContext,
)
from .server import BaseJSONRPCServer, JSONRPCServer, WSJSONRPCServer, rpc_server
from .server.guards import (
    require_bearer_token,
    require_client_address,
    require_header,
    require_host,
    require_session,
)
from .ws import WSPeer, get_peer

__version__ = '2.1.0.dev0'

__all__ = (
    'BaseJSONRPCClient',
    'BaseJSONRPCMethod',
    'BaseJSONRPCServer',
    'CloseReason',
    'ContextKey',
    'Dispatcher',
    'Emitter',
    'Gap',
    'JSONRPCBatchRequest',
    'JSONRPCBatchResponse',
    'JSONRPCClient',
    'JSONRPCDuplicatedResults',
    'JSONRPCMethod',
    'JSONRPCRequest',
    'JSONRPCResponse',
    'JSONRPCServer',
    'JSONRPCSubscription',
    'JSONRPCUnlinkedResults',
    'MethodGroup',
    'Progress',
    'ProgressReport',
    'ReconnectPolicy',
    'RedisBackplane',
    'RequestContext',
    'Subscription',
    'WSJSONRPCClient',
    'WSJSONRPCServer',
    'WSPeer',
    '__version__',
    'client',
    'constants',
    'decorators',
    'errors',
    'get_peer',
    'middlewares',
    'protocol',
    'require_bearer_token',
    'require_client_address',
    'require_header',
    'require_host',
    'require_session',
    'rpc_method',
    'rpc_server',
    'server',
    'utils',
)


_NEEDS_REDIS = {'RedisBackplane': 'aiohttp_rpc.backplane.redis', 'Emitter': 'aiohttp_rpc.backplane.emitter'}
"""Names imported when first used: they need the ``redis`` extra."""

if TYPE_CHECKING:
    from .backplane.emitter import Emitter
    from .backplane.redis import RedisBackplane
else:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """``RedisBackplane`` and ``Emitter`` (imported on first use), and the 1.x names, as deprecated aliases
        (see :mod:`aiohttp_rpc.legacy`)."""
        if name in _NEEDS_REDIS:
            return getattr(importlib.import_module(_NEEDS_REDIS[name]), name)
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
