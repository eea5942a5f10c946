"""Method wrappers: what a registry holds and a dispatcher calls.

Everything that can be known about a callable is worked out once, when it is wrapped: whether it is a
coroutine function, its signature (used only when a call fails, to tell bad params from a bug inside).
"""

from __future__ import annotations

import abc
import asyncio
import copy
import dis
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from ..constants import NOTHING
from ..errors import InvalidParams, JSONRPCError, ServerConfigurationError
from .params import (
    ParamSpec,
    ParamsValidator,
    misfit,
    raw_annotations,
    read_params,
    read_return_annotation,
    type_hints,
)
from .progress import Progress

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest

__all__ = ('CONTEXT_KEY', 'CONTEXT_PARAM', 'DEFAULT_SLOW_CALL_THRESHOLD', 'BaseJSONRPCMethod', 'Guard', 'JSONRPCMethod')

logger = logging.getLogger('aiohttp_rpc.methods')

DEFAULT_SLOW_CALL_THRESHOLD = 0.1
"""Seconds a sync method may hold the event loop before it is logged."""

CONTEXT_PARAM = 'rpc_context'
"""A method parameter of this name receives the request context."""

CONTEXT_KEY = 'rpc_context'
"""The ``extra_kwargs`` key the dispatcher puts the request context under."""

REQUEST_KEY = 'rpc_request'
"""The ``extra_kwargs`` key of the request itself (what ``inject_request_middleware`` sets)."""

Guard = Callable[['JSONRPCRequest'], 'bool | Awaitable[bool]']
"""``async def guard(rpc_request) -> bool`` (or sync); may also raise a ``JSONRPCError``."""

PrepareResult = Callable[[Any], Any]


class BaseJSONRPCMethod(abc.ABC):
    """The interface a dispatcher calls: subclass it to serve something that is not a plain callable.

    Attributes:
        name: the name clients call it by.
    """

    name: str
    #: Checks run before the method (see :mod:`aiohttp_rpc.guards`); a failed one answers -32001.
    guards: tuple[Guard, ...] = ()
    #: The parameter that receives the request context (see ``context_factory``), if any.
    context_param: str | None = None

    #: Awaiting a call of this method runs it to its end at once: its code never awaits (so it may run inline in
    #: a reader that must not wait). False unless known.
    cannot_suspend: bool = False

    @property
    def takes_extra_kwargs(self) -> bool:
        """Whether the method reads the ``extra_kwargs`` it is called with (``rpc_request``, the request context).
        True unless a subclass knows better: a dispatcher may call a method that does not without them."""
        return True

    @property
    def wants_request(self) -> bool:
        """Whether calls must pass the request itself as ``extra_kwargs['rpc_request']``; a dispatcher then does,
        with or without ``inject_request_middleware``."""
        return False

    @property
    def bare(self) -> Callable[..., Coroutine[Any, Any, Any]] | None:
        """A coroutine function that calling this method without ``extra_kwargs`` comes down to, or ``None``.

        When it is given, ``bare(*args, **kwargs)`` does all that ``self(args, kwargs)`` would, and a dispatcher may
        call it instead, saving a frame per call; if that call raises ``TypeError``, the dispatcher calls the method
        itself, which tells params that do not fit (``InvalidParams``) from other failures.
        """
        return None

    def companions(self, name: str) -> tuple[BaseJSONRPCMethod, ...]:
        """Methods served alongside this one when it is served as ``name``, each under its own name (a
        subscription's unsubscribe method). None by default."""
        return ()

    def bind(self, *, validate: bool, context_type: object, executor: Executor | None = None) -> BaseJSONRPCMethod:
        """The method as a server with these defaults serves it: whether to validate params, the type of its
        request context (``None`` without a ``context_factory``), and the executor for sync methods that have none
        of their own (``sync_executor``). Called once, when the method is registered; the method itself is never
        changed. By default the method as it is.

        Raises:
            ServerConfigurationError: the defaults cannot be applied (e.g. validation without pydantic).
        """
        return self

    @abc.abstractmethod
    def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Awaitable[Any]:
        """Run the method: an awaitable of its JSON-serializable result (implement it as ``async def``).

        Raises:
            JSONRPCError: sent to the caller as the error of the reply.
        """

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.name})'


class JSONRPCMethod(BaseJSONRPCMethod):
    """A function, coroutine function or class served as a JSON-RPC method.

    Args:
        func: the callable; sync and async both work, and a sync one returning an awaitable is awaited.
        name: the method name; defaults to ``func.__name__``.
        pass_extra_kwargs: pass the request's ``extra_kwargs`` (e.g. ``rpc_request`` from
            ``inject_request_middleware``) as keyword arguments.
        prepare_result: a sync or async callable applied to the result before it is sent.
        executor: run a sync ``func`` in this ``concurrent.futures.Executor`` (e.g. a thread pool) instead of
            on the event loop.
        slow_call_threshold: a sync ``func`` run on the event loop that takes longer than this many seconds
            is logged (with its name) as holding up the loop; ``None`` never logs.
        validate: check params against the type annotations with pydantic (``pip install
            "aiohttp-rpc[typed]"``) and pass converted values; a failed check answers -32602 listing each
            problem. ``None`` follows the server's ``validate_params``.
        guards: checks run before the method: ``async def guard(rpc_request) -> bool`` (or sync, or
            raising a ``JSONRPCError``); a guard returning false answers -32001 Access denied.
        errors: the ``JSONRPCError`` classes the method may raise, for the generated documentation.
        summary, description: documentation; by default the first line and the rest of the docstring.

    A parameter annotated with the server's context type, or named ``rpc_context``, receives the request
    context (see ``JSONRPCServer(context_factory=...)``) and is not an RPC parameter.

    Calling with the wrong number of arguments or an unknown keyword gives
    :class:`~aiohttp_rpc.errors.InvalidParams`; a ``TypeError`` raised *inside* the function is a bug, and
    the dispatcher answers it with Internal error.

    Example::

        server.add_method(JSONRPCMethod(zip, prepare_result=list))
    """

    func: Callable[..., Any]
    is_coroutine: bool
    is_class: bool

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        pass_extra_kwargs: bool = False,
        prepare_result: PrepareResult | None = None,
        executor: Executor | None = None,
        slow_call_threshold: float | None = DEFAULT_SLOW_CALL_THRESHOLD,
        validate: bool | None = None,
        guards: Iterable[Guard] = (),
        errors: Iterable[type[JSONRPCError]] = (),
        summary: str | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(func):
            raise ServerConfigurationError(data={'details': f'{func!r} is not callable.'})
        if name is None:
            name = getattr(func, '__name__', None)
            if not isinstance(name, str):
                raise ServerConfigurationError(data={'details': f'Give a name for {func!r}.'})
        self.func = func
        self.name = name
        self._pass_extra_kwargs = pass_extra_kwargs
        self._prepare_result = prepare_result
        self.is_class = inspect.isclass(func)
        self.is_coroutine = inspect.iscoroutinefunction(func)
        self._executor = None if self.is_coroutine else executor
        self._slow_call_threshold = slow_call_threshold
        try:
            self._signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # some builtins and C types publish no signature
            self._signature = None
        self.guards = tuple(guards)
        self.errors = tuple(errors)
        doc_summary, doc_description = _split_docstring(inspect.getdoc(func) if not self.is_class else None)
        self.summary = doc_summary if summary is None else summary
        self.description = doc_description if description is None else description
        self._validate = validate
        self._validator: ParamsValidator | None = None
        self._params: tuple[str | None, tuple[ParamSpec, ...]] | None = None
        # Called without a wrapper coroutine when nothing needs doing after it (see __call__); a decorated
        # function (``__wrapped__``) keeps the wrapper, so its signature errors are still told apart.
        self._direct = (
            self.is_coroutine
            and prepare_result is None
            and self._signature is not None
            and not hasattr(func, '__wrapped__')
        )
        # A coroutine with no await in its own code runs to its end in one step: safe to run inline anywhere.
        self.cannot_suspend = self._direct and _cannot_suspend(func)
        self.context_param = CONTEXT_PARAM if self._signature and CONTEXT_PARAM in self._signature.parameters else None
        self.progress_param = self._find_progress_param()
        self._wants_request = bool(pass_extra_kwargs and self._signature and REQUEST_KEY in self._signature.parameters)
        self._context_index = self._positional_index(self.context_param)
        if validate:
            self._validator = ParamsValidator(self.name, self._strict_params())

    @property
    def takes_extra_kwargs(self) -> bool:
        """Whether calls pass ``extra_kwargs`` on: with ``pass_extra_kwargs``, or to a context or progress
        parameter."""
        return self._pass_extra_kwargs or self.context_param is not None or self.progress_param is not None

    @property
    def wants_request(self) -> bool:
        """True for ``pass_extra_kwargs=True`` with a parameter named ``rpc_request``, and for a method with a
        :class:`~aiohttp_rpc.Progress` parameter."""
        return self._wants_request or self.progress_param is not None

    @property
    def bare(self) -> Callable[..., Coroutine[Any, Any, Any]] | None:
        """The coroutine function itself, when a call is nothing more than calling it: an ``async def`` with no
        validation, result preparation, context parameter or decorator; else this method, taking the params
        spread out (see :attr:`BaseJSONRPCMethod.bare`): calling that runs only the params' validation, and the
        function itself in the coroutine's first step. ``None`` for a subclass with a ``__call__`` of its own,
        which every call must reach."""
        if type(self).__call__ is not JSONRPCMethod.__call__:
            return None
        if self._direct and self._validator is None and self.context_param is None and self.progress_param is None:
            return self.func
        return self._spread

    def _spread(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        return self(args, kwargs)

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        """The JSON-RPC parameters (injected ``rpc_request`` and context parameters left out); read from the
        signature once per context parameter, not on every access."""
        cached = self._params
        if cached is None or cached[0] != self.context_param:
            cached = self._params = (self.context_param, read_params(self.func, hidden=self._hidden_params()))
        return cached[1]

    @property
    def result_annotation(self) -> Any:
        """The resolved return annotation (``typing.Any`` when there is none)."""
        return read_return_annotation(self.func)

    @property
    def validates(self) -> bool:
        """Whether params are checked against the annotations."""
        return self._validator is not None

    def bind(self, *, validate: bool, context_type: object, executor: Executor | None = None) -> JSONRPCMethod:
        """The method as a server with these defaults serves it (see :meth:`BaseJSONRPCMethod.bind`): this object
        when they change nothing (the common case), else a new one with its own context parameter, validator and
        executor, so that a method shared by servers (a group on an HTTP and a WebSocket server) serves each as it
        wants. A sync method given no ``executor`` of its own runs in the server's.

        Raises:
            ServerConfigurationError: validation is wanted but cannot be set up (pydantic missing,
                annotations that cannot be resolved, a type pydantic cannot check).
        """
        context_param = self.context_param
        if context_type is not None and self._signature is not None:
            context_param = self._find_context_param(context_type) or context_param
        wanted = self._validate if self._validate is not None else validate
        # Only annotated methods are validated: an untyped one behaves as in 2.0, whatever the default.
        validates = bool(wanted and (self._validate or self._is_annotated()))
        own_executor = self._executor if self._executor is not None or self.is_coroutine else executor
        if (
            context_param == self.context_param
            and validates == (self._validator is not None)
            and own_executor is self._executor
        ):
            return self
        bound = copy.copy(self)
        bound._executor = own_executor
        bound.context_param = context_param
        bound._context_index = bound._positional_index(context_param)
        bound._params = None
        bound._validator = ParamsValidator(bound.name, bound._strict_params()) if validates else None
        return bound

    def _find_context_param(self, context_type: object) -> str | None:
        assert self._signature is not None
        hints = type_hints(self.func)
        written = raw_annotations(self.func)
        type_name = getattr(context_type, '__name__', None)
        for name in self._signature.parameters:
            if name == CONTEXT_PARAM or hints.get(name) is context_type:
                return name
            if name not in hints and type_name is not None and written.get(name) == type_name:
                return name  # annotation unresolvable here (e.g. imported under TYPE_CHECKING) but named
        return None

    def _positional_index(self, name: str | None) -> int | None:
        """Where ``name`` sits among the parameters that can be given by position (``None`` if nowhere)."""
        if name is None or self._signature is None:
            return None
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [p.name for p in self._signature.parameters.values() if p.kind in positional]
        return names.index(name) if name in names else None

    def _is_annotated(self) -> bool:
        annotations = raw_annotations(self.func)
        annotations.pop('return', None)
        return bool(annotations)

    def _hidden_params(self) -> set[str]:
        """The parameters that are not RPC params: injected values."""
        injected = (self.context_param, self.progress_param, 'rpc_request' if self._pass_extra_kwargs else None)
        return {name for name in injected if name}

    def _strict_params(self) -> tuple[ParamSpec, ...]:
        return read_params(self.func, hidden=self._hidden_params(), strict=True)

    def _find_progress_param(self) -> str | None:
        """The parameter annotated :class:`~aiohttp_rpc.Progress`, if any.

        Raises:
            ServerConfigurationError: a positional RPC param follows it (it could not be given by position).
        """
        if self._signature is None or self.is_class:
            return None
        hints = type_hints(self.func)
        written = raw_annotations(self.func)
        found = None
        for name, parameter in self._signature.parameters.items():
            if found is None:
                if hints.get(name) is Progress or written.get(name) in ('Progress', 'aiohttp_rpc.Progress'):
                    found = name
            elif parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
                raise ServerConfigurationError(
                    data={'details': f'{self.name}: put the Progress parameter {found!r} after the RPC params.'}
                )
        return found

    def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Coroutine[Any, Any, Any]:
        validator = self._validator
        if validator is not None:
            args, kwargs = validator.validate(args, kwargs)
        if self.progress_param is not None:
            request = extra_kwargs.get(REQUEST_KEY) if extra_kwargs else None
            kwargs = {**kwargs, self.progress_param: Progress.of(request)}
        if extra_kwargs:
            if self._pass_extra_kwargs:
                kwargs = {**kwargs, **extra_kwargs}
                context = kwargs.pop(CONTEXT_KEY, NOTHING)
            else:
                context = extra_kwargs.get(CONTEXT_KEY, NOTHING)
            if context is not NOTHING and self.context_param is not None:
                index = self._context_index
                if index is not None and validator is None and len(args) >= index and self.context_param not in kwargs:
                    # The context parameter sits among the positional ones: slot it in by position, so the
                    # positional params go to the parameters after it.
                    args = (*args[:index], context, *args[index:])
                else:
                    kwargs = {**kwargs, self.context_param: context}
        if self._direct:
            # A plain coroutine function: its own coroutine is the awaitable, with no wrapper frame.
            # Arguments that do not fit raise TypeError right here; one raised while it runs is a bug.
            try:
                return self.func(*args, **kwargs)  # type: ignore[no-any-return]
            except TypeError as exc:
                if self._is_bad_call(exc, args, kwargs):
                    raise self._invalid_params(args, kwargs) from exc
                raise
        return self._call(args, kwargs)

    async def _call(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            if self.is_coroutine:
                result = await self.func(*args, **kwargs)
            else:
                if self._executor is not None:
                    call = functools.partial(self.func, *args, **kwargs)
                    result = await asyncio.get_running_loop().run_in_executor(self._executor, call)
                else:
                    started = time.perf_counter()
                    result = self.func(*args, **kwargs)
                    held = time.perf_counter() - started
                    if self._slow_call_threshold is not None and held > self._slow_call_threshold:
                        logger.warning(
                            'Sync method %r held the event loop for %.0f ms; consider an executor',
                            self.name,
                            held * 1000,
                        )
                if inspect.isawaitable(result):  # a sync function may hand back an awaitable
                    result = await result
        except TypeError as exc:
            if self._is_bad_call(exc, args, kwargs):
                raise self._invalid_params(args, kwargs) from exc
            raise
        prepare = self._prepare_result
        if prepare is not None:
            result = prepare(result)
            if inspect.isawaitable(result):
                result = await result
        return result

    def _invalid_params(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> InvalidParams:
        """-32602 saying which params do not fit and how (see :func:`~aiohttp_rpc.methods.params.misfit`); bare
        for a callable that publishes no signature, whose ``TypeError`` text is not ours to send."""
        if self._signature is None:
            return InvalidParams()
        problems = misfit(self._signature, args, kwargs)
        logger.debug('Params do not fit method %r: %s', self.name, problems)
        return InvalidParams(data={'errors': problems}) if problems else InvalidParams()

    def _is_bad_call(self, exc: TypeError, args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
        """Tell "these arguments do not fit the signature" from a ``TypeError`` raised inside the function.

        Runs only after a ``TypeError``, so successful calls never pay for ``Signature.bind``.
        """
        if self._signature is not None:
            try:
                self._signature.bind(*args, **kwargs)
            except TypeError:
                return True
            return False
        # No signature (a C callable): an error raised by the call itself has no deeper frame.
        traceback = exc.__traceback__
        return traceback is not None and traceback.tb_next is None


_SUSPENDING_OPS = frozenset(
    ('YIELD_VALUE', 'YIELD_FROM', 'SEND', 'GET_AWAITABLE', 'GET_AITER', 'GET_ANEXT', 'BEFORE_ASYNC_WITH')
)


def _cannot_suspend(func: Callable[..., Any]) -> bool:
    """Whether the coroutine function ``func`` can never suspend: a coroutine only suspends at an await (or
    ``async for`` / ``async with``) in its own code, and this one has none."""
    code = getattr(func, '__code__', None)
    if code is None:
        return False
    return not any(instruction.opname in _SUSPENDING_OPS for instruction in dis.get_instructions(code))


def _split_docstring(doc: str | None) -> tuple[str | None, str | None]:
    """``(first paragraph as one line, the rest)`` of a cleaned docstring."""
    if not doc:
        return None, None
    first, _, rest = doc.strip().partition('\n\n')
    return ' '.join(first.split()), (rest.strip() or None)
