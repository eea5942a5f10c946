"""Layer 2: method wrappers and the registry helpers."""

from __future__ import annotations

from .method import BaseJSONRPCMethod, JSONRPCMethod
from .registry import MethodDescription, MethodMap, add_method, add_methods

__all__ = (
    'BaseJSONRPCMethod',
    'JSONRPCMethod',
    'MethodDescription',
    'MethodMap',
    'add_method',
    'add_methods',
)
