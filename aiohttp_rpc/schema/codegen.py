"""A typed Python client from an OpenRPC document: what ``aiohttp-rpc gen-client`` writes.

The module it renders holds, for each group of methods, a ``typing.Protocol`` to use with ``rpc.proxy`` (methods
served as ``math.add`` are ``MathAPI.add``, used as ``rpc.proxy(MathAPI, prefix='math')``; ungrouped ones are on
the API's own protocol), a ``TypedDict`` for each object schema in ``components.schemas``, and a ``Literal``
alias for each enum. Subscriptions (``x-subscription``) are ``def name(...) -> AsyncIterator[Item]``. Names are
made valid identifiers; a method or param whose wire name is not one cannot be reached through a proxy and is
listed in a comment instead. The output depends on the document alone (sorted, no timestamps), with a header that
says where it came from.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ('render_client',)

_SCALARS = {'string': 'str', 'integer': 'int', 'number': 'float', 'boolean': 'bool', 'null': 'None'}
_REF = '#/components/schemas/'


def identifier(name: str, *, title: bool = False) -> str:
    """``name`` as a Python identifier: other characters become ``_``, a leading digit gets ``_`` before it, a
    keyword ``_`` after it; with ``title``, CamelCase (for classes)."""
    if title:
        name = ''.join(part[:1].upper() + part[1:] for part in re.split(r'[^0-9A-Za-z]+', name) if part)
    name = re.sub(r'\W', '_', name) or '_'
    if name[0].isdigit():
        name = '_' + name
    return name + '_' if keyword.iskeyword(name) else name


class _Renderer:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        components = document.get('components') or {}
        self.schemas: Mapping[str, Any] = components.get('schemas') or {}
        self.class_names = {name: identifier(name, title=True) for name in self.schemas}
        self.uses_any = False
        self.uses_literal = False
        self.uses_not_required = False
        self.uses_iterator = False
        self.uses_typed_dict = False

    def type_of(self, schema: Any) -> str:
        """A Python type for a JSON Schema (``Any`` where it cannot tell)."""
        if not isinstance(schema, Mapping) or not schema:
            self.uses_any = True
            return 'Any'
        ref = schema.get('$ref')
        if isinstance(ref, str):
            if ref.startswith(_REF) and ref[len(_REF) :] in self.class_names:
                return self.class_names[ref[len(_REF) :]]
            self.uses_any = True
            return 'Any'
        if 'const' in schema:
            return self._literal([schema['const']])
        if isinstance(schema.get('enum'), list):
            return self._literal(schema['enum'])
        for combinator in ('anyOf', 'oneOf'):
            if isinstance(schema.get(combinator), list):
                return self._union(self.type_of(branch) for branch in schema[combinator])
        if isinstance(schema.get('allOf'), list) and len(schema['allOf']) == 1:
            return self.type_of(schema['allOf'][0])
        kind = schema.get('type')
        if isinstance(kind, list):
            return self._union(self.type_of({**schema, 'type': one}) for one in kind)
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == 'array':
            if isinstance(schema.get('prefixItems'), list):
                return f'tuple[{", ".join(self.type_of(item) for item in schema["prefixItems"])}]'
            return f'list[{self.type_of(schema.get("items"))}]'
        if kind == 'object':
            values = schema.get('additionalProperties')
            return f'dict[str, {self.type_of(values if isinstance(values, Mapping) else None)}]'
        self.uses_any = True
        return 'Any'

    def _literal(self, values: list[Any]) -> str:
        if not all(value is None or isinstance(value, (str, int, bool)) for value in values):
            self.uses_any = True
            return 'Any'
        self.uses_literal = True
        return f'Literal[{", ".join(repr(value) for value in values)}]'

    @staticmethod
    def _union(types: Iterable[str]) -> str:
        unique = list(dict.fromkeys(types))
        return 'Any' if 'Any' in unique else ' | '.join(unique)

    def component(self, name: str, schema: Any) -> list[str]:
        class_name = self.class_names[name]
        properties = schema.get('properties') if isinstance(schema, Mapping) else None
        if (
            schema.get('type') == 'object'
            and isinstance(properties, Mapping)
            and properties
            and _all_identifiers(properties)
        ):
            required = set(schema.get('required') or ())
            self.uses_typed_dict = True
            lines = [f'class {class_name}(TypedDict):']
            if isinstance(schema.get('description'), str):
                lines.append(f'    {_docstring(schema["description"])}')
                lines.append('')
            for key, value in properties.items():
                annotation = self.type_of(value)
                if key not in required:
                    self.uses_not_required = True
                    annotation = f'NotRequired[{annotation}]'
                lines.append(f'    {key}: {annotation}')
            return lines
        return [f'{class_name} = {self.type_of({k: v for k, v in schema.items() if k != "title"})}']


def render_client(document: Mapping[str, Any], source: str) -> str:
    """The module's text for the OpenRPC ``document`` (read from ``source``, named in the header)."""
    renderer = _Renderer(document)
    info = document.get('info') or {}
    title = str(info.get('title') or 'API')
    root = identifier(title, title=True)
    root = root if root.endswith('API') else root + 'API'
    groups: dict[str, list[str]] = {}
    unreachable: list[str] = []
    methods = [method for method in document.get('methods') or [] if isinstance(method, Mapping)]
    # A subscription's unsubscribe method is the Subscription's business (``aclose()``), not the protocol's.
    unsubscribes = {
        m['x-subscription'].get('unsubscribe') for m in methods if isinstance(m.get('x-subscription'), Mapping)
    }
    for method in sorted(methods, key=lambda m: str(m.get('name'))):
        name = str(method.get('name', ''))
        if name in unsubscribes:
            continue
        prefix, _, own = name.rpartition('.')
        params = [param for param in method.get('params') or [] if isinstance(param, Mapping)]
        if not own.isidentifier() or keyword.iskeyword(own) or not all(_is_name(p.get('name')) for p in params):
            unreachable.append(name)
            continue
        groups.setdefault(prefix, []).extend(_method_lines(renderer, own, method, params))
    components = [renderer.component(name, renderer.schemas[name]) for name in sorted(renderer.schemas)]
    body: list[str] = []
    for lines in components:
        body.extend(['', '', *lines])
    for prefix in sorted(groups):
        class_name = identifier(prefix, title=True) + 'API' if prefix else root
        usage = f"rpc.proxy({class_name}, prefix='{prefix}')" if prefix else f'rpc.proxy({class_name})'
        body.extend(['', '', f'class {class_name}(Protocol):', f'    """Use as ``{usage}``."""', ''])
        body.extend(groups[prefix][:-1])  # (each method ends with a blank line, but the last)
    if unreachable:
        body.extend(
            [
                '',
                '',
                '# Not reachable through a proxy (a name that is not a Python identifier): call these with',
                '# rpc.call(name, ...):',
            ]
        )
        body.extend(f'#   {name!r}' for name in unreachable)
    return '\n'.join([*_header(document, source, renderer), *body]) + '\n'


def _method_lines(
    renderer: _Renderer, own: str, method: Mapping[str, Any], params: list[Mapping[str, Any]]
) -> list[str]:
    arguments = ['self']
    optional_seen = False
    for param in params:
        annotation = renderer.type_of(param.get('schema'))
        if not param.get('required'):
            optional_seen = True
            arguments.append(f'{param["name"]}: {annotation} = ...')
            continue
        if optional_seen and '*' not in arguments:  # a required param after an optional one: keyword-only
            arguments.append('*')
        arguments.append(f'{param["name"]}: {annotation}')
    stream = method.get('x-subscription')
    if isinstance(stream, Mapping):
        renderer.uses_iterator = True
        item_type = renderer.type_of(_schema_of(stream.get('item')))
        signature = f'    def {own}({", ".join(arguments)}) -> AsyncIterator[{item_type}]:'
    else:
        result_type = renderer.type_of(_schema_of(method.get('result')))
        signature = f'    async def {own}({", ".join(arguments)}) -> {result_type}:'
    summary = method.get('summary') or method.get('description')
    lines = [signature]
    if isinstance(summary, str) and summary.strip():
        lines.append(f'        {_docstring(summary)}')
    lines.append('        ...')
    lines.append('')
    return lines


def _header(document: Mapping[str, Any], source: str, renderer: _Renderer) -> list[str]:
    info = document.get('info') or {}
    described = f'{info.get("title", "an API")} {info.get("version", "")}'.strip()
    typing_names = ['Protocol']
    if renderer.uses_any:
        typing_names.append('Any')
    if renderer.uses_literal:
        typing_names.append('Literal')
    # pydantic (validate_results) wants typing_extensions' TypedDict before Python 3.12, which aiohttp installs.
    newer = [
        name
        for name, used in (('NotRequired', renderer.uses_not_required), ('TypedDict', renderer.uses_typed_dict))
        if used
    ]
    lines = [
        f'"""Generated by aiohttp-rpc gen-client from {source} ({described}, OpenRPC {document.get("openrpc", "?")}).',
        '',
        'Do not edit: generate it again when the API changes.',
        '"""',
        '',
        'from __future__ import annotations',
        '',
    ]
    if newer:
        lines.append('import sys')
    if renderer.uses_iterator:
        lines.append('from collections.abc import AsyncIterator')
    lines.append(f'from typing import {", ".join(sorted(typing_names))}')
    if newer:
        names = ', '.join(newer)
        lines.extend(['', 'if sys.version_info >= (3, 12):', f'    from typing import {names}', 'else:'])
        lines.append(f'    from typing_extensions import {names}')
    return lines


def _schema_of(descriptor: Any) -> Any:
    """The schema of a Content Descriptor (``None`` if there is none)."""
    return descriptor.get('schema') if isinstance(descriptor, Mapping) else None


def _is_name(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _all_identifiers(properties: Mapping[str, Any]) -> bool:
    return all(_is_name(key) for key in properties)


def _docstring(text: str) -> str:
    line = ' '.join(str(text).split())
    return '"""' + line.replace('\\', '\\\\').replace('"""', '\\"\\"\\"') + '"""'
