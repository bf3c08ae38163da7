"""The one line each benchmark prints per figure, that ``bench.run_all`` gathers into one table.

A benchmark prints its own readable output as it likes, and, for every figure that a goal reads,
one line ``BENCH-JSON {...}`` (``emit``): what was measured, its value, the anchor measured beside
it in the same run and the ratio, and the criterion read against (on the ratio when there is an
anchor, else on the value). ``run_all`` finds these lines in each benchmark's output and prints
them as a table at the end, so that every figure of a ``make bench`` run is in one place.
"""

from __future__ import annotations

import json
import operator

PREFIX = "BENCH-JSON "
COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


def figure(goal: str, name: str, value: float, unit: str, anchor: str | None = None,
           anchor_value: float | None = None, criterion: str | None = None) -> dict:
    """One figure as a dict; ``criterion`` such as ``"<= 1.3"`` (read on the ratio when there is an
    anchor, on the value otherwise), ``met`` None when there is no criterion or nothing to read."""
    ratio = None
    if anchor_value:
        ratio = round(value / anchor_value, 3)
    met = None
    if criterion:
        sign, limit = criterion.split()
        measured = ratio if anchor is not None else value
        if measured is not None:
            met = COMPARISONS[sign](measured, float(limit))
    return {"goal": goal, "figure": name, "value": value, "unit": unit, "anchor": anchor,
            "anchor_value": anchor_value, "ratio": ratio, "criterion": criterion, "met": met}


def emit(goal: str, name: str, value: float, unit: str, anchor: str | None = None,
         anchor_value: float | None = None, criterion: str | None = None) -> dict:
    """Print one figure's ``BENCH-JSON`` line (flushed: run_all reads it as it comes) and return it."""
    line = figure(goal, name, value, unit, anchor, anchor_value, criterion)
    print(PREFIX + json.dumps(line, sort_keys=True), flush=True)
    return line


def parse(line: str) -> dict | None:
    """The figure of a ``BENCH-JSON`` line, or None for any other line."""
    if not line.startswith(PREFIX):
        return None
    try:
        found = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:.0f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def table(figures: list[dict]) -> str:
    """The figures as one plain-text table, in the order given."""
    header = ("goal", "figure", "value", "anchor", "anchor value", "ratio", "criterion", "met")
    rows = [header]
    for item in figures:
        unit = item.get("unit") or ""
        rows.append((
            str(item.get("goal", "")), str(item.get("figure", "")),
            f"{_number(item.get('value'))} {unit}".strip(),
            str(item.get("anchor") or "-"),
            f"{_number(item.get('anchor_value'))} {unit}".strip() if item.get("anchor_value") is not None else "-",
            _number(item.get("ratio")), str(item.get("criterion") or "-"),
            {True: "yes", False: "NO", None: "-"}[item.get("met")],
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
