"""Layer 2: method wrappers and the registry helpers."""

from __future__ import annotations

from .group import MethodGroup
from .method import BaseJSONRPCMethod, JSONRPCMethod
from .params import ParamSpec
from .registry import MethodDescription, MethodMap, add_method, add_methods
from .subscription import JSONRPCSubscription

__all__ = (
    'BaseJSONRPCMethod',
    'JSONRPCMethod',
    'JSONRPCSubscription',
    'MethodGroup',
    'MethodDescription',
    'MethodMap',
    'ParamSpec',
    'add_method',
    'add_methods',
)
