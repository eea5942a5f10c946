"""OpenRPC: ``rpc.discover`` over real HTTP and WebSocket servers, checked against the OpenRPC meta-schema."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pydantic
import pydantic_core
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from typing_extensions import TypedDict

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.schema import OpenRPCDocument, build_openrpc
from aiohttp_rpc.schema.docstrings import param_descriptions, without_param_docs

DATA = Path(__file__).parent / 'data'


def load_json(name: str) -> Any:
    with (DATA / name).open(encoding='utf-8') as file:
        return json.load(file)


def assert_valid_openrpc(document: Any) -> None:
    """Validate against the OpenRPC meta-schema, with the JSON Schema meta-schema it refers to served locally."""
    tools = Resource.from_contents(load_json('json-schema-tools-meta-schema-1.8.0.json'), default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resources(
        (uri, tools) for uri in ('https://meta.json-schema.tools', 'https://meta.json-schema.tools/')
    )
    meta_schema = load_json('openrpc-meta-schema-1.14.9.json')
    jsonschema.Draft7Validator(meta_schema, registry=registry).validate(document)


# -- the API under test -------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Options(TypedDict):
    scale: float


class User(pydantic.BaseModel):
    id: int
    name: str


class Ctx:
    def __init__(self, user: str) -> None:
        self.user = user


def make_ctx(http_request: Any) -> Ctx:
    return Ctx('alice')


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


def pay(amount: int, currency: Literal['EUR', 'USD'] = 'EUR', *, memo: str | None = None) -> bool:
    """Pay an amount.

    Moves money from the caller's account.

    Args:
        amount: how much,
            in cents.
        currency: an ISO 4217 code.
    """
    return True


def schedule(when: datetime.datetime, ref: uuid.UUID, color: Color = Color.RED, tags: list[str] | None = None) -> None:
    """Schedule a job."""


def move(point: Point, options: Options, /) -> Point:
    """Move a point."""
    return Point(point.x * options['scale'], point.y * options['scale'])


def create_user(user: User) -> User:
    return user


def untyped(a, b=1):
    return a


async def ping(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    """Answer pong."""
    return 'pong'


def whoami(ctx: Ctx) -> str:
    """Who is calling."""
    return ctx.user


def mul(a: int, b: int) -> int:
    return a * b


def sin(x: float) -> float:
    """The sine of x (radians)."""
    return x


def build_server(server_class: type[aiohttp_rpc.BaseJSONRPCServer] = aiohttp_rpc.JSONRPCServer) -> Any:
    server = server_class(
        middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, context_factory=make_ctx, validate_params=True
    )
    server.add_methods([schedule, move, create_user, untyped, whoami])
    server.add_method(aiohttp_rpc.JSONRPCMethod(pay, errors=[InsufficientFunds, errors.InvalidParams]))
    server.add_method(aiohttp_rpc.JSONRPCMethod(ping, pass_extra_kwargs=True))
    math = aiohttp_rpc.MethodGroup(methods=[mul])
    math.add_group('trig', aiohttp_rpc.MethodGroup(methods=[sin]))
    server.add_group('math', math)
    return server


SERVERS = [{'name': 'local', 'url': 'http://127.0.0.1:8080/rpc'}]

EXPECTED_METHODS = {
    'pay': {
        'name': 'pay',
        'summary': 'Pay an amount.',
        'description': "Moves money from the caller's account.",  # the Args: section became the params' own
        'params': [
            {'name': 'amount', 'required': True, 'schema': {'type': 'integer'}, 'description': 'how much, in cents.'},
            {
                'name': 'currency',
                'required': False,
                'schema': {'enum': ['EUR', 'USD'], 'type': 'string', 'default': 'EUR'},
                'description': 'an ISO 4217 code.',
            },
            {
                'name': 'memo',
                'required': False,
                'schema': {'anyOf': [{'type': 'string'}, {'type': 'null'}], 'default': None},
            },
        ],
        'result': {'name': 'result', 'schema': {'type': 'boolean'}},
        'paramStructure': 'by-name',
        'errors': [{'code': 4001, 'message': 'Insufficient funds'}, {'code': -32602, 'message': 'Invalid params'}],
    },
    'schedule': {
        'name': 'schedule',
        'summary': 'Schedule a job.',
        'params': [
            {'name': 'when', 'required': True, 'schema': {'type': 'string', 'format': 'date-time'}},
            {'name': 'ref', 'required': True, 'schema': {'type': 'string', 'format': 'uuid'}},
            {
                'name': 'color',
                'required': False,
                'schema': {'allOf': [{'$ref': '#/components/schemas/Color'}], 'default': 'red'},
            },
            {
                'name': 'tags',
                'required': False,
                'schema': {
                    'anyOf': [{'type': 'array', 'items': {'type': 'string'}}, {'type': 'null'}],
                    'default': None,
                },
            },
        ],
        'result': {'name': 'result', 'schema': {'type': 'null'}},
        'paramStructure': 'either',
    },
    'move': {
        'name': 'move',
        'summary': 'Move a point.',
        'params': [
            {'name': 'point', 'required': True, 'schema': {'$ref': '#/components/schemas/Point'}},
            {'name': 'options', 'required': True, 'schema': {'$ref': '#/components/schemas/Options'}},
        ],
        'result': {'name': 'result', 'schema': {'$ref': '#/components/schemas/Point'}},
        'paramStructure': 'by-position',
    },
    'create_user': {
        'name': 'create_user',
        'params': [{'name': 'user', 'required': True, 'schema': {'$ref': '#/components/schemas/User'}}],
        'result': {'name': 'result', 'schema': {'$ref': '#/components/schemas/User'}},
        'paramStructure': 'either',
    },
    'untyped': {
        'name': 'untyped',
        'params': [
            {'name': 'a', 'required': True, 'schema': {}},
            {'name': 'b', 'required': False, 'schema': {'default': 1}},
        ],
        'result': {'name': 'result', 'schema': {}},
        'paramStructure': 'either',
    },
    'ping': {
        'name': 'ping',
        'summary': 'Answer pong.',
        'params': [],
        'result': {'name': 'result', 'schema': {'type': 'string'}},
        'paramStructure': 'either',
    },
    'whoami': {
        'name': 'whoami',
        'summary': 'Who is calling.',
        'params': [],
        'result': {'name': 'result', 'schema': {'type': 'string'}},
        'paramStructure': 'either',
    },
    'math.trig.sin': {
        'name': 'math.trig.sin',
        'tags': [{'name': 'math'}, {'name': 'math.trig'}],
        'summary': 'The sine of x (radians).',
        'params': [{'name': 'x', 'required': True, 'schema': {'type': 'number'}}],
        'result': {'name': 'result', 'schema': {'type': 'number'}},
        'paramStructure': 'either',
    },
}


def check_document(document: Any) -> None:
    assert_valid_openrpc(document)
    assert document['openrpc'] == '1.3.2'
    assert document['info'] == {'title': 'Shop', 'version': '2.0.0', 'description': 'Buy things.'}
    assert document['servers'] == SERVERS
    methods = {method['name']: method for method in document['methods']}
    assert list(methods) == [
        'create_user',
        'math.mul',
        'math.trig.sin',
        'move',
        'pay',
        'ping',
        'schedule',
        'untyped',
        'whoami',
    ]
    for name, expected in EXPECTED_METHODS.items():
        assert methods[name] == expected, name
    assert methods['math.mul']['tags'] == [{'name': 'math'}]
    schemas = document['components']['schemas']
    assert sorted(schemas) == ['Color', 'Options', 'Point', 'User']
    assert schemas['Color']['enum'] == ['red', 'green']
    assert schemas['Point']['required'] == ['x', 'y']
    assert schemas['Options']['properties'] == {'scale': {'title': 'Scale', 'type': 'number'}}
    assert schemas['User']['properties'] == {
        'id': {'title': 'Id', 'type': 'integer'},
        'name': {'title': 'Name', 'type': 'string'},
    }


# -- over the wire --------------------------------------------------------------------------------------------


async def test_discover_over_http(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = build_server()
    server.add_discovery(title='Shop', version='2.0.0', description='Buy things.', servers=SERVERS)
    url = await rpc_server_factory(rpc_server=server)

    reply = await rpc_call(url, 'rpc.discover')

    assert reply['id'] == 1
    check_document(reply['result'])
    assert reply['result'] == build_openrpc(
        server, title='Shop', version='2.0.0', description='Buy things.', servers=SERVERS
    )
    # The documented methods are the served ones: the context and the request are injected, not params.
    assert (await rpc_call(url, 'whoami'))['result'] == 'alice'
    assert (await rpc_call(url, 'ping', []))['result'] == 'pong'
    assert (await rpc_call(url, 'move', [{'x': 1, 'y': 2}, {'scale': 2}]))['result'] == {'x': 2, 'y': 4}


async def test_discover_over_websocket(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    server = build_server(aiohttp_rpc.WSJSONRPCServer)
    server.add_discovery(title='Shop', version='2.0.0', description='Buy things.', servers=SERVERS)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)

    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/rpc'))) as rpc:
        document = await rpc.call('rpc.discover')

    check_document(document)


async def test_discover_takes_no_params(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_discovery()
    url = await rpc_server_factory(rpc_server=server)

    reply = await rpc_call(url, 'rpc.discover', [1])

    assert reply['error']['code'] == -32602


async def test_discover_follows_new_methods(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, allow_late_methods=True)
    server.add_method(mul)
    server.add_discovery()
    url = await rpc_server_factory(rpc_server=server)
    first = (await rpc_call(url, 'rpc.discover'))['result']

    server.add_method(sin)
    second = (await rpc_call(url, 'rpc.discover'))['result']

    assert [method['name'] for method in first['methods']] == ['mul']
    assert [method['name'] for method in second['methods']] == ['mul', 'sin']
    assert second['info'] == {'title': 'JSON-RPC API', 'version': '1.0.0'}
    assert 'servers' not in second
    assert_valid_openrpc(second)


def test_document_is_cached_until_methods_change() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(mul)
    document = OpenRPCDocument(server)

    first = document.get()
    assert document.get() is first

    server.add_method(mul, replace=True)  # a new method object under the same name
    second = document.get()
    assert second is not first
    assert document.get() is second

    group = aiohttp_rpc.MethodGroup()
    server.add_group('g', group)
    assert document.get() is second
    group.add_method(sin)  # added to the group after it was attached
    assert [method['name'] for method in document.get()['methods']] == ['g.sin', 'mul']


def test_discovery_cannot_be_added_twice() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_discovery()
    with pytest.raises(errors.ServerConfigurationError):
        server.add_discovery()


# -- what the documents say -------------------------------------------------------------------------------------


class Opaque:
    pass


def describe(*methods: aiohttp_rpc.methods.MethodDescription) -> dict[str, Any]:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_methods(methods)
    document = build_openrpc(server)
    assert_valid_openrpc(document)
    return {method['name']: method for method in document['methods']}


def test_types_without_json_schema_are_any(caplog: pytest.LogCaptureFixture) -> None:
    def weird(callback: Callable[[int], int], thing: Opaque, things: list[Opaque]) -> Iterator[int]:
        return iter(())

    with caplog.at_level(logging.WARNING, logger='aiohttp_rpc.schema'):
        method = describe(weird)['weird']

    assert [param['schema'] for param in method['params']] == [{}, {}, {'type': 'array', 'items': {}}]
    assert method['result']['schema'] == {}
    assert caplog.records, 'each type left undescribed is logged'


class Broken:
    """Validates as an int, but refuses to describe itself."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return pydantic_core.core_schema.int_schema()

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        raise ValueError('no schema for you')


class Sentinel:
    pass


@dataclasses.dataclass
class Box:
    content: Any = Sentinel()  # noqa: RUF009


def test_one_broken_type_does_not_hide_the_others(caplog: pytest.LogCaptureFixture) -> None:
    def mixed(broken: Broken, count: int, box: Box) -> str:
        return ''

    with caplog.at_level(logging.WARNING, logger='aiohttp_rpc.schema'):
        server = aiohttp_rpc.JSONRPCServer()
        server.add_method(mixed)
        document = build_openrpc(server)

    assert_valid_openrpc(document)
    params = document['methods'][0]['params']
    assert [param['schema'] for param in params] == [{}, {'type': 'integer'}, {'$ref': '#/components/schemas/Box'}]
    assert document['components']['schemas']['Box']['properties'] == {'content': {'title': 'Content'}}
    messages = '\n'.join(record.getMessage() for record in caplog.records)
    assert 'no schema for you' in messages
    assert 'is not JSON serializable' in messages  # pydantic's warning, logged rather than raised


def test_defaults_in_json_form_or_left_out() -> None:
    def defaults(
        color: Color = Color.GREEN,
        when: datetime.datetime = datetime.datetime(2024, 1, 2, 3, 4, 5),
        point: tuple[int, int] = (1, 2),
        anything: Any = object(),  # noqa: B008
        ratio: float = float('nan'),
    ) -> None:
        pass

    params = describe(defaults)['defaults']['params']

    assert [param['schema'].get('default', 'absent') for param in params] == [
        'green',
        '2024-01-02T03:04:05',
        [1, 2],
        'absent',
        'absent',
    ]
    assert not any(param['required'] for param in params)


def test_variadic_params_are_not_content_descriptors() -> None:
    def variadic(first: int, *rest: int, **options: str) -> int:
        return first

    method = describe(variadic)['variadic']

    assert method['params'] == [{'name': 'first', 'required': True, 'schema': {'type': 'integer'}}]
    assert method['paramStructure'] == 'either'


def test_method_object_without_signature() -> None:
    class Echo(aiohttp_rpc.BaseJSONRPCMethod):
        name = 'echo'

        async def __call__(
            self, args: Sequence[Any], kwargs: Mapping[str, Any], extra_kwargs: Mapping[str, Any] | None = None
        ) -> Any:
            return args or kwargs

    assert describe(Echo())['echo'] == {
        'name': 'echo',
        'params': [],
        'result': {'name': 'result', 'schema': {}},
        'paramStructure': 'either',
    }


def test_reserved_methods_other_than_discover_are_described() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(mul, name='rpc.mul'), allow_reserved=True)
    server.add_discovery()

    assert [method['name'] for method in build_openrpc(server)['methods']] == ['rpc.mul']


def test_param_descriptions_from_docstrings() -> None:
    google = """Do it.

    Args:
        a (int): the first,
            and more.
        *rest: the others.

    Returns:
        b: not a param.
    """
    sphinx = """Do it.

    :param a: the first.
    :param int b: the second,
        continued.
    :returns: nothing.
    """
    assert param_descriptions(google) == {'a': 'the first, and more.', 'rest': 'the others.'}
    assert param_descriptions(sphinx) == {'a': 'the first.', 'b': 'the second, continued.'}
    assert param_descriptions(None) == {}


# -- without pydantic --------------------------------------------------------------------------------------------

BLOCKED_IMPORTS = textwrap.dedent(
    """
    import importlib.util
    import json
    import sys
    import types

    # A module set to None in sys.modules cannot be imported, and find_spec reports it missing: as if it
    # were not installed.
    BLOCKED = sys.argv[1].split(',')
    sys.modules.update(dict.fromkeys(BLOCKED))

    def add(a: int, b: int = 2) -> int:
        return a + b

    if 'aiohttp' in BLOCKED:
        # The package root imports the aiohttp transports: import the schema layer alone.
        spec = importlib.util.find_spec('aiohttp_rpc')
        package = types.ModuleType('aiohttp_rpc')
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules['aiohttp_rpc'] = package
        from aiohttp_rpc.dispatch import Dispatcher
        from aiohttp_rpc.schema import build_openapi, build_openrpc
        server = Dispatcher()
        server.add_method(add)
        outcome = 'no aiohttp'
    else:
        import aiohttp_rpc
        from aiohttp_rpc.schema import build_openapi, build_openrpc
        server = aiohttp_rpc.JSONRPCServer()
        server.add_method(add)
        try:
            aiohttp_rpc.JSONRPCServer(validate_params=True).add_method(add)
        except aiohttp_rpc.errors.ServerConfigurationError as exc:
            outcome = exc.data['details']
        else:
            outcome = 'validation was set up'

    assert all(sys.modules[name] is None for name in BLOCKED), 'a blocked module was imported'
    print(json.dumps({'openrpc': build_openrpc(server), 'openapi': build_openapi(server), 'outcome': outcome}))
    """
)


def run_blocked(*modules: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, '-W', 'error', '-c', BLOCKED_IMPORTS, ','.join(modules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    result: dict[str, Any] = json.loads(process.stdout)
    return result


def test_without_pydantic() -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    result = run_blocked('pydantic', 'pydantic_core')

    assert 'aiohttp-rpc[typed]' in result['outcome']
    document = result['openrpc']
    assert_valid_openrpc(document)
    assert document['methods'] == [
        {
            'name': 'add',
            'params': [
                {'name': 'a', 'required': True, 'schema': {}},
                {'name': 'b', 'required': False, 'schema': {'default': 2}},
            ],
            'result': {'name': 'result', 'schema': {}},
            'paramStructure': 'either',
        }
    ]
    assert document['components'] == {'schemas': {}}
    validate(result['openapi'], cls=OpenAPIV31SpecValidator)


def test_schema_layer_without_aiohttp() -> None:
    result = run_blocked('aiohttp')

    assert result['outcome'] == 'no aiohttp'
    assert_valid_openrpc(result['openrpc'])
    assert result['openrpc']['methods'][0]['params'][0]['schema'] == {'type': 'integer'}


@pytest.mark.parametrize(
    ('text', 'left'),
    [
        (
            'Moves money.\n\nArgs:\n    a: one,\n        continued.\n    b: two.\n\nReturns:\n    the sum.',
            'Moves money.\n\nReturns:\n    the sum.',
        ),
        (
            'Moves money.\n\n:param a: one\n    continued\n:param b: two\n\nRaises:\n    KeyError.',
            'Moves money.\n\nRaises:\n    KeyError.',
        ),
        ('Args:\n    a: only params.', None),
        ('No parameters here.', 'No parameters here.'),
    ],
)
def test_parameter_docs_leave_the_description(text: str, left: str | None) -> None:
    assert without_param_docs(text) == left
