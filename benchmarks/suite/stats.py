"""Repeats and their summaries: rotating order, medians, per-repeat ratios and differences."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ('RATIO_PAIRS', 'build_row', 'rotated', 'summary')

RATIO_PAIRS = (('ours', 'bare'), ('2.0.0', 'bare'), ('ours', '2.0.0'))
"""The ratios every row reports when both systems are in it, as ``'a/b'``."""


def summary(values: Sequence[float]) -> dict[str, float]:
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}


def rotated(keys: Sequence[str], repeat: int) -> list[str]:
    """``keys`` rotated by ``repeat``: over len(keys) repeats each system goes first once (drift spreads)."""
    shift = repeat % len(keys)
    return [*keys[shift:], *keys[:shift]]


def build_row(
    group: str,
    unit: str,
    better: str,
    runs: list[dict[str, Any]],
    *,
    ratios: bool = True,
    diffs: bool = False,
    multiples: bool = False,
    value: Callable[[Any], float] | None = None,
) -> dict[str, Any]:
    """One table row from per-repeat runs ``[{'repeat', 'order', 'results': {system: raw}}]``.

    ``value(raw)`` turns a raw result into the figure (default: the raw result is the figure). Ratios are
    taken per repeat and then summarized, so they compare figures measured seconds apart; ``a/b`` reads as a
    throughput ratio whichever way the unit goes: ``value_a / value_b`` when higher is better (rates) and
    ``value_b / value_a`` when lower is better (µs, KiB), so below 1.00 always means ``a`` does worse.
    ``diffs`` adds ``a-b`` (the plain difference of the figures) for each pair. ``multiples`` adds
    ``row['multiples']['a/b']``, the plain quotient ``value_a / value_b`` per repeat, summarized (for memory:
    1.20 means ``a`` takes 20% more than ``b``); a pair is left out if any ``value_b`` is 0 or less.
    """
    pick = value or float
    figures = [{key: pick(raw) for key, raw in run['results'].items()} for run in runs]
    systems = [key for key in ('bare', 'ours', '2.0.0') if all(key in figure for figure in figures)]
    row: dict[str, Any] = {
        'group': group,
        'unit': unit,
        'better': better,
        'values': {key: summary([figure[key] for figure in figures]) for key in systems},
        'ratios': {},
        'runs': [{**run, 'values': figure} for run, figure in zip(runs, figures, strict=True)],
    }
    if multiples:
        row['multiples'] = {}
    for a, b in RATIO_PAIRS:
        if a not in systems or b not in systems:
            continue
        if ratios:
            per_repeat = [figure[a] / figure[b] if better == 'higher' else figure[b] / figure[a] for figure in figures]
            row['ratios'][f'{a}/{b}'] = summary(per_repeat)
        if diffs:
            row.setdefault('diffs', {})[f'{a}-{b}'] = summary([figure[a] - figure[b] for figure in figures])
        if multiples and all(figure[b] > 0 for figure in figures):
            row['multiples'][f'{a}/{b}'] = summary([figure[a] / figure[b] for figure in figures])
    return row
