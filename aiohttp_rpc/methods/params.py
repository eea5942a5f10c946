"""What a method takes, read once from its signature, and (optionally) checking params against it.

:func:`read_params` turns a signature into :class:`ParamSpec` entries (used by validation and by the schema
generators). :class:`ParamsValidator` builds one pydantic model from them at registration and validates
positional and named params with it on each call; pydantic is an optional dependency
(``pip install aiohttp-rpc[typed]``), needed only when validation is asked for.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..constants import NOTHING
from ..errors import InvalidParams, ServerConfigurationError

__all__ = (
    'ParamSpec',
    'ParamsValidator',
    'misfit',
    'raw_annotations',
    'read_params',
    'read_return_annotation',
    'type_hints',
)

_KIND = inspect.Parameter


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter a method takes over JSON-RPC.

    Attributes:
        name: the parameter name (the key in by-name params).
        kind: ``inspect.Parameter`` kind (positional-only, keyword-only, ``*args``, ``**kwargs``...).
        annotation: the resolved type annotation (``typing.Any`` when there is none).
        default: the default value, or ``NOTHING`` when the parameter is required.
    """

    name: str
    kind: inspect._ParameterKind
    annotation: Any
    default: Any = NOTHING

    @property
    def required(self) -> bool:
        """True when the caller must give it (no default, not ``*args``/``**kwargs``)."""
        return self.default is NOTHING and self.kind not in (_KIND.VAR_POSITIONAL, _KIND.VAR_KEYWORD)


def type_hints(func: Callable[..., Any], *, strict: bool = False) -> dict[str, Any]:
    """Resolved annotations of ``func`` (string annotations evaluated; for a class its ``__init__``, for
    another callable object its ``__call__``); ``{}`` when they cannot be resolved, unless ``strict``.

    Raises:
        ServerConfigurationError: ``strict`` and an annotation names something that cannot be resolved.
    """
    if inspect.isclass(func):
        target: Any = func.__init__
    elif inspect.isfunction(func) or inspect.ismethod(func) or not callable(func):
        target = func
    else:
        target = getattr(func, '__call__', func)  # noqa: B004 - a callable object's own signature
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:  # unresolvable annotations (e.g. names imported under TYPE_CHECKING)
        if strict:
            name = getattr(func, '__qualname__', repr(func))
            details = f'Cannot resolve the annotations of {name}: {exc}'
            raise ServerConfigurationError(data={'details': details}) from exc
        return {}


def raw_annotations(func: Callable[..., Any]) -> dict[str, Any]:
    """The annotations as written (strings under ``from __future__ import annotations``)."""
    target = func.__init__ if inspect.isclass(func) else func
    return dict(getattr(target, '__annotations__', None) or {})


def read_params(
    func: Callable[..., Any], *, hidden: Collection[str] = (), strict: bool = False
) -> tuple[ParamSpec, ...]:
    """The JSON-RPC parameters of ``func``, in order, leaving out ``hidden`` names (injected values such as
    ``rpc_request`` or the request context) and a class's ``self``.

    Raises:
        ServerConfigurationError: ``strict`` and the annotations cannot be resolved.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return ()
    hints = type_hints(func, strict=strict)
    return tuple(
        ParamSpec(
            name=name,
            kind=parameter.kind,
            annotation=hints.get(name, Any),
            default=NOTHING if parameter.default is _KIND.empty else parameter.default,
        )
        for name, parameter in signature.parameters.items()
        if name not in hidden
    )


def read_return_annotation(func: Callable[..., Any]) -> Any:
    """The resolved return annotation of ``func`` (``typing.Any`` when there is none)."""
    if inspect.isclass(func):
        return func
    return type_hints(func).get('return', Any)


class ParamsValidator:
    """Checks and converts params against the types in a signature, with one pydantic model built here.

    Positional params are matched to parameter names in order (extra ones go to ``*args``), named params by
    name (unknown ones go to ``**kwargs``, or are refused). Values come back converted: a dict for a dataclass
    parameter becomes the dataclass, an ISO string for a ``datetime`` becomes a ``datetime``, and so on.

    Raises:
        ServerConfigurationError: pydantic is not installed, or a type cannot be validated.
    """

    def __init__(self, name: str, params: Sequence[ParamSpec]) -> None:
        try:
            import pydantic  # an optional dependency: imported only when validation is asked for
        except ImportError as exc:
            raise ServerConfigurationError(
                data={'details': f'Validating {name!r} needs pydantic: pip install "aiohttp-rpc[typed]".'}
            ) from exc
        self._positional = tuple(
            p.name for p in params if p.kind in (_KIND.POSITIONAL_ONLY, _KIND.POSITIONAL_OR_KEYWORD)
        )
        self._positional_only = frozenset(p.name for p in params if p.kind is _KIND.POSITIONAL_ONLY)
        self._named = frozenset(p.name for p in params if p.kind in (_KIND.POSITIONAL_OR_KEYWORD, _KIND.KEYWORD_ONLY))
        self._var_positional = next((p.name for p in params if p.kind is _KIND.VAR_POSITIONAL), None)
        self._var_keyword = next((p.name for p in params if p.kind is _KIND.VAR_KEYWORD), None)
        fields: dict[str, Any] = {}
        for param in params:
            if param.kind is _KIND.VAR_POSITIONAL:
                fields[param.name] = (list[param.annotation], [])  # type: ignore[name-defined]
            elif param.kind is _KIND.VAR_KEYWORD:
                fields[param.name] = (dict[str, param.annotation], {})  # type: ignore[name-defined]
            else:
                fields[param.name] = (param.annotation, ... if param.default is NOTHING else param.default)
        config = pydantic.ConfigDict(extra='forbid', arbitrary_types_allowed=True)
        try:
            self._model = pydantic.create_model(f'{name}Params', __config__=config, **fields)
        except Exception as exc:  # pydantic reports unsupported types in several ways
            details = f'Cannot validate the params of {name!r}: {exc}'
            raise ServerConfigurationError(data={'details': details}) from exc
        self._validation_error = pydantic.ValidationError

    def validate(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Check ``args``/``kwargs`` and return them converted.

        Raises:
            InvalidParams: with ``data={'errors': [{'path': [...], 'message': ..., 'type': ...}, ...]}``.
        """
        data: dict[str, Any] = dict(zip(self._positional, args, strict=False))
        problems: list[dict[str, Any]] = []
        if len(args) > len(self._positional):
            if self._var_positional is None:
                problems.append(
                    {
                        'path': [],
                        'message': f'Expected at most {len(self._positional)} positional params, got {len(args)}',
                        'type': 'too_many_positional',
                    }
                )
            else:
                data[self._var_positional] = list(args[len(self._positional) :])
        extra: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in data and key not in self._positional_only:
                problems.append({'path': [key], 'message': 'Given both by position and by name', 'type': 'duplicate'})
            elif key in self._named:
                data[key] = value
            elif key in self._positional_only and self._var_keyword is None:
                data[key] = value  # checked as usual, but refused for arriving by name
                problems.append(
                    {'path': [key], 'message': 'Positional-only; give it by position', 'type': 'positional_only'}
                )
            elif self._var_keyword is not None:
                extra[key] = value
            else:
                data[key] = value  # refused by the model as an unexpected param, with its name in the path
        if extra:
            data[self._var_keyword] = extra  # type: ignore[index]
        try:
            validated = self._model.model_validate(data)
        except self._validation_error as exc:
            problems.extend(
                {'path': list(error['loc']), 'message': error['msg'], 'type': error['type']}
                for error in exc.errors(include_url=False, include_context=False, include_input=False)
            )
        if problems:
            raise InvalidParams(data={'errors': problems})
        values = {name: getattr(validated, name) for name in type(validated).model_fields}
        if self._var_positional is not None:  # every positional parameter must then go by position
            call_args = [values.pop(name) for name in self._positional]
            call_args.extend(values.pop(self._var_positional))
        else:
            call_args = [values.pop(name) for name in self._positional if name in self._positional_only]
        if self._var_keyword is not None:
            values.update(values.pop(self._var_keyword))
        return call_args, values


_MAX_PROBLEMS = 20
_MAX_NAME = 64  # characters of an unknown param's name echoed back


def misfit(signature: inspect.Signature, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Why ``args``/``kwargs`` do not fit ``signature``, in the shape the typed validator reports
    (``[{'path': [...], 'message': ..., 'type': ...}]``), for methods without type checks: too many positional
    params, a param given twice, a positional-only one given by name, a missing one, an unknown name. Only names
    of parameters appear (an unknown one cut to 64 characters), never values or exception text; at most 20
    problems are listed. Empty when they fit.
    """
    params = list(signature.parameters.values())
    positional = [param for param in params if param.kind in (_KIND.POSITIONAL_ONLY, _KIND.POSITIONAL_OR_KEYWORD)]
    takes_args = any(param.kind is _KIND.VAR_POSITIONAL for param in params)
    takes_kwargs = any(param.kind is _KIND.VAR_KEYWORD for param in params)
    by_name = {param.name: param for param in params if param.kind in (_KIND.POSITIONAL_OR_KEYWORD, _KIND.KEYWORD_ONLY)}
    problems: list[dict[str, Any]] = []
    if len(args) > len(positional) and not takes_args:
        problems.append(
            {
                'path': [],
                'message': f'Expected at most {len(positional)} positional params, got {len(args)}',
                'type': 'too_many_positional',
            }
        )
    given_by_position = {param.name for param in positional[: len(args)]}
    unknown = []
    for key in kwargs:
        param = by_name.get(key)
        if key in given_by_position and (param is not None or not takes_kwargs):
            problems.append({'path': [key], 'message': 'Given both by position and by name', 'type': 'duplicate'})
        elif param is None and not takes_kwargs:
            if any(p.name == key and p.kind is _KIND.POSITIONAL_ONLY for p in positional):
                problems.append(
                    {'path': [key], 'message': 'Positional-only; give it by position', 'type': 'positional_only'}
                )
            else:
                unknown.append(key)
    variadic = (_KIND.VAR_POSITIONAL, _KIND.VAR_KEYWORD)
    for param in params:
        if param.default is not inspect.Parameter.empty or param.kind in variadic or param.name in given_by_position:
            continue
        named = param.name in kwargs and not (param.kind is _KIND.POSITIONAL_ONLY and takes_kwargs)
        if not named:  # (a positional-only one given by name is reported above, not twice)
            problems.append({'path': [param.name], 'message': 'Field required', 'type': 'missing'})
    extra = 'Extra inputs are not permitted'
    problems.extend({'path': [key[:_MAX_NAME]], 'message': extra, 'type': 'extra_forbidden'} for key in unknown)
    if len(problems) > _MAX_PROBLEMS:  # a reply's size must not grow with what a client invents
        problems = [*problems[:_MAX_PROBLEMS], {'path': [], 'message': 'More problems not listed', 'type': 'more'}]
    return problems
