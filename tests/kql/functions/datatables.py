"""Typed ``datatable`` builders for the function tests: values reach the engine as columns, so the
SQL runs (a constant would be folded in Python by the binder instead)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from watchkeeper import Workspace

__all__ = ["column_values", "kql_literal", "table", "values"]


def kql_literal(kql_type: str, value: Any) -> str:
    """``value`` written as a KQL literal of ``kql_type`` (timespans are given as ticks)."""
    if value is None:
        return f"{kql_type}(null)"
    if kql_type == "bool":
        return "true" if value else "false"
    if kql_type == "real":
        if math.isnan(value):
            return "real(nan)"
        if math.isinf(value):
            return "real(+inf)" if value > 0 else "real(-inf)"
        return repr(float(value))
    if kql_type == "datetime":
        return f"datetime({value.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')})"
    if kql_type == "timespan":
        return f"{int(value)}tick"
    if kql_type == "string":
        return json.dumps(value)
    if kql_type == "dynamic":
        return f"dynamic({json.dumps(value)})"
    if kql_type == "guid":
        return f"guid({value})"
    return str(value)


def table(columns: dict[str, str], rows: Sequence[Sequence[Any]]) -> str:
    """A datatable with an extra leading ``i`` column numbering the rows (to restore their order)."""
    schema = ", ".join(["i:long", *(f"{name}:{kql_type}" for name, kql_type in columns.items())])
    cells = []
    for i, row in enumerate(rows):
        cells.append(str(i))
        cells.extend(kql_literal(t, v) for t, v in zip(columns.values(), row, strict=True))
    return f"datatable({schema})[{', '.join(cells)}]"


def values(
    ws: Workspace, columns: dict[str, str], rows: Sequence[Sequence[Any]], *exprs: str
) -> list[tuple[Any, ...]]:
    """The values of ``exprs`` on each row, in row order."""
    names = ", ".join(f"r{k} = {e}" for k, e in enumerate(exprs))
    return ws.query(f"{table(columns, rows)} | order by i asc | project {names}").rows


def column_values(ws: Workspace, kql_type: str, items: Sequence[Any], expr: str) -> list[Any]:
    """``expr`` (over a column ``x`` of ``kql_type``) for each of ``items``, in order."""
    return [r[0] for r in values(ws, {"x": kql_type}, [(v,) for v in items], expr)]
