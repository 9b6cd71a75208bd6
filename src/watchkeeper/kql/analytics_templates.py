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
    "ACTIVE_USERS_COUNT", "ACTIVITY_COUNTS_METRICS", "ROLLING_PERCENTILE", "SLIDING_WINDOW_COUNTS",
    "calendar_bins", "fixed_bins", "order_text", "template",
]  # fmt: skip

# Bins of a record are b0 = its own bin, then b0 + k steps while b - lookback < b0 (the window of
# bin b is (b - lookback, b]): with lookback 3d and bin 1d, the bins b-2d, b-1d and b.
SLIDING_WINDOW_COUNTS = """__wk_in
| extend __wk_b0 = {bin_ts}
| where __wk_b0 <= __wk_p_end and __wk_b0 > {bin_start} - __wk_p_lookback
| extend __wk_k = range(0, {kmax}, 1)
| mv-expand __wk_k to typeof(long)
| extend __wk_b = {step}
| where __wk_b - __wk_p_lookback < __wk_b0 and __wk_b >= {bin_start} and __wk_b <= __wk_p_end
| summarize Count = count(), dcount = dcount(__wk_id) by __wk_b{dims}
| sort by {order}"""

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
    }


# The shortest length of each calendar unit: enough copies of a record for any window.
_SHORTEST = {"week": "7d", "month": "28d", "year": "365d"}


def calendar_bins(unit: str) -> dict[str, str]:
    """Fragments for calendar bins (``startofweek``...), ``unit`` being week, month or year."""
    step = "__wk_b0 + __wk_k * 7d" if unit == "week" else f"datetime_add('{unit}', __wk_k, __wk_b0)"
    return {
        "bin_ts": f"startof{unit}(__wk_ts)",
        "bin_start": f"startof{unit}(__wk_p_start)",
        "kmax": f"tolong(__wk_p_lookback / {_SHORTEST[unit]})",
        "step": step,
    }


def order_text(dims: int) -> str:
    """The output order: by dimensions, then by time."""
    return ", ".join([*(f"__wk_d{i} asc" for i in range(dims)), "__wk_b asc"])


@lru_cache(maxsize=64)
def template(text: str) -> ast.Expr:
    """The tabular expression of a pipeline text (parsed once)."""
    query = parse(text)
    assert len(query.results) == 1
    assert not query.lets
    return query.results[0]
