"""The base every server transport builds on: a dispatcher plus an aiohttp request handler."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from ..dispatch.dispatcher import Dispatcher

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ('BaseJSONRPCServer',)


class BaseJSONRPCServer(Dispatcher, abc.ABC):
    """A :class:`~aiohttp_rpc.dispatch.Dispatcher` that aiohttp can route requests to.

    Subclasses implement :meth:`handle_http_request`; method registration, middlewares and the protocol are
    the dispatcher's.
    """

    @abc.abstractmethod
    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """The aiohttp handler to mount on a route."""
