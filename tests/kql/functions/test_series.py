"""``series_*`` functions on DuckDB and chdb, against Kusto's documented outputs and a plain-Python
reference of each algorithm (inputs are stored rows, so the engines' SQL is what runs)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace

from .dynamic_helpers import close, rows_of, shared, value

PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NUMBER = st.one_of(st.integers(-20, 20), st.floats(-50, 50, allow_nan=False).map(lambda f: round(f, 3)))
SERIES = st.lists(st.one_of(NUMBER, st.none(), st.just("x")), max_size=8)
NUMBERS = st.lists(NUMBER, min_size=2, max_size=12)


def num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


# ---------------------------------------------------------------------------- element-wise

_BINARY = {
    "series_add": lambda a, b: a + b,
    "series_subtract": lambda a, b: a - b,
    "series_multiply": lambda a, b: a * b,
    "series_greater": lambda a, b: a > b,
    "series_less_equals": lambda a, b: a <= b,
    "series_equals": lambda a, b: a == b,
}


def _elementwise(fn: Any, a: list[Any], b: list[Any]) -> list[Any]:
    out = []
    for i in range(max(len(a), len(b))):
        x, y = (num(a[i]) if i < len(a) else None), (num(b[i]) if i < len(b) else None)
        out.append(None if x is None or y is None else fn(x, y))
    return out


@given(a=SERIES, b=SERIES, name=st.sampled_from(sorted(_BINARY)))
@PROPERTY
def test_binary_series_functions_match_python(a: list[Any], b: list[Any], name: str) -> None:
    got = value(shared("duckdb"), {"a": a, "b": b}, f"{name}(a, b)")
    assert close(got, _elementwise(_BINARY[name], a, b))


@pytest.mark.chdb
@given(a=SERIES, b=SERIES)
@PROPERTY
def test_binary_series_functions_on_clickhouse(a: list[Any], b: list[Any]) -> None:
    pytest.importorskip("chdb")
    got = rows_of(shared("clickhouse"), [{"a": a, "b": b}], "series_add(a, b)", "series_greater(a, b)")[0]
    assert close(got[0], _elementwise(_BINARY["series_add"], a, b))
    assert got[1] == _elementwise(_BINARY["series_greater"], a, b)


def test_scalar_arguments_repeat(engine_ws: Workspace) -> None:
    got = rows_of(engine_ws, [{"a": [1, 2, 4], "k": 2}], "series_multiply(a, k)", "series_divide(k, a)",
                  "series_dot_product(a, k)", "series_pow(a, 2)")  # fmt: skip
    assert close(list(got[0]), [[2, 4, 8], [2.0, 1.0, 0.5], 14.0, [1.0, 4.0, 16.0]])


@pytest.mark.parametrize(
    ("fn", "x", "expected"),
    [
        ("series_abs", [-1.5, 2, None], [1.5, 2, None]),
        ("series_floor", [-1.5, 1, 2.5], [-2.0, 1.0, 2.0]),
        ("series_ceiling", [-1.5, 1, 2.5], [-1.0, 1.0, 3.0]),
        ("series_sign", [-6, 0, 8], [-1, 0, 1]),
        ("series_log", [1, 2, 3], [0.0, math.log(2), math.log(3)]),
        ("series_exp", [0, 1], [1.0, math.e]),
        ("series_sin", [-1, 0, 1], [math.sin(-1), 0.0, math.sin(1)]),
        ("series_tan", [-1, 0, 1], [math.tan(-1), 0.0, math.tan(1)]),
        ("series_acos", [1, "x"], [0.0, None]),
    ],
)
def test_unary_series_functions(engine_ws: Workspace, fn: str, x: list[Any], expected: list[Any]) -> None:
    assert close(value(engine_ws, {"x": x}, f"{fn}(x)"), expected)


def test_products_and_correlations(engine_ws: Workspace) -> None:
    row = {"s1": [0.1, 0.2, 0.1, 0.2], "s2": [1, 2, 3, 4], "a": [1, 2, 3, 4, 5], "b": [2, 4, 6, 8, 10]}
    got = rows_of(engine_ws, [row], "series_cosine_similarity(s1, s2)", "series_pearson_correlation(a, b)",
                  "series_dot_product(a, b)", "series_magnitude(s2)", "series_sum(a)")[0]  # fmt: skip
    assert close(list(got), [0.923760430703401, 1.0, 110.0, math.sqrt(30), 15.0], tol=1e-12)


# ---------------------------------------------------------------------------- stats, line fit


def _stats(x: list[Any]) -> dict[str, Any]:
    v = [float(n) for n in x if num(n) is not None]
    m = sum(v) / len(v)
    var = sum((a - m) ** 2 for a in v) / (len(v) - 1)
    nums = [num(n) for n in x]
    return {"min": min(v), "min_idx": nums.index(min(v)), "max": max(v), "max_idx": nums.index(max(v)),
            "avg": m, "stdev": math.sqrt(var), "variance": var}  # fmt: skip


def _fit(y: list[float]) -> dict[str, Any]:
    n = len(y)
    xs = list(range(1, n + 1))
    sx, sy = sum(xs), sum(y)
    slope = (n * sum(a * b for a, b in zip(xs, y, strict=True)) - sx * sy) / (
        n * sum(a * a for a in xs) - sx * sx
    )
    icpt = (sy - slope * sx) / n
    line = [icpt + slope * a for a in xs]
    ssr = sum((a - b) ** 2 for a, b in zip(y, line, strict=True))
    sst = sum((a - sy / n) ** 2 for a in y)
    return {"rsquare": 1 - ssr / sst if sst else None, "slope": slope, "variance": sst / (n - 1),
            "rvariance": ssr / (n - 1), "interception": icpt, "line_fit": line}  # fmt: skip


def test_series_stats_as_documented(engine_ws: Workspace) -> None:
    x = [23, 46, 23, 87, 4, 8, 3, 75, 2, 56, 13, 75, 32, 16, 29]
    got = value(engine_ws, {"x": x}, "series_stats_dynamic(x)")
    assert close(got, {"min": 2, "min_idx": 8, "max": 87, "max_idx": 3, "avg": 32.8,
                       "stdev": 28.5036338535483, "variance": 812.457142857143}, tol=1e-12)  # fmt: skip


def test_series_fit_line_as_documented(engine_ws: Workspace) -> None:
    y = [2, 5, 6, 8, 11, 15, 17, 18, 25, 26, 30, 30]
    got = value(engine_ws, {"y": y}, "series_fit_line_dynamic(y)")
    assert close(got, _fit([float(v) for v in y]))
    assert abs(got["rsquare"] - 0.982) < 1e-3
    assert abs(got["interception"] + 1.666) < 1e-3


@given(
    x=st.lists(st.one_of(NUMBER, st.none()), min_size=3, max_size=10).filter(
        lambda v: sum(n is not None for n in v) >= 2
    )
)
@PROPERTY
def test_series_stats_match_python(x: list[Any]) -> None:
    assert close(value(shared("duckdb"), {"x": x}, "series_stats(x)"), _stats(x), tol=1e-7)


@given(y=NUMBERS.filter(lambda v: len(set(v)) > 1))
@PROPERTY
def test_series_fit_line_matches_python(y: list[float]) -> None:
    assert close(
        value(shared("duckdb"), {"y": y}, "series_fit_line(y)"), _fit([float(v) for v in y]), tol=1e-6
    )


# ---------------------------------------------------------------------------- fill, filters


def test_series_fill_functions(engine_ws: Workspace) -> None:
    x = [None, 1, None, 3, None, None, 9, None]
    got = rows_of(engine_ws, [{"x": x}], "series_fill_forward(x)", "series_fill_backward(x)", "series_fill_const(x, 0)",
                  "series_fill_linear(x)", "series_fill_linear(x, double(null), false)", "series_fill_forward(x, 3)")[0]  # fmt: skip
    assert got[0] == [None, 1, 1, 3, 3, 3, 9, 9]
    assert got[1] == [1, 1, 3, 3, 9, 9, 9, None]
    assert got[2] == [0, 1, 0, 3, 0, 0, 9, 0]
    assert got[3] == [1, 1, 2, 3, 5, 7, 9, 9]
    assert got[4] == [None, 1, 2, 3, 5, 7, 9, None]
    assert got[5] == [None, 1, 1, 1, 1, 1, 9, 9]


def test_series_fill_linear_as_documented(ws: Workspace) -> None:
    x = [None, 111.0, None, 36.0, 41.0, None, None, 16.0, 61.0, 33.0, None, None]
    got = value(ws, {"x": x}, "series_fill_linear(x)")
    assert close(
        got, [111.0, 111.0, 73.5, 36.0, 41.0, 32.6667, 24.3333, 16.0, 61.0, 33.0, 33.0, 33.0], tol=1e-4
    )
    ints = [None, 111, None, 36, 41, None, None, 16, 61, 33, None, None]
    assert value(ws, {"x": ints}, "series_fill_linear(x)") == [
        111,
        111,
        73,
        36,
        41,
        32,
        24,
        16,
        61,
        33,
        33,
        33,
    ]
    assert value(ws, {"x": [None, None]}, "series_fill_linear(x, double(null), true, 3.5)") == [3.5, 3.5]


def _iir(x: list[float], b: list[float], a: list[float]) -> list[float]:
    y: list[float] = []
    for n in range(len(x)):
        acc = sum(b[i] * x[n - i] for i in range(len(b)) if n - i >= 0)
        acc -= sum(a[j] * y[n - j] for j in range(1, len(a)) if n - j >= 0)
        y.append(acc / a[0])
    return y


def _fir(x: list[float], f: list[float], normalize: bool, center: bool) -> list[float]:
    shift = (len(f) - 1) // 2 if center else 0
    total = sum(f) if normalize else 1.0
    return [sum(f[i] * (x[n + shift - i] if 0 <= n + shift - i < len(x) else 0.0) for i in range(len(f))) / total
            for n in range(len(x))]  # fmt: skip


@given(x=NUMBERS, b=st.lists(NUMBER, min_size=1, max_size=3), a=st.lists(NUMBER, min_size=1, max_size=3))
@PROPERTY
def test_series_iir_matches_python(x: list[float], b: list[float], a: list[float]) -> None:
    if a[0] == 0:
        return
    got = value(shared("duckdb"), {"x": x, "b": b, "a": a}, "series_iir(x, b, a)")
    assert close(got, _iir([float(v) for v in x], [float(v) for v in b], [float(v) for v in a]), tol=1e-6)


def test_series_filters(engine_ws: Workspace) -> None:
    x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    got = rows_of(engine_ws, [{"x": x}], "series_iir(x, dynamic([1]), dynamic([1, -1]))",
                  "series_fir(x, dynamic([1, 1, 1, 1, 1]))", "series_fir(x, dynamic([1, 1, 1, 1, 1]), true, true)",
                  "series_fir(x, dynamic([1, -1]), false)")[0]  # fmt: skip
    assert close(got[0], [float(sum(x[: i + 1])) for i in range(10)])
    assert close(got[1], _fir([float(v) for v in x], [1.0] * 5, True, False))
    assert close(got[2], _fir([float(v) for v in x], [1.0] * 5, True, True))
    assert close(got[3], [0.0] + [1.0] * 9)


# ---------------------------------------------------------------------------- outliers, seasonality


def _quantile(values: list[float], fraction: float) -> float:
    s = sorted(values)
    pos = fraction * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def _outliers(x: list[float], low: float, high: float) -> list[float]:
    q1, q3 = _quantile(x, low), _quantile(x, high)
    spread = max(q3 - q1, 1e-9)
    return [(v - q3) / spread if v > q3 else (v - q1) / spread if v < q1 else 0.0 for v in x]


@given(x=NUMBERS)
@PROPERTY
def test_series_outliers_match_tukey_fences(x: list[float]) -> None:
    got = rows_of(shared("duckdb"), [{"x": x}], "series_outliers(x)", "series_outliers(x, 'tukey')")[0]
    values = [float(v) for v in x]
    assert close(got[0], _outliers(values, 0.1, 0.9), tol=1e-6)
    assert close(got[1], _outliers(values, 0.25, 0.75), tol=1e-6)


SEASONAL = [2, 5, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("x", "expr", "expected"),
    [
        (SEASONAL, "series_seasonal(x)", [1.0, 2.0, 3.0, 4.0, 3.0, 2.0] * 4 + [1.0]),
        (
            [8, 12, 14, 12, 10] + [10, 12, 14, 12, 10] * 3,
            "series_seasonal(x)",
            [10.0, 12.0, 14.0, 12.0, 10.0] * 4,
        ),
        ([1, 3, 5, 2, 4, 6] * 2, "series_seasonal(x)", [0.0] * 12),
        ([1, 3, 5, 1, 3, 5, 2, 4, 6], "series_seasonal(x, 3)", [1.0, 3.0, 5.0] * 3),
        ([1, 3, 5, 2, 4, 6] * 2, "series_seasonal(x, 3)", [1.5, 3.5, 5.5] * 4),
        ([1, 3, 5, 2, 4, 6] * 2, "series_seasonal(x, 0)", [0.0] * 12),
    ],
)
def test_series_seasonal_as_documented(
    engine_ws: Workspace, x: list[int], expr: str, expected: list[float]
) -> None:
    assert close(value(engine_ws, {"x": x}, expr), expected)


def test_series_periods_detect_finds_the_period(engine_ws: Workspace) -> None:
    got = value(engine_ws, {"x": [*SEASONAL, 30]}, "series_periods_detect(x, 0, 12, 2)")
    assert got["periods"] == [6, 0]
    assert 0.6 < got["scores"][0] <= 1
    assert got["scores"][1] == 0
    checked = value(engine_ws, {"x": SEASONAL}, "series_periods_validate(x, 6, 5)")
    assert checked["periods"] == [6, 5]
    assert checked["scores"][0] > checked["scores"][1]


def test_series_decompose_parts_add_up(engine_ws: Workspace) -> None:
    x = [10 + (i % 7) * 2 + i * 0.5 for i in range(42)]
    got = value(engine_ws, {"x": x}, "series_decompose(x, 7, 'linefit')")
    for i, v in enumerate(x):
        assert close(got["baseline"][i], got["seasonal"][i] + got["trend"][i])
        assert close(got["residual"][i], v - got["baseline"][i])
    # Kusto's order: the seasonal medians first (absorbing part of the trend), then the line
    flat = value(engine_ws, {"x": [10 + (i % 7) * 2 for i in range(42)]}, "series_decompose(x, 7)")
    assert close(flat["residual"], [0.0] * 42, tol=1e-6)
    assert close(flat["seasonal"][:7], [10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0])
    assert close(flat["trend"], [0.0] * 42)


def test_series_decompose_anomalies_flags_spikes(engine_ws: Workspace) -> None:
    x = [float(v) for v in SEASONAL * 2]
    x[30] += 20
    x[40] -= 20
    got = value(engine_ws, {"x": x}, "series_decompose_anomalies(x, 1.5, -1, 'linefit')")
    flagged = {i: f for i, f in enumerate(got["ad_flag"]) if f}
    assert flagged == {30: 1, 40: -1}
    assert got["ad_score"][30] > 1.5 > 0 > -1.5 > got["ad_score"][40]
    assert len(got["baseline"]) == len(x)


def test_series_decompose_forecast_extends_the_season(engine_ws: Workspace) -> None:
    x = [float(i % 6) for i in range(30)] + [0.0] * 6
    got = value(engine_ws, {"x": x}, "series_decompose_forecast(x, 6, 6, 'none')")
    assert close(got[30:], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])


def _two_lines(y: list[float]) -> tuple[int, float]:
    """Brute force: the split (first index of the right part) with the least residual, its r-square."""

    def ssr(part: list[float], offset: int) -> float:
        fit = _fit(part) if len(set(part)) > 1 else {"slope": 0.0, "interception": part[0]}
        return sum((v - (fit["interception"] + fit["slope"] * (i + 1))) ** 2 for i, v in enumerate(part))

    best = min(range(2, len(y) - 1), key=lambda k: (ssr(y[:k], 0) + ssr(y[k:], k), k))
    total = sum((v - sum(y) / len(y)) ** 2 for v in y)
    return best, 1 - (ssr(y[:best], 0) + ssr(y[best:], best)) / total


def test_series_fit_2lines_finds_the_break(engine_ws: Workspace) -> None:
    y = [1, 2.2, 2.5, 4.7, 5.0, 12, 10.3, 10.3, 9, 8.3, 6.2]
    got = rows_of(engine_ws, [{"y": y}], "series_fit_2lines(y)", "series_fit_2lines_dynamic(y)")[0]
    split, rsquare = _two_lines(y)
    assert got[0]["split_idx"] == split == got[1]["split_idx"] == 5
    assert close(got[0]["rsquare"], rsquare)
    assert close(got[1]["left"]["slope"], got[0]["left_slope"])
    assert close(got[0]["line_fit"][:5], [0.98, 2.03, 3.08, 4.13, 5.18])
