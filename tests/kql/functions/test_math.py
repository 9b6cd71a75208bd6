"""Math functions on DuckDB and chdb: the reference's examples, IEEE edge values, and random values
checked against each function's Python reference."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import column_values, values
from watchkeeper import Workspace
from watchkeeper.kql.functions.math import beta_cdf, erf, erfc, kusto_round

PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


def close(got: Any, want: float, rel: float = 1e-9) -> bool:
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == pytest.approx(want, rel=rel, abs=1e-300)


# ---------------------------------------------------------------------------- rounding


def test_round_follows_the_documented_examples(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"a": "real", "b": "real", "c": "real", "d": "real"}, [(2.98765, 2.15, -50.55, 21.5)],
                  "round(a, 3)", "round(b, 1)", "round(b)", "round(c, -2)", "round(d, -1)")  # fmt: skip
    assert rows == [(2.988, 2.2, 2.0, -100.0, 20.0)]


def test_round_halves_away_from_zero(engine_ws: Workspace) -> None:
    assert column_values(engine_ws, "real", [2.5, -2.5, 0.5, -0.5, 1.5], "round(x)") == [
        3.0,
        -3.0,
        1.0,
        -1.0,
        2.0,
    ]
    assert column_values(engine_ws, "long", [1250, -1250, 7], "round(x, -2)") == [1300, -1300, 0]


@PROPERTY
@given(items=st.lists(FINITE, min_size=1, max_size=8), digits=st.integers(-3, 6))
def test_round_matches_the_reference(engine_ws: Workspace, items: list[float], digits: int) -> None:
    got = column_values(engine_ws, "real", items, f"round(x, {digits})")
    assert all(close(g, kusto_round(v, digits)) for g, v in zip(got, items, strict=True)), got


def test_ceiling_floor_sign_abs(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"r": "real", "n": "long"}, [(-1.1, -3), (1.1, 3), (0.0, 0)],
                  "ceiling(r)", "floor(r, 1)", "sign(r)", "sign(n)", "abs(n)", "ceiling(n)")  # fmt: skip
    assert rows == [(-1.0, -2.0, -1.0, -1, 3, -3), (2.0, 1.0, 1.0, 1, 3, 3), (0.0, 0.0, 0.0, 0, 0, 0)]


# ---------------------------------------------------------------------------- logarithms and powers


def test_logarithms_and_roots_give_ieee_values_not_errors(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"x": "real"}, [(0.0,), (-1.0,), (8.0,)],
                  "log(x)", "log2(x)", "log10(x)", "sqrt(x)")  # fmt: skip
    assert rows[0] == (-math.inf, -math.inf, -math.inf, 0.0)
    assert all(math.isnan(v) for v in rows[1])
    assert rows[2][1:] == (3.0, pytest.approx(0.903089986991944), pytest.approx(2.8284271247461903))


def test_exponentials_and_powers(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"n": "long", "r": "real"}, [(3, 0.5)],
                  "exp(r)", "exp2(n)", "exp10(n)", "pow(n, 2)", "pow(2, r)", "pi()")  # fmt: skip
    assert rows == [(pytest.approx(math.exp(0.5)), 8.0, 1000.0, 9.0, pytest.approx(math.sqrt(2)), math.pi)]


def test_trigonometry(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"x": "real"}, [(0.5,)],
                  "sin(x)", "cos(x)", "tan(x)", "asin(x)", "acos(x)", "atan(x)", "atan2(x, 1.0)", "cot(x)",
                  "degrees(x)", "radians(x)")  # fmt: skip
    want = (math.sin(0.5), math.cos(0.5), math.tan(0.5), math.asin(0.5), math.acos(0.5), math.atan(0.5),
            math.atan2(0.5, 1.0), 1 / math.tan(0.5), math.degrees(0.5), math.radians(0.5))  # fmt: skip
    assert rows == [tuple(pytest.approx(w) for w in want)]


def test_gamma_functions(engine_ws: Workspace) -> None:
    assert values(engine_ws, {"x": "real"}, [(5.0,)], "gamma(x)", "loggamma(x)") == [
        (pytest.approx(24.0), pytest.approx(math.lgamma(5.0)))
    ]


def test_nan_and_infinity_tests(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"x": "real"}, [(math.nan,), (math.inf,), (1.0,), (None,)],
                  "isnan(x)", "isinf(x)", "isfinite(x)")  # fmt: skip
    assert rows == [(True, False, False), (False, True, False), (False, False, True), (None, None, None)]


def test_rand_stays_in_range(engine_ws: Workspace) -> None:
    got = engine_ws.query("range i from 1 to 200 step 1 | extend r = rand(), n = rand(10) "
                          "| summarize min(r), max(r), min(n), max(n)").rows  # fmt: skip
    low, high, nlow, nhigh = got[0]
    assert 0 <= low <= high < 1
    assert 0 <= nlow <= nhigh <= 9


# ---------------------------------------------------------------------------- special functions


def test_erf_and_erfc(engine_ws: Workspace) -> None:
    items = [-3.0, -1.0, -0.1, 0.0, 1e-9, 0.3, 1.0, 2.0, 3.0]
    got = values(engine_ws, {"x": "real"}, [(v,) for v in items], "erf(x)", "erfc(x)")
    for (e, c), v in zip(got, items, strict=True):
        assert close(e, math.erf(v), rel=2e-7)
        assert close(c, math.erfc(v), rel=2e-7)
        assert e == pytest.approx(erf(v))
        assert c == pytest.approx(erfc(v))


def test_beta_distribution_documented_example(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"x": "real", "a": "real", "b": "real"},
                  [(0.9, 10.0, 20.0), (1.5, 10.0, 20.0), (-10.0, 10.0, 20.0), (0.1, -1.0, 20.0)],
                  "beta_cdf(x, a, b)")  # fmt: skip
    assert rows[0][0] == pytest.approx(0.999999999999959, rel=1e-12)
    assert all(math.isnan(r[0]) for r in rows[1:])


def test_beta_inverse_and_density(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"p": "real", "a": "real", "b": "real"}, [(0.3, 2.0, 5.0)],
                  "beta_inv(beta_cdf(p, a, b), a, b)", "beta_pdf(p, a, b)")  # fmt: skip
    assert rows == [(pytest.approx(0.3, rel=1e-9), pytest.approx(2.1609, rel=1e-9))]


@PROPERTY
@given(
    items=st.lists(
        st.tuples(st.floats(0.01, 0.99), st.floats(0.5, 50), st.floats(0.5, 50)), min_size=1, max_size=4
    )
)
def test_beta_cdf_matches_the_reference(
    engine_ws: Workspace, items: list[tuple[float, float, float]]
) -> None:
    got = values(engine_ws, {"x": "real", "a": "real", "b": "real"}, items, "beta_cdf(x, a, b)")
    assert [r[0] for r in got] == [pytest.approx(beta_cdf(*item), rel=1e-9, abs=1e-12) for item in items]


# ---------------------------------------------------------------------------- bitwise


def test_bitwise_functions(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"a": "long", "b": "long"}, [(100, 15)],
                  "binary_and(a, b)", "binary_or(a, b)", "binary_xor(a, b)", "binary_not(a)",
                  "binary_shift_left(a, 2)", "binary_shift_right(a, 2)", "bitset_count_ones(a)")  # fmt: skip
    assert rows == [(4, 111, 107, -101, 400, 25, 3)]
