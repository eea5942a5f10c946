"""What the documents say about each method, read once from a server's registry.

:func:`build_catalog` walks a server's methods and renders every parameter and result type in one batch of
JSON Schemas (see :mod:`~aiohttp_rpc.schema.json_schema`); the OpenRPC and OpenAPI builders only lay the
result out in their own format.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ..constants import NOTHING
from ..methods.params import ParamSpec
from ..methods.subscription import JSONRPCSubscription
from .docstrings import param_descriptions, without_param_docs
from .json_schema import JSONSchema, SchemaMode, json_schemas, json_value, with_keywords

if TYPE_CHECKING:
    from ..methods.method import BaseJSONRPCMethod
    from ..methods.registry import Registry

__all__ = (
    'DISCOVER_METHOD',
    'Catalog',
    'MethodDoc',
    'ParamDoc',
    'ParamStructure',
    'StreamDoc',
    'build_catalog',
    'param_structure',
)

ParamStructure: TypeAlias = Literal['by-position', 'by-name', 'either']
"""How params may be sent: a JSON array, a JSON object, or either (OpenRPC's ``paramStructure``)."""

DISCOVER_METHOD = 'rpc.discover'
"""The OpenRPC service discovery method; the specification defines it, so documents do not list it."""

_KIND = inspect.Parameter
_VARIADIC = (_KIND.VAR_POSITIONAL, _KIND.VAR_KEYWORD)
# A method that publishes no parameters (a custom BaseJSONRPCMethod) may take anything.
_UNKNOWN_PARAMS = (
    ParamSpec(name='args', kind=_KIND.VAR_POSITIONAL, annotation=Any),
    ParamSpec(name='kwargs', kind=_KIND.VAR_KEYWORD, annotation=Any),
)


@dataclass(frozen=True, slots=True)
class ParamDoc:
    """One parameter as documented.

    Attributes:
        name: the parameter name.
        kind: ``inspect.Parameter`` kind; ``*args``/``**kwargs`` describe one extra item each.
        required: whether a call must give it.
        schema: its JSON Schema, with ``default`` when it has a JSON default.
        description: from the method's docstring (``Args:`` section or ``:param:`` fields), if any.
    """

    name: str
    kind: inspect._ParameterKind
    required: bool
    schema: JSONSchema
    description: str | None = None

    @property
    def variadic(self) -> bool:
        """Whether it is ``*args`` or ``**kwargs``."""
        return self.kind in _VARIADIC


@dataclass(frozen=True, slots=True)
class MethodDoc:
    """One method as documented.

    Attributes:
        name: the name it is served under (``math.add`` for a grouped method).
        summary, description: from the docstring, unless the method overrides them.
        params: its parameters in signature order (injected ones left out).
        param_structure: how params may be sent.
        result: the JSON Schema of its result.
        errors: ``{'code': ..., 'message': ...}`` for each error it declares.
        tags: the prefixes of the groups it is served under, outermost first.
        stream: for a subscription, how its items come (``None`` for a plain method).
        guarded: whether a guard (the server's, a group's or its own) checks each call.
    """

    name: str
    summary: str | None
    description: str | None
    params: tuple[ParamDoc, ...]
    param_structure: ParamStructure
    result: JSONSchema
    errors: tuple[dict[str, Any], ...]
    tags: tuple[str, ...]
    stream: StreamDoc | None = None
    guarded: bool = False


@dataclass(frozen=True, slots=True)
class StreamDoc:
    """How a subscription's items come.

    Attributes:
        notification: the method name of the item notifications.
        unsubscribe: the method that ends the subscription.
        item: the JSON Schema of one item (from the generator's ``AsyncIterator[T]`` annotation).
        history: for a resumable subscription, the items of its topic kept for subscribers that come back.
    """

    notification: str
    unsubscribe: str
    item: JSONSchema
    history: int | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every documented method, sorted by name, the named schemas they refer to, and the descriptions of the
    groups their tags name (``MethodGroup(description=...)``)."""

    methods: tuple[MethodDoc, ...]
    components: dict[str, JSONSchema]
    tag_descriptions: dict[str, str] = field(default_factory=dict)


def build_catalog(server: Registry, *, exclude: Iterable[str] = (DISCOVER_METHOD,)) -> Catalog:
    """Describe the methods of ``server`` (a :class:`~aiohttp_rpc.Dispatcher` or any server), except ``exclude``.

    Parameters are read from each method's signature (``JSONRPCMethod.params``); a method object that does
    not publish them is described as taking any params. Types become JSON Schema through pydantic when it is
    installed, ``{}`` otherwise.
    """
    skip = frozenset(exclude)
    entries = sorted(((name, method) for name, method in server.methods.items() if name not in skip), key=_first)
    requests: list[tuple[Any, SchemaMode]] = []
    specs: list[tuple[ParamSpec, ...]] = []
    for _, method in entries:
        params = getattr(method, 'params', None)
        params = _UNKNOWN_PARAMS if params is None else tuple(params)
        specs.append(params)
        requests.extend((param.annotation, 'validation') for param in params)
        requests.append((getattr(method, 'result_annotation', Any), 'serialization'))
        if isinstance(method, JSONRPCSubscription):
            requests.append((method.item_annotation, 'serialization'))
    schemas, components = json_schemas(requests)
    rendered = iter(schemas)
    methods = []
    for (name, method), params in zip(entries, specs, strict=True):
        described = param_descriptions(_docstring(method))
        param_docs = tuple(_param_doc(param, next(rendered), described.get(param.name)) for param in params)
        methods.append(
            MethodDoc(
                name=name,
                summary=getattr(method, 'summary', None) or None,
                description=_description(method, described),
                params=param_docs,
                param_structure=param_structure(params),
                result=next(rendered),
                errors=_errors(method),
                tags=server.tags_of(name),
                stream=_stream(name, method, next(rendered)) if isinstance(method, JSONRPCSubscription) else None,
                guarded=bool(server.guards_of(name)),
            )
        )
    tags = {tag for method in methods for tag in method.tags}
    described_tags = {tag: text for tag in sorted(tags) if (text := _tag_description(server, tag))}
    return Catalog(methods=tuple(methods), components=components, tag_descriptions=described_tags)


def _stream(name: str, method: JSONRPCSubscription, item: JSONSchema) -> StreamDoc:
    history = method.history if method.resumable else None
    return StreamDoc(method.notification_name(name), method.unsubscribe_name(name), item, history)


def _description(method: BaseJSONRPCMethod, described: dict[str, str]) -> str | None:
    """The method's description, less the parameter docs that became the params' own descriptions."""
    description: str | None = getattr(method, 'description', None) or None
    return without_param_docs(description) if described else description


def _tag_description(server: Registry, tag: str) -> str | None:
    describe = getattr(server, 'describe_tag', None)  # a registry of one's own may not describe its tags
    return describe(tag) if describe is not None else None


def param_structure(params: Iterable[ParamSpec]) -> ParamStructure:
    """``by-position`` when some parameter is positional-only, ``by-name`` when some is keyword-only, else
    ``either`` (also when both kinds are present: no single structure fits such a signature)."""
    kinds = {param.kind for param in params}
    positional_only = _KIND.POSITIONAL_ONLY in kinds
    keyword_only = _KIND.KEYWORD_ONLY in kinds
    if positional_only and not keyword_only:
        return 'by-position'
    if keyword_only and not positional_only:
        return 'by-name'
    return 'either'


def _param_doc(param: ParamSpec, schema: JSONSchema, description: str | None) -> ParamDoc:
    default = NOTHING if param.default is NOTHING else json_value(param.default)
    if default is not NOTHING:
        schema = with_keywords(schema, default=default)
    return ParamDoc(
        name=param.name, kind=param.kind, required=param.required, schema=schema, description=description or None
    )


def _first(entry: tuple[str, BaseJSONRPCMethod]) -> str:
    return entry[0]


def _docstring(method: BaseJSONRPCMethod) -> str | None:
    func = getattr(method, 'func', None)
    return inspect.getdoc(func) if func is not None else None


def _errors(method: BaseJSONRPCMethod) -> tuple[dict[str, Any], ...]:
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for error in getattr(method, 'errors', ()):
        code, message = getattr(error, 'code', None), getattr(error, 'message', None)
        if isinstance(code, int) and isinstance(message, str):
            seen.setdefault((code, message), {'code': code, 'message': message})
    return tuple(seen.values())
