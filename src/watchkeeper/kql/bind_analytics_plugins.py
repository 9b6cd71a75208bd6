"""Binding of the user-analytics ``evaluate`` plugins: ``sliding_window_counts``,
``activity_counts_metrics``, ``active_users_count``, ``rolling_percentile``, ``dcount_intersect``.

Each plugin is the KQL pipeline its documentation describes (Kusto's "aggregations over a
sliding window" sample: each record is copied into every bin whose window holds it, then one
``summarize``), so it binds and lowers like any query and runs the same on DuckDB and ClickHouse.
The pipelines are fixed KQL texts (:mod:`analytics_templates`) over names of our own: the input is
first projected to ``__wk_id``, ``__wk_ts``, ``__wk_d0``... and the plugin's scalar arguments are
bound as ``__wk_p_*`` names, so user text is never spliced into a query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.analytics_templates import (
    ACTIVE_USERS_COUNT,
    ACTIVITY_COUNTS_METRICS,
    ROLLING_PERCENTILE,
    SLIDING_WINDOW_COUNTS,
    calendar_bins,
    fixed_bins,
    order_text,
    template,
)
from watchkeeper.kql.bind_operators import project_columns, row_context
from watchkeeper.kql.bind_schema_plugins import SCHEMA_PLUGINS
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.plan import BColumn, BExpr, BLiteral, Relation, columns_used
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["ANALYTICS_PLUGINS"]

_T = KqlType
_NUMBERS = (_T.INT, _T.LONG, _T.REAL, _T.DECIMAL)
_CALENDAR = ("week", "month", "year")


@dataclass(frozen=True)
class _Call:
    """A plugin call being bound: the binder, the input, the call and the scope it runs in."""

    b: Binder
    rel: Relation
    call: ast.Call
    scope: Scope

    def fail(self, message: str, node: ast.Node | None = None) -> Exception:
        return self.b.error(f"{self.call.name}(): {message}", node or self.call)

    def column(self, index: int, role: str) -> tuple[str, BExpr]:
        """Argument ``index``, which must name a column: its name and value."""
        args = self.call.args
        if index >= len(args) or not isinstance(args[index], ast.Name):
            raise self.fail(f"argument {index + 1} must be the name of the {role} column")
        name = args[index]
        assert isinstance(name, ast.Name)
        return name.name, self.b.scalar(name, row_context(self.rel, self.scope))

    def constant(self, index: int, role: str, types: tuple[KqlType, ...]) -> BExpr:
        """Argument ``index``, a scalar that reads no column (a ``let`` value, a literal...)."""
        if index >= len(self.call.args):
            raise self.fail(f"the {role} argument is missing")
        expr = self.call.args[index]
        bound = self.b.scalar(expr, row_context(self.rel, self.scope))
        if columns_used(bound):
            raise self.fail(f"the {role} must be a constant, not a column", expr)
        if bound.type not in types and bound.type is not _T.UNKNOWN:
            wanted = " or ".join(t.value for t in types)
            raise self.fail(f"the {role} must be of type {wanted}, not {bound.type.value}", expr)
        return bound

    def dims(self, first: int) -> list[tuple[str, BExpr]]:
        """The dimension columns: the arguments from ``first`` on."""
        return [self.column(i, "dimension") for i in range(first, len(self.call.args))]

    def run(self, text: str, items: list[tuple[str, BExpr]], params: dict[str, BExpr]) -> Relation:
        """Bind ``text`` over the input projected to ``items``, with ``params`` as names."""
        inner = self.scope.child()
        inner.define("__wk_in", project_columns(self.rel, items))
        for name, value in params.items():
            inner.define(f"__wk_p_{name}", value)
        return self.b.tabular(template(text), inner)


def _renamed(rel: Relation, names: list[tuple[str, str]]) -> Relation:
    """The plan's output under the user's names: ``(output name, internal name)`` in order."""
    items: list[tuple[str, BExpr]] = []
    for output, internal in names:
        col = rel.schema.find(internal)
        assert col is not None, internal
        items.append((output, BColumn(col.type, col)))
    return project_columns(rel, items)


def _dim_items(dims: list[tuple[str, BExpr]]) -> list[tuple[str, BExpr]]:
    return [(f"__wk_d{i}", value) for i, (_, value) in enumerate(dims)]


def _group_key(pc: _Call, dims: list[tuple[str, BExpr]]) -> BExpr:
    """One string per combination of dimension values (nulls included), to compare rows by."""
    if not dims:
        return BLiteral(_T.STRING, "")
    packed = pc.b.make_call(SCALARS["pack_array"], [v for _, v in dims], pc.call)
    return pc.b.make_call(SCALARS["tostring"], [packed], pc.call)


def _timeline(pc: _Call, ts: BExpr, start: BExpr | None) -> None:
    """The timeline column and the analysis bounds must be datetimes, or numbers, alike."""
    kinds = {_T.DATETIME: "datetime"} | dict.fromkeys(_NUMBERS, "number")
    if ts.type is not _T.UNKNOWN and ts.type not in kinds:
        raise pc.fail(f"the timeline column must be a datetime or a number, not {ts.type.value}")
    if start is None or _T.UNKNOWN in (ts.type, start.type):
        return
    if kinds.get(ts.type) != kinds.get(start.type):
        raise pc.fail(f"the analysis bounds ({start.type.value}) do not match the timeline ({ts.type.value})")


def _bins(pc: _Call, index: int, what: str) -> tuple[str, dict[str, BExpr]]:
    """The step of the analysis: a constant timespan or number, or ``'week'``/``'month'``/``'year'``
    (bins are then ``startofweek``/``startofmonth``/``startofyear``, as documented)."""
    step = pc.constant(index, what, (_T.TIMESPAN, _T.STRING, *_NUMBERS))
    if step.type is _T.STRING:
        unit = str(step.value).lower() if isinstance(step, BLiteral) else ""
        if unit not in _CALENDAR:
            raise pc.fail(f"the {what} as text must be 'week', 'month' or 'year'", pc.call.args[index])
        return unit, {}
    return "fixed", {"bin": step}


def _calendar_only_datetimes(pc: _Call, unit: str, ts: BExpr) -> None:
    if unit != "fixed" and ts.type in _NUMBERS:
        raise pc.fail(f"a '{unit}' step needs a datetime timeline, not {ts.type.value}")


# ---------------------------------------------------------------------------- sliding_window_counts


def _sliding_window_counts(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``sliding_window_counts(Id, Timeline, Start, End, LookbackWindow, Bin [, dims...])``: per bin
    from Start to End, ``Count`` and ``dcount`` of the ids of the records in the LookbackWindow
    ending with that bin (records before Start count in the windows they reach)."""
    pc = _Call(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", (_T.DATETIME, *_NUMBERS)),
        pc.constant(3, "End", (_T.DATETIME, *_NUMBERS)),
    )
    _timeline(pc, ts, start)
    lookback = pc.constant(4, "LookbackWindow", (_T.TIMESPAN, *_NUMBERS))
    unit, step = _bins(pc, 5, "Bin")
    _calendar_only_datetimes(pc, unit, ts)
    dims = pc.dims(6)
    bins = fixed_bins() if unit == "fixed" else calendar_bins(unit)
    text = SLIDING_WINDOW_COUNTS.format(dims=_dims_text(dims), order=order_text(len(dims)), **bins)
    items = [("__wk_id", ident), ("__wk_ts", ts), *_dim_items(dims)]
    out = pc.run(text, items, {"start": start, "end": end, "lookback": lookback, **step})
    return _renamed(out, [(ts_name, "__wk_b"), *_dim_names(dims), ("Count", "Count"), ("dcount", "dcount")])


def _dims_text(dims: list[tuple[str, BExpr]]) -> str:
    """``, __wk_d0, __wk_d1`` for a ``by`` clause (our own names only)."""
    return "".join(f", __wk_d{i}" for i in range(len(dims)))


def _dim_names(dims: list[tuple[str, BExpr]]) -> list[tuple[str, str]]:
    return [(name, f"__wk_d{i}") for i, (name, _) in enumerate(dims)]


# ---------------------------------------------------------------------------- activity_counts_metrics


def _activity_counts_metrics(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``activity_counts_metrics(Id, Timeline, Start, End, Step [, dims...])``: per time window
    from Start to End, ``count`` (records), ``dcount`` (ids), ``new_dcount`` (ids not seen in any
    earlier window) and ``aggregated_dcount`` (ids seen from the first window to this one)."""
    pc = _Call(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", (_T.DATETIME, *_NUMBERS)),
        pc.constant(3, "End", (_T.DATETIME, *_NUMBERS)),
    )
    _timeline(pc, ts, start)
    unit, step = _bins(pc, 4, "Step")
    _calendar_only_datetimes(pc, unit, ts)
    dims = pc.dims(5)
    bins = fixed_bins() if unit == "fixed" else calendar_bins(unit)
    text = ACTIVITY_COUNTS_METRICS.format(dims=_dims_text(dims), order=order_text(len(dims)), **bins)
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", _group_key(pc, dims)), *_dim_items(dims)]
    out = pc.run(text, items, {"start": start, "end": end, **step})
    metrics = [(n, n) for n in ("count", "dcount", "new_dcount", "aggregated_dcount")]
    return _renamed(out, [(ts_name, "__wk_b"), *_dim_names(dims), *metrics])


# ---------------------------------------------------------------------------- active_users_count


def _active_users_count(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``active_users_count(Id, Timeline, Start, End, LookbackWindow, Period, ActivePeriodsCount,
    Bin [, dims...])``: per bin, the distinct ids with an appearance in [Start, End] at which they
    are active, i.e. seen in at least ActivePeriodsCount distinct Periods during the LookbackWindow
    ending with that appearance.

    The window is (appearance - LookbackWindow, appearance]: the documented example counts user B
    active on 7/4 (seen 6/29, 6/30, 7/4 within 8 days) but not on 7/8, 8 days after 6/30."""
    pc = _Call(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", (_T.DATETIME, *_NUMBERS)),
        pc.constant(3, "End", (_T.DATETIME, *_NUMBERS)),
    )
    _timeline(pc, ts, start)
    lookback = pc.constant(4, "LookbackWindow", (_T.TIMESPAN, *_NUMBERS))
    period = pc.constant(5, "Period", (_T.TIMESPAN, *_NUMBERS))
    active = pc.constant(6, "ActivePeriodsCount", _NUMBERS)
    unit, step = _bins(pc, 7, "Bin")
    _calendar_only_datetimes(pc, unit, ts)
    dims = pc.dims(8)
    bins = fixed_bins() if unit == "fixed" else calendar_bins(unit)
    text = ACTIVE_USERS_COUNT.format(dims=_dims_text(dims), order=order_text(len(dims)), **bins)
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", _group_key(pc, dims)), *_dim_items(dims)]
    params = {"start": start, "end": end, "lookback": lookback, "period": period, "active": active, **step}
    out = pc.run(text, items, params)
    return _renamed(out, [(ts_name, "__wk_b"), *_dim_names(dims), ("dcount", "dcount")])


# ---------------------------------------------------------------------------- rolling_percentile


def _rolling_percentile(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``rolling_percentile(Value, Percentile, Index, BinSize, BinsPerWindow [, dims...])``: per bin
    of Index that holds values, the percentile of the values of the BinsPerWindow bins ending with
    it, in ``rolling_<BinsPerWindow>_percentile_<Value>_<Percentile>``."""
    pc = _Call(b, rel, call, scope)
    (value_name, value), (ts_name, ts) = pc.column(0, "value"), pc.column(2, "index")
    if value.type not in (*_NUMBERS, _T.DATETIME, _T.TIMESPAN, _T.UNKNOWN):
        raise pc.fail(f"the value column must be numeric, a datetime or a timespan, not {value.type.value}")
    pct = pc.constant(1, "Percentile", _NUMBERS)
    _timeline(pc, ts, None)
    size = pc.constant(3, "BinSize", (_T.TIMESPAN, *_NUMBERS))
    window = pc.constant(4, "BinsPerWindow", (_T.INT, _T.LONG))
    if not isinstance(window, BLiteral) or not isinstance(window.value, int) or window.value < 1:
        raise pc.fail("BinsPerWindow must be a whole number of at least 1", call.args[4])
    if not isinstance(pct, BLiteral) or not 0 <= float(pct.value) <= 100:
        raise pc.fail("the Percentile must be a constant between 0 and 100", call.args[1])
    dims = pc.dims(5)
    text = ROLLING_PERCENTILE.format(dims=_dims_text(dims), order=order_text(len(dims)))
    items = [("__wk_v", value), ("__wk_ts", ts), *_dim_items(dims)]
    out = pc.run(text, items, {"pct": pct, "size": size, "window": window})
    name = f"rolling_{window.value}_percentile_{value_name}_{_number_text(pct.value)}"
    return _renamed(out, [(ts_name, "__wk_b"), *_dim_names(dims), (name, "__wk_r")])


def _number_text(value: object) -> str:
    """A percentile as it appears in a column name: ``50``, ``99_9``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", "_")


# ---------------------------------------------------------------------------- dcount_intersect


def _dcount_intersect(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``dcount_intersect(hll_1, hll_2 [, ...])``: the input with ``s0``..``s<n-1>``, the distinct
    counts of S1, S1 ∩ S2, ... S1 ∩ ... ∩ Sn for 2 to 16 ``hll()`` sketches. Sketches here hold the
    distinct values themselves, so the intersections are exact."""
    pc = _Call(b, rel, call, scope)
    if not 2 <= len(call.args) <= 16:
        raise pc.fail("takes 2 to 16 hll() values")
    ctx = row_context(rel, scope)
    sketches = [b.coerce(b.scalar(a, ctx), _T.DYNAMIC, a) for a in call.args]
    items: list[tuple[str, BExpr]] = [(c.name, BColumn(c.type, c)) for c in rel.schema.columns]
    common = sketches[0]
    for i, sketch in enumerate(sketches):
        if i:
            common = b.make_call(SCALARS["set_intersect"], [common, sketch], call)
        count = b.make_call(SCALARS["dcount_hll"], [common], call)
        items = [(n, e) for n, e in items if n != f"s{i}"] + [(f"s{i}", count)]
    return project_columns(rel, items)


ANALYTICS_PLUGINS: dict[str, Callable[[Binder, Relation, ast.Call, Scope], Relation]] = {
    "sliding_window_counts": _sliding_window_counts,
    "activity_counts_metrics": _activity_counts_metrics,
    "active_users_count": _active_users_count,
    "rolling_percentile": _rolling_percentile,
    "dcount_intersect": _dcount_intersect,
    **SCHEMA_PLUGINS,
}
