"""What mypy --strict (and pyright) must accept, and must refuse, of a typed contract.

Checked by ``make test`` (``mypy --strict tests/typing``), never run. Each line that must fail carries a
``# type: ignore[code]``: with ``warn_unused_ignores`` (part of ``--strict``), a line that type-checks after all
fails the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from typing_extensions import assert_type

import aiohttp_rpc


@dataclass
class Tick:
    symbol: str
    price: float


class CalcAPI(Protocol):
    async def add(self, a: int, b: int) -> int: ...

    def ticks(self, symbol: str) -> AsyncIterator[Tick]: ...


class Calc:
    async def add(self, a: int, b: int) -> int:
        return a + b

    async def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        yield Tick(symbol, 1.0)


class Wrong:
    async def add(self, a: int, b: str) -> int:
        return a


conforms: CalcAPI = Calc()  # mypy checks the implementation against the contract
breaks: CalcAPI = Wrong()  # type: ignore[assignment]


async def client_side(rpc: aiohttp_rpc.WSJSONRPCClient, http: aiohttp_rpc.JSONRPCClient) -> None:
    calc = rpc.proxy(CalcAPI, prefix='calc')
    assert_type(calc, CalcAPI)
    assert_type(await calc.add(1, 2), int)
    async for tick in calc.ticks('BTC'):
        assert_type(tick, Tick)
    assert_type(http.proxy(CalcAPI, validate_results=True), CalcAPI)
    await calc.add('x', 2)  # type: ignore[arg-type]
    await calc.sub(1)  # type: ignore[attr-defined]
    total: str = await calc.add(1, 2)  # type: ignore[assignment]
    del total


def server_side(server: aiohttp_rpc.WSJSONRPCServer, request: aiohttp_rpc.JSONRPCRequest) -> None:
    server.add_api(CalcAPI, Calc(), prefix='calc')
    peer_calc = aiohttp_rpc.get_peer(request).proxy(CalcAPI)
    assert_type(peer_calc, CalcAPI)
