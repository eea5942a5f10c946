"""The command line's grammar: commands, arguments and options (argparse, from the standard library)."""

from __future__ import annotations

import argparse
import math
import re

from yarl import URL

from .. import __version__
from .remote import HTTP_SCHEMES, WEBSOCKET_SCHEMES, shown_url

__all__ = ('build_parser',)

_EXIT_STATUSES = """\
exit status:
  0  success
  1  the server answered with a JSON-RPC error (printed on stderr as "error <code>: <message>")
  2  usage error: bad arguments or input
  3  no usable reply: connection refused, timeout, HTTP error status, malformed reply
     (serve: the address cannot be listened on)
  4  unexpected failure: a bug, or the served application failed (--debug shows the traceback)

Results go to stdout as JSON: pretty and coloured on a terminal (NO_COLOR turns colours off), one compact
line when piped. Errors go to stderr.
"""

_PARAMS = """\
params:
  each ARG is a JSON literal (1, true, null, "text", [1,2], {"a":1}), or a bare word taken as a string;
  NAME=VALUE gives a named param (VALUE read the same way). An array of params or an object of params,
  not both. To pass the string "42", quote it as JSON: '"42"'. Put -- before ARGs starting with a dash
  that are not numbers.
"""

_CALL_EXAMPLES = f"""\
{_PARAMS}
examples:
  aiohttp-rpc call http://127.0.0.1:8080/rpc add 1 2
  aiohttp-rpc call http://127.0.0.1:8080/rpc greet name=Ada
  aiohttp-rpc call http://127.0.0.1:8080/rpc sum --json '[[1, 2, 3]]'
  aiohttp-rpc call ws://127.0.0.1:8080/rpc ping -H 'Authorization: Bearer s3cret'
"""

_NOTIFY_EXAMPLES = f"""\
{_PARAMS}
Over WebSocket the socket closes right after sending, and a server may cancel work still running for a
closed socket (aiohttp_rpc's WSJSONRPCServer does): prefer http:// or `call` for slow methods.

example:
  aiohttp-rpc notify http://127.0.0.1:8080/rpc log level=info message=started
"""

_SUBSCRIBE_EXAMPLES = f"""\
{_PARAMS}
Prints each item as one line of JSON until the stream ends, --count items have come, or Ctrl-C, then
unsubscribes. Exit status: 0 the stream completed (or --count was reached), 1 the server ended it with an
error (-32007 when this subscriber was too slow), 3 the connection was lost, 130 Ctrl-C.

examples:
  aiohttp-rpc subscribe ws://127.0.0.1:8080/rpc ticker BTC
  aiohttp-rpc subscribe ws://127.0.0.1:8545 eth_subscribe newHeads --unsubscribe eth_unsubscribe
"""

_GEN_CLIENT_EXAMPLES = """\
SOURCE is a server's URL (its rpc.discover is called) or an OpenRPC JSON file. The module holds a
typing.Protocol per group of methods (for rpc.proxy), a TypedDict per object schema and a Literal per enum.

examples:
  aiohttp-rpc gen-client http://127.0.0.1:8080/rpc -o shop_api.py
  aiohttp-rpc gen-client openrpc.json > shop_api.py
"""

_BATCH_EXAMPLES = """\
FILE holds a JSON array of requests, e.g.
  [{"method": "add", "params": [1, 2]}, {"method": "ping", "id": "p"}]
Each member without "jsonrpc" gets "2.0"; each without "id" gets a free integer id (so every member is
answered). --raw sends the array untouched: members without "id" are then notifications.
"""

_SERVE_EXAMPLES = """\
TARGET is module:attribute, imported with the current directory on sys.path. The attribute is
  - a JSONRPCServer (mounted on POST PATH) or a WSJSONRPCServer (mounted on GET PATH), served with the
    API console at /docs, the OpenRPC document at /openrpc.json and the rpc.discover method (unless
    --no-docs); or
  - an aiohttp.web.Application, run as it is; or
  - a callable taking no arguments that returns (or, when async, resolves to) one of these.

example:
  aiohttp-rpc serve myapp:rpc_server --port 8080
"""

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``aiohttp-rpc``: ``args.command`` names the command."""
    parser = argparse.ArgumentParser(
        prog='aiohttp-rpc',
        description='Call JSON-RPC 2.0 servers over HTTP or WebSocket, and serve one from a Python module.',
        epilog=_EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument('--version', action='version', version=f'aiohttp-rpc {__version__}')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument('--debug', action='store_true', help='print the traceback of a failure (serve: log at DEBUG)')

    # -H and -t, for every command that talks to a server.
    talking = argparse.ArgumentParser(add_help=False, parents=[debug])
    talking.add_argument(
        '-H',
        '--header',
        dest='headers',
        metavar="'NAME: VALUE'",
        type=_header,
        action='append',
        default=[],
        help='an HTTP header to send (on the handshake for WebSocket); repeatable',
    )
    talking.add_argument(
        '-t',
        '--timeout',
        metavar='SECONDS',
        type=_timeout,
        default=30.0,
        help='give up after this long, connecting included (default: %(default)g)',
    )

    remote = argparse.ArgumentParser(add_help=False, parents=[talking])
    remote.add_argument('url', metavar='URL', type=_url, help='http://, https://, ws:// or wss:// endpoint')

    call_arguments = argparse.ArgumentParser(add_help=False, parents=[remote])
    call_arguments.add_argument('method', metavar='METHOD', help='the method name')
    call_arguments.add_argument(
        'args', metavar='ARG', nargs='*', default=[], help='a param: JSON literal, word, or NAME=VALUE'
    )
    call_arguments.add_argument(
        '--json', dest='json_params', metavar='PARAMS', help='all params as one JSON array or object'
    )

    def add_command(
        name: str, help: str, parents: list[argparse.ArgumentParser], epilog: str | None = None
    ) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=help,
            parents=parents,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )

    call = add_command('call', 'call a method and print its result', [call_arguments], _CALL_EXAMPLES)
    call.add_argument('--raw', action='store_true', help='print the whole reply object, not only the result')
    add_command('notify', 'send a notification (no reply; prints nothing)', [call_arguments], _NOTIFY_EXAMPLES)
    subscribe = add_command(
        'subscribe',
        'subscribe over WebSocket and print each item as a JSON line',
        [call_arguments],
        _SUBSCRIBE_EXAMPLES,
    )
    subscribe.add_argument(
        '--unsubscribe', metavar='METHOD', help="the server's unsubscribe method (default: METHOD.unsubscribe)"
    )
    subscribe.add_argument('--count', metavar='N', type=_count, help='stop after N items')

    batch = add_command('batch', 'send a batch of requests and print the array of replies', [remote], _BATCH_EXAMPLES)
    batch.add_argument('file', metavar='FILE', help='a JSON file with an array of requests; - for stdin')
    batch.add_argument('--raw', action='store_true', help='send the array as it is, without filling anything in')

    add_command('discover', 'print the OpenRPC document (calls rpc.discover)', [remote])

    gen_client = add_command(
        'gen-client', 'write a typed client module from an OpenRPC document', [talking], _GEN_CLIENT_EXAMPLES
    )
    gen_client.add_argument('source', metavar='SOURCE', help='a server URL (calls rpc.discover) or an OpenRPC file')
    gen_client.add_argument('-o', '--output', metavar='FILE', help='where to write the module (default: stdout)')

    serve = add_command('serve', 'serve a JSON-RPC server or aiohttp app from a module', [debug], _SERVE_EXAMPLES)
    serve.add_argument('target', metavar='TARGET', help='module:attribute')
    serve.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    serve.add_argument(
        '--port', type=_port, default=8080, help='port to listen on; 0 for any free port (default: %(default)s)'
    )
    serve.add_argument('--path', type=_path, default='/rpc', help='where to mount a server (default: %(default)s)')
    serve.add_argument('--title', help="the API's name, shown by rpc.discover, /openrpc.json and /docs")
    serve.add_argument('--api-version', metavar='VERSION', help="the API's version (not the library's)")
    serve.add_argument('--description', help='a longer text about the API (Markdown)')
    serve.add_argument(
        '--no-docs',
        dest='docs',
        action='store_false',
        help='do not add the console (/docs), the OpenRPC document (/openrpc.json) or rpc.discover',
    )
    return parser


def _url(text: str) -> str:
    try:
        url = URL(text)
    except ValueError:
        url = URL()
    if url.scheme not in (*HTTP_SCHEMES, *WEBSOCKET_SCHEMES) or not url.host:
        raise argparse.ArgumentTypeError(f'expected an http://, https://, ws:// or wss:// URL, got {shown_url(text)!r}')
    return text


def _header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(':')
    name, value = name.strip(), value.strip()
    if not separator or not _HEADER_NAME.fullmatch(name) or not value.isprintable():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name, value


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise argparse.ArgumentTypeError(f'expected a number of seconds above 0, got {text!r}')
    return seconds


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number above 0, got {text!r}')
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f'expected a port number from 0 to 65535, got {text!r}')
    return int(text)


def _path(text: str) -> str:
    if not text.startswith('/') or text.startswith('//'):
        raise argparse.ArgumentTypeError(f'expected a path starting with one /, got {text!r}')
    return text
