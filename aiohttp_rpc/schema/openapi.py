"""An OpenAPI 3.1 document for a JSON-RPC endpoint, for tools that speak OpenAPI (Swagger UI, Redoc, RapiDoc,
client generators).

JSON-RPC has one URL and one verb for every method, while OpenAPI identifies an operation by its path and
verb. Each method is therefore given the path ``{path}#{method}``: the endpoint's path with the method name as
the URL *fragment* (percent-encoded where needed, e.g. ``/rpc#math.add``). The keys are unique, so every
method is its own operation with its own request and response schemas, and the requests they describe are
real: a fragment is never sent to the server (browsers and HTTP clients strip it), so "Try it out" in
Swagger UI, or ``curl``, posts to the JSON-RPC endpoint itself. The alternative, a ``{path}/{method}``
alias per method, would describe URLs the server does not serve.

Each operation (``POST``, ``operationId`` = method name, tags = group prefixes) takes the JSON-RPC request
envelope (``jsonrpc`` ``"2.0"``, ``method`` the method's name, ``params`` as an object and/or an array as the
signature allows, ``id``) and answers ``200`` with the response envelope (``result``, or ``error``), or ``204``
for a notification. The envelopes, the id and the error object are shared components.

Subscriptions and their unsubscribe methods are left out: they work over a WebSocket only (see ``rpc.discover``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .catalog import MethodDoc, build_catalog
from .json_schema import JSONSchema, with_keywords
from .openrpc import api_info_of

if TYPE_CHECKING:
    from ..methods.registry import Registry

__all__ = ('OPENAPI_VERSION', 'build_openapi', 'operation_path')

OPENAPI_VERSION = '3.1.0'
"""The version of the OpenAPI specification the documents follow."""

_REF = '#/components/schemas/'
_FRAGMENT_SAFE = ":@!$&'()*+,;="  # allowed in a URL fragment as they are (besides letters, digits and -._~)
_KIND = inspect.Parameter
_POSITIONAL = (_KIND.POSITIONAL_ONLY, _KIND.POSITIONAL_OR_KEYWORD)
_NAMED = (_KIND.POSITIONAL_OR_KEYWORD, _KIND.KEYWORD_ONLY)


def build_openapi(
    server: Registry,
    *,
    title: str | None = None,
    version: str | None = None,
    description: str | None = None,
    servers: Iterable[Mapping[str, Any]] | None = None,
    path: str = '/rpc',
    headers: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Describe the methods of ``server`` as an OpenAPI 3.1.0 document, one ``POST`` operation per method.

    Args:
        server: a :class:`~aiohttp_rpc.JSONRPCServer` or any :class:`~aiohttp_rpc.Dispatcher`.
        title, version, description: the document's ``info``; by default the server's ``api_info``.
        servers: where the API is, e.g. ``[{'url': 'https://api.example.com', 'description': 'production'}]``;
            ``url`` is the base the endpoint ``path`` is appended to. A ``name`` (as in OpenRPC) is used as
            the description when there is none.
        path: the path of the JSON-RPC endpoint (relative to each server URL).
        headers: HTTP headers the endpoint reads, documented as header parameters of every operation:
            ``{'X-User-ID': {'description': 'Who calls', 'schema': {'type': 'integer'}, 'required': False}}``
            (the schema defaults to a string).

    Raises:
        ValueError: ``path`` does not start with ``/``.

    Example::

        document = build_openapi(server, title='Calculator', servers=[{'url': 'http://127.0.0.1:8080'}])
        # serve it as /openapi.json and point Swagger UI at it
    """
    if not path.startswith('/'):
        raise ValueError(f'path must start with "/": {path!r}')
    catalog = build_catalog(server)
    components = dict(catalog.components)
    refs = _add_envelopes(components)
    header_parameters = [_header_parameter(name, spec) for name, spec in (headers or {}).items()]
    said = api_info_of(server, title=title, version=version, description=description)
    info: dict[str, Any] = {'title': said.title, 'version': said.version}
    if said.description:
        info['description'] = said.description
    document: dict[str, Any] = {'openapi': OPENAPI_VERSION, 'info': info}
    if servers is not None:
        document['servers'] = [_server_object(entry) for entry in servers]
    methods = _over_http(catalog.methods)
    tags = sorted({tag for method in methods for tag in method.tags})
    if tags:
        described = catalog.tag_descriptions
        document['tags'] = [
            {'name': tag, 'description': described[tag]} if tag in described else {'name': tag} for tag in tags
        ]
    document['paths'] = {
        operation_path(path, method.name): {'post': _operation(method, refs, header_parameters)} for method in methods
    }
    document['components'] = {'schemas': components}
    return document


def _over_http(methods: tuple[MethodDoc, ...]) -> list[MethodDoc]:
    """The methods callable over HTTP: all but subscriptions and their unsubscribe methods (WebSocket only)."""
    streamed = {method.stream.unsubscribe for method in methods if method.stream is not None}
    return [method for method in methods if method.stream is None and method.name not in streamed]


def operation_path(path: str, method: str) -> str:
    """The OpenAPI path key of ``method`` served at ``path``: ``operation_path('/rpc', 'math.add')`` is
    ``'/rpc#math.add'``."""
    return f'{path}#{quote(method, safe=_FRAGMENT_SAFE)}'


_ENVELOPES = {
    'id': 'JSONRPCId',
    'error': 'JSONRPCError',
    'request': 'JSONRPCRequest',
    'result_response': 'JSONRPCResultResponse',
    'error_response': 'JSONRPCErrorResponse',
}


def _add_envelopes(components: dict[str, JSONSchema]) -> dict[str, JSONSchema]:
    """Add the shared JSON-RPC schemas to ``components``, under names no user type took; return a ``$ref`` to
    each, by the keys of ``_ENVELOPES``."""
    names = {key: _free_name(components, base) for key, base in _ENVELOPES.items()}
    ref = {key: {'$ref': _REF + name} for key, name in names.items()}
    version = {'const': '2.0', 'description': 'The protocol version.'}
    schemas: dict[str, JSONSchema] = {
        'id': {
            'description': 'Identifies the call; the response carries the same id. A request without one is a '
            'notification: it gets no response.',
            'type': ['string', 'integer', 'null'],
            'examples': [1],
        },
        'error': {
            'type': 'object',
            'description': 'A JSON-RPC error object.',
            'properties': {
                'code': {'type': 'integer', 'description': 'What kind of error occurred.'},
                'message': {'type': 'string', 'description': 'A short description of the error.'},
                'data': {'description': 'Details, defined by the server.'},
            },
            'required': ['code', 'message'],
        },
        'request': {
            'type': 'object',
            'description': 'A JSON-RPC 2.0 request.',
            'properties': {
                'jsonrpc': version,
                'method': {'type': 'string'},
                'params': {'type': ['object', 'array']},
                'id': ref['id'],
            },
            'required': ['jsonrpc', 'method'],
        },
        'result_response': {
            'type': 'object',
            'description': 'A successful JSON-RPC 2.0 response.',
            'properties': {'jsonrpc': version, 'result': {}, 'id': ref['id']},
            'required': ['jsonrpc', 'result', 'id'],
        },
        'error_response': {
            'type': 'object',
            'description': 'A failed JSON-RPC 2.0 response.',
            'properties': {'jsonrpc': version, 'error': ref['error'], 'id': ref['id']},
            'required': ['jsonrpc', 'error', 'id'],
        },
    }
    for key, schema in schemas.items():
        components[names[key]] = schema
    return ref


def _free_name(components: dict[str, JSONSchema], base: str) -> str:
    name, number = base, 1
    while name in components:
        number += 1
        name = f'{base}{number}'
    return name


def _operation(
    method: MethodDoc, refs: dict[str, JSONSchema], header_parameters: list[dict[str, Any]]
) -> dict[str, Any]:
    operation: dict[str, Any] = {'operationId': method.name}
    if method.tags:
        operation['tags'] = list(method.tags)
    if method.summary:
        operation['summary'] = method.summary
    if method.description:
        operation['description'] = method.description
    if header_parameters:
        operation['parameters'] = [dict(parameter) for parameter in header_parameters]
    body: JSONSchema = {'type': 'object', 'properties': {'method': {'const': method.name}}, 'required': ['method']}
    params = [param for param in method.params if not param.variadic]
    body['properties']['params'] = _params_schema(method)
    if any(param.required for param in params):
        body['required'].append('params')
    operation['requestBody'] = {
        'required': True,
        'content': {'application/json': {'schema': {'allOf': [refs['request'], body]}}},
    }
    result = {'type': 'object', 'properties': {'result': method.result}}
    operation['responses'] = {
        '200': {
            'description': _response_description(method),
            'content': {
                'application/json': {
                    'schema': {'oneOf': [{'allOf': [refs['result_response'], result]}, refs['error_response']]}
                }
            },
        },
        '204': {'description': 'The request was a notification (it had no id): there is no response.'},
    }
    return operation


def _params_schema(method: MethodDoc) -> JSONSchema:
    by_name: JSONSchema = {'type': 'object', 'properties': {}}
    required = []
    by_position: JSONSchema = {'type': 'array', 'prefixItems': []}
    min_items = 0
    extra_named: JSONSchema | bool = False
    extra_positional: JSONSchema | bool = False
    for param in method.params:
        schema = with_keywords(param.schema, description=param.description) if param.description else param.schema
        kind = param.kind
        if kind is _KIND.VAR_POSITIONAL:
            extra_positional = schema
        elif kind is _KIND.VAR_KEYWORD:
            extra_named = schema
        if kind in _NAMED:
            by_name['properties'][param.name] = schema
            if param.required:
                required.append(param.name)
        if kind in _POSITIONAL:
            by_position['prefixItems'].append(schema)
            if param.required:
                min_items = len(by_position['prefixItems'])
    if required:
        by_name['required'] = required
    by_name['additionalProperties'] = extra_named
    if min_items:
        by_position['minItems'] = min_items
    by_position['items'] = extra_positional
    if not by_position['prefixItems']:
        del by_position['prefixItems']
    if method.param_structure == 'by-name':
        return by_name
    if method.param_structure == 'by-position':
        return by_position
    return {'oneOf': [by_name, by_position]}


def _response_description(method: MethodDoc) -> str:
    text = 'A JSON-RPC response: the result, or an error.'
    if not method.errors:
        return text
    lines = '\n'.join(f'- `{error["code"]}` {error["message"]}' for error in method.errors)
    return f'{text}\n\nErrors this method declares:\n\n{lines}'


def _header_parameter(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    parameter: dict[str, Any] = {'name': name, 'in': 'header'}
    if spec.get('description'):
        parameter['description'] = spec['description']
    parameter['required'] = bool(spec.get('required', False))
    parameter['schema'] = dict(spec.get('schema') or {'type': 'string'})
    return parameter


def _server_object(entry: Mapping[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = {'url': entry['url']}
    description = entry.get('description') or entry.get('name')
    if description:
        server['description'] = description
    if 'variables' in entry:
        server['variables'] = entry['variables']
    return server
