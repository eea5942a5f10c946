"""The base every server transport builds on: a dispatcher, an aiohttp handler, and the access checks."""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Coroutine, Iterable, Mapping, MutableMapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..deprecation import warn_deprecated
from ..dispatch.context import ContextFactory
from ..dispatch.dispatcher import (
    DEFAULT_BATCH_CONCURRENCY,
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_METHOD_LENGTH,
    Dispatcher,
)
from ..dispatch.encoder import DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_RESPONSE_SIZE
from ..dispatch.pipeline import OnWait
from ..methods.method import BaseJSONRPCMethod, Guard
from ..methods.registry import ApiInfo, MethodDescription
from ..schema.discovery import add_discovery
from ..schema.openrpc import DEFAULT_TITLE, DEFAULT_VERSION
from ..serialization import JSONCodec, json_deserialize, json_serialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from .docs import mount_docs
from .origins import HOST_NOT_ALLOWED, ORIGIN_NOT_ALLOWED, HostPolicy, OriginPolicy, origin_policies_of

if TYPE_CHECKING:
    from ..methods.group import MethodGroup

__all__ = ('BaseJSONRPCServer',)


class BaseJSONRPCServer(abc.ABC):
    """A :class:`~aiohttp_rpc.dispatch.Dispatcher` behind an aiohttp handler.

    Subclasses build the dispatcher from their options and implement :meth:`handle_http_request`; method
    registration (``add_method(s)``, ``methods``, ``middlewares``, ...) is the dispatcher's, offered here under
    the 2.0 names. Every request first passes :meth:`check_access`: the ``Host`` allow-list, the ``Origin``
    policy, and any ``check_origins(...)`` middleware, all before the body is read.

    Args:
        allowed_origins: accepted ``Origin`` values (``None`` in it admits requests without one), or ``'*'``.
        allowed_hosts: accepted ``Host`` values (``'api.example.com'``, ``'*.example.com'``); ``None``: any.
        json_serialize, json_deserialize, middlewares, methods, max_batch, batch_concurrency, call_timeout,
        max_response_size, max_batch_response_size, max_method_length, strict_floats, sync_executor,
        validate_params, context_factory, context_type, guards, allow_late_methods: the dispatcher's options; see
        :class:`~aiohttp_rpc.dispatch.Dispatcher`.

    Attributes:
        dispatcher: the :class:`~aiohttp_rpc.dispatch.Dispatcher`.
    """

    #: The policy used when ``allowed_origins`` is not given (``None``: no Origin check).
    default_origin_policy: OriginPolicy | None = None

    def __init__(
        self,
        *,
        allowed_origins: Iterable[str | None] | str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        middlewares: Iterable[MiddlewareType] = (),
        methods: MutableMapping[str, BaseJSONRPCMethod] | None = None,
        max_batch: int | None = DEFAULT_MAX_BATCH,
        batch_concurrency: int | None = DEFAULT_BATCH_CONCURRENCY,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        max_batch_response_size: int | None = DEFAULT_MAX_BATCH_RESPONSE_SIZE,
        max_method_length: int | None = DEFAULT_MAX_METHOD_LENGTH,
        strict_floats: bool = True,
        sync_executor: Executor | None = None,
        validate_params: bool = False,
        context_factory: ContextFactory | None = None,
        context_type: object = None,
        guards: Iterable[Guard] = (),
        allow_late_methods: bool = False,
    ) -> None:
        self.dispatcher = Dispatcher(
            json_serialize=json_serialize,
            json_deserialize=json_deserialize,
            middlewares=middlewares,
            methods=methods,
            max_batch=max_batch,
            batch_concurrency=batch_concurrency,
            call_timeout=call_timeout,
            max_response_size=max_response_size,
            max_batch_response_size=max_batch_response_size,
            max_method_length=max_method_length,
            strict_floats=strict_floats,
            sync_executor=sync_executor,
            validate_params=validate_params,
            context_factory=context_factory,
            context_type=context_type,
            guards=guards,
            allow_late_methods=allow_late_methods,
        )
        self.allowed_origins = allowed_origins
        self.allowed_hosts = allowed_hosts
        self.api_info: ApiInfo | None = None  # what add_discovery() says about the API
        origin_policy = self.default_origin_policy if allowed_origins is None else OriginPolicy(allowed_origins)
        origin_policies = [*([origin_policy] if origin_policy else []), *origin_policies_of(self.middlewares)]
        self._origin_policies = tuple(origin_policies)
        self._host_policy = HostPolicy(allowed_hosts) if allowed_hosts is not None else None
        self._has_access_checks = self._host_policy is not None or bool(self._origin_policies)

    # -- the dispatcher, under the 2.0 names ----------------------------------------------------------------

    @property
    def methods(self) -> MutableMapping[str, BaseJSONRPCMethod]:
        """The served methods by name (:attr:`Dispatcher.methods <aiohttp_rpc.dispatch.Dispatcher.methods>`)."""
        return self.dispatcher.methods

    @property
    def middlewares(self) -> tuple[MiddlewareType, ...]:
        """The middlewares, outermost first."""
        return self.dispatcher.middlewares

    @property
    def codec(self) -> JSONCodec:
        """The JSON codec."""
        return self.dispatcher.codec

    def add_method(
        self, method: MethodDescription, *, replace: bool = False, allow_reserved: bool = False
    ) -> BaseJSONRPCMethod:
        """Serve ``method``; see :meth:`Dispatcher.add_method <aiohttp_rpc.dispatch.Dispatcher.add_method>`.

        Raises:
            ServerConfigurationError: the name is taken and ``replace`` is false, or it is reserved.
        """
        return self.dispatcher.add_method(method, replace=replace, allow_reserved=allow_reserved)

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False, allow_reserved: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve several methods; see :meth:`add_method`."""
        return self.dispatcher.add_methods(methods, replace=replace, allow_reserved=allow_reserved)

    def add_group(self, prefix: str, group: MethodGroup, *, replace: bool = False) -> MethodGroup:
        """Serve ``group``'s methods as ``prefix.name``; see
        :meth:`Dispatcher.add_group <aiohttp_rpc.dispatch.Dispatcher.add_group>`."""
        return self.dispatcher.add_group(prefix, group, replace=replace)

    def add_api(
        self, api: Callable[..., Any], impl: object, *, prefix: str | None = None, validate: bool = True
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve ``impl`` as the ``typing.Protocol`` ``api`` says; see
        :meth:`Dispatcher.add_api <aiohttp_rpc.dispatch.Dispatcher.add_api>`.

        Example::

            server.add_api(CalcAPI, Calc(), prefix='calc')     # calc.add, calc.ticks, ...
        """
        return self.dispatcher.add_api(api, impl, prefix=prefix, validate=validate)

    def tags_of(self, name: str) -> tuple[str, ...]:
        """The prefixes of the groups method ``name`` is served under, outermost first."""
        return self.dispatcher.tags_of(name)

    def describe_tag(self, tag: str) -> str | None:
        """The description of the group served under the prefix ``tag``, if it has one."""
        return self.dispatcher.describe_tag(tag)

    def guards_of(self, name: str) -> tuple[Guard, ...]:
        """Every guard a call of ``name`` must pass: the server's, its groups', its own."""
        return self.dispatcher.guards_of(name)

    async def call(
        self,
        method_name: str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
        extra_args: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a registered method directly (no middlewares) and return its result. ``extra_args`` is the
        1.x name of ``extra_kwargs`` (deprecated).

        Raises:
            MethodNotFound: no method has that name.
            JSONRPCError: whatever the method raised.
        """
        if extra_args is not None:
            warn_deprecated('call(extra_args=...)', 'call(extra_kwargs=...)')
            extra_kwargs = extra_args
        return await self.dispatcher.call(method_name, args=args, kwargs=kwargs, extra_kwargs=extra_kwargs)

    def get_methods(self) -> dict[str, dict[str, Any]]:
        """1.x (deprecated): ``{name: {'doc': ..., 'args': [...], 'kwargs': [...]}}`` for every method; 2.0
        code reads :attr:`methods`, and clients the ``rpc.discover`` document (:meth:`add_discovery`)."""
        warn_deprecated('get_methods()', 'server.methods, or rpc.discover for clients (add_discovery())')
        describe = importlib.import_module('aiohttp_rpc.legacy.protocol').describe
        return {name: describe(method) for name, method in self.methods.items()}

    def get_method(self, name: str) -> dict[str, Any] | None:
        """1.x (deprecated): what :meth:`get_methods` tells about one method, or ``None``."""
        warn_deprecated('get_method(name)', 'server.methods[name]')
        method = self.methods.get(name)
        return None if method is None else importlib.import_module('aiohttp_rpc.legacy.protocol').describe(method)

    def dispatch(
        self, data: bytes | str, context: Mapping[str, object] | None = None, *, on_wait: OnWait | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        """Answer one raw message in process; see :meth:`Dispatcher.dispatch
        <aiohttp_rpc.dispatch.Dispatcher.dispatch>`.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        return self.dispatcher.dispatch(data, context, on_wait=on_wait)

    def dispatch_message(
        self, message: object, context: Mapping[str, object] | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        """:meth:`dispatch` for a message already decoded.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        return self.dispatcher.dispatch_message(message, context)

    # -- access ---------------------------------------------------------------------------------------------

    def check_access(self, http_request: web.BaseRequest) -> None:
        """Refuse a request from a host or origin that is not allowed.

        Raises:
            web.HTTPForbidden: the ``Host`` or the ``Origin`` is not allowed.
        """
        if self._host_policy is not None and not self._host_policy.allows(http_request):
            raise web.HTTPForbidden(reason=HOST_NOT_ALLOWED, text=HOST_NOT_ALLOWED)
        for policy in self._origin_policies:
            if not policy.allows(http_request):
                raise web.HTTPForbidden(reason=ORIGIN_NOT_ALLOWED, text=ORIGIN_NOT_ALLOWED)

    def add_discovery(
        self,
        *,
        title: str = DEFAULT_TITLE,
        version: str = DEFAULT_VERSION,
        description: str | None = None,
        servers: Iterable[Mapping[str, Any]] | None = None,
        list_all: bool = False,
    ) -> None:
        """Serve ``rpc.discover``, the OpenRPC service discovery method: it returns a document describing every
        method the caller may call, with the JSON Schema of its params and result (with pydantic, the ``typed``
        extra).

        Args:
            title, version, description: the document's ``info`` (the API's name and version, not the library's);
                kept as :attr:`api_info`, which ``/openrpc.json``, the console and ``aiohttp-rpc serve`` show too.
            servers: OpenRPC Server Objects, e.g. ``[{'name': 'production', 'url': 'https://api.example.com/rpc'}]``.
            list_all: list every method, also those whose guards refuse the caller; see
                :func:`aiohttp_rpc.schema.add_discovery`.

        Raises:
            ServerConfigurationError: ``rpc.discover`` is already served.

        Example::

            server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
            server.add_methods([add, subtract])
            server.add_discovery(title='Calculator', version='2.1.0')
        """
        add_discovery(self, title=title, version=version, description=description, servers=servers, list_all=list_all)

    def mount_docs(self, app: web.Application, **options: Any) -> None:
        """Serve the API console (``GET /docs``) and the OpenRPC document (``GET /openrpc.json``) on ``app``.

        Options (all keyword): ``endpoint`` (where this server is mounted, ``'/rpc'``), ``path``,
        ``openrpc_path``, ``title``, ``version``, ``description``, ``list_all``; see
        :func:`aiohttp_rpc.server.docs.mount_docs`.
        """
        mount_docs(app, self, **options)

    @abc.abstractmethod
    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """The aiohttp handler to mount on a route."""
