"""Typed params (opt-in pydantic validation) and typed results, over HTTP and WebSocket on loopback.

Every invalid call is compared whole, ``errors`` list included: it is what a client sees and codes against.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from typing import Any, Literal

import pydantic
import pytest
from transports import Transport, call, result
from typing_extensions import TypedDict  # pydantic refuses typing.TypedDict before Python 3.12

import aiohttp_rpc
from aiohttp_rpc import errors

# -- how the tests reach a server -----------------------------------------------------------------------------


def invalid_params(*problems: tuple[list[Any], str, str], id: Any = 1) -> dict[str, Any]:
    """The whole -32602 reply, listing ``(path, message, type)`` problems in order."""
    listed = [{'path': path, 'message': message, 'type': kind} for path, message, kind in problems]
    return {
        'jsonrpc': '2.0',
        'error': {'code': -32602, 'message': 'Invalid params', 'data': {'errors': listed}},
        'id': id,
    }


MISSING_B = (['b'], 'Field required', 'missing')
TOO_MANY = ([], 'Expected at most 2 positional params, got 3', 'too_many_positional')
UNKNOWN_C = (['c'], 'Extra inputs are not permitted', 'extra_forbidden')

NOT_AN_INT = 'Input should be a valid integer, unable to parse string as an integer'


class StartsWith(str):
    """Equal to any text that starts with it: for the tail of a pydantic message that pydantic itself words
    differently from one release to another (we hand its words on as they are)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(str(self))

    __hash__ = str.__hash__


# pydantic 2.6: "... invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found
# `x` at 1"; newer: "... invalid character: found `x` at 0".
INVALID_UUID = StartsWith('Input should be a valid UUID, invalid character: ')

# -- the methods ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Color(enum.Enum):
    RED = 'red'
    BLUE = 'blue'


class Style(TypedDict):
    width: float
    dash: bool


class Label(pydantic.BaseModel):
    text: str
    size: int = 12


def add(a: int, b: int = 2) -> int:
    return a + b


def move(point: Point, dx: int = 0, dy: int = 0) -> Point:
    return Point(point.x + dx, point.y + dy)


def describe(
    color: Color,
    mode: Literal['fill', 'stroke'] = 'fill',
    at: datetime.datetime | None = None,
    ids: list[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Reports the Python types it was given, to show the conversion happened before the call."""
    return {
        'color': [type(color).__name__, color.value],
        'mode': mode,
        'at': None if at is None else [type(at).__name__, at.isoformat()],
        'ids': None if ids is None else [[type(i).__name__, i.hex] for i in ids],
    }


def decorate(style: Style, label: Label) -> dict[str, Any]:
    return {'style': [type(style).__name__, style], 'label': [type(label).__name__, label.text, label.size]}


def total(*values: int, **weights: int) -> dict[str, Any]:
    return {'values': list(values), 'weights': weights, 'sum': sum(values) + sum(weights.values())}


def untyped(a, b):
    return [a, b]


def concat(a: str, b: str) -> str:
    return a + b


# -- valid params are converted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('message', 'expected'),
    [
        (call('add', ['40', 2]), result(42)),
        (call('add', {'a': '5'}), result(7)),
        (call('add', {'b': 1, 'a': 1}), result(2)),
        (call('add', [1.0, True]), result(2)),
        (call('move', [{'x': 1, 'y': 2}]), result({'x': 1, 'y': 2})),
        (call('move', {'point': {'x': '1', 'y': 2}, 'dy': '5'}), result({'x': 1, 'y': 7})),
        (call('move', [{'x': 0, 'y': 0}, 3, 4]), result({'x': 3, 'y': 4})),
        (
            call('describe', ['red']),
            result({'color': ['Color', 'red'], 'mode': 'fill', 'at': None, 'ids': None}),
        ),
        (
            call(
                'describe',
                {
                    'color': 'blue',
                    'mode': 'stroke',
                    'at': '2024-05-01T12:30:00Z',
                    'ids': ['12345678-1234-5678-1234-567812345678'],
                },
            ),
            result(
                {
                    'color': ['Color', 'blue'],
                    'mode': 'stroke',
                    'at': ['datetime', '2024-05-01T12:30:00+00:00'],
                    'ids': [['UUID', '12345678123456781234567812345678']],
                }
            ),
        ),
        (
            call('decorate', [{'width': '1.5', 'dash': 'true'}, {'text': 'hi'}]),
            result({'style': ['dict', {'width': 1.5, 'dash': True}], 'label': ['Label', 'hi', 12]}),
        ),
        (call('total', [1, '2', 3]), result({'values': [1, 2, 3], 'weights': {}, 'sum': 6})),
        (call('total', {'a': '10', 'b': 5}), result({'values': [], 'weights': {'a': 10, 'b': 5}, 'sum': 15})),
        (call('total'), result({'values': [], 'weights': {}, 'sum': 0})),
    ],
    ids=[
        'positional-string-to-int',
        'named-with-default',
        'named-any-order',
        'whole-float-and-bool',
        'dataclass-positional',
        'dataclass-named-converted',
        'dataclass-and-ints',
        'enum-defaults',
        'enum-literal-datetime-uuid-list',
        'typeddict-and-pydantic-model',
        'var-positional',
        'var-keyword',
        'no-params',
    ],
)
async def test_valid_params_are_converted(transport: Transport, message: Any, expected: Any) -> None:
    server = transport.server(validate_params=True)
    server.add_methods([add, move, describe, decorate, total])
    await transport.start(server)
    assert await transport.send(message) == expected


# -- invalid params: -32602 with every problem listed ---------------------------------------------------------


@pytest.mark.parametrize(
    ('message', 'expected'),
    [
        (
            call('add', ['x', 'y']),
            invalid_params((['a'], NOT_AN_INT, 'int_parsing'), (['b'], NOT_AN_INT, 'int_parsing')),
        ),
        (
            call('add', [1, 2, 3]),
            invalid_params(([], 'Expected at most 2 positional params, got 3', 'too_many_positional')),
        ),
        (
            call('add', {'a': 1, 'c': 3}),
            invalid_params((['c'], 'Extra inputs are not permitted', 'extra_forbidden')),
        ),
        (call('add', []), invalid_params((['a'], 'Field required', 'missing'))),
        (call('add'), invalid_params((['a'], 'Field required', 'missing'))),
        (
            call('add', {'a': 1.5}),
            invalid_params(
                (['a'], 'Input should be a valid integer, got a number with a fractional part', 'int_from_float')
            ),
        ),
        (
            call('add', [None]),
            invalid_params((['a'], 'Input should be a valid integer', 'int_type')),
        ),
        (
            call('move', {'point': {'x': 'a'}}),
            invalid_params(
                (['point', 'x'], NOT_AN_INT, 'int_parsing'),
                (['point', 'y'], 'Field required', 'missing'),
            ),
        ),
        (
            call('move', [[1, 2]]),
            invalid_params(
                (
                    ['point'],
                    'Input should be a dictionary or an instance of Point',
                    'dataclass_type',
                )
            ),
        ),
        (
            call('describe', ['green', 'dots', 'not a date', ['x']]),
            invalid_params(
                (['color'], "Input should be 'red' or 'blue'", 'enum'),
                (['mode'], "Input should be 'fill' or 'stroke'", 'literal_error'),
                (
                    ['at'],
                    'Input should be a valid datetime or date, invalid character in year',
                    'datetime_from_date_parsing',
                ),
                (['ids', 0], INVALID_UUID, 'uuid_parsing'),
            ),
        ),
        (
            call('decorate', [{'width': 'wide'}, {'size': 'big'}]),
            invalid_params(
                (
                    ['style', 'width'],
                    'Input should be a valid number, unable to parse string as a number',
                    'float_parsing',
                ),
                (['style', 'dash'], 'Field required', 'missing'),
                (['label', 'text'], 'Field required', 'missing'),
                (['label', 'size'], NOT_AN_INT, 'int_parsing'),
            ),
        ),
        (
            call('total', [1, 'two']),
            invalid_params((['values', 1], NOT_AN_INT, 'int_parsing')),
        ),
        (
            call('total', {'a': 1, 'b': 'x'}),
            invalid_params((['weights', 'b'], NOT_AN_INT, 'int_parsing')),
        ),
        (
            call('add', [1, 2, 3, 'x'], id='many'),
            invalid_params(
                ([], 'Expected at most 2 positional params, got 4', 'too_many_positional'),
                id='many',
            ),
        ),
    ],
    ids=[
        'two-wrong-types',
        'too-many-positional',
        'unknown-named',
        'missing-positional',
        'no-params-at-all',
        'fraction-for-int',
        'null-for-int',
        'dataclass-fields',
        'array-for-dataclass',
        'enum-literal-datetime-uuid',
        'typeddict-and-model-fields',
        'var-positional-item',
        'var-keyword-item',
        'string-id-kept',
    ],
)
async def test_invalid_params_list_every_problem(transport: Transport, message: Any, expected: Any) -> None:
    ran: list[str] = []

    def spy(value: Any) -> Any:
        ran.append('prepare_result')
        return value

    server = transport.server(validate_params=True)
    server.add_methods([add, move, describe, decorate, aiohttp_rpc.JSONRPCMethod(total, prepare_result=spy)])
    await transport.start(server)
    assert await transport.send(message) == expected
    assert ran == []  # the method did not run


async def test_batch_members_are_validated_one_by_one(transport: Transport) -> None:
    server = transport.server(validate_params=True)
    server.add_methods([add, move])
    await transport.start(server)
    batch = [
        call('add', ['1', '2'], id=1),
        call('add', ['one'], id=2),
        call('move', [{'x': 1, 'y': 1}], id=3),
        call('add', {'a': 1, 'z': 0}),  # a notification: checked and dropped, no reply
        call('move', {}, id=4),
    ]
    del batch[3]['id']
    assert await transport.send(batch) == [
        result(3, id=1),
        invalid_params((['a'], NOT_AN_INT, 'int_parsing'), id=2),
        result({'x': 1, 'y': 1}, id=3),
        invalid_params((['point'], 'Field required', 'missing'), id=4),
    ]


async def test_client_raises_invalid_params_with_the_errors(transport: Transport) -> None:
    server = transport.server(validate_params=True)
    server.add_methods([add, move])
    await transport.start(server)
    async with transport.client() as rpc:
        assert await rpc.methods.add('1', '2') == 3
        assert await rpc.call('move', point={'x': 1, 'y': 2}, dx=1) == {'x': 2, 'y': 2}
        with pytest.raises(errors.InvalidParams) as info:
            await rpc.call('add', a=1, b='x')
    assert info.value.data == {'errors': [{'path': ['b'], 'message': NOT_AN_INT, 'type': 'int_parsing'}]}


async def test_invalid_notification_gets_no_reply_and_does_not_run(
    rpc_server_factory: Any, post_raw: Any, rpc_call: Any
) -> None:
    ran: list[int] = []

    def record(value: int) -> None:
        ran.append(value)

    url = await rpc_server_factory(record, validate_params=True)
    assert await post_raw(url, '{"jsonrpc": "2.0", "method": "record", "params": ["nope"]}') == (204, None)
    assert await post_raw(url, '{"jsonrpc": "2.0", "method": "record", "params": ["7"]}') == (204, None)
    assert await rpc_call(url, 'record', [8]) == result(None)
    assert ran == [7, 8]


# -- opting in and out ----------------------------------------------------------------------------------------


async def test_method_opts_in_on_a_server_that_does_not_validate(transport: Transport) -> None:
    server = transport.server()
    server.add_methods([aiohttp_rpc.JSONRPCMethod(add, validate=True), concat])
    await transport.start(server)
    assert await transport.send(call('add', ['2', '3'])) == result(5)
    assert await transport.send(call('add', ['x'])) == invalid_params((['a'], NOT_AN_INT, 'int_parsing'))
    # The server's other methods are not checked: annotations are not enforced; an arity error says what is
    # wrong all the same, in the same shape.
    assert await transport.send(call('concat', ['2', '3'])) == result('23')
    assert await transport.send(call('concat', ['2'])) == invalid_params(MISSING_B)


async def test_method_opts_out_on_a_validating_server(transport: Transport) -> None:
    server = transport.server(validate_params=True)
    server.add_methods([aiohttp_rpc.JSONRPCMethod(concat, name='loose', validate=False), concat])
    await transport.start(server)
    assert await transport.send(call('loose', [[1], [2]])) == result([1, 2])  # not converted, not refused
    assert await transport.send(call('loose', ['a', 'b', 'c'])) == invalid_params(TOO_MANY)
    assert await transport.send(call('loose', {'a': 'x', 'c': 'y'})) == invalid_params(MISSING_B, UNKNOWN_C)
    assert await transport.send(call('concat', [[1], [2]])) == invalid_params(
        (['a'], 'Input should be a valid string', 'string_type'),
        (['b'], 'Input should be a valid string', 'string_type'),
    )


@pytest.mark.parametrize(
    ('params', 'expected'),
    [
        (['x', 'y'], result(['x', 'y'])),
        ([1, 2, 3], invalid_params(TOO_MANY)),
        ([1], invalid_params(MISSING_B)),
        ({'a': 1, 'c': 2}, invalid_params(MISSING_B, UNKNOWN_C)),
    ],
    ids=['ok', 'too-many', 'too-few', 'unknown-named'],
)
async def test_server_without_validation_behaves_as_before(transport: Transport, params: Any, expected: Any) -> None:
    server = transport.server()
    server.add_methods([untyped, add])
    await transport.start(server)
    assert await transport.send(call('untyped', params)) == expected
    # Annotations alone change nothing: no conversion, so '1' + 2 is a bug inside the method (-32603).
    assert await transport.send(call('add', ['1', 2])) == {
        'jsonrpc': '2.0',
        'error': {'code': -32603, 'message': 'Internal error'},
        'id': 1,
    }


async def test_unannotated_method_on_a_validating_server_behaves_as_in_2_0(transport: Transport) -> None:
    # An untyped method is not validated even under validate_params=True: values pass unconverted, and a
    # wrong arity is -32602 saying what is wrong, as for a checked one. Asking explicitly (validate=True) checks it.
    server = transport.server(validate_params=True)
    server.add_method(untyped)
    server.add_method(aiohttp_rpc.JSONRPCMethod(untyped, name='untyped_checked', validate=True))
    await transport.start(server)
    assert await transport.send(call('untyped', [{'any': 'thing'}, None])) == result([{'any': 'thing'}, None])
    assert await transport.send(call('untyped', [1])) == invalid_params(MISSING_B)
    assert await transport.send(call('untyped_checked', [1])) == invalid_params(MISSING_B)
    assert await transport.send(call('untyped_checked', [1, 2, 3])) == invalid_params(
        ([], 'Expected at most 2 positional params, got 3', 'too_many_positional')
    )


async def test_the_params_model_is_built_at_registration_not_per_call(
    transport: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    create_model = pydantic.create_model

    def counting_create_model(name: str, /, **kwargs: Any) -> Any:
        built.append(name)
        return create_model(name, **kwargs)

    monkeypatch.setattr(pydantic, 'create_model', counting_create_model)
    server = transport.server(validate_params=True)
    server.add_methods([add, move])
    assert built == ['addParams', 'moveParams']
    await transport.start(server)
    for params in (['1', 2], [3], {'a': 'x'}):
        await transport.send(call('add', params))
    assert built == ['addParams', 'moveParams']


# -- results --------------------------------------------------------------------------------------------------


class Badge(pydantic.BaseModel):
    name: str
    issued: datetime.datetime
    owner: uuid.UUID


@dataclasses.dataclass
class Report:
    point: Point
    color: Color
    when: datetime.datetime
    day: datetime.date
    key: uuid.UUID
    badges: list[Badge]


BADGE = Badge(
    name='gold',
    issued=datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc),
    owner=uuid.UUID('12345678-1234-5678-1234-567812345678'),
)


def report() -> Report:
    return Report(
        point=Point(1, 2),
        color=Color.BLUE,
        when=datetime.datetime(2024, 5, 1, 12, 30, 15, tzinfo=datetime.timezone.utc),
        day=datetime.date(2024, 5, 1),
        key=uuid.UUID('87654321-4321-8765-4321-876543218765'),
        badges=[BADGE],
    )


def badge() -> Badge:
    return BADGE


def scalars() -> list[Any]:
    return [
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        uuid.UUID('00000000-0000-0000-0000-000000000001'),
        Color.RED,
        Point(0, -1),
    ]


@pytest.mark.parametrize('validate_params', [False, True], ids=['plain', 'validating'])
async def test_typed_results_serialize_without_a_custom_serializer(transport: Transport, validate_params: bool) -> None:
    server = transport.server(validate_params=validate_params)
    server.add_methods([report, badge, scalars])
    await transport.start(server)
    badge_json = {'name': 'gold', 'issued': '2024-05-01T12:30:00Z', 'owner': '12345678-1234-5678-1234-567812345678'}
    assert await transport.send(call('report')) == result(
        {
            'point': {'x': 1, 'y': 2},
            'color': 'blue',
            'when': '2024-05-01T12:30:15+00:00',
            'day': '2024-05-01',
            'key': '87654321-4321-8765-4321-876543218765',
            'badges': [badge_json],
        }
    )
    assert await transport.send(call('badge')) == result(badge_json)
    assert await transport.send(call('scalars')) == result(
        ['2024-01-02T03:04:05', '00000000-0000-0000-0000-000000000001', 'red', {'x': 0, 'y': -1}]
    )


async def test_typed_values_round_trip_through_the_client(transport: Transport) -> None:
    server = transport.server(validate_params=True)
    server.add_methods([move, describe])
    await transport.start(server)
    async with transport.client() as rpc:
        moved = await rpc.methods.move({'x': 1, 'y': 1}, '2')
        described = await rpc.methods.describe(color='red', at='2024-05-01T00:00:00+02:00')
    assert moved == {'x': 3, 'y': 1}
    assert described == {
        'color': ['Color', 'red'],
        'mode': 'fill',
        'at': ['datetime', '2024-05-01T00:00:00+02:00'],
        'ids': None,
    }


# -- registration ---------------------------------------------------------------------------------------------


def test_unresolvable_annotations_are_refused_when_validating() -> None:
    """validate=True on a method whose annotations cannot be resolved must fail loudly at registration.

    With ``from __future__ import annotations`` a class defined inside a function is a string the package
    cannot resolve; today the whole method silently becomes ``Any`` and nothing is validated (even ``n: int``).
    """

    @dataclasses.dataclass
    class Local:
        x: int

    def uses_local(item: Local, n: int) -> int:
        return n

    server = aiohttp_rpc.JSONRPCServer(validate_params=True)
    with pytest.raises(errors.ServerConfigurationError):
        server.add_method(uses_local)


async def test_positional_only_param_cannot_be_given_by_name(transport: Transport) -> None:
    """Python refuses ``f(a=1)`` for ``def f(a, /)``, and so does the server without validation; with
    validation the same call must be refused too (today it is accepted)."""

    def scale(factor: int, /, value: int) -> int:
        return factor * value

    server = transport.server(validate_params=True)
    server.add_methods([scale, aiohttp_rpc.JSONRPCMethod(scale, name='scale_plain', validate=False)])
    await transport.start(server)
    assert await transport.send(call('scale', [2, '3'])) == result(6)
    assert await transport.send(call('scale_plain', {'factor': 2, 'value': 3})) == invalid_params(
        (['factor'], 'Positional-only; give it by position', 'positional_only')
    )
    reply = await transport.send(call('scale', {'factor': 2, 'value': 3}))
    assert reply['error']['code'] == -32602, reply
    assert [problem['path'] for problem in reply['error']['data']['errors']] == [['factor']]
