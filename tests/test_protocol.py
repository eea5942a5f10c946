"""Pure unit tests of the protocol layer, the 2.0 helper functions, errors and constants (no I/O)."""

from __future__ import annotations

import dataclasses
import json
import types
import uuid
from typing import Any

import pytest

from aiohttp_rpc import (
    JSONRPCBatchRequest,
    JSONRPCBatchResponse,
    JSONRPCDuplicatedResults,
    JSONRPCRequest,
    JSONRPCResponse,
    JSONRPCUnlinkedResults,
    constants,
    errors,
    utils,
)
from aiohttp_rpc.constants import NOTHING, VERSION_2_0
from aiohttp_rpc.methods import BaseJSONRPCMethod, JSONRPCMethod, add_method
from aiohttp_rpc.serialization import JSONCodec

# -- constants ------------------------------------------------------------------------------------------------


def test_constants() -> None:
    assert VERSION_2_0 == '2.0'
    assert repr(NOTHING) == 'NOTHING'
    assert not NOTHING
    assert NOTHING is constants.NOTHING
    assert NOTHING is not None
    assert (str, int, float, bool, type(None)) == constants.JSON_PRIMITIVE_TYPES


# -- JSONRPCRequest -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('kwargs', 'params', 'args', 'call_kwargs'),
    [
        pytest.param({}, NOTHING, (), {}, id='nothing'),
        pytest.param({'params': [1, 2]}, [1, 2], [1, 2], {}, id='params-array'),
        pytest.param({'params': {'a': 1}}, {'a': 1}, (), {'a': 1}, id='params-object'),
        pytest.param({'params': []}, [], [], {}, id='params-empty-array'),
        pytest.param({'args': [1, 2]}, [1, 2], [1, 2], {}, id='args'),
        pytest.param({'kwargs': {'a': 1}}, {'a': 1}, (), {'a': 1}, id='kwargs'),
        pytest.param({'args': []}, [], [], {}, id='empty-args-count-as-given'),
        pytest.param({'args': [], 'kwargs': {'a': 1}}, {'a': 1}, (), {'a': 1}, id='empty-args-yield-to-kwargs'),
        pytest.param({'args': [1], 'kwargs': {}}, [1], [1], {}, id='empty-kwargs-yield-to-args'),
    ],
)
def test_request_params_and_args(kwargs: dict[str, Any], params: Any, args: Any, call_kwargs: dict[str, Any]) -> None:
    request = JSONRPCRequest(method='m', id=1, **kwargs)
    assert (request.params, request.args, request.kwargs) == (params, args, call_kwargs)


@pytest.mark.parametrize(
    ('kwargs', 'error'),
    [
        pytest.param({'params': [1], 'args': [1]}, errors.InvalidParams, id='params-and-args'),
        pytest.param({'args': [1], 'kwargs': {'a': 1}}, errors.InvalidParams, id='args-and-kwargs'),
        pytest.param({'params': 5}, errors.InvalidParams, id='scalar-params'),
        pytest.param({'jsonrpc': '1.0'}, errors.InvalidRequest, id='jsonrpc-1.0'),
    ],
)
def test_request_refuses(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        JSONRPCRequest(method='m', id=1, **kwargs)


def test_request_set_params_and_args() -> None:
    request = JSONRPCRequest(method='m', id=1, params=[1])
    request.set_params({'a': 1})
    assert (request.params, request.args, request.kwargs) == ({'a': 1}, (), {'a': 1})

    request.set_args_and_kwargs(args=[2, 3])
    assert (request.params, request.args, request.kwargs) == ([2, 3], [2, 3], {})
    request.set_args_and_kwargs(kwargs={'b': 2})
    assert (request.params, request.args, request.kwargs) == ({'b': 2}, (), {'b': 2})
    request.set_args_and_kwargs(args=[], kwargs={})
    assert (request.params, request.args, request.kwargs) == ([], [], {})
    request.set_args_and_kwargs()
    assert (request.params, request.args, request.kwargs) == (NOTHING, (), {})

    with pytest.raises(errors.InvalidParams) as exc_info:
        request.set_args_and_kwargs(args=[1], kwargs={'a': 1})
    assert exc_info.value.data == {'details': 'Need use args or kwargs.'}
    with pytest.raises(errors.InvalidParams):
        request.set_params('scalar')


@pytest.mark.parametrize(
    ('request_id', 'is_notification'),
    [(None, True), (0, False), ('', False), (1, False), ('abc', False)],
)
def test_request_is_notification(request_id: Any, is_notification: bool) -> None:
    request = JSONRPCRequest(method='m', id=request_id)
    assert request.is_notification is is_notification


def test_request_dump() -> None:
    assert JSONRPCRequest(method='m', id=1, params=[1]).dump() == {
        'method': 'm',
        'jsonrpc': '2.0',
        'id': 1,
        'params': [1],
    }
    assert JSONRPCRequest(method='m', id='x').dump() == {'method': 'm', 'jsonrpc': '2.0', 'id': 'x'}
    assert JSONRPCRequest(method='m', kwargs={'a': 1}).dump() == {'method': 'm', 'jsonrpc': '2.0', 'params': {'a': 1}}


def test_request_load() -> None:
    context = {'http_request': object()}
    request = JSONRPCRequest.load(
        {'jsonrpc': '2.0', 'method': 'm', 'id': 7, 'params': {'a': 1}},
        context=context,
        extra_kwargs={'flag': True},
    )
    assert request == JSONRPCRequest(method='m', id=7, params={'a': 1}, context=context, extra_kwargs={'flag': True})
    assert request.context is context
    assert not request.is_notification

    bare = JSONRPCRequest.load({'jsonrpc': '2.0', 'method': 'm'})
    assert (bare.id, bare.params, bare.args, bare.kwargs, bare.is_notification) == (None, NOTHING, (), {}, True)
    assert (bare.context, bare.extra_kwargs) == ({}, {})
    assert bare.dump() == {'method': 'm', 'jsonrpc': '2.0'}


def test_request_with_null_id_is_not_a_notification() -> None:
    request = JSONRPCRequest.load({'jsonrpc': '2.0', 'method': 'm', 'id': None})
    assert request.id is None
    assert not request.is_notification
    assert request.dump() == {'method': 'm', 'jsonrpc': '2.0', 'id': None}
    assert '_null_id' not in repr(request)


@pytest.mark.parametrize(
    ('data', 'error', 'details'),
    [
        pytest.param([], errors.InvalidRequest, 'The request must be of the dict type.', id='not-a-dict'),
        pytest.param(
            {'jsonrpc': '2.0'},
            errors.InvalidRequest,
            'The request must contain "method" and "jsonrpc".',
            id='no-method',
        ),
        pytest.param(
            {'method': 'm'}, errors.InvalidRequest, 'The request must contain "method" and "jsonrpc".', id='no-jsonrpc'
        ),
        pytest.param(
            {'jsonrpc': '2.0', 'method': ['m']}, errors.InvalidRequest, '"method" must be a non-empty string.', id='bad'
        ),
        pytest.param(
            {'jsonrpc': '2.0', 'method': 'm', 'id': False},
            errors.InvalidRequest,
            'The "id" must be string, integer or Null.',
            id='bool-id',
        ),
        pytest.param(
            {'jsonrpc': '2.0', 'method': 'm', 'id': {}},
            errors.InvalidRequest,
            'The "id" must be string, integer or Null.',
            id='object-id',
        ),
    ],
)
def test_request_load_refuses(data: Any, error: type[errors.JSONRPCError], details: str) -> None:
    with pytest.raises(error) as exc_info:
        JSONRPCRequest.load(data)
    assert exc_info.value.data == {'details': details}


@pytest.mark.parametrize(
    ('jsonrpc', 'message'),
    [
        ('1.0', 'Only version "2.0" is supported.'),
        (2.0, 'Only version "2.0" is supported.'),
        (None, 'The "jsonrpc" field is required and must be "2.0".'),
    ],
)
def test_validate_jsonrpc(jsonrpc: Any, message: str) -> None:
    utils.validate_jsonrpc('2.0')
    with pytest.raises(errors.InvalidRequest, match=message):
        utils.validate_jsonrpc(jsonrpc)
    with pytest.raises(errors.InvalidRequest, match=message):
        JSONRPCRequest.load({'jsonrpc': jsonrpc, 'method': 'm'})


# -- batch requests -------------------------------------------------------------------------------------------


def test_batch_request() -> None:
    batch = JSONRPCBatchRequest.load(
        [{'jsonrpc': '2.0', 'method': 'a', 'id': 1}, {'jsonrpc': '2.0', 'method': 'b', 'params': [1]}]
    )
    assert [request.method for request in batch.requests] == ['a', 'b']
    assert not batch.is_notification
    assert batch.dump() == (
        {'method': 'a', 'jsonrpc': '2.0', 'id': 1},
        {'method': 'b', 'jsonrpc': '2.0', 'params': [1]},
    )
    assert JSONRPCBatchRequest(requests=(JSONRPCRequest(method='n'),)).is_notification
    assert JSONRPCBatchRequest().requests == ()

    with pytest.raises(errors.InvalidRequest):
        JSONRPCBatchRequest.load({'jsonrpc': '2.0', 'method': 'a'})
    with pytest.raises(errors.InvalidRequest):
        JSONRPCBatchRequest.load('[]')
    with pytest.raises(errors.InvalidRequest):
        JSONRPCBatchRequest.load([1])


# -- responses ------------------------------------------------------------------------------------------------


def test_response_dump() -> None:
    assert JSONRPCResponse(id=1, result=[1]).dump() == {'id': 1, 'jsonrpc': '2.0', 'result': [1]}
    assert JSONRPCResponse(id=1).dump() == {'id': 1, 'jsonrpc': '2.0', 'result': None}
    assert JSONRPCResponse(id='x', error=errors.MethodNotFound()).dump() == {
        'id': 'x',
        'jsonrpc': '2.0',
        'error': {'code': -32601, 'message': 'Method not found'},
    }
    assert JSONRPCResponse(error=errors.ParseError(data={'details': 'Invalid JSON'})).dump() == {
        'id': None,
        'jsonrpc': '2.0',
        'error': {'code': -32700, 'message': 'Parse error', 'data': {'details': 'Invalid JSON'}},
    }
    assert JSONRPCResponse().is_notification
    assert not JSONRPCResponse(id=0).is_notification


class Teapot(errors.JSONRPCError):
    code = 418
    message = 'I am a teapot'


def test_response_load() -> None:
    context = {'http_response': object()}
    response = JSONRPCResponse.load({'jsonrpc': '2.0', 'id': 1, 'result': {'a': 1}}, context=context)
    assert response == JSONRPCResponse(id=1, result={'a': 1}, context=context)

    raw_error = {'jsonrpc': '2.0', 'id': 2, 'error': {'code': 418, 'message': 'Short and stout', 'data': [1]}}
    mapped = JSONRPCResponse.load(raw_error, error_map={418: Teapot})
    assert type(mapped.error) is Teapot
    assert mapped.error.to_dict() == {'code': 418, 'message': 'Short and stout', 'data': [1]}
    assert mapped.result is None

    for error_map in (None, {}, errors.DEFAULT_KNOWN_ERRORS_MAP):
        plain = JSONRPCResponse.load(raw_error, error_map=error_map)
        assert type(plain.error) is errors.JSONRPCError
        assert plain.error == Teapot('Short and stout', data=[1])

    known = JSONRPCResponse.load(
        {'jsonrpc': '2.0', 'id': None, 'error': {'code': -32600, 'message': 'Invalid Request'}},
        error_map=errors.DEFAULT_KNOWN_ERRORS_MAP,
    )
    assert type(known.error) is errors.InvalidRequest
    assert known.error.data is None


@pytest.mark.parametrize(
    'data',
    [
        pytest.param([], id='not-a-mapping'),
        pytest.param({'id': 1, 'result': 1}, id='no-jsonrpc'),
        pytest.param({'jsonrpc': '1.0', 'id': 1, 'result': 1}, id='jsonrpc-1.0'),
        pytest.param({'jsonrpc': '2.0', 'id': 1}, id='neither-result-nor-error'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'result': 1, 'error': None}, id='both-result-and-error'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': 'boom'}, id='error-not-an-object'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'message': 'x'}}, id='error-without-code'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'code': 1}}, id='error-without-message'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'code': 1, 'message': ''}}, id='error-empty-message'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'code': None, 'message': 'x'}}, id='error-null-code'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'code': True, 'message': 'x'}}, id='error-bool-code'),
        pytest.param({'jsonrpc': '2.0', 'id': 1, 'error': {'code': 1, 'message': 2}}, id='error-number-message'),
    ],
)
def test_response_load_refuses(data: Any) -> None:
    with pytest.raises(errors.ParseError):
        JSONRPCResponse.load(data)


def test_batch_response() -> None:
    raw = [
        {'jsonrpc': '2.0', 'id': 1, 'result': 'a'},
        {'jsonrpc': '2.0', 'id': 2, 'error': {'code': -32601, 'message': 'Method not found'}},
    ]
    batch = JSONRPCBatchResponse.load(raw, error_map=errors.DEFAULT_KNOWN_ERRORS_MAP, context={'k': 'v'})
    assert [response.id for response in batch.responses] == [1, 2]
    assert isinstance(batch.responses[1].error, errors.MethodNotFound)
    assert all(response.context == {'k': 'v'} for response in batch.responses)
    assert list(batch.dump()) == raw
    assert JSONRPCBatchResponse().responses == ()


def test_batch_response_load_single_object() -> None:
    rejected = {
        'jsonrpc': '2.0',
        'id': None,
        'error': {'code': -32600, 'message': 'Invalid Request', 'data': {'details': 'Batch too large.'}},
    }
    with pytest.raises(errors.InvalidRequest) as exc_info:
        JSONRPCBatchResponse.load(rejected, error_map=errors.DEFAULT_KNOWN_ERRORS_MAP)
    assert exc_info.value.data == {'details': 'Batch too large.'}

    with pytest.raises(errors.ParseError, match='unexpected response'):
        JSONRPCBatchResponse.load({'jsonrpc': '2.0', 'id': 1, 'result': 1})
    with pytest.raises(errors.InvalidRequest):
        JSONRPCBatchResponse.load('[]')
    with pytest.raises(errors.ParseError):
        JSONRPCBatchResponse.load([{'id': 1}])


# -- params helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('params', 'expected'),
    [
        pytest.param(NOTHING, ((), {}), id='nothing'),
        pytest.param([1, 2], ([1, 2], {}), id='list'),
        pytest.param({'a': 1}, ((), {'a': 1}), id='dict'),
        pytest.param((1, 2), ((1, 2), {}), id='tuple'),
        pytest.param(types.MappingProxyType({'a': 1}), ((), {'a': 1}), id='mapping'),
    ],
)
def test_convert_params_to_args_and_kwargs(params: Any, expected: Any) -> None:
    assert utils.convert_params_to_args_and_kwargs(params) == expected


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        pytest.param(None, 'Params must be an array or object per JSON-RPC 2.0. None', id='null'),
        pytest.param(1, 'Params must be an array or object per JSON-RPC 2.0. 1', id='int'),
        pytest.param(1.5, 'Params must be an array or object per JSON-RPC 2.0. 1.5', id='float'),
        pytest.param(True, 'Params must be an array or object per JSON-RPC 2.0. True', id='bool'),
        pytest.param('ab', 'Params must be an array or object per JSON-RPC 2.0. ab', id='str'),
        pytest.param(b'ab', 'Params have unsupported data types.', id='bytes'),
        pytest.param({1, 2}, 'Params have unsupported data types.', id='set'),
    ],
)
def test_convert_params_refuses(params: Any, message: str) -> None:
    with pytest.raises(errors.InvalidParams) as exc_info:
        utils.convert_params_to_args_and_kwargs(params)
    assert exc_info.value.message == message


@pytest.mark.parametrize(
    ('args', 'kwargs', 'expected'),
    [
        pytest.param(None, None, (NOTHING, (), {}), id='none'),
        pytest.param([1], None, ([1], [1], {}), id='args'),
        pytest.param(None, {'a': 1}, ({'a': 1}, (), {'a': 1}), id='kwargs'),
        pytest.param([], None, ([], [], {}), id='empty-args'),
        pytest.param(None, {}, ({}, (), {}), id='empty-kwargs'),
        pytest.param([], {}, ([], [], {}), id='both-empty'),
        pytest.param([1], {}, ([1], [1], {}), id='args-and-empty-kwargs'),
        pytest.param([], {'a': 1}, ({'a': 1}, (), {'a': 1}), id='empty-args-and-kwargs'),
    ],
)
def test_parse_args_and_kwargs(args: Any, kwargs: Any, expected: Any) -> None:
    assert utils.parse_args_and_kwargs(args, kwargs) == expected


def test_parse_args_and_kwargs_refuses_both() -> None:
    with pytest.raises(errors.InvalidParams):
        utils.parse_args_and_kwargs([1], {'a': 1})


def test_get_random_id() -> None:
    ids = {utils.get_random_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert isinstance(value, str)
        assert uuid.UUID(value).version == 4


# -- collect_batch_result -------------------------------------------------------------------------------------


def batch_of(*requests: JSONRPCRequest) -> JSONRPCBatchRequest:
    return JSONRPCBatchRequest(requests=requests)


def replies(*responses: JSONRPCResponse) -> JSONRPCBatchResponse:
    return JSONRPCBatchResponse(responses=responses)


def test_collect_batch_result_in_request_order() -> None:
    error = errors.MethodNotFound()
    result = utils.collect_batch_result(
        batch_of(JSONRPCRequest(method='a', id=1), JSONRPCRequest(method='n'), JSONRPCRequest(method='b', id='2')),
        replies(JSONRPCResponse(id='2', error=error), JSONRPCResponse(id=1, result='one')),
    )
    assert result == ('one', None, error)
    assert result[2] is error


def test_collect_batch_result_unlinked() -> None:
    invalid = errors.InvalidRequest()
    result = utils.collect_batch_result(
        batch_of(JSONRPCRequest(method='a', id=1), JSONRPCRequest(method='b', id=2), JSONRPCRequest(method='n')),
        replies(JSONRPCResponse(id=1, result='one'), JSONRPCResponse(id=None, error=invalid)),
    )
    unlinked = JSONRPCUnlinkedResults(results=[invalid])
    assert result == ('one', unlinked, unlinked)
    assert bool(unlinked)
    assert not JSONRPCUnlinkedResults()


def test_collect_batch_result_duplicated() -> None:
    result = utils.collect_batch_result(
        batch_of(JSONRPCRequest(method='a', id=1), JSONRPCRequest(method='b', id=2)),
        replies(
            JSONRPCResponse(id=1, result='first'),
            JSONRPCResponse(id=1, result='second'),
            JSONRPCResponse(id=1, result='third'),
            JSONRPCResponse(id=2, result='two'),
        ),
    )
    assert result == (JSONRPCDuplicatedResults(results=['first', 'second', 'third']), 'two')
    assert not JSONRPCDuplicatedResults()
    duplicated = JSONRPCDuplicatedResults()
    duplicated.add(1)
    assert duplicated
    assert duplicated.results == [1]


# -- serialization --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_json_helpers() -> None:
    assert utils.json_serialize({'p': Point(1, 2), 1: 'int key'}) == '{"p":{"x":1,"y":2},"1":"int key"}'
    assert utils.json_deserialize('{"a": [1, 2.5, null]}') == {'a': [1, 2.5, None]}
    assert utils.json_deserialize(b'[true]') == [True]
    with pytest.raises(ValueError, match='unexpected end of data'):
        utils.json_deserialize(b'{')
    with pytest.raises(TypeError):
        utils.json_serialize(object())


def test_json_codec() -> None:
    default = JSONCodec()
    assert default.dumps({'a': 1}) == b'{"a":1}'
    assert default.loads(b'{"a":1}') == {'a': 1}

    as_bytes = JSONCodec(lambda value: json.dumps(value).encode(), json.loads)
    assert as_bytes.dumps([1]) == b'[1]'
    as_text = JSONCodec(json.dumps, json.loads)
    assert as_text.dumps([1]) == b'[1]'

    def loads_badly(data: Any) -> Any:
        raise TypeError('cannot decode')

    with pytest.raises(ValueError, match='cannot decode'):
        JSONCodec(json.dumps, loads_badly).loads(b'[]')


# -- errors ---------------------------------------------------------------------------------------------------


def test_error_basics() -> None:
    error = errors.InvalidParams(data={'details': 'x'})
    assert repr(error) == "InvalidParams(-32602, 'Invalid params')"
    assert str(error) == 'Invalid params: x'  # the reason, for tracebacks and logs; the message is unchanged
    assert (error.message, errors.InvalidParams().reason(), str(errors.InvalidParams())) == (
        'Invalid params',
        None,
        'Invalid params',
    )
    assert error.to_dict() == {'code': -32602, 'message': 'Invalid params', 'data': {'details': 'x'}}
    assert errors.InvalidParams().to_dict() == {'code': -32602, 'message': 'Invalid params'}
    assert isinstance(error, RuntimeError)

    custom = errors.JSONRPCError('Custom', code=7, data=[1])
    assert (custom.code, custom.message, custom.data) == (7, 'Custom', [1])
    assert repr(custom) == "JSONRPCError(7, 'Custom')"
    overridden = errors.InternalError('Database down', code=-32001)
    assert overridden.to_dict() == {'code': -32001, 'message': 'Database down'}
    assert errors.InternalError.code == -32603  # the class is untouched


def test_error_equality() -> None:
    assert errors.InvalidParams() == errors.InvalidParams()
    assert errors.InvalidParams(data=1) != errors.InvalidParams(data=2)
    assert errors.InvalidParams() != errors.InvalidParams('Other message')
    assert errors.InvalidParams() == errors.JSONRPCError('Invalid params', code=-32602)
    assert errors.InvalidParams() != errors.InvalidRequest()
    assert errors.InvalidParams() != 'Invalid params'
    assert hash(errors.InvalidParams(data=1)) == hash(errors.InvalidParams(data=2))
    assert len({errors.ParseError(), errors.ParseError(), errors.InternalError()}) == 2


def test_error_needs_code_and_message() -> None:
    with pytest.raises(TypeError, match='needs an error code'):
        errors.JSONRPCError('message only')
    with pytest.raises(TypeError, match='needs an error message'):
        errors.JSONRPCError(code=1)


@pytest.mark.parametrize(
    ('error', 'code', 'message'),
    [
        (errors.ServerError, -32000, 'Server error.'),
        (errors.ParseError, -32700, 'Parse error'),
        (errors.InvalidRequest, -32600, 'Invalid Request'),
        (errors.MethodNotFound, -32601, 'Method not found'),
        (errors.InvalidParams, -32602, 'Invalid params'),
        (errors.InternalError, -32603, 'Internal error'),
        (errors.AccessDenied, -32001, 'Access denied'),
        (errors.CallTimeout, -32002, 'Request timed out'),
        (errors.ResponseTooLarge, -32003, 'Response too large'),
        (errors.RequestCancelled, -32800, 'Request cancelled'),
        (errors.SubscriptionsUnavailable, -32004, 'Subscriptions need a WebSocket'),
        (errors.TooManySubscriptions, -32006, 'Too many subscriptions'),
        (errors.SubscriptionLagged, -32007, 'Subscription lagged'),
    ],
)
def test_wire_errors(error: type[errors.JSONRPCError], code: int, message: str) -> None:
    assert (error.code, error.message) == (code, message)
    assert errors.DEFAULT_KNOWN_ERRORS_MAP[code] is error
    assert error in errors.DEFAULT_KNOWN_ERRORS


def test_error_maps() -> None:
    assert len(errors.DEFAULT_KNOWN_ERRORS_MAP) == len(errors.DEFAULT_KNOWN_ERRORS) == 13
    local_errors = {
        errors.EmptyResponse,
        errors.RequestTimeoutError,
        errors.TransportError,
        errors.ReplyTooLargeError,
        errors.HTTPStatusError,
        errors.ServerConfigurationError,
        errors.ContractError,
        errors.BackplaneError,
    }
    assert local_errors == errors.LOCAL_ERRORS


@pytest.mark.parametrize(
    'error',
    [
        errors.LocalError,
        errors.EmptyResponse,
        errors.TransportError,
        errors.RequestTimeoutError,
        errors.HTTPStatusError,
        errors.ServerConfigurationError,
    ],
)
def test_local_errors_stay_out_of_the_server_range(error: type[errors.JSONRPCError]) -> None:
    assert issubclass(error, errors.LocalError)
    assert issubclass(error, errors.JSONRPCError)
    assert not -32768 <= error.code <= -32000
    assert error.code not in errors.DEFAULT_KNOWN_ERRORS_MAP


def test_local_errors_also_inherit_the_stdlib() -> None:
    assert issubclass(errors.TransportError, ConnectionError)
    assert issubclass(errors.RequestTimeoutError, errors.TransportError)
    assert issubclass(errors.RequestTimeoutError, TimeoutError)
    assert not issubclass(errors.TransportError, TimeoutError)


def test_request_rejected() -> None:
    rejected = errors.RequestRejected(403, 'Origin not allowed.')
    assert (rejected.status, rejected.reason) == (403, 'Origin not allowed.')
    assert not isinstance(rejected, errors.JSONRPCError)


# -- methods (without a server) -------------------------------------------------------------------------------


def test_add_method_wraps_callables_and_repr() -> None:
    methods: dict[str, BaseJSONRPCMethod] = {}
    method = JSONRPCMethod(len)
    assert add_method(methods, method) is method
    wrapped = add_method(methods, sorted)
    assert isinstance(wrapped, JSONRPCMethod)
    assert methods == {'len': method, 'sorted': wrapped}
    assert wrapped.name == 'sorted'
    assert repr(wrapped) == 'JSONRPCMethod(sorted)'


async def test_method_call() -> None:
    async def join(*parts: str, sep: str = '-') -> str:
        return sep.join(parts)

    method = JSONRPCMethod(join, prepare_result=str.upper)
    assert method.is_coroutine
    assert not method.is_class
    assert await method(['a', 'b'], {'sep': '+'}) == 'A+B'
    assert await method(['a'], {}, {'ignored': True}) == 'A'

    point = JSONRPCMethod(Point, prepare_result=dataclasses.asdict)
    assert point.is_class
    assert await point([1], {'y': 2}) == {'x': 1, 'y': 2}
    with pytest.raises(errors.InvalidParams):
        await point([1, 2, 3], {})
