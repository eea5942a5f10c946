"""Request objects: one call (:class:`JSONRPCRequest`) and a batch of them (:class:`JSONRPCBatchRequest`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .._native import native_or
from ..constants import NOTHING, VERSION_2_0
from ..deprecation import warn_deprecated
from ..errors import InvalidParams, InvalidRequest
from ..typedefs import JSONRPCIDType
from .context import RequestContext
from .params import convert_params_to_args_and_kwargs, parse_args_and_kwargs, validate_jsonrpc

__all__ = (
    'Call',
    'JSONRPCBatchRequest',
    'JSONRPCRequest',
    'call_params',
    'get_random_id',
    'is_valid_id',
    'read_call',
    'read_call_py',
)

_NOT_A_DICT = {'details': 'The request must be of the dict type.'}
_NO_METHOD = {'details': 'The request must contain "method" and "jsonrpc".'}
_BAD_METHOD = {'details': '"method" must be a non-empty string.'}
_BAD_ID = {'details': 'The "id" must be string, integer or Null.'}


def get_random_id() -> str:
    """A random request id (a UUID4 string). Clients use a cheaper per-client counter for their own ids."""
    return str(uuid.uuid4())


def is_valid_id(value: Any) -> bool:
    """Whether ``value`` may stand as a request id: a string, an integer (not a bool) or ``None``."""
    cls = type(value)
    return cls is str or cls is int or value is None or (isinstance(value, (int, str)) and cls is not bool)


@dataclass(slots=True)
class JSONRPCRequest:
    """One JSON-RPC call, or a notification when it has no ``id``.

    Give ``params`` (a list or a dict, as on the wire) *or* ``args``/``kwargs``; the other view is derived::

        JSONRPCRequest(method='subtract', id=1, params=[42, 23])
        JSONRPCRequest(method='subtract', id=1, kwargs={'minuend': 42, 'subtrahend': 23})

    Attributes:
        method: the method name.
        id: the request id; ``None`` makes it a notification (unless it came from the wire as ``"id": null``).
        jsonrpc: always ``"2.0"``.
        extra_kwargs: values middlewares pass to methods added with ``pass_extra_kwargs=True``.
        context: the message's :class:`~aiohttp_rpc.RequestContext`: a dict (``{'http_request': ...}`` on a
            server) with typed fields and keys. A plain mapping given here is kept as it is (2.0 code), without
            the typed fields.
        params: the raw ``params`` member, or ``NOTHING`` when absent.
        args: positional arguments derived from ``params``.
        kwargs: keyword arguments derived from ``params``.

    Raises:
        InvalidRequest: ``jsonrpc`` is not ``"2.0"``.
        InvalidParams: both ``params`` and ``args``/``kwargs`` were given, or ``params`` is a scalar.
    """

    method: str
    id: JSONRPCIDType | None = None
    jsonrpc: str = VERSION_2_0
    extra_kwargs: MutableMapping[str, Any] = field(default_factory=dict)
    context: RequestContext = field(default_factory=RequestContext)
    params: Any = NOTHING
    args: Sequence[Any] | None = None
    kwargs: Mapping[str, Any] | None = None
    #: The request's ``_meta`` (MCP's name): ``{"progressToken": ...}`` when the caller wants progress reports. Sent
    #: and read as ``params._meta`` for named params (the method never sees it), as a ``_meta`` member of the
    #: request object otherwise (see :mod:`aiohttp_rpc.methods.progress`).
    meta: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    # ``"id": null`` received on the wire: a request that gets a reply, unlike a notification.
    _null_id: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_jsonrpc(self.jsonrpc)
        if self.params is NOTHING:
            self.set_args_and_kwargs(self.args, self.kwargs)
        elif self.args is None and self.kwargs is None:
            self.set_params(self.params)
        else:
            raise InvalidParams('Need use params or args with kwargs.')

    @property
    def is_notification(self) -> bool:
        """True when no reply is expected: the request has no id."""
        return self.id is None and not self._null_id

    @property
    def method_name(self) -> str:
        """1.x name of :attr:`method` (deprecated)."""
        warn_deprecated('JSONRPCRequest.method_name', 'JSONRPCRequest.method')
        return self.method

    @method_name.setter
    def method_name(self, value: str) -> None:
        warn_deprecated('JSONRPCRequest.method_name', 'JSONRPCRequest.method')
        self.method = value

    @property
    def extra_args(self) -> MutableMapping[str, Any]:
        """1.x name of :attr:`extra_kwargs` (deprecated)."""
        warn_deprecated('JSONRPCRequest.extra_args', 'JSONRPCRequest.extra_kwargs')
        return self.extra_kwargs

    @extra_args.setter
    def extra_args(self, value: MutableMapping[str, Any]) -> None:
        warn_deprecated('JSONRPCRequest.extra_args', 'JSONRPCRequest.extra_kwargs')
        self.extra_kwargs = value

    def set_params(self, params: Any) -> None:
        """Replace ``params`` and re-derive ``args``/``kwargs`` from it."""
        self.args, self.kwargs = convert_params_to_args_and_kwargs(params)
        self.params = params

    def set_args_and_kwargs(self, args: Sequence[Any] | None = None, kwargs: Mapping[str, Any] | None = None) -> None:
        """Replace the call arguments (positional *or* keyword) and re-derive ``params``."""
        self.params, self.args, self.kwargs = parse_args_and_kwargs(args, kwargs)

    def dump(self) -> dict[str, Any]:
        """The request as a JSON-ready dict (``id`` omitted for a notification, ``params`` when present)."""
        data: dict[str, Any] = {'method': self.method, 'jsonrpc': self.jsonrpc}
        if not self.is_notification:
            data['id'] = self.id
        if self.meta is None:
            if self.params is not NOTHING:
                data['params'] = self.params
        elif isinstance(self.params, Mapping):
            data['params'] = {**self.params, META: self.meta}
        else:
            if self.params is not NOTHING:
                data['params'] = self.params
            data[META] = self.meta
        return data

    @classmethod
    def for_call(
        cls,
        method: str,
        request_id: JSONRPCIDType | None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> JSONRPCRequest:
        """A request built from Python call arguments (what a client's ``call``/``notify`` send): positional
        ``args`` *or* named ``kwargs``; empty ones mean no ``params`` member.

        Raises:
            InvalidParams: both ``args`` and ``kwargs`` are non-empty.
        """
        params = call_params(args, kwargs)
        request = object.__new__(cls)
        request.method = method
        request.id = request_id
        request.jsonrpc = VERSION_2_0
        request.extra_kwargs = {}
        request.context = RequestContext()
        request.params = params
        if args:
            request.args, request.kwargs = args, {}
        elif kwargs:
            request.args, request.kwargs = (), kwargs
        else:
            request.args, request.kwargs = (), {}
        request.meta = None
        request._null_id = False
        return request

    @classmethod
    def from_message(cls, data: dict[str, Any], context: RequestContext) -> JSONRPCRequest:
        """Build a request from one decoded JSON object: the dispatcher's per-call path.

        The common, valid shape is checked and built inline; anything else goes through :meth:`load`, which
        raises the exact error.

        Raises:
            InvalidRequest, InvalidParams: as :meth:`load`.
        """
        call = read_call(data)
        if call is None:
            return cls.load(data, context=context)
        method, request_id, args, call_kwargs = call
        request = object.__new__(cls)
        request.method = method
        request.id = request_id
        request.jsonrpc = VERSION_2_0
        request.extra_kwargs = {}
        request.context = context
        request.params = data.get('params', NOTHING)
        request.args = args
        request.kwargs = call_kwargs
        request.meta = None
        if META in data or (call_kwargs and META in call_kwargs):
            _take_meta(request, data)
        request._null_id = request_id is None and 'id' in data
        return request

    @classmethod
    def load(cls, data: Any, **kwargs: Any) -> JSONRPCRequest:
        """Validate a decoded JSON object and build a request from it.

        Extra keyword arguments (``context``, ``extra_kwargs``) are set on the new request.

        Raises:
            InvalidRequest: ``data`` is not a valid request object.
            InvalidParams: ``params`` is present but neither an array nor an object.
        """
        if not isinstance(data, Mapping):
            raise InvalidRequest(data=_NOT_A_DICT)
        try:
            method = data['method']
            jsonrpc = data['jsonrpc']
        except KeyError:
            raise InvalidRequest(data=_NO_METHOD) from None
        if jsonrpc != VERSION_2_0 or type(jsonrpc) is not str:
            validate_jsonrpc(jsonrpc)
        if type(method) is not str or not method:
            raise InvalidRequest(data=_BAD_METHOD)
        request_id = data.get('id')
        if not is_valid_id(request_id):
            raise InvalidRequest(data=_BAD_ID)
        params = data.get('params', NOTHING)
        args, call_kwargs = convert_params_to_args_and_kwargs(params)

        # Built field by field: this runs once per incoming call and skips ``__post_init__``'s re-checks.
        request = object.__new__(cls)
        request.method = method
        request.id = request_id
        request.jsonrpc = VERSION_2_0
        request.extra_kwargs = kwargs.get('extra_kwargs') or {}
        context = kwargs.get('context')
        request.context = RequestContext() if context is None else context  # a mapping given is used as it is
        request.params = params
        request.args = args
        request.kwargs = call_kwargs
        request.meta = None
        if META in data or (call_kwargs and META in call_kwargs):
            _take_meta(request, data)
        request._null_id = request_id is None and 'id' in data
        return request


META = '_meta'
"""The name of a request's metadata: a member of named params, or of the request object (see ``meta``)."""


def _take_meta(request: JSONRPCRequest, data: Mapping[str, Any]) -> None:
    """Set the ``meta`` of a received request: taken out of its named params (the method gets them without it),
    else from the request object."""
    kwargs = request.kwargs
    if kwargs and META in kwargs:
        params = dict(kwargs)
        meta = params.pop(META)
        request.params = request.kwargs = params
    else:
        meta = data.get(META)
    request.meta = meta if type(meta) is dict else None


@dataclass(slots=True)
class JSONRPCBatchRequest:
    """Several requests sent as one JSON array."""

    requests: tuple[JSONRPCRequest, ...] = field(default_factory=tuple)

    @property
    def is_notification(self) -> bool:
        """True when every member is a notification (the peer sends no reply at all)."""
        return all(request.is_notification for request in self.requests)

    @classmethod
    def load(cls, data: Any, **kwargs: Any) -> JSONRPCBatchRequest:
        """Validate a decoded JSON array and build a batch from it.

        Raises:
            InvalidRequest: ``data`` is not an array or one of its members is invalid.
        """
        if not isinstance(data, Sequence) or isinstance(data, (str, bytes, bytearray)):
            raise InvalidRequest('A batch request must be of the list type.')
        return cls(requests=tuple(JSONRPCRequest.load(item, **kwargs) for item in data))

    def dump(self) -> tuple[dict[str, Any], ...]:
        """The batch as a JSON-ready tuple (serialized as an array)."""
        return tuple(request.dump() for request in self.requests)


Call: TypeAlias = tuple[str, JSONRPCIDType | None, Sequence[Any], Mapping[str, Any]]
"""``(method, id, args, kwargs)`` of a well-formed call object."""


def read_call_py(data: dict[str, Any]) -> Call | None:
    """``(method, id, args, kwargs)`` of a call object in the common, valid shape (a non-empty method name,
    ``"jsonrpc": "2.0"``, an integer, string or null id or none, params an array, an object or absent), or
    ``None`` for anything else, whose precise error :meth:`JSONRPCRequest.load` gives. A call is a notification
    when it has no ``id`` member at all (``'id' not in data``)."""
    method = data.get('method')
    request_id = data.get('id')
    if type(method) is not str or not method or data.get('jsonrpc') != VERSION_2_0 or not is_valid_id(request_id):
        return None
    params = data.get('params', NOTHING)
    params_type = type(params)
    if params_type is list:
        return method, request_id, params, {}
    if params_type is dict:
        return method, request_id, (), params
    if params is NOTHING:
        return method, request_id, (), {}
    return None


read_call = native_or(read_call_py, 'read_call')
""":func:`read_call_py` in C when the extension is there (see :mod:`aiohttp_rpc._native`); the C version reads
only plain ``dict`` objects and answers ``None`` for any other, whose call then takes the full path
(:meth:`JSONRPCRequest.load`). Every call starts here (benchmarks: the in-process batch row)."""


def call_params(args: Sequence[Any], kwargs: Mapping[str, Any] | None) -> Any:
    """The ``params`` of a call made with Python arguments: ``args`` or ``kwargs``, or ``NOTHING`` for none.

    Raises:
        InvalidParams: both are non-empty (JSON-RPC params are by position or by name, not both).
    """
    if args:
        if kwargs:
            raise InvalidParams(data={'details': 'Need use args or kwargs.'})
        return args
    return kwargs if kwargs else NOTHING
