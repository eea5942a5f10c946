"""What a caller is shown: discovery documents without the methods whose guards refuse that caller.

``rpc.discover``, ``GET /openrpc.json`` and the docs console describe only what the caller asking may call:
each method's guards (the server's, its groups', its own) are run against a request from that caller, as if
it called the method with no params. A guard that refuses, or raises a ``JSONRPCError``, or cannot be run (no
caller is known) hides the method; any other exception is a bug in the guard and propagates, as it would on a
call. Types used only by hidden methods are left out of ``components`` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..dispatch.guards import passes
from ..errors import JSONRPCError
from ..protocol.request import JSONRPCRequest

if TYPE_CHECKING:
    from ..methods.registry import Registry

__all__ = ('refused', 'shown_to')

_REF = re.compile(r'#/components/schemas/([^"/]+)')


async def refused(registry: Registry, names: Iterable[str], caller: JSONRPCRequest | None) -> frozenset[str]:
    """The names among ``names`` whose guards refuse ``caller`` (a request from the caller asking; ``None``
    when no request is known, which refuses every guarded method)."""
    hidden = set()
    for name in names:
        guards = registry.guards_of(name)
        if not guards:
            continue
        if caller is None:
            hidden.add(name)
            continue
        probe = JSONRPCRequest(
            method=name,
            id=caller.id,
            extra_kwargs=dict(caller.extra_kwargs),
            context=caller.context,
        )
        try:
            allowed = await passes(guards, probe)
        except JSONRPCError:  # a guard's own refusal (e.g. -32001 with details): a refusal all the same
            allowed = False
        if not allowed:
            hidden.add(name)
    return frozenset(hidden)


def shown_to(document: Mapping[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """A copy of the OpenRPC ``document`` without the methods in ``hidden`` and the component schemas only
    they used (``document`` is left as it is)."""
    if not hidden:
        return dict(document)
    shown = dict(document)
    shown['methods'] = [method for method in document['methods'] if method['name'] not in hidden]
    schemas: Mapping[str, Any] = document.get('components', {}).get('schemas', {})
    if schemas:
        shown['components'] = {**document['components'], 'schemas': _reachable(shown['methods'], schemas)}
    return shown


def _reachable(methods: list[Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The schemas ``methods`` refer to, directly or through other schemas, in their original order."""
    seen: set[str] = set()
    pending = set(_refs(methods))
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.update(_refs(schemas[name]))
    return {name: schema for name, schema in schemas.items() if name in seen}


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        ref = value.get('$ref')
        if isinstance(ref, str):
            match = _REF.fullmatch(ref)
            if match:
                yield match.group(1)
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
