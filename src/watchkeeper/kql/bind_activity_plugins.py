"""Binding of the retention ``evaluate`` plugins: ``activity_metrics``, ``activity_engagement`` and
``new_activity_metrics``, and the reasons the funnel and session plugins are refused.

Like :mod:`bind_analytics_plugins`, each plugin is a fixed KQL pipeline of
:mod:`analytics_templates` over the input projected to names of our own. Start and End are
optional in ``activity_metrics`` and ``activity_engagement`` (Kusto's syntax ``[Start, End,]``):
without them the analysis runs from the bin of the first record to the last record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.analytics_templates import (
    ACTIVITY_ENGAGEMENT,
    ACTIVITY_METRICS,
    NEW_ACTIVITY_METRICS,
    bins,
    order_text,
)
from watchkeeper.kql.bind_operators import project_columns
from watchkeeper.kql.plan import BColumn, BExpr, Relation
from watchkeeper.kql.plugin_arguments import (
    NUMBERS,
    Param,
    PluginCall,
    dim_items,
    dim_names,
    dims_text,
    renamed,
)
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["ACTIVITY_PLUGINS"]

_T = KqlType
_BOUND = (_T.DATETIME, *NUMBERS)
_WINDOW = (_T.TIMESPAN, *NUMBERS)
_FIRST = "toscalar(__wk_in | summarize min(__wk_ts))"
_LAST = "toscalar(__wk_in | summarize max(__wk_ts))"


def _bounds(pc: PluginCall, ts: BExpr, given: bool, unit: str) -> tuple[dict[str, Param], int]:
    """Start and End (arguments 3 and 4) when ``given``, else the data's first bin and last record;
    and the index of the argument after them."""
    if not given:
        first = f"bin({_FIRST}, __wk_p_bin)" if unit == "fixed" else _FIRST
        return {"start": first, "end": _LAST}, 2
    start, end = pc.constant(2, "Start", _BOUND), pc.constant(3, "End", _BOUND)
    pc.timeline(ts, start)
    return {"start": start, "end": end}, 4


# ---------------------------------------------------------------------------- activity_metrics


def _activity_metrics(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``activity_metrics(Id, Timeline, [Start, End,] Window [, dims...])``: per window,
    ``dcount_values``, ``dcount_newvalues`` (ids not in the previous window), ``retention_rate``
    (share of the previous window's ids seen again; NaN without one) and ``churn_rate``."""
    pc = PluginCall(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    pc.timeline(ts, None)
    given = pc.is_constant(3) and pc.is_constant(4)
    unit, step = pc.step(4 if given else 2, "Window", ts)
    bounds, after = _bounds(pc, ts, given, unit)
    dims = pc.dims(after + 1)
    text = ACTIVITY_METRICS.format(dims=dims_text(dims), order=order_text(len(dims)), **bins(unit))
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", pc.group_key(dims)), *dim_items(dims)]
    out = pc.run(text, items, {**step, **bounds})
    metrics = [(n, n) for n in ("dcount_values", "dcount_newvalues", "retention_rate", "churn_rate")]
    return renamed(out, [(ts_name, "__wk_b"), *metrics, *dim_names(dims)])


# ---------------------------------------------------------------------------- activity_engagement


def _activity_engagement(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``activity_engagement(Id, Timeline, [Start, End,] InnerWindow, OuterWindow [, dims...])``: per
    inner window (a day for DAU), the distinct ids in it, in the outer window ending with it (the
    week for WAU) and their ratio, ``activity_ratio``."""
    pc = PluginCall(b, rel, call, scope)
    (_, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    pc.timeline(ts, None)
    given = pc.is_constant(4) and pc.is_constant(5)
    inner = 4 if given else 2
    _, step = pc.step(inner, "InnerActivityWindow", ts, calendar=False)
    outer = pc.constant(inner + 1, "OuterActivityWindow", _WINDOW)
    bounds, _ = _bounds(pc, ts, given, "fixed")
    dims = pc.dims(inner + 2)
    text = ACTIVITY_ENGAGEMENT.format(dims=dims_text(dims), order=order_text(len(dims)), **bins("fixed"))
    items = [("__wk_id", ident), ("__wk_ts", ts), *dim_items(dims)]
    out = pc.run(text, items, {**step, "lookback": outer, **bounds})
    metrics = [(n, n) for n in ("dcount_activities_inner", "dcount_activities_outer", "activity_ratio")]
    return renamed(out, [(ts_name, "__wk_b"), *metrics, *dim_names(dims)])


# ---------------------------------------------------------------------------- new_activity_metrics


def _new_activity_metrics(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``new_activity_metrics(Id, Timeline, Start, End, Window [, Cohort] [, dims...] [, Lookback])``:
    per cohort of new ids (first seen in a window; ids of the Lookback table are never new) and
    each window from the cohort's on: ``dcount_new_values``, ``dcount_retained_values``,
    ``dcount_churn_values``, ``retention_rate`` and ``churn_rate``, as documented."""
    pc = PluginCall(b, rel, call, scope)
    (id_name, ident), (ts_name, ts) = pc.column(0, "id"), pc.column(1, "timeline")
    start, end = pc.constant(2, "Start", _BOUND), pc.constant(3, "End", _BOUND)
    pc.timeline(ts, start)
    unit, step = pc.step(4, "Window", ts)
    last = len(call.args)
    tables: dict[str, Relation] = {}
    if last > 5 and b.is_tabular(call.args[-1], scope):
        last -= 1
        tables["__wk_lookback"] = _lookback(pc, call.args[-1], id_name)
    params: dict[str, Param] = {**step, "start": start, "end": end}
    if pc.is_constant(5) and last > 5:
        params["cohort"] = pc.constant(5, "Cohort", _BOUND)
    dims = pc.dims(6 if "cohort" in params else 5, last)
    fragments = bins(unit)
    text = NEW_ACTIVITY_METRICS.format(
        dims=dims_text(dims), order_cohorts=order_text(len(dims), ("__wk_f", "__wk_t")),
        lookback="__wk_lookback" if tables else "__wk_in | where false | project __wk_id",
        cohort=f"__wk_own == {fragments['bin_cohort']}" if "cohort" in params else "true", **fragments,
    )  # fmt: skip
    items = [("__wk_id", ident), ("__wk_ts", ts), ("__wk_g", pc.group_key(dims)), *dim_items(dims)]
    out = pc.run(text, items, params, tables)
    metrics = (
        "dcount_new_values",
        "dcount_retained_values",
        "dcount_churn_values",
        "retention_rate",
        "churn_rate",
    )
    names = [(f"from_{ts_name}", "__wk_f"), (f"to_{ts_name}", "__wk_t"), *((n, n) for n in metrics)]
    return renamed(out, [*names, *dim_names(dims)])


def _lookback(pc: PluginCall, expr: ast.Expr, id_name: str) -> Relation:
    """The Lookback table's ids: its column named like the id column."""
    table = pc.b.tabular(expr, pc.scope)
    col = table.schema.find(id_name)
    if col is None:
        raise pc.fail(f"the Lookback table has no column '{id_name}' (the id column's name)", expr)
    return project_columns(table, [("__wk_id", BColumn(col.type, col))])


# ---------------------------------------------------------------------------- refused


def _refused(reason: str) -> Callable[[Binder, Relation, ast.Call, Scope], Relation]:
    def plugin(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
        raise b.unsupported(f"evaluate {call.name}(): {reason}", call)

    return plugin


ACTIVITY_PLUGINS: dict[str, Callable[[Binder, Relation, ast.Call, Scope], Relation]] = {
    "activity_metrics": _activity_metrics,
    "activity_engagement": _activity_engagement,
    "new_activity_metrics": _new_activity_metrics,
    "funnel_sequence": _refused(
        "it returns three tables (prev-sequence-next, prev-sequence and sequence-next counts), and a "
        "pipeline operator here returns one"
    ),
    "funnel_sequence_completion": _refused(
        "it matches event sequences per id with a time limit between steps, the sequence matching "
        "sequence_detect needs too, which has no SQL form here"
    ),
    "session_count": _refused(
        "its session rule (when an id's reappearance within LookBackWindow continues a session) is "
        "documented only by a chart, so its counts cannot be reproduced faithfully"
    ),
}
