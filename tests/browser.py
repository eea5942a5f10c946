"""Headless Chromium for the tests that need a real browser (the API console, CORS).

The ``browser`` fixture (registered in conftest.py): without Chromium or playwright a browser test is skipped,
except on CI (``CI=true``), where it fails: CI must run them (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.async_api import async_playwright
except ImportError:
    async_playwright = None

__all__ = ('BROWSER_MISSING', 'CHROMIUM', 'CHROMIUM_ARGS', 'launch_browser')

CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
]
BROWSER_MISSING = (
    f'{CHROMIUM} is missing (apt-get install chromium)'
    if not CHROMIUM.exists()
    else 'the playwright package is missing (pip install -e ".[dev]")'
    if async_playwright is None
    else None
)


async def launch_browser() -> AsyncIterator[Any]:
    if BROWSER_MISSING:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'{BROWSER_MISSING}: CI must run the browser tests')
        pytest.skip(BROWSER_MISSING)
    assert async_playwright is not None
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
