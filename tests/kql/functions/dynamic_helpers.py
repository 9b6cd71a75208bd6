"""Helpers for the dynamic/series function tests: values computed by the engine from stored rows
(so nothing is constant-folded), and workspaces shared by property tests."""

from __future__ import annotations

import itertools
import math
from functools import cache
from typing import Any

from watchkeeper import Workspace

_TABLES = itertools.count()


def rows_of(ws: Workspace, rows: list[dict[str, Any]], *exprs: str) -> list[tuple[Any, ...]]:
    """The values of ``exprs`` over ``rows`` stored in a fresh table, in row order."""
    table = f"D{next(_TABLES)}_CL"
    ws.ingest(table, [{"i": i, **row} for i, row in enumerate(rows)])
    names = ", ".join(f"r{k} = {e}" for k, e in enumerate(exprs))
    return ws.query(f"{table} | order by i asc | project {names}").rows


def value(ws: Workspace, row: dict[str, Any], expr: str) -> Any:
    """``expr`` over one stored row."""
    return rows_of(ws, [row], expr)[0][0]


@cache
def shared(engine: str) -> Workspace:
    """One workspace per engine for property tests (hypothesis runs many examples)."""
    if engine == "duckdb":
        return Workspace.open(None)
    from watchkeeper.store.clickhouse import ChdbEventStore

    return Workspace(ChdbEventStore())


def close(a: Any, b: Any, tol: float = 1e-9) -> bool:
    """Deep equality with a relative tolerance for numbers (and NaN equal to NaN)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], tol) for k in a)
    return bool(a == b)
