"""The 2.0 import path for helpers (``aiohttp_rpc.utils.json_serialize`` etc.)."""

from __future__ import annotations

from .protocol.params import convert_params_to_args_and_kwargs, parse_args_and_kwargs, validate_jsonrpc
from .protocol.request import get_random_id
from .protocol.results import collect_batch_result
from .serialization import json_deserialize, json_serialize

__all__ = (
    'collect_batch_result',
    'convert_params_to_args_and_kwargs',
    'get_random_id',
    'json_deserialize',
    'json_serialize',
    'parse_args_and_kwargs',
    'validate_jsonrpc',
)
