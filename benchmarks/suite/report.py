"""The results table, and the comparison of a run with an earlier one (``--compare``)."""

from __future__ import annotations

from typing import Any

from .stats import RATIO_PAIRS

__all__ = ('normalize', 'render_comparison', 'render_table')

SYSTEMS = ('bare', 'ours', '2.0.0')
RATIOS = tuple(f'{a}/{b}' for a, b in RATIO_PAIRS)
DIFFS = tuple(f'{a}-{b}' for a, b in RATIO_PAIRS)
MULTIPLES = tuple(f'{a}/{b}' for a, b in RATIO_PAIRS)
MEMORY_MULTIPLES = ('ours/bare',)
"""The plain quotients shown in the memory table (the JSON has every pair in ``row['multiples']``)."""
NONE = '-'


def _number(value: float, unit: str) -> str:
    if unit.endswith('/s'):
        return f'{value:,.0f}'
    if unit.startswith('KiB'):
        return f'{value:.1f}'
    return f'{value:.2f}'


def _stats(stats: dict[str, float] | None, unit: str) -> str:
    if stats is None:
        return NONE
    median, low, high = (_number(stats[key], unit) for key in ('median', 'min', 'max'))
    return f'{median} ({low}-{high})'


def _multiple(stats: dict[str, float] | None) -> str:
    if stats is None:
        return NONE
    return f'{stats["median"]:.2f}x ({stats["min"]:.2f}-{stats["max"]:.2f})'


def _diff(stats: dict[str, float] | None) -> str:
    if stats is None:
        return NONE
    return f'{stats["median"]:+.1f} ({stats["min"]:+.1f} to {stats["max"]:+.1f})'


def grid(rows: list[tuple[str, ...]]) -> list[str]:
    """Align rows in columns: the first two left-aligned, the rest right-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append('  '.join(cells).rstrip())
        if index == 0:
            lines.append('  '.join('-' * width for width in widths))
    return lines


def _drop_empty_columns(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    keep = [i for i in range(len(rows[0])) if i < 2 or any(row[i] != NONE for row in rows[1:])]
    return [tuple(row[i] for i in keep) for row in rows]


def render_table(results: dict[str, Any]) -> str:
    rows = results['rows']
    main = [('scenario', 'unit', *SYSTEMS, *RATIOS)]
    memory = [('scenario', 'unit', *SYSTEMS, *DIFFS, *MEMORY_MULTIPLES)]
    for name, row in rows.items():
        values = tuple(_stats(row['values'].get(key), row['unit']) for key in SYSTEMS)
        if 'diffs' in row:
            diffs = tuple(_diff(row['diffs'].get(key)) for key in DIFFS)
            multiples = tuple(_multiple(row.get('multiples', {}).get(key)) for key in MEMORY_MULTIPLES)
            memory.append((name, row['unit'], *values, *diffs, *multiples))
        else:
            main.append((name, row['unit'], *values, *(_stats(row['ratios'].get(key), '') for key in RATIOS)))
    lines: list[str] = []
    if len(main) > 1:
        lines += grid(_drop_empty_columns(main))
    if len(memory) > 1:
        lines += ['', *grid(_drop_empty_columns(memory))]
    config = results['config']
    lines += [
        '',
        f'Every figure: median (min-max) over {config["repeats"]} repeats; in each repeat the systems run back to '
        'back, the order rotating.',
        'a/b: median (min-max) of per-repeat ratios, oriented so that 1.00 = as fast (as cheap) as b and below 1.00'
        ' = a does worse (rates: a/b; µs: b µs / a µs).',
    ]
    if any(row['group'] == 'http' for row in rows.values()):
        lines.append(
            f'http rows: {config["duration_s"]:g} s load runs, {config["connections"]} connections, load generator: '
            f'{config["loadgen"]}.'
        )
    if any(row['group'] == 'inprocess' for row in rows.values()):
        lines.append(
            'in-process rows: best of 3 loops per repeat; handler rows time the handler alone, on requests built '
            'before the loop (building one is the "request build" row).'
        )
    if len(memory) > 1:
        lines.append(
            'memory: (RSS after - RSS before) / connections, each connection idle after one call and its reply; '
            'a-b is the difference in KiB per connection; ours/bare here is ours KiB / bare KiB (1.20x = 20% more '
            'per connection than bare, lower is better).'
        )
    return '\n'.join(lines)


def _old_format_rows(old: dict[str, Any]) -> dict[str, Any]:
    """Rows from a results file written before ``rows`` existed (bare/ours, http and in-process only)."""
    rows: dict[str, Any] = {}
    for scenario, entry in old.get('http', {}).items():
        rows[f'http {scenario}'] = {
            'unit': entry['unit'],
            'values': {key: entry[key] for key in ('bare', 'ours')},
            'ratios': {'ours/bare': entry['ratio']},
        }
    for scenario, entry in old.get('inprocess', {}).items():
        rows[f'in-process dispatch {scenario}'] = {
            'unit': 'µs/call',
            'values': {key: {'median': entry[f'{key}_us']} for key in ('bare', 'ours')},
            'ratios': {'ours/bare': {'median': entry['ratio']}},
        }
    return rows


def normalize(results: dict[str, Any]) -> dict[str, Any]:
    """``results['rows']``, whichever version of the suite wrote the file."""
    rows: dict[str, Any] = results['rows'] if 'rows' in results else _old_format_rows(results)
    return rows


def render_comparison(old: dict[str, Any], new: dict[str, Any]) -> str:
    def change(before: float, after: float) -> str:
        return f'{(after - before) / abs(before) * 100:+.1f}%' if before else 'n/a'

    old_rows = normalize(old)
    lines = [('scenario', 'what', 'old', 'new', 'change')]
    for name, row in new['rows'].items():
        previous = old_rows.get(name)
        if previous is None:
            continue
        unit = row['unit']
        for key in SYSTEMS:
            if key in row['values'] and key in previous['values']:
                before, after = previous['values'][key]['median'], row['values'][key]['median']
                lines.append(
                    (name, f'{key} {unit}', _number(before, unit), _number(after, unit), change(before, after))
                )
        for key in RATIOS:
            if key in row['ratios'] and key in previous.get('ratios', {}):
                before, after = previous['ratios'][key]['median'], row['ratios'][key]['median']
                lines.append((name, key, f'{before:.2f}', f'{after:.2f}', change(before, after)))
        for key in DIFFS:
            if key in row.get('diffs', {}) and key in previous.get('diffs', {}):
                before, after = previous['diffs'][key]['median'], row['diffs'][key]['median']
                lines.append((name, f'{key} {unit}', f'{before:+.1f}', f'{after:+.1f}', change(before, after)))
        for key in MULTIPLES:
            if key in row.get('multiples', {}) and key in previous.get('multiples', {}):
                before, after = previous['multiples'][key]['median'], row['multiples'][key]['median']
                lines.append((name, f'{key} (times)', f'{before:.2f}x', f'{after:.2f}x', change(before, after)))
    if len(lines) == 1:
        return 'No row of this run is in the earlier one.'
    notes = ['Compare the ratio rows first: absolute figures move with machine load, ratios much less.']
    both_http = any(name.startswith('http ') and name in old_rows for name in new['rows'])
    if both_http and old.get('config', {}).get('loadgen') != new['config']['loadgen']:
        notes.append('The two runs used different HTTP load generators: http figures are not comparable.')
    if old.get('meta', {}).get('python') != new['meta']['python']:
        notes.append(f'Python differs: {old.get("meta", {}).get("python")} -> {new["meta"]["python"]}.')
    if old.get('config', {}).get('quick') != new['config']['quick']:
        notes.append('One run was --quick and the other not: iteration counts and durations differ.')
    return '\n'.join([*grid(lines), '', *notes])
