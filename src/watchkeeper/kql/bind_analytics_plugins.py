"""Binding of the user-analytics ``evaluate`` plugins: ``sliding_window_counts``,
``activity_counts_metrics``, ``active_users_count``, ``rolling_percentile``, ``dcount_intersect``.

Each plugin is the KQL pipeline its documentation describes (Kusto's "aggregations over a
sliding window" sample: each record is copied into every bin whose window holds it, then one
``summarize``), so it binds and lowers like any query and runs the same on DuckDB and ClickHouse.
The pipelines are fixed KQL texts (:mod:`analytics_templates`) over names of our own: the input is
first projected to ``__wk_id``, ``__wk_ts``, ``__wk_d0``... and the plugin's scalar arguments are
bound as ``__wk_p_*`` names, so user text is never spliced into a query.

:data:`ANALYTICS_PLUGINS` also holds the retention plugins (:mod:`bind_activity_plugins`) and the
schema plugins (:mod:`bind_schema_plugins`): ``evaluate`` looks plugins up there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.analytics_templates import (
    ACTIVE_USERS_COUNT,
    ACTIVITY_COUNTS_METRICS,
    ROLLING_PERCENTILE,
    SLIDING_WINDOW_COUNTS,
    bins,
    order_text,
)
from watchkeeper.kql.bind_activity_plugins import ACTIVITY_PLUGINS
from watchkeeper.kql.bind_operators import project_columns, row_context
from watchkeeper.kql.bind_schema_plugins import SCHEMA_PLUGINS
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.plan import BColumn, BExpr, BLiteral, Relation
from watchkeeper.kql.plugin_arguments import NUMBERS, PluginCall, dim_items, dim_names, dims_text, renamed
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["ANALYTICS_PLUGINS"]

_T = KqlType
_BOUND = (_T.DATETIME, *NUMBERS)


# ---------------------------------------------------------------------------- sliding_window_counts


def _sliding_window_counts(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``sliding_window_counts(Id, Timeline, Start, End, LookbackWindow, Bin [, dims...])``: per bin
    from Start to End, ``Count`` and ``dcount`` of the ids of the records in the LookbackWindow
    ending with that bin (records before Start count in the windows they reach)."""
    pc = PluginCall(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", _BOUND),
        pc.constant(3, "End", _BOUND),
    )
    pc.timeline(ts, start)
    lookback = pc.constant(4, "LookbackWindow", (_T.TIMESPAN, *NUMBERS))
    unit, step = pc.step(5, "Bin", ts)
    dims = pc.dims(6)
    text = SLIDING_WINDOW_COUNTS.format(dims=dims_text(dims), order=order_text(len(dims)), **bins(unit))
    items = [("__wk_id", ident), ("__wk_ts", ts), *dim_items(dims)]
    out = pc.run(text, items, {"start": start, "end": end, "lookback": lookback, **step})
    return renamed(out, [(ts_name, "__wk_b"), *dim_names(dims), ("Count", "Count"), ("dcount", "dcount")])


# ---------------------------------------------------------------------------- activity_counts_metrics


def _activity_counts_metrics(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``activity_counts_metrics(Id, Timeline, Start, End, Step [, dims...])``: per time window
    from Start to End, ``count`` (records), ``dcount`` (ids), ``new_dcount`` (ids not seen in any
    earlier window) and ``aggregated_dcount`` (ids seen from the first window to this one)."""
    pc = PluginCall(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", _BOUND),
        pc.constant(3, "End", _BOUND),
    )
    pc.timeline(ts, start)
    unit, step = pc.step(4, "Step", ts)
    dims = pc.dims(5)
    text = ACTIVITY_COUNTS_METRICS.format(dims=dims_text(dims), order=order_text(len(dims)), **bins(unit))
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", pc.group_key(dims)), *dim_items(dims)]
    out = pc.run(text, items, {"start": start, "end": end, **step})
    metrics = [(n, n) for n in ("count", "dcount", "new_dcount", "aggregated_dcount")]
    return renamed(out, [(ts_name, "__wk_b"), *dim_names(dims), *metrics])


# ---------------------------------------------------------------------------- active_users_count


def _active_users_count(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``active_users_count(Id, Timeline, Start, End, LookbackWindow, Period, ActivePeriodsCount,
    Bin [, dims...])``: per bin, the distinct ids with an appearance in [Start, End] at which they
    are active, i.e. seen in at least ActivePeriodsCount distinct Periods during the LookbackWindow
    ending with that appearance.

    The window is (appearance - LookbackWindow, appearance]: the documented example counts user B
    active on 7/4 (seen 6/29, 6/30, 7/4 within 8 days) but not on 7/8, 8 days after 6/30."""
    pc = PluginCall(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = (
        pc.constant(2, "Start", _BOUND),
        pc.constant(3, "End", _BOUND),
    )
    pc.timeline(ts, start)
    lookback = pc.constant(4, "LookbackWindow", (_T.TIMESPAN, *NUMBERS))
    period = pc.constant(5, "Period", (_T.TIMESPAN, *NUMBERS))
    active = pc.constant(6, "ActivePeriodsCount", NUMBERS)
    unit, step = pc.step(7, "Bin", ts)
    dims = pc.dims(8)
    text = ACTIVE_USERS_COUNT.format(dims=dims_text(dims), order=order_text(len(dims)), **bins(unit))
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", pc.group_key(dims)), *dim_items(dims)]
    params = {"start": start, "end": end, "lookback": lookback, "period": period, "active": active, **step}
    out = pc.run(text, items, params)
    return renamed(out, [(ts_name, "__wk_b"), *dim_names(dims), ("dcount", "dcount")])


# ---------------------------------------------------------------------------- rolling_percentile


def _rolling_percentile(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``rolling_percentile(Value, Percentile, Index, BinSize, BinsPerWindow [, dims...])``: per bin
    of Index that holds values, the percentile of the values of the BinsPerWindow bins ending with
    it, in ``rolling_<BinsPerWindow>_percentile_<Value>_<Percentile>``."""
    pc = PluginCall(b, rel, call, scope)
    (value_name, value), (ts_name, ts) = pc.column(0, "value"), pc.column(2, "index")
    if value.type not in (*NUMBERS, _T.DATETIME, _T.TIMESPAN, _T.UNKNOWN):
        raise pc.fail(f"the value column must be numeric, a datetime or a timespan, not {value.type.value}")
    pct = pc.constant(1, "Percentile", NUMBERS)
    pc.timeline(ts, None)
    size = pc.constant(3, "BinSize", (_T.TIMESPAN, *NUMBERS))
    window = pc.constant(4, "BinsPerWindow", (_T.INT, _T.LONG))
    if not isinstance(window, BLiteral) or not isinstance(window.value, int) or window.value < 1:
        raise pc.fail("BinsPerWindow must be a whole number of at least 1", call.args[4])
    if not isinstance(pct, BLiteral) or not 0 <= float(pct.value) <= 100:
        raise pc.fail("the Percentile must be a constant between 0 and 100", call.args[1])
    dims = pc.dims(5)
    text = ROLLING_PERCENTILE.format(dims=dims_text(dims), order=order_text(len(dims)))
    items = [("__wk_v", value), ("__wk_ts", ts), *dim_items(dims)]
    out = pc.run(text, items, {"pct": pct, "size": size, "window": window})
    name = f"rolling_{window.value}_percentile_{value_name}_{_number_text(pct.value)}"
    return renamed(out, [(ts_name, "__wk_b"), *dim_names(dims), (name, "__wk_r")])


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
    pc = PluginCall(b, rel, call, scope)
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
    **ACTIVITY_PLUGINS,
    **SCHEMA_PLUGINS,
}
