"""Errors: what a peer sends on the wire, and what fails on this side.

The tree::

    JSONRPCError (RuntimeError)            code, message, data
    |
    |-- wire errors: a JSON-RPC error object a server sends and a client raises
    |   |-- ParseError            -32700   the message is not valid JSON
    |   |-- InvalidRequest        -32600   valid JSON, but not a valid request object
    |   |-- MethodNotFound        -32601   no method of that name
    |   |-- InvalidParams         -32602   wrong arity, unknown keyword, bad params
    |   |-- InternalError         -32603   the method failed; details stay in the server log
    |   |-- RequestCancelled      -32800   the caller cancelled the call ($/cancelRequest, WebSocket)
    |   |-- ServerError           -32000   generic implementation-defined server error
    |   |   |-- AccessDenied      -32001   a guard refused the call; the method did not run
    |   |   |-- CallTimeout       -32002   the call ran past the server's call_timeout and was cancelled
    |   |   |-- ResponseTooLarge  -32003   the reply was larger than the server's max_response_size
    |   |   |-- SubscriptionsUnavailable -32004   a subscription was called over HTTP (needs a WebSocket)
    |   |   |-- TooManySubscriptions -32006   the connection has as many subscriptions as it may
    |   |   `-- SubscriptionLagged -32007   the subscriber fell too far behind and the stream was ended
    |   `-- your subclasses       any code of yours, mapped back through ``error_map``
    |
    |-- LocalError: raised on this side, never sent on the wire
        |-- EmptyResponse                  a reply was expected and none came
        |-- TransportError (+ ConnectionError)   the message could not be delivered
        |   |-- RequestTimeoutError (+ TimeoutError)   no reply in time
        |   `-- ReplyTooLargeError         the reply was larger than the client accepts
        |-- ContractError                  a result broke the typed contract (proxy(..., validate_results=True))
        |-- BackplaneError                 the backplane (Redis) could not carry a message to the other workers
        |-- HTTPStatusError                a non-2xx HTTP reply without a JSON-RPC body
        `-- ServerConfigurationError       a server was set up wrongly (e.g. duplicate method)

    RequestRejected (Exception)            not a JSON-RPC error: refuses the whole message at the transport
                                           level (an HTTP status such as 403), raised by a middleware

Local errors keep ``code`` for compatibility with code written for aiohttp-rpc 2.0.0, but their codes lie
outside the range the JSON-RPC specification reserves for servers (-32768..-32000), so a code a server sends
can never be confused with one of them.

A user-defined error round-trips::

    class InsufficientFunds(JSONRPCError):
        code = 4001
        message = 'Insufficient funds'

    # server: raise InsufficientFunds(data={'balance': 3})
    # client: JSONRPCClient(url, error_map={**DEFAULT_KNOWN_ERRORS_MAP, 4001: InsufficientFunds})
"""

from __future__ import annotations

import importlib
import logging
from types import EllipsisType, TracebackType
from typing import TYPE_CHECKING, Any

from .deprecation import warn_deprecated

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = (
    'DEFAULT_KNOWN_ERRORS',
    'AccessDenied',
    'BackplaneError',
    'DEFAULT_KNOWN_ERRORS_MAP',
    'CallTimeout',
    'ContractError',
    'LOCAL_ERRORS',
    'EmptyResponse',
    'HTTPStatusError',
    'InternalError',
    'InvalidParams',
    'InvalidRequest',
    'JSONRPCError',
    'LocalError',
    'PROTOCOL_CODES',
    'MethodNotFound',
    'ParseError',
    'RequestCancelled',
    'RequestRejected',
    'ReplyTooLargeError',
    'RequestTimeoutError',
    'ResponseTooLarge',
    'ServerConfigurationError',
    'ServerError',
    'SubscriptionLagged',
    'SubscriptionsUnavailable',
    'TooManySubscriptions',
    'TransportError',
    'own_error',
)


class JSONRPCError(RuntimeError):
    """Base of every error: a JSON-RPC error object with ``code``, ``message`` and optional ``data``.

    Subclasses set ``code`` and ``message`` as class attributes; an instance may override any of them::

        raise InvalidParams(data={'details': '"amount" must be positive'})

    Args:
        message: human-readable summary; defaults to the class's ``message``.
        data: any JSON-serializable value with details for the other side.
        code: integer error code; defaults to the class's ``code``.
    """

    code: int
    message: str
    data: Any = None
    #: True for an error loaded from a peer's reply (what a client raises), False for one raised on this side.
    remote: bool = False

    def __init__(self, message: str | None = None, *, data: Any = None, code: int | None = None) -> None:
        if message:
            self.message = message
        if code is not None:
            self.code = code
        self.data = data
        if getattr(self, 'code', None) is None:
            raise TypeError(f'{type(self).__name__} needs an error code.')
        if not getattr(self, 'message', None):
            raise TypeError(f'{type(self).__name__} needs an error message.')
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.code}, {self.message!r})'

    def __str__(self) -> str:
        """The message, followed by the reason when ``data`` gives one (``data['details']``), so that a traceback
        and a log line say why: ``Transport error: Cannot connect to host ...``. ``message`` itself, and what goes
        on the wire, are unchanged."""
        reason = self.reason()
        return self.message if reason is None else f'{self.message}: {reason}'

    def reason(self) -> str | None:
        """Why it happened, in one line, when ``data`` says (``data['details']``); else ``None``."""
        data = self.data
        if isinstance(data, dict):
            details = data.get('details')
            if isinstance(details, str) and details:
                return details
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JSONRPCError):
            return NotImplemented
        return self.code == other.code and self.message == other.message and self.data == other.data

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def with_traceback(self, tb: TracebackType | EllipsisType | None = ..., /) -> Self:
        """Python's ``with_traceback(tb)``. Called without ``tb`` (1.x, deprecated), it returns the error as it
        is: 1.x copied the traceback into ``data`` for the client, and tracebacks are never sent to clients."""
        if tb is ...:
            warn_deprecated('JSONRPCError.with_traceback() without a traceback', 'raise the error as it is')
            return self
        return super().with_traceback(tb)

    def to_dict(self) -> dict[str, Any]:
        """The error object as sent on the wire: ``code``, ``message`` and ``data`` when set."""
        if self.data is None:
            return {'code': self.code, 'message': self.message}
        return {'code': self.code, 'message': self.message, 'data': self.data}


class RequestCancelled(JSONRPCError):
    """Raised when the caller cancelled the call (``$/cancelRequest`` over a WebSocket, LSP's convention): the
    method was cancelled, or never ran (-32800)."""

    code = -32800
    message = 'Request cancelled'


class ServerError(JSONRPCError):
    """Raised for a generic implementation-defined server error (-32000)."""

    code = -32000
    message = 'Server error.'


class AccessDenied(ServerError):
    """Raised when a guard refuses a call (bad token, wrong host, address not allowed); the method does not
    run (-32001)."""

    code = -32001
    message = 'Access denied'


class CallTimeout(ServerError):
    """Raised when a call runs longer than the server's ``call_timeout``; the call is cancelled (-32002)."""

    code = -32002
    message = 'Request timed out'


class ResponseTooLarge(ServerError):
    """Raised when a reply is larger than the server's ``max_response_size`` (or a batch reply outgrows
    ``max_batch_response_size``) (-32003)."""

    code = -32003
    message = 'Response too large'


class SubscriptionsUnavailable(ServerError):
    """Raised when a subscription is called where items cannot be pushed back (over HTTP or in process): call it
    over the server's WebSocket endpoint (-32004)."""

    code = -32004
    message = 'Subscriptions need a WebSocket'


class TooManySubscriptions(ServerError):
    """Raised when a connection that already has as many subscriptions as the server allows opens another
    (-32006, as jsonrpsee)."""

    code = -32006
    message = 'Too many subscriptions'


class SubscriptionLagged(ServerError):
    """Raised (and sent as the error that ends a subscription) when the subscriber fell too far behind: a
    ``on_slow='close'`` subscription whose item waited past its ``send_timeout``, or a client-side buffer that
    filled up (-32007)."""

    code = -32007
    message = 'Subscription lagged'


class ParseError(JSONRPCError):
    """Raised when a message is not valid JSON (-32700)."""

    code = -32700
    message = 'Parse error'


class InvalidRequest(JSONRPCError):
    """Raised when a message is JSON but not a valid JSON-RPC request object (-32600)."""

    code = -32600
    message = 'Invalid Request'


class MethodNotFound(JSONRPCError):
    """Raised when no method is registered under the requested name (-32601)."""

    code = -32601
    message = 'Method not found'


class InvalidParams(JSONRPCError):
    """Raised when params do not fit the method: wrong arity, unknown keyword, or rejected values (-32602)."""

    code = -32602
    message = 'Invalid params'


class InternalError(JSONRPCError):
    """Raised when a method fails unexpectedly (-32603); the cause is logged, never sent."""

    code = -32603
    message = 'Internal error'


class LocalError(JSONRPCError):
    """Base of failures that happen on this side and are never sent to a peer."""

    code = -31000
    message = 'Local error'


class EmptyResponse(LocalError):
    """Raised when a reply was expected but the peer sent none (e.g. an empty HTTP body)."""

    code = -31050
    message = 'Empty Response'


class TransportError(LocalError, ConnectionError):
    """Raised when a message cannot be delivered: connection refused or dropped, socket closed."""

    code = -31052
    message = 'Transport error'


class RequestTimeoutError(TransportError, TimeoutError):
    """Raised when no reply arrives within the client's timeout."""

    code = -31051
    message = 'Timeout error'


class ReplyTooLargeError(TransportError):
    """Raised when a reply is larger than the client's ``max_response_size``; it is not read further."""

    code = -31055
    message = 'Reply too large'


class HTTPStatusError(LocalError):
    """Raised when an HTTP reply has a non-2xx status and no JSON-RPC body; ``data`` has the status."""

    code = -31053
    message = 'HTTP status error'

    def reason(self) -> str | None:
        """``'502 Bad Gateway'``: the status and its reason phrase."""
        data = self.data
        if isinstance(data, dict) and data.get('status') is not None:
            return f'{data["status"]} {data.get("message") or ""}'.rstrip()
        return super().reason()


class BackplaneError(LocalError):
    """Raised when the backplane cannot carry a message to the other workers: the broker (Redis) cannot be
    reached, or the message is over the backplane's size limit. What this worker delivers itself is delivered."""

    code = -31057
    message = 'Backplane error'


class ContractError(LocalError):
    """Raised when a peer's result (or subscription item) does not have the type its typed contract declares
    (``client.proxy(API, validate_results=True)``): the peer broke the contract."""

    code = -31056
    message = 'Contract error'


class ServerConfigurationError(LocalError):
    """Raised when a server is configured wrongly, e.g. a method name registered twice."""

    code = -31054
    message = 'Server configuration error'


LOCAL_ERRORS: frozenset[type[JSONRPCError]] = frozenset(
    {
        EmptyResponse,
        RequestTimeoutError,
        TransportError,
        ReplyTooLargeError,
        HTTPStatusError,
        ServerConfigurationError,
        ContractError,
        BackplaneError,
    }
)
"""Errors raised on this side only."""

DEFAULT_KNOWN_ERRORS: frozenset[type[JSONRPCError]] = frozenset(
    {
        ServerError,
        AccessDenied,
        CallTimeout,
        ResponseTooLarge,
        SubscriptionsUnavailable,
        TooManySubscriptions,
        SubscriptionLagged,
        RequestCancelled,
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
    }
)
"""The wire errors a client maps back to their classes by default."""

DEFAULT_KNOWN_ERRORS_MAP: dict[int, type[JSONRPCError]] = {error.code: error for error in DEFAULT_KNOWN_ERRORS}
"""``code -> class`` for :data:`DEFAULT_KNOWN_ERRORS`; extend it to map your own codes."""


class RequestRejected(Exception):
    """Raised by a middleware to refuse a whole message at the transport level instead of replying to it.

    Over HTTP the client gets ``status`` (e.g. 403) with ``reason`` as a plain-text body and no JSON-RPC
    reply; ``exception_middleware`` and the dispatcher let it through untouched.

    Args:
        status: the HTTP status to answer with.
        reason: a short, client-safe explanation.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


if not TYPE_CHECKING:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`)."""
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)


PROTOCOL_CODES = frozenset({-32700, -32600, -32601, -32602, -32603})
"""The codes the specification defines for what is wrong with a call itself (parse error, invalid request, method
not found, invalid params, internal error)."""


def own_error(exc: JSONRPCError, method: str) -> JSONRPCError:
    """The error to answer a call of ``method`` with, when the method raised ``exc``. An error the method got from
    its peer (``exc.remote``) with one of the :data:`PROTOCOL_CODES` describes the peer's call, not this one: sent
    as it is, a -32601 "Method not found" would say that ``method`` does not exist. It becomes -32000 saying so,
    with the peer's error in ``data['peer_error']``, logged at INFO. A :class:`LocalError` the method let through (a
    peer that went away, the backplane down) is logged with its reason and answered -32603: its details describe
    this side. Other errors are answered as they are."""
    if isinstance(exc, LocalError) and not exc.remote:
        # A failure on this side (a peer gone, the backplane down): its details are ours, not the caller's.
        logging.getLogger('aiohttp_rpc.dispatch').error('Method %r failed: %s', method, exc)
        return InternalError()
    if not exc.remote or exc.code not in PROTOCOL_CODES:
        return exc
    # INFO: how often a peer fails is up to the peer, who must not control the volume of our warnings.
    logging.getLogger('aiohttp_rpc.dispatch').info(
        'Method %r got %d %r from its peer; answered -32000', method, exc.code, exc.message
    )
    details = f'{method} called its peer, which answered {exc.code} {exc.message}.'
    return ServerError(data={'details': details, 'peer_error': exc.to_dict()})
