"""The JSON-RPC messages the command line sends, built from its arguments and from batch files."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ..constants import NOTHING, VERSION_2_0
from ..protocol.request import JSONRPCRequest
from ..serialization import json_deserialize
from .failures import UsageError

__all__ = ('batch_from_json', 'build_request', 'parse_params')

_JSON_OPENERS = ('{', '[', '"')


def parse_params(args: Sequence[str], json_params: str | None = None) -> Any:
    """The ``params`` of a call from its command-line arguments, or ``NOTHING`` when there are none.

    Each argument is a JSON literal (``1``, ``"text"``, ``[1, 2]``, ``{"a": 1}``), a bare word taken as a
    string (``hello``), or ``name=value`` for a named param (the value read the same way). ``json_params``
    (``--json``) gives the whole params as one JSON array or object instead.

    Raises:
        UsageError: positional and named arguments mixed, a name given twice, ``--json`` together with
            arguments or not an array or object, or an argument that starts like JSON (``{``, ``[``, ``"``)
            but is not valid JSON.
    """
    if json_params is not None:
        if args:
            raise UsageError('give the params either as arguments or with --json, not both')
        params = _load_json(json_params, '--json')
        if not isinstance(params, (list, dict)):
            raise UsageError('--json must be a JSON array or object (the params of the call)')
        return params
    if not args:
        return NOTHING
    positional: list[Any] = []
    named: dict[str, Any] = {}
    first: dict[bool, str] = {}  # is named -> the first such argument, to show in an error
    for arg in args:
        name, separator, value = arg.partition('=')
        is_named = bool(separator) and name.isidentifier()
        first.setdefault(is_named, arg)
        if not is_named:
            positional.append(_literal(arg))
        elif name in named:
            raise UsageError(f'the param {name!r} is given twice')
        else:
            named[name] = _literal(value)
    if positional and named:
        raise UsageError(
            f'cannot mix positional and named params ({first[False]!r} and {first[True]!r}): '
            'JSON-RPC params are either an array or an object'
        )
    return named or positional


def _literal(text: str) -> Any:
    """A JSON literal, or the text itself when it is a bare word that is not JSON."""
    try:
        return json_deserialize(text)
    except ValueError:
        if text.lstrip().startswith(_JSON_OPENERS):  # meant as JSON: a typo should not become a string
            raise UsageError(f'{text!r} is not valid JSON') from None
        return text


def _load_json(text: str | bytes, source: str) -> Any:
    try:
        return json_deserialize(text)
    except ValueError as exc:
        raise UsageError(f'{source} is not valid JSON ({exc})') from None


def build_request(method: str, params: Any, *, request_id: int | None) -> dict[str, Any]:
    """A request (``request_id`` given) or a notification, as a JSON-ready dict."""
    return JSONRPCRequest(method=method, id=request_id, params=params).dump()


def batch_from_json(data: bytes, *, source: str, as_is: bool = False) -> list[Any]:
    """The batch to send, from the JSON text of a batch file.

    The file holds a JSON array of request objects (``{"method": ..., "params": ..., "id": ...}``). Each
    object without ``jsonrpc`` gets ``"2.0"``, and each without ``id`` gets the smallest integer id from 1 up
    that no other member uses, so every member is a request and gets a reply. With ``as_is`` the array is
    sent untouched: members without ``id`` are then notifications.

    Raises:
        UsageError: the text is not JSON, or not a non-empty array (of objects, unless ``as_is``).
    """
    batch = _load_json(data, source)
    if not isinstance(batch, list) or not batch:
        raise UsageError(f'{source} must hold a non-empty JSON array of request objects')
    if as_is:
        return batch
    for position, member in enumerate(batch, start=1):
        if not isinstance(member, dict):
            raise UsageError(f'{source}: member {position} is not a request object (use --raw to send it anyway)')
    used = {member['id'] for member in batch if isinstance(member.get('id'), (int, str))}
    free_ids = (number for number in itertools.count(1) if number not in used)
    return [
        {
            **({} if 'jsonrpc' in member else {'jsonrpc': VERSION_2_0}),
            **member,
            **({} if 'id' in member else {'id': next(free_ids)}),
        }
        for member in batch
    ]
