"""``aiohttp_rpc.compat``: the one module that knows which aiohttp release is installed, and whether what it says
about that release is so. The nox matrix runs these on the oldest, a middle and the newest aiohttp."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import compat

PACKAGE = Path(aiohttp_rpc.__file__).parent


@pytest.mark.parametrize(
    ('text', 'release'),
    [
        ('3.10.0', (3, 10, 0)),
        ('3.14.5', (3, 14, 5)),
        ('3.14.0b1', (3, 14, 0)),
        ('3.12.0rc1', (3, 12, 0)),
        ('4.0', (4, 0, 0)),
    ],
)
def test_release_numbers(text: str, release: tuple[int, int, int]) -> None:
    assert compat._release(text) == release


def test_a_version_that_is_no_release_number_is_refused() -> None:
    with pytest.raises(ValueError, match='not a release number'):
        compat._release('main')


def test_the_installed_release() -> None:
    assert compat._release(version('aiohttp')) == compat.AIOHTTP_VERSION
    assert compat.AIOHTTP_VERSION >= (3, 10, 0)  # the floor pyproject.toml declares


def test_send_frame_is_there_from_aiohttp_3_11() -> None:
    assert hasattr(web.WebSocketResponse, 'send_frame') is (compat.AIOHTTP_VERSION >= (3, 11, 0))


def test_nothing_else_reads_aiohttp_s_version() -> None:
    """Release checks live in compat.py alone; the rest of the package asks it."""
    readers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob('*.py'))
        if path.name != 'compat.py' and re.search(r'aiohttp\.__version__|version\(.aiohttp.\)', path.read_text())
    ]
    assert readers == []
