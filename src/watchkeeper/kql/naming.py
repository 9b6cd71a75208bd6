"""Output column names: the names Kusto gives unnamed expressions, and their SQL identifiers.

Kusto names ``project d.a.b`` ``d_a_b``, ``summarize count()`` ``count_``, ``dcount(Account)``
``dcount_Account``, ``by bin(TimeGenerated, 1h)`` ``TimeGenerated``, and anything else
``Column1``, ``Column2``... (``print_0``, ``print_1``... under ``print``). SQL engines fold
identifier case, so two KQL names that differ only in case get distinct SQL identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from watchkeeper.kql import ast
from watchkeeper.kql.plan import Column
from watchkeeper.schema.types import KqlType

__all__ = ["SqlNames", "aggregate_column_name", "dedupe_name", "expression_name", "grouping_name"]

# Functions whose result is named after their first argument (binning and conversions).
_NAME_PASSTHROUGH = frozenset(
    {"bin", "floor", "bin_at", "bin_auto", "tostring", "toint", "tolong", "todouble", "toreal",
     "todatetime", "tobool", "toboolean", "todynamic", "totimespan", "toguid", "todecimal", "tohex",
     "parse_json", "parsejson"}
)  # fmt: skip


def grouping_name(expr: ast.Expr) -> str | None:
    """The name of an unnamed ``summarize ... by`` expression: a call is named after the column
    it is first applied to (``by format_datetime(Timestamp, 'y-M-d')`` is ``Timestamp``)."""
    name = expression_name(expr)
    if name is None and isinstance(expr, ast.Call) and expr.args:
        return grouping_name(expr.args[0])
    return name


def expression_name(expr: ast.Expr) -> str | None:
    """The name Kusto infers for an unnamed expression, or None (then it is ``ColumnN``)."""
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.Member):
        base = expression_name(expr.target)
        return f"{base}_{expr.name}" if base else None
    if (
        isinstance(expr, ast.Index)
        and isinstance(expr.index, ast.Literal)
        and isinstance(expr.index.value, str)
    ):
        base = expression_name(expr.target)
        return f"{base}_{expr.index.value}" if base else None
    if isinstance(expr, ast.Call) and expr.name in _NAME_PASSTHROUGH and expr.args:
        return expression_name(expr.args[0])
    return None


def aggregate_column_name(prefix: str, arg: ast.Expr | None, suffix: str = "", *more: ast.Expr) -> str:
    """``count_``, ``dcount_Account``, ``percentile_Latency_99_9``, ``covariance_x_y``."""
    base = expression_name(arg) if arg is not None else None
    name = f"{prefix}_{base or ''}"
    for extra in more:
        name += f"_{expression_name(extra) or ''}"
    if suffix:
        name += "_" + re.sub(r"[^A-Za-z0-9_]", "_", suffix)
    return name


def dedupe_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name1``, ``name2``... when taken (Kusto's rule for join and union clashes)."""
    used = set(taken)
    if name not in used:
        return name
    n = 1
    while f"{name}{n}" in used:
        n += 1
    return f"{name}{n}"


class SqlNames:
    """Allocates SQL identifiers for one relation's output: unique under case folding."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def column(self, name: str, kql_type: KqlType) -> Column:
        sql = name
        n = 2
        while sql.lower() in self._used:
            sql = f"{name}__{n}"
            n += 1
        self._used.add(sql.lower())
        return Column(name, kql_type, sql)

    @classmethod
    def columns(cls, specs: Iterable[tuple[str, KqlType]]) -> tuple[Column, ...]:
        names = cls()
        return tuple(names.column(n, t) for n, t in specs)
