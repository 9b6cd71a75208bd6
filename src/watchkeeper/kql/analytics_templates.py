"""The KQL pipelines the user-analytics plugins are written as (see :mod:`bind_analytics_plugins`).

Texts hold only names of our own: ``__wk_in`` (the input, projected to ``__wk_id``, ``__wk_ts``,
``__wk_g`` (one string per dimension combination), ``__wk_d0``...), ``__wk_p_*`` (the plugin's
scalar arguments, bound by the caller) and ``{placeholders}`` filled with fragments from this
module. The windowing is the technique of Kusto's "aggregations over a sliding window" sample:
each record is copied (``mv-expand`` of a ``range``) into every bin whose window holds it.
"""

from __future__ import annotations

from functools import lru_cache

from watchkeeper.kql import ast
from watchkeeper.kql.parser import parse

__all__ = [
    "ACTIVE_USERS_COUNT", "ACTIVITY_COUNTS_METRICS", "ACTIVITY_ENGAGEMENT", "ACTIVITY_METRICS", "NEW_ACTIVITY_METRICS",
    "ROLLING_PERCENTILE", "SLIDING_WINDOW_COUNTS",
    "bins", "calendar_bins", "fixed_bins", "order_text", "template",
]  # fmt: skip

# Bins of a record are b0 = its own bin, then b0 + k steps while b - lookback < b0 (the window of
# bin b is (b - lookback, b]): with lookback 3d and bin 1d, the bins b-2d, b-1d and b. __wk_k == 0
# marks a record's own bin.
_COPIES = """__wk_in
| extend __wk_b0 = {bin_ts}
| where __wk_b0 <= __wk_p_end and __wk_b0 > {bin_start} - __wk_p_lookback
| extend __wk_k = range(0, {kmax}, 1)
| mv-expand __wk_k to typeof(long)
| extend __wk_b = {step}
| where __wk_b - __wk_p_lookback < __wk_b0 and __wk_b >= {bin_start} and __wk_b <= __wk_p_end"""

SLIDING_WINDOW_COUNTS = (
    _COPIES
    + """
| summarize Count = count(), dcount = dcount(__wk_id) by __wk_b{dims}
| sort by {order}"""
)

# The inner window is a bin, the outer one the lookback ending with it (DAU/WAU: 1d and 7d).
ACTIVITY_ENGAGEMENT = (
    _COPIES
    + """
| summarize dcount_activities_inner = dcountif(__wk_id, __wk_k == 0),
    dcount_activities_outer = dcount(__wk_id) by __wk_b{dims}
| extend activity_ratio = todouble(dcount_activities_inner) / dcount_activities_outer
| sort by {order}"""
)

# An id is new in a window when it is the first window of that id (and dimensions): rows per
# (window, dimensions, id) sorted by id then window, the first of each id starts a new run.
ACTIVITY_COUNTS_METRICS = """__wk_in
| where __wk_ts >= __wk_p_start
| extend __wk_b = {bin_ts}
| where __wk_b <= __wk_p_end
| summarize __wk_c = count() by __wk_b, __wk_g, __wk_id{dims}
| sort by __wk_g asc, __wk_id asc, __wk_b asc
| extend __wk_new = row_number(1, __wk_g != prev(__wk_g) or __wk_id != prev(__wk_id)) == 1
| summarize count = sum(__wk_c), dcount = countif(isnotnull(__wk_id)),
    new_dcount = countif(__wk_new and isnotnull(__wk_id)) by __wk_b, __wk_g{dims}
| sort by __wk_g asc, __wk_b asc
| extend aggregated_dcount = row_cumsum(new_dcount, __wk_g != prev(__wk_g))
| sort by {order}"""

# Each window against the one before it: ids (per window) sorted by id then window; an id was in
# the previous window when its previous row is that window. Retention is the share of the previous
# window's ids seen again (NaN without a previous window, as documented), churn the rest.
ACTIVITY_METRICS = """__wk_in
| where __wk_ts >= __wk_p_start
| extend __wk_b = {bin_ts}
| where __wk_b <= __wk_p_end
| summarize by __wk_b, __wk_g, __wk_id{dims}
| sort by __wk_g asc, __wk_id asc, __wk_b asc
| extend __wk_was = iff(__wk_g == prev(__wk_g) and __wk_id == prev(__wk_id) and prev(__wk_b) == {prev_bin}, true, false)
| summarize dcount_values = count(), dcount_newvalues = countif(not(__wk_was)), __wk_kept = countif(__wk_was)
    by __wk_b, __wk_g{dims}
| sort by __wk_g asc, __wk_b asc
| extend __wk_before = iff(__wk_g == prev(__wk_g) and prev(__wk_b) == {prev_bin}, prev(dcount_values), 0)
| extend retention_rate = iff(__wk_before > 0, todouble(__wk_kept) / __wk_before, real(nan))
| extend churn_rate = 1.0 - retention_rate
| sort by {order}"""

# Cohorts of new ids (first seen in a window, not in the lookback table) against every window
# from theirs on: retained ids of the cohort, and ids of the later window never seen up to the
# cohort's window (for the cohort's own window: the cohort).
NEW_ACTIVITY_METRICS = """let __wk_act = __wk_in
    | where __wk_ts >= __wk_p_start
    | extend __wk_b = {bin_ts}
    | where __wk_b <= __wk_p_end
    | summarize by __wk_b, __wk_g, __wk_id{dims};
let __wk_old = {lookback} | summarize by __wk_id | extend __wk_o = 1;
let __wk_seen = __wk_act
    | summarize __wk_own = min(__wk_b) by __wk_g, __wk_id{dims}
    | join kind=leftouter __wk_old on __wk_id
    | where isnull(__wk_o)
    | project __wk_g, __wk_id, __wk_own{dims};
let __wk_cohorts = __wk_seen
    | where {cohort}
    | summarize __wk_size = count() by __wk_f = __wk_own, __wk_g{dims};
let __wk_retained = __wk_act
    | join kind=inner (__wk_seen | project __wk_g, __wk_id, __wk_f = __wk_own) on __wk_g, __wk_id
    | summarize __wk_r = count() by __wk_f, __wk_t = __wk_b, __wk_g;
let __wk_newer = __wk_act
    | join kind=inner (__wk_seen | project __wk_g, __wk_id, __wk_own) on __wk_g, __wk_id
    | join kind=inner (__wk_cohorts | project __wk_g, __wk_f) on __wk_g
    | where __wk_own > __wk_f and __wk_b > __wk_f
    | summarize __wk_n = count() by __wk_f, __wk_t = __wk_b, __wk_g;
__wk_cohorts
| extend __wk_key = 1
| join kind=inner ({windows} | extend __wk_key = 1) on __wk_key
| where __wk_t >= __wk_f
| join kind=leftouter __wk_retained on __wk_f, __wk_t, __wk_g
| join kind=leftouter __wk_newer on __wk_f, __wk_t, __wk_g
| extend __wk_r = coalesce(__wk_r, 0), __wk_n = iff(__wk_t == __wk_f, __wk_size, coalesce(__wk_n, 0))
| extend dcount_new_values = __wk_n, dcount_retained_values = __wk_r, dcount_churn_values = todouble(__wk_size - __wk_r),
    retention_rate = todouble(__wk_r) / __wk_size, churn_rate = todouble(__wk_size - __wk_r) / __wk_size
| sort by {order_cohorts}"""

# Appearances in [Start, End], each checked against the same id's records of the lookback window
# before it (a join on the id, then the range condition).
ACTIVE_USERS_COUNT = """__wk_in
| where __wk_ts >= __wk_p_start and __wk_ts <= __wk_p_end
| summarize by __wk_id, __wk_g, __wk_ts{dims}
| join kind=inner (
    __wk_in
    | where __wk_ts > __wk_p_start - __wk_p_lookback and __wk_ts <= __wk_p_end
    | summarize by __wk_id, __wk_g, __wk_t = __wk_ts, __wk_period = bin(__wk_ts, __wk_p_period)
  ) on __wk_id, __wk_g
| where __wk_t > __wk_ts - __wk_p_lookback and __wk_t <= __wk_ts
| summarize __wk_n = dcount(__wk_period) by __wk_id, __wk_g, __wk_ts{dims}
| where __wk_n >= __wk_p_active
| extend __wk_b = {bin_ts}
| summarize dcount = dcount(__wk_id) by __wk_b{dims}
| sort by {order}"""

# Each value counts in its own bin and the next BinsPerWindow - 1; a bin is reported when it holds
# values of its own (the documented output ends with the last bin of data).
ROLLING_PERCENTILE = """__wk_in
| extend __wk_b0 = bin(__wk_ts, __wk_p_size)
| extend __wk_k = range(0, __wk_p_window - 1, 1)
| mv-expand __wk_k to typeof(long)
| extend __wk_b = __wk_b0 + __wk_k * __wk_p_size
| summarize __wk_r = percentile(__wk_v, __wk_p_pct), __wk_own = countif(__wk_k == 0) by __wk_b{dims}
| where __wk_own > 0
| sort by {order}"""


def fixed_bins() -> dict[str, str]:
    """Fragments for bins of a fixed size ``__wk_p_bin`` aligned on the start of the analysis."""
    return {
        "bin_ts": "bin_at(__wk_ts, __wk_p_bin, __wk_p_start)",
        "bin_start": "__wk_p_start",
        "kmax": "tolong(__wk_p_lookback / __wk_p_bin)",
        "step": "__wk_b0 + __wk_k * __wk_p_bin",
        "prev_bin": "__wk_b - __wk_p_bin",
        "bin_cohort": "bin_at(__wk_p_cohort, __wk_p_bin, __wk_p_start)",
        "windows": "range __wk_t from __wk_p_start to __wk_p_end step __wk_p_bin",
    }


# The shortest length of each calendar unit: enough copies of a record for any window.
_SHORTEST = {"week": "7d", "month": "28d", "year": "365d"}


def calendar_bins(unit: str) -> dict[str, str]:
    """Fragments for calendar bins (``startofweek``...), ``unit`` being week, month or year."""
    first = f"startof{unit}(__wk_p_start)"
    count = f"datetime_diff('{unit}', __wk_p_end, {first})"
    return {
        "bin_ts": f"startof{unit}(__wk_ts)",
        "bin_start": first,
        "kmax": f"tolong(__wk_p_lookback / {_SHORTEST[unit]})",
        "step": f"datetime_add('{unit}', __wk_k, __wk_b0)",
        "prev_bin": f"datetime_add('{unit}', -1, __wk_b)",
        "bin_cohort": f"startof{unit}(__wk_p_cohort)",
        "windows": f"range __wk_k from 0 to {count} step 1 | project __wk_t = datetime_add('{unit}', __wk_k, {first})",
    }


def bins(unit: str) -> dict[str, str]:
    """The fragments for ``unit``: ``fixed`` (a step of ``__wk_p_bin``), week, month or year."""
    return fixed_bins() if unit == "fixed" else calendar_bins(unit)


def order_text(dims: int, times: tuple[str, ...] = ("__wk_b",)) -> str:
    """The output order: by dimensions, then by time."""
    return ", ".join([*(f"__wk_d{i} asc" for i in range(dims)), *(f"{t} asc" for t in times)])


@lru_cache(maxsize=64)
def template(text: str) -> ast.Query:
    """A pipeline text, parsed once: its ``let`` statements and one tabular expression."""
    query = parse(text)
    assert len(query.results) == 1
    return query
