"""The request bodies every benchmark sends, and the checks a correct reply must pass.

One module, so the HTTP runs (bare and ours), the in-process micro-benchmark and the sanity checks all use
byte-for-byte the same bodies.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ('BATCH_SIZE', 'CALLS_PER_REQUEST', 'ECHO_PARAMS', 'SCENARIOS', 'body', 'check_reply', 'expected_reply')

BATCH_SIZE = 100

# About 1 KB once encoded: strings (ASCII and not), ints, floats, bools, null, nested lists and dicts.
# No key or value spells "error", so a reply can be screened for errors by a substring search (wrk's Lua does).
ECHO_PARAMS: dict[str, Any] = {
    'user': {
        'id': 123456789,
        'name': 'Ada Lovelace',
        'email': 'ada@example.org',
        'active': True,
        'admin': False,
        'manager': None,
        'locale': 'en-GB',
    },
    'scores': [98.5, 87.25, 0.001, -42.0, 3.141592653589793, 1e21],
    'tags': ['alpha', 'beta', 'gamma', 'delta', 'unicode: héllo wörld ✓'],
    'matrix': [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    'items': [
        {'sku': f'SKU-{i:05d}', 'qty': i * 3, 'price': round(i * 1.75, 2), 'in_stock': i % 2 == 0, 'note': None}
        for i in range(7)
    ],
    'flags': {'a': True, 'b': False, 'c': None},
    'text': 'The quick brown fox jumps over the lazy dog. ' * 3,
    'big': 2**53 - 1,
    'negative': -17,
}


def _request(method: str, request_id: int, params: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {'jsonrpc': '2.0', 'method': method, 'id': request_id}
    if params is not None:
        request['params'] = params
    return request


SCENARIOS: dict[str, Any] = {
    'ping': _request('ping', 1),
    'echo': _request('echo', 1, ECHO_PARAMS),
    'batch100': [_request('ping', i) for i in range(1, BATCH_SIZE + 1)],
}
"""Scenario name -> the decoded request body."""

CALLS_PER_REQUEST = {'ping': 1, 'echo': 1, 'batch100': BATCH_SIZE}


def body(scenario: str) -> bytes:
    """The exact bytes POSTed for ``scenario``."""
    return orjson.dumps(SCENARIOS[scenario])


def _reply_to(request: dict[str, Any]) -> dict[str, Any]:
    result = 'pong' if request['method'] == 'ping' else request['params']
    return {'jsonrpc': '2.0', 'id': request['id'], 'result': result}


def expected_reply(scenario: str) -> Any:
    """The decoded reply a correct server sends for ``scenario``."""
    message = SCENARIOS[scenario]
    if isinstance(message, list):
        return [_reply_to(item) for item in message]
    return _reply_to(message)


def check_reply(scenario: str, raw: bytes) -> str | None:
    """``None`` if ``raw`` is the correct reply to ``scenario``, else what is wrong with it."""
    try:
        reply = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f'reply is not JSON ({exc}): {raw[:200]!r}'
    expected = expected_reply(scenario)
    if reply != expected:
        return f'unexpected reply: {raw[:300]!r}'
    return None
