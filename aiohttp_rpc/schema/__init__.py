"""Layer 3: documents describing a server's methods, built from its registry (pure: no aiohttp, no I/O).

- :func:`build_openrpc`: the OpenRPC 1.3.2 document (what ``rpc.discover`` returns).
- :func:`build_openapi`: an OpenAPI 3.1.0 document, one operation per method, for Swagger UI and friends.
- :func:`add_discovery`: serve ``rpc.discover`` on a server (also ``server.add_discovery()``).
- :func:`json_schemas`: JSON Schema for Python annotations, with pydantic (``pip install "aiohttp-rpc[typed]"``).
"""

from __future__ import annotations

from .catalog import Catalog, MethodDoc, ParamDoc, build_catalog
from .discovery import OpenRPCDocument, add_discovery
from .json_schema import JSONSchema, json_schemas
from .openapi import OPENAPI_VERSION, build_openapi
from .openrpc import OPENRPC_VERSION, build_openrpc

__all__ = (
    'OPENAPI_VERSION',
    'OPENRPC_VERSION',
    'Catalog',
    'JSONSchema',
    'MethodDoc',
    'OpenRPCDocument',
    'ParamDoc',
    'add_discovery',
    'build_catalog',
    'build_openapi',
    'build_openrpc',
    'json_schemas',
)
