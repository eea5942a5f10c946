"""OpenAPI 3.1: the document validates, and the requests and responses it describes are what a real server
takes and sends."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

import jsonschema
import pydantic
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.schema import build_openapi
from aiohttp_rpc.schema.openapi import operation_path

HEADERS = {
    'X-User-ID': {'description': 'User ID for authentication', 'schema': {'type': 'integer'}, 'required': False},
    'X-Trace': {},
}

HEADER_PARAMETERS = [
    {
        'name': 'X-User-ID',
        'in': 'header',
        'description': 'User ID for authentication',
        'required': False,
        'schema': {'type': 'integer'},
    },
    {'name': 'X-Trace', 'in': 'header', 'required': False, 'schema': {'type': 'string'}},
]


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Receipt(pydantic.BaseModel):
    amount: int
    currency: str


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


def pay(amount: int, currency: Literal['EUR', 'USD'] = 'EUR', *, memo: str | None = None) -> Receipt:
    """Pay an amount.

    Args:
        amount: in cents.
    """
    if amount > 100:
        raise InsufficientFunds()
    return Receipt(amount=amount, currency=currency)


def norm(point: Point, /) -> int:
    """Manhattan norm."""
    return abs(point.x) + abs(point.y)


def total(*amounts: int) -> int:
    return sum(amounts)


def mul(a: int, b: int = 2) -> int:
    return a * b


def build_server() -> aiohttp_rpc.JSONRPCServer:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, validate_params=True)
    server.add_method(aiohttp_rpc.JSONRPCMethod(pay, errors=[InsufficientFunds]))
    server.add_methods([norm, total])
    math = aiohttp_rpc.MethodGroup(methods=[mul])
    server.add_group('math', math)
    server.add_discovery()
    return server


def document_of(server: aiohttp_rpc.JSONRPCServer, base_url: str = 'http://127.0.0.1:8080') -> dict[str, Any]:
    document = build_openapi(
        server,
        title='Shop',
        version='2.0.0',
        description='Buy things.',
        servers=[{'name': 'local', 'url': base_url}],
        headers=HEADERS,
    )
    validate(document, cls=OpenAPIV31SpecValidator)
    return document


def schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for a schema inside ``document``: its ``#/components/...`` references resolve in it."""
    return jsonschema.Draft202012Validator({**schema, 'components': document['components']})


def request_validator(document: dict[str, Any], method: str) -> jsonschema.Draft202012Validator:
    body = document['paths'][operation_path('/rpc', method)]['post']['requestBody']
    return schema_validator(document, body['content']['application/json']['schema'])


def response_validator(document: dict[str, Any], method: str) -> jsonschema.Draft202012Validator:
    response = document['paths'][operation_path('/rpc', method)]['post']['responses']['200']
    return schema_validator(document, response['content']['application/json']['schema'])


def test_document() -> None:
    document = document_of(build_server())

    assert document['openapi'] == '3.1.0'
    assert document['info'] == {'title': 'Shop', 'version': '2.0.0', 'description': 'Buy things.'}
    assert document['servers'] == [{'url': 'http://127.0.0.1:8080', 'description': 'local'}]
    assert document['tags'] == [{'name': 'math'}]
    assert list(document['paths']) == ['/rpc#math.mul', '/rpc#norm', '/rpc#pay', '/rpc#total']
    operations = [path_item['post'] for path_item in document['paths'].values()]
    assert [operation['operationId'] for operation in operations] == ['math.mul', 'norm', 'pay', 'total']
    assert all(operation['parameters'] == HEADER_PARAMETERS for operation in operations)
    assert all(set(operation['responses']) == {'200', '204'} for operation in operations)
    assert operations[0]['tags'] == ['math']
    assert operations[1]['summary'] == 'Manhattan norm.'
    components = document['components']['schemas']
    assert sorted(components) == [
        'JSONRPCError',
        'JSONRPCErrorResponse',
        'JSONRPCId',
        'JSONRPCRequest',
        'JSONRPCResultResponse',
        'Point',
        'Receipt',
    ]
    assert components['JSONRPCError']['required'] == ['code', 'message']


def test_operation() -> None:
    operation = document_of(build_server())['paths']['/rpc#pay']['post']

    assert operation == {
        'operationId': 'pay',
        'summary': 'Pay an amount.',  # (no description: the Args: section became the param's own)
        'parameters': HEADER_PARAMETERS,
        'requestBody': {
            'required': True,
            'content': {
                'application/json': {
                    'schema': {
                        'allOf': [
                            {'$ref': '#/components/schemas/JSONRPCRequest'},
                            {
                                'type': 'object',
                                'properties': {
                                    'method': {'const': 'pay'},
                                    'params': {
                                        'type': 'object',
                                        'properties': {
                                            'amount': {'type': 'integer', 'description': 'in cents.'},
                                            'currency': {'enum': ['EUR', 'USD'], 'type': 'string', 'default': 'EUR'},
                                            'memo': {'anyOf': [{'type': 'string'}, {'type': 'null'}], 'default': None},
                                        },
                                        'required': ['amount'],
                                        'additionalProperties': False,
                                    },
                                },
                                'required': ['method', 'params'],
                            },
                        ]
                    }
                }
            },
        },
        'responses': {
            '200': {
                'description': (
                    'A JSON-RPC response: the result, or an error.\n\n'
                    'Errors this method declares:\n\n- `4001` Insufficient funds'
                ),
                'content': {
                    'application/json': {
                        'schema': {
                            'oneOf': [
                                {
                                    'allOf': [
                                        {'$ref': '#/components/schemas/JSONRPCResultResponse'},
                                        {
                                            'type': 'object',
                                            'properties': {'result': {'$ref': '#/components/schemas/Receipt'}},
                                        },
                                    ]
                                },
                                {'$ref': '#/components/schemas/JSONRPCErrorResponse'},
                            ]
                        }
                    }
                },
            },
            '204': {'description': 'The request was a notification (it had no id): there is no response.'},
        },
    }


def test_params_schemas_follow_the_signature() -> None:
    document = document_of(build_server())

    def params_of(method: str) -> Any:
        schema = document['paths'][operation_path('/rpc', method)]['post']['requestBody']['content']
        return schema['application/json']['schema']['allOf'][1]['properties']['params']

    assert params_of('norm') == {
        'type': 'array',
        'prefixItems': [{'$ref': '#/components/schemas/Point'}],
        'minItems': 1,
        'items': False,
    }
    assert params_of('total') == {
        'oneOf': [
            {'type': 'object', 'properties': {}, 'additionalProperties': False},
            {'type': 'array', 'items': {'type': 'integer'}},
        ]
    }
    assert params_of('math.mul') == {
        'oneOf': [
            {
                'type': 'object',
                'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer', 'default': 2}},
                'required': ['a'],
                'additionalProperties': False,
            },
            {
                'type': 'array',
                'prefixItems': [{'type': 'integer'}, {'type': 'integer', 'default': 2}],
                'minItems': 1,
                'items': False,
            },
        ]
    }


CALLS = [
    ('pay', {'amount': 5, 'currency': 'USD'}, {'amount': 5, 'currency': 'USD'}),
    ('pay', {'amount': 500}, None),  # the declared error
    ('norm', [{'x': 3, 'y': -4}], 7),
    ('total', [1, 2, 3], 6),
    ('math.mul', {'a': 3}, 6),
    ('math.mul', [3, 3], 9),
]


@pytest.mark.parametrize(('method', 'params', 'result'), CALLS)
async def test_documented_calls_work(
    rpc_server_factory: Any, post_raw: Any, method: str, params: Any, result: Any
) -> None:
    server = build_server()
    url = await rpc_server_factory(rpc_server=server)
    base_url = url.removesuffix('/rpc')
    document = document_of(server, base_url)
    request = {'jsonrpc': '2.0', 'method': method, 'params': params, 'id': 'abc'}
    request_validator(document, method).validate(request)

    # The operation's URL, as Swagger UI builds it (the fragment is not sent), reaches the endpoint.
    status, reply = await post_raw(document['servers'][0]['url'] + operation_path('/rpc', method), json.dumps(request))

    assert status == 200
    response_validator(document, method).validate(reply)
    if result is None:
        assert reply['error'] == {'code': 4001, 'message': 'Insufficient funds'}
    else:
        assert reply['result'] == result


def test_bad_requests_do_not_match_the_schema() -> None:
    document = document_of(build_server())
    bad = [
        ('pay', {'amount': 'five'}),
        ('pay', {'amount': 5, 'unknown': 1}),
        ('pay', [5]),  # keyword-only param: by name only
        ('pay', None),
        ('norm', {'point': {'x': 1, 'y': 2}}),  # positional-only
        ('math.mul', [1, 2, 3]),
    ]
    for method, params in bad:
        request = {'jsonrpc': '2.0', 'method': method, 'id': 1}
        if params is not None:
            request['params'] = params
        assert not request_validator(document, method).is_valid(request), (method, params)
    assert not request_validator(document, 'pay').is_valid({'jsonrpc': '2.0', 'method': 'norm', 'params': [1]})
    assert not response_validator(document, 'pay').is_valid({'jsonrpc': '2.0', 'result': 1, 'id': 1})


class JSONRPCError(pydantic.BaseModel):
    """A user type named like one of the envelope schemas."""

    reason: str


def fail(error: JSONRPCError) -> None:
    pass


def test_component_names_do_not_clash() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(fail)
    document = build_openapi(server)
    validate(document, cls=OpenAPIV31SpecValidator)

    schemas = document['components']['schemas']
    assert schemas['JSONRPCError']['properties'] == {'reason': {'title': 'Reason', 'type': 'string'}}
    assert schemas['JSONRPCError2']['required'] == ['code', 'message']
    assert schemas['JSONRPCErrorResponse']['properties']['error'] == {'$ref': '#/components/schemas/JSONRPCError2'}


def test_method_names_are_encoded_in_the_path() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(mul, name='odd {name}/x?'))
    document = build_openapi(server, path='/api/v1/rpc')
    validate(document, cls=OpenAPIV31SpecValidator)

    assert list(document['paths']) == ['/api/v1/rpc#odd%20%7Bname%7D%2Fx%3F']
    assert 'servers' not in document
    assert 'tags' not in document


def test_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match='path must start with'):
        build_openapi(aiohttp_rpc.JSONRPCServer(), path='rpc')
