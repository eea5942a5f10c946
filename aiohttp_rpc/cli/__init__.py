"""The ``aiohttp-rpc`` command line: call, notify, batch and discover against any JSON-RPC 2.0 server over
HTTP or WebSocket, and serve a server from a Python module.

Run it as ``aiohttp-rpc`` or ``python -m aiohttp_rpc``; ``aiohttp-rpc --help`` lists the commands. The entry
point is :func:`main`, which returns the exit status:

====  ====================================================================================
0     success
1     the server answered with a JSON-RPC error
2     usage error: bad arguments or input
3     no usable reply (connection refused, timeout, HTTP error status, malformed reply), or
      ``serve`` cannot listen on its address
4     unexpected failure; ``--debug`` shows the traceback
====  ====================================================================================
"""

from __future__ import annotations

from .program import main

__all__ = ('main',)
