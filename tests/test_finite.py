"""The NaN/infinity check behind strict JSON output: the C walk and the pure-Python one, against each other
and against the standard library's own verdict (``json.dumps(..., allow_nan=False)``)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiohttp_rpc.dispatch import finite

WALKS: list[Any] = [pytest.param(finite.has_non_finite_py, id='python')]
if finite.EXTENSION:
    WALKS.append(pytest.param(finite.has_non_finite, id='c'))

Walk = Callable[[Any], bool]


class Floaty(float):
    pass


class Mapping(dict[str, Any]):
    pass


class Sequence(list[Any]):
    pass


class Holder:
    """Not a container the encoder would serialize as JSON: the walk does not look inside."""

    def __init__(self) -> None:
        self.value = math.nan


def test_the_extension_is_built_here() -> None:
    # The C walk is optional for users (no compiler, no extension); our own installs must have it, so that the
    # C tests below run and the benchmarks measure it.
    if os.environ.get('AIOHTTP_RPC_NO_EXTENSIONS'):
        assert finite.EXTENSION is False
        assert finite.has_non_finite is finite.has_non_finite_py
    else:
        assert finite.EXTENSION is True
        assert type(finite.has_non_finite).__name__ == 'builtin_function_or_method'


@pytest.mark.parametrize(
    ('env', 'expected'),
    [pytest.param({'AIOHTTP_RPC_NO_EXTENSIONS': '1'}, 'False', id='disabled'), pytest.param({}, 'True', id='default')],
)
def test_the_environment_variable_selects_the_python_walk(env: dict[str, str], expected: str) -> None:
    base = {key: value for key, value in os.environ.items() if key != 'AIOHTTP_RPC_NO_EXTENSIONS'}
    done = subprocess.run(
        [sys.executable, '-c', 'from aiohttp_rpc.dispatch import finite; print(finite.EXTENSION)'],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == expected


@pytest.mark.parametrize('walk', WALKS)
@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        pytest.param(None, False, id='none'),
        pytest.param('nan', False, id='a-string-saying-nan'),
        pytest.param(1.5, False, id='finite-float'),
        pytest.param(2**200, False, id='huge-int'),
        pytest.param(True, False, id='bool'),
        pytest.param(math.nan, True, id='nan'),
        pytest.param(math.inf, True, id='inf'),
        pytest.param(-math.inf, True, id='-inf'),
        pytest.param({'a': 1, 'b': [1.0, 'x', None, {'c': -0.0}]}, False, id='finite-nested'),
        pytest.param({'a': 1, 'b': [1.0, 'x', None, {'c': math.nan}]}, True, id='nan-nested-in-dict'),
        pytest.param([[[[[math.inf]]]]], True, id='inf-deep-in-lists'),
        pytest.param((1, (2, (-math.inf,))), True, id='-inf-in-tuples'),
        pytest.param({'k': Floaty('nan')}, True, id='float-subclass'),
        pytest.param(Mapping(a=[math.nan]), True, id='dict-subclass'),
        pytest.param([Sequence([1, Sequence([math.inf])])], True, id='list-subclass'),
        pytest.param({math.nan: 1}, False, id='keys-are-not-values'),
        pytest.param([Holder()], False, id='objects-are-not-looked-into'),
        pytest.param([], False, id='empty-list'),
        pytest.param({}, False, id='empty-dict'),
    ],
)
def test_walk(walk: Walk, value: Any, expected: bool) -> None:
    assert walk(value) is expected


@pytest.mark.parametrize('walk', WALKS)
def test_too_deep_or_cyclic_raises_recursion_error(walk: Walk) -> None:
    deep: list[Any] = [1.0]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(RecursionError):
        walk(deep)

    cycle: list[Any] = [1.0]
    cycle.append(cycle)
    with pytest.raises(RecursionError):
        walk(cycle)


def _json_values(floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | floats
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(st.text(max_size=3), children, max_size=4)
        ),
        max_leaves=30,
    )


@settings(max_examples=300, deadline=None)
@given(_json_values(st.floats(allow_nan=True, allow_infinity=True)))
def test_both_walks_agree_with_the_standard_library(value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        expected = True
    else:
        expected = False
    assert finite.has_non_finite_py(value) is expected
    assert finite.has_non_finite(value) is expected
