"""The OpenRPC document of a server: what ``rpc.discover`` returns (https://spec.open-rpc.org, version 1.3.2).

Each served method becomes a Method Object: its name (``math.add`` for a grouped method), summary and
description from the docstring, one Content Descriptor per parameter (with its JSON Schema, whether it is
required, its default and its docstring description), the result, the declared errors, the group prefixes
as tags, and ``paramStructure``. Named types (dataclasses, ``TypedDict`` classes, pydantic models, enums)
are described once in ``components.schemas``.

A subscription (see :class:`~aiohttp_rpc.JSONRPCSubscription`) is a method whose result is the subscription id (a
string), marked with the extension ``x-subscription``: ``{"notification": <the item notifications' method>,
"unsubscribe": <the unsubscribe method>, "item": <a Content Descriptor of one item>}``, and for a resumable one
``"resumable": {"history": <items kept>}``. Its unsubscribe method is
listed as a method of its own. A method behind a guard (see :mod:`aiohttp_rpc.server.guards`) is marked
``"x-guarded": true``: a call needs what the guard checks (a token, a header, a session...).

``*args`` and ``**kwargs`` have no Content Descriptor in OpenRPC and are left out of ``params``. The service
discovery method ``rpc.discover`` is left out too: the OpenRPC specification defines it, and the document is
its result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..methods.registry import DEFAULT_TITLE, DEFAULT_VERSION, ApiInfo
from .catalog import MethodDoc, ParamDoc, build_catalog

if TYPE_CHECKING:
    from ..methods.registry import Registry

__all__ = ('DEFAULT_TITLE', 'DEFAULT_VERSION', 'OPENRPC_VERSION', 'ApiInfo', 'api_info_of', 'build_openrpc')

OPENRPC_VERSION = '1.3.2'
"""The version of the OpenRPC specification the documents follow."""


def build_openrpc(
    server: Registry,
    *,
    title: str | None = None,
    version: str | None = None,
    description: str | None = None,
    servers: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Describe the methods of ``server`` as an OpenRPC 1.3.2 document (plain JSON data, methods sorted).

    Args:
        server: a :class:`~aiohttp_rpc.JSONRPCServer`, :class:`~aiohttp_rpc.WSJSONRPCServer` or any
            :class:`~aiohttp_rpc.Dispatcher`.
        title, version, description: the document's ``info``: the API's name, its version (not the
            library's), and a longer text (Markdown); by default, what the server's ``api_info`` says (see
            :func:`api_info_of`).
        servers: OpenRPC Server Objects, e.g. ``[{'name': 'production', 'url': 'https://api.example.com/rpc'}]``
            (``url`` is the JSON-RPC endpoint itself).

    Types are described with pydantic (``pip install "aiohttp-rpc[typed]"``); without it every schema is
    ``{}``, and the document is still valid.

    Example::

        document = build_openrpc(server, title='Calculator', version='2.1.0')
        json.dumps(document)  # serve it, or validate it against the OpenRPC meta-schema
    """
    catalog = build_catalog(server)
    said = api_info_of(server, title=title, version=version, description=description)
    info: dict[str, Any] = {'title': said.title, 'version': said.version}
    if said.description:
        info['description'] = said.description
    document: dict[str, Any] = {'openrpc': OPENRPC_VERSION, 'info': info}
    if servers is not None:
        document['servers'] = [dict(entry) for entry in servers]
    document['methods'] = [_method_object(method, catalog.tag_descriptions) for method in catalog.methods]
    document['components'] = {'schemas': catalog.components}
    return document


def _tag_object(tag: str, description: str | None) -> dict[str, str]:
    """An OpenRPC Tag Object: the group's prefix, with its ``MethodGroup(description=...)`` when it has one."""
    return {'name': tag} if description is None else {'name': tag, 'description': description}


def api_info_of(
    server: Registry, *, title: str | None = None, version: str | None = None, description: str | None = None
) -> ApiInfo:
    """What ``server`` says about itself (its ``api_info``, or the defaults), with any field given here instead."""
    said = getattr(server, 'api_info', None) or ApiInfo()
    return ApiInfo(
        title=said.title if title is None else title,
        version=said.version if version is None else version,
        description=said.description if description is None else description,
    )


def _method_object(method: MethodDoc, tag_descriptions: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {'name': method.name}
    if method.tags:
        entry['tags'] = [_tag_object(tag, tag_descriptions.get(tag)) for tag in method.tags]
    if method.summary:
        entry['summary'] = method.summary
    if method.description:
        entry['description'] = method.description
    entry['params'] = [_content_descriptor(param) for param in method.params if not param.variadic]
    entry['result'] = {'name': 'result', 'schema': method.result}
    entry['paramStructure'] = method.param_structure
    if method.stream is not None:
        entry['x-subscription'] = {
            'notification': method.stream.notification,
            'unsubscribe': method.stream.unsubscribe,
            'item': {'name': 'item', 'schema': method.stream.item},
        }
        if method.stream.history is not None:
            entry['x-subscription']['resumable'] = {'history': method.stream.history}
    if method.guarded:
        entry['x-guarded'] = True
    if method.errors:
        entry['errors'] = [dict(error) for error in method.errors]
    return entry


def _content_descriptor(param: ParamDoc) -> dict[str, Any]:
    descriptor: dict[str, Any] = {'name': param.name, 'required': param.required, 'schema': param.schema}
    if param.description:
        descriptor['description'] = param.description
    return descriptor
