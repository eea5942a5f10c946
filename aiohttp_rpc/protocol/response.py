"""Response objects: one reply (:class:`JSONRPCResponse`) and a batch of them (:class:`JSONRPCBatchResponse`)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..constants import VERSION_2_0
from ..errors import InvalidRequest, JSONRPCError, ParseError
from ..typedefs import JSONRPCIDType

__all__ = ('JSONRPCBatchResponse', 'JSONRPCResponse', 'error_reply', 'reply', 'result_reply')

ErrorMap = Mapping[int, type[JSONRPCError]]


@dataclass(slots=True)
class JSONRPCResponse:
    """The reply to one request: a ``result`` or an ``error``.

    Attributes:
        id: the id of the request it answers (``None`` when the request's id could not be read).
        jsonrpc: always ``"2.0"``.
        result: the method's return value (ignored when ``error`` is set).
        error: the error, as a :class:`~aiohttp_rpc.errors.JSONRPCError` instance.
        context: per-message context, e.g. ``{'http_response': aiohttp.ClientResponse}`` on a client.
    """

    id: JSONRPCIDType | None = None
    jsonrpc: str = VERSION_2_0
    result: Any = None
    error: JSONRPCError | None = None
    context: MutableMapping[str, Any] = field(default_factory=dict)

    @property
    def is_notification(self) -> bool:
        """True when the response carries no id (kept for 2.0 compatibility)."""
        return self.id is None

    def dump(self) -> dict[str, Any]:
        """The response as a JSON-ready dict."""
        error = self.error
        if error is None:
            return result_reply(self.id, self.result)
        return error_reply(self.id, error)

    @classmethod
    def load(cls, data: Any, *, error_map: ErrorMap | None = None, **kwargs: Any) -> JSONRPCResponse:
        """Validate a decoded JSON object and build a response; an ``error`` member becomes an exception
        instance of the class ``error_map`` gives for its code (:class:`JSONRPCError` otherwise).

        Extra keyword arguments (``context``) are set on the new response.

        Raises:
            ParseError: ``data`` is not a valid response object.
        """
        if type(data) is dict and data.get('jsonrpc') == VERSION_2_0 and 'result' in data and 'error' not in data:
            response = reply(data.get('id'), data['result'])  # the common case, checked in one line
            if kwargs:
                for name, value in kwargs.items():
                    setattr(response, name, value)
            return response
        if not isinstance(data, Mapping):
            raise ParseError('Data must be a mapping.')
        jsonrpc = data.get('jsonrpc')
        if jsonrpc != VERSION_2_0:
            raise ParseError(
                f'The "jsonrpc" field is required and must be "{VERSION_2_0}".'
                if jsonrpc is None
                else f'Only version "{VERSION_2_0}" is supported.'
            )
        has_result = 'result' in data
        has_error = 'error' in data
        if has_result == has_error:
            raise ParseError(
                'Response must not include both "result" and "error".'
                if has_result
                else '"result" or "error" not found in data.',
                data={'raw_response': data},
            )
        response = cls(id=data.get('id'), result=data.get('result'), **kwargs)
        if has_error:
            response.error = _load_error(data['error'], error_map)
        return response


def reply(request_id: JSONRPCIDType | None, result: Any = None, error: JSONRPCError | None = None) -> JSONRPCResponse:
    """A new response, built field by field: the dispatcher's per-call path (same object as the constructor
    makes, at half the cost)."""
    response = _new(JSONRPCResponse)
    response.id = request_id
    response.jsonrpc = VERSION_2_0
    response.result = result
    response.error = error
    response.context = {}
    return response


_new = object.__new__


def result_reply(request_id: JSONRPCIDType | None, result: Any) -> dict[str, Any]:
    """The JSON-ready reply carrying ``result``: ``JSONRPCResponse(id=request_id, result=result).dump()``."""
    return {'id': request_id, 'jsonrpc': VERSION_2_0, 'result': result}


def error_reply(request_id: JSONRPCIDType | None, error: JSONRPCError) -> dict[str, Any]:
    """The JSON-ready reply carrying ``error``: ``JSONRPCResponse(id=request_id, error=error).dump()``."""
    return {'id': request_id, 'jsonrpc': VERSION_2_0, 'error': error.to_dict()}


def _load_error(error: Any, error_map: ErrorMap | None) -> JSONRPCError:
    if not isinstance(error, Mapping):
        raise ParseError('The "error" field must be a mapping.', data={'raw_error': error})
    if 'code' not in error or 'message' not in error:
        raise ParseError('The "error" field must contain "code" and "message".', data={'raw_error': error})
    code = error['code']
    message = error['message']
    # Checked here: ``JSONRPCError`` itself refuses a missing code or an empty message with ``TypeError``.
    if type(code) is not int or not isinstance(message, str) or not message:
        raise ParseError(
            'The "error" field must have an integer "code" and a non-empty string "message".',
            data={'raw_error': error},
        )
    error_cls = error_map.get(code, JSONRPCError) if error_map else JSONRPCError
    loaded = error_cls(message, data=error.get('data'), code=code)
    loaded.remote = True  # it came from the other side (see errors.own_error)
    return loaded


@dataclass(slots=True)
class JSONRPCBatchResponse:
    """The replies to a batch, in the order the peer sent them."""

    responses: tuple[JSONRPCResponse, ...] = field(default_factory=tuple)

    def dump(self) -> tuple[dict[str, Any], ...]:
        """The batch reply as a JSON-ready tuple (serialized as an array)."""
        return tuple(response.dump() for response in self.responses)

    @classmethod
    def load(cls, data: Any, *, error_map: ErrorMap | None = None, **kwargs: Any) -> JSONRPCBatchResponse:
        """Validate a decoded JSON array of responses.

        A single error object instead of an array (what a server sends when it rejects the whole batch, e.g.
        an empty or oversized one) is raised as that error.

        Raises:
            JSONRPCError: the peer rejected the batch as a whole.
            ParseError: a member is not a valid response, or a single non-error object came back.
            InvalidRequest: the reply is neither an array nor an object.
        """
        if isinstance(data, Mapping):
            single = JSONRPCResponse.load(data, error_map=error_map, **kwargs)
            if single.error is not None:
                raise single.error
            raise ParseError('Got an unexpected response from server.')
        if not isinstance(data, Sequence) or isinstance(data, (str, bytes, bytearray)):
            raise InvalidRequest('Batch request must be of the list type.')
        return cls(responses=tuple(JSONRPCResponse.load(item, error_map=error_map, **kwargs) for item in data))
