"""The OpenRPC document of a server: what ``rpc.discover`` returns (https://spec.open-rpc.org, version 1.3.2).

Each served method becomes a Method Object: its name (``math.add`` for a grouped method), summary and
description from the docstring, one Content Descriptor per parameter (with its JSON Schema, whether it is
required, its default and its docstring description), the result, the declared errors, the group prefixes
as tags, and ``paramStructure``. Named types (dataclasses, ``TypedDict`` classes, pydantic models, enums)
are described once in ``components.schemas``.

``*args`` and ``**kwargs`` have no Content Descriptor in OpenRPC and are left out of ``params``. The service
discovery method ``rpc.discover`` is left out too: the OpenRPC specification defines it, and the document is
its result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .catalog import MethodDoc, ParamDoc, build_catalog

if TYPE_CHECKING:
    from ..methods.registry import Registry

__all__ = ('DEFAULT_TITLE', 'DEFAULT_VERSION', 'OPENRPC_VERSION', 'build_openrpc')

OPENRPC_VERSION = '1.3.2'
"""The version of the OpenRPC specification the documents follow."""

DEFAULT_TITLE = 'JSON-RPC API'
"""The document title used when none is given."""

DEFAULT_VERSION = '1.0.0'
"""The API version used when none is given."""


def build_openrpc(
    server: Registry,
    *,
    title: str = DEFAULT_TITLE,
    version: str = DEFAULT_VERSION,
    description: str | None = None,
    servers: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Describe the methods of ``server`` as an OpenRPC 1.3.2 document (plain JSON data, methods sorted).

    Args:
        server: a :class:`~aiohttp_rpc.JSONRPCServer`, :class:`~aiohttp_rpc.WSJSONRPCServer` or any
            :class:`~aiohttp_rpc.Dispatcher`.
        title, version, description: the document's ``info``: the API's name, its version (not the
            library's), and a longer text (Markdown).
        servers: OpenRPC Server Objects, e.g. ``[{'name': 'production', 'url': 'https://api.example.com/rpc'}]``
            (``url`` is the JSON-RPC endpoint itself).

    Types are described with pydantic (``pip install "aiohttp-rpc[typed]"``); without it every schema is
    ``{}``, and the document is still valid.

    Example::

        document = build_openrpc(server, title='Calculator', version='2.1.0')
        json.dumps(document)  # serve it, or validate it against the OpenRPC meta-schema
    """
    catalog = build_catalog(server)
    info: dict[str, Any] = {'title': title, 'version': version}
    if description:
        info['description'] = description
    document: dict[str, Any] = {'openrpc': OPENRPC_VERSION, 'info': info}
    if servers is not None:
        document['servers'] = [dict(entry) for entry in servers]
    document['methods'] = [_method_object(method) for method in catalog.methods]
    document['components'] = {'schemas': catalog.components}
    return document


def _method_object(method: MethodDoc) -> dict[str, Any]:
    entry: dict[str, Any] = {'name': method.name}
    if method.tags:
        entry['tags'] = [{'name': tag} for tag in method.tags]
    if method.summary:
        entry['summary'] = method.summary
    if method.description:
        entry['description'] = method.description
    entry['params'] = [_content_descriptor(param) for param in method.params if not param.variadic]
    entry['result'] = {'name': 'result', 'schema': method.result}
    entry['paramStructure'] = method.param_structure
    if method.errors:
        entry['errors'] = [dict(error) for error in method.errors]
    return entry


def _content_descriptor(param: ParamDoc) -> dict[str, Any]:
    descriptor: dict[str, Any] = {'name': param.name, 'required': param.required, 'schema': param.schema}
    if param.description:
        descriptor['description'] = param.description
    return descriptor
