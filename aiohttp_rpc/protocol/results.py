"""Matching a batch reply back to the requests that caused it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request import JSONRPCBatchRequest
    from .response import JSONRPCBatchResponse

__all__ = ('JSONRPCDuplicatedResults', 'JSONRPCUnlinkedResults', 'collect_batch_result')


@dataclass
class JSONRPCUnlinkedResults:
    """Results whose response had no usable id (``"id": null``), so they match no request."""

    results: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.results)

    def add(self, value: Any) -> None:
        """Record one more unmatched result."""
        self.results.append(value)


@dataclass
class JSONRPCDuplicatedResults:
    """Several results that arrived for the same request id."""

    results: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.results)

    def add(self, value: Any) -> None:
        """Record one more result for the id."""
        self.results.append(value)


def collect_batch_result(batch_request: JSONRPCBatchRequest, batch_response: JSONRPCBatchResponse) -> tuple[Any, ...]:
    """One value per request, in request order: the result, or the error instance (not raised).

    A notification, or a request the peer did not answer, gets the results that matched no id
    (:class:`JSONRPCUnlinkedResults`, e.g. an Invalid Request error) or ``None``; an id answered more than
    once gets :class:`JSONRPCDuplicatedResults`.
    """
    unlinked = JSONRPCUnlinkedResults()
    by_id: dict[Any, Any] = {}
    for response in batch_response.responses:
        value = response.result if response.error is None else response.error
        if response.id is None:
            unlinked.add(value)
        elif response.id not in by_id:
            by_id[response.id] = value
        elif isinstance(by_id[response.id], JSONRPCDuplicatedResults):
            by_id[response.id].add(value)
        else:
            by_id[response.id] = JSONRPCDuplicatedResults([by_id[response.id], value])

    fallback = unlinked or None
    return tuple(
        fallback if request.is_notification else by_id.get(request.id, fallback) for request in batch_request.requests
    )
