"""Method wrappers: what a registry holds and a dispatcher calls.

Everything that can be known about a callable is worked out once, when it is wrapped: whether it is a
coroutine function, its signature (used only when a call fails, to tell bad params from a bug inside).
"""

from __future__ import annotations

import abc
import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from ..errors import InvalidParams, ServerConfigurationError

__all__ = ('DEFAULT_SLOW_CALL_THRESHOLD', 'BaseJSONRPCMethod', 'JSONRPCMethod')

logger = logging.getLogger('aiohttp_rpc.methods')

DEFAULT_SLOW_CALL_THRESHOLD = 0.1
"""Seconds a sync method may hold the event loop before it is logged."""

PrepareResult = Callable[[Any], Any]


class BaseJSONRPCMethod(abc.ABC):
    """The interface a dispatcher calls: subclass it to serve something that is not a plain callable.

    Attributes:
        name: the name clients call it by.
    """

    name: str

    @abc.abstractmethod
    async def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run the method and return its JSON-serializable result.

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

    async def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        if self._pass_extra_kwargs and extra_kwargs:
            kwargs = {**kwargs, **extra_kwargs}
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
                raise InvalidParams() from exc
            raise
        prepare = self._prepare_result
        if prepare is not None:
            result = prepare(result)
            if inspect.isawaitable(result):
                result = await result
        return result

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
