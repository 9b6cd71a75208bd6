"""The sqlglot dialect watchkeeper generates ClickHouse SQL with: ClickHouse, plus the rewrites that
make the canonical tree mean on ClickHouse what it means on DuckDB.

* ``UNNEST(list)`` in a projection is ClickHouse's ``arrayJoin(list)``.
* ClickHouse lets a SELECT alias shadow an input column of the same name anywhere in the SELECT
  (``SELECT bin(T) AS T ... GROUP BY bin(T)`` then groups by ``bin(bin(T))``). The outermost
  query carries ``SETTINGS prefer_column_name_to_alias = 1``, which restores SQL's scoping.
  A sort key naming an output column is then applied outside that SELECT, where it can only
  mean the output. ``join_use_nulls = 1`` gives outer joins NULLs, not type defaults.
* ``COUNT`` is ``toInt64(COUNT(...))``: Kusto's counts are long.
* ``lag``/``lead`` without a default give NULL past the edge (ClickHouse gives the type's
  default for a non-Nullable column).
* Several ``UNNEST`` in one projection expand *in parallel* on DuckDB (the shorter lists padded
  with NULL), but several ``arrayJoin`` multiply rows. They become one ``arrayJoin`` over the
  zipped, NULL-padded lists, each output taking its element of the tuple (ClickHouse evaluates
  identical ``arrayJoin`` expressions once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse

__all__ = ["SQLGLOT_NAME", "WkClickHouse"]


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _projected_unnests(select: exp.Select) -> list[exp.Unnest]:
    """The UNNESTs of this SELECT's own projection (not those of nested queries)."""
    found: list[exp.Unnest] = []
    for projection in select.expressions:
        for node in projection.walk(prune=lambda n: isinstance(n, exp.Query | exp.Subquery)):
            if isinstance(node, exp.Unnest):
                found.append(node)
    return found


def _zip_unnests(select: exp.Select) -> exp.Select:
    unnests = _projected_unnests(select)
    lists: dict[str, exp.Expression] = {}
    for node in unnests:
        lists.setdefault(node.expressions[0].sql(), node.expressions[0])
    if len(lists) < 2:
        return select
    select = select.copy()
    position = {key: i + 1 for i, key in enumerate(lists)}
    longest = _call("greatest", *[_call("length", e.copy()) for e in lists.values()])
    nullable = exp.Lambda(this=_call("toNullable", exp.column("_z")), expressions=[exp.to_identifier("_z")])
    padded = [
        _call("arrayResize", _call("arrayMap", nullable.copy(), e.copy()), longest.copy())
        for e in lists.values()
    ]
    zipped = _call("arrayZip", *padded)
    for node in _projected_unnests(select):
        index = position[node.expressions[0].sql()]
        node.replace(
            _call("tupleElement", exp.Unnest(expressions=[zipped.copy()]), exp.Literal.number(index))
        )
    return select


_SETTINGS = (
    exp.EQ(this=exp.column("prefer_column_name_to_alias"), expression=exp.Literal.number(1)),
    exp.EQ(this=exp.column("join_use_nulls"), expression=exp.Literal.number(1)),
)


def _nullable_shifts(tree: exp.Expression) -> None:
    """``lag(x, n)`` -> ``lag(toNullable(x), n)``, in place."""
    for window in tree.find_all(exp.Window):
        func = window.this
        if (
            isinstance(func, exp.Anonymous)
            and func.name.lower() in ("lag", "lead")
            and len(func.expressions) < 3
        ):
            first = func.expressions[0]
            first.replace(_call("toNullable", first.copy()))


def _sorts_outputs(select: exp.Select) -> bool:
    """Whether the ORDER BY names output columns that are computed under an input column's name."""
    order = select.args.get("order")
    if order is None:
        return False
    outputs = {e.alias: e.this for e in select.expressions if isinstance(e, exp.Alias)}
    keys = [c for o in order.expressions for c in o.find_all(exp.Column)]
    if not keys or any(k.table or k.name not in outputs for k in keys):
        return False
    return any(not (isinstance(outputs[k.name], exp.Column) and outputs[k.name].name == k.name) for k in keys)


def _sort_outside(select: exp.Select) -> exp.Select:
    """``SELECT ... ORDER BY out LIMIT n`` -> ``SELECT * FROM (SELECT ...) ORDER BY out LIMIT n``."""
    if not _sorts_outputs(select):
        return select
    inner = select.copy()
    tail = {
        k: inner.args.pop(k)
        for k in ("order", "limit", "offset", "settings")
        if inner.args.get(k) is not None
    }
    outer = exp.select(exp.Star()).from_(inner.subquery("_wk_sorted"))
    for key, value in tail.items():
        outer.set(key, value)
    return outer


class WkClickHouse(ClickHouse):
    """ClickHouse as watchkeeper's lowering needs it (see the module docstring)."""

    class Generator(ClickHouse.Generator):  # type: ignore[misc,valid-type]
        TRANSFORMS: ClassVar[dict[Any, Callable[..., str]]] = {
            **ClickHouse.Generator.TRANSFORMS,
            exp.Unnest: lambda self, e: self.func("arrayJoin", *e.expressions),
            # Kusto counts are long; ClickHouse's are UInt64, which mixes with no signed type
            exp.Count: lambda self, e: f"toInt64({self.function_fallback_sql(e)})",
        }

        def generate(self, expression: exp.Expression, copy: bool = True) -> str:
            if isinstance(expression, exp.Query) and not expression.args.get("settings"):
                expression = expression.copy()
                expression.set("settings", [s.copy() for s in _SETTINGS])
                _nullable_shifts(expression)
                copy = False
            result: str = super().generate(expression, copy=copy)
            return result

        def select_sql(self, expression: exp.Select) -> str:
            result: str = super().select_sql(_sort_outside(_zip_unnests(expression)))
            return result


#: the name sqlglot knows :class:`WkClickHouse` by
SQLGLOT_NAME = "wkclickhouse"
