"""The ``gen-client`` command: a typed client module from an OpenRPC document (a server's ``rpc.discover``, or a
file), rendered by :func:`aiohttp_rpc.schema.codegen.render_client`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yarl import URL

from ..schema.codegen import render_client
from .failures import UsageError
from .remote import HTTP_SCHEMES, WEBSOCKET_SCHEMES, Endpoint, fetch_document, shown_url

__all__ = ('gen_client', 'is_url')


def is_url(source: str) -> bool:
    """Whether ``source`` names a server (``http://``, ``https://``, ``ws://``, ``wss://``), not a file."""
    try:
        return URL(source).scheme in (*HTTP_SCHEMES, *WEBSOCKET_SCHEMES)
    except ValueError:
        return False


def gen_client(
    source: str, *, endpoint: Endpoint | None, output: str | None, print_text: Callable[[str], None]
) -> None:
    """Render the client module for ``source`` into ``output`` (a file), or pass it to ``print_text``.

    Raises:
        UsageError: the file cannot be read, is not JSON, or is not an OpenRPC document; the output cannot be
            written.
        ErrorReply, TransportFailure: as for ``discover``.
    """
    if endpoint is not None:
        document = fetch_document(endpoint)
        shown = shown_url(source)
    else:
        document = _read(source)
        shown = Path(source).name
    if not isinstance(document, dict) or not isinstance(document.get('methods'), list):
        raise UsageError(f'{shown} is not an OpenRPC document (no "methods" array)')
    text = render_client(document, shown)
    if output is None:
        print_text(text.rstrip('\n'))
        return
    try:
        Path(output).write_text(text, encoding='utf-8')
    except OSError as exc:
        raise UsageError(f'cannot write {output}: {exc.strerror or exc}') from None


def _read(path: str) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f'cannot read {path}: {exc.strerror or exc}') from None
    except ValueError as exc:
        raise UsageError(f'{path} is not JSON: {exc}') from None
