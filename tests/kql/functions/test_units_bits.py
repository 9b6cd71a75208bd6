"""Bit operations, unit conversions and parse_version on DuckDB and chdb over column values,
checked against plain-Python statements of Kusto's documented rules on random inputs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import values
from watchkeeper import Workspace
from watchkeeper.kql.functions.units import FAMILIES

PROPERTY = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def signed64(value: int) -> int:
    """``value`` wrapped to a signed 64-bit integer, as .NET's long arithmetic does."""
    value &= 2**64 - 1
    return value - 2**64 if value >= 2**63 else value


def kusto_shift_left(value: int, shift: int) -> int | None:
    """binary_shift_left: ``value << (shift % 64)``, null for a negative shift (documented)."""
    return None if shift < 0 else signed64(value << (shift % 64))


def kusto_shift_right(value: int, shift: int) -> int | None:
    """binary_shift_right: an arithmetic ``value >> (shift % 64)``, null for a negative shift."""
    return None if shift < 0 else value >> (shift % 64)


# ---------------------------------------------------------------------------- binary_*


@PROPERTY
@given(pairs=st.lists(st.tuples(LONGS, st.integers(min_value=-3, max_value=200)), min_size=1, max_size=8))
def test_shifts_follow_the_documented_rule(engine_ws: Workspace, pairs: list[tuple[int, int]]) -> None:
    rows = values(
        engine_ws, {"a": "long", "n": "long"}, pairs, "binary_shift_left(a, n)", "binary_shift_right(a, n)"
    )
    assert rows == [(kusto_shift_left(a, n), kusto_shift_right(a, n)) for a, n in pairs]


@PROPERTY
@given(pairs=st.lists(st.tuples(LONGS, LONGS), min_size=1, max_size=8))
def test_bitwise_operators_are_64_bit_twos_complement(
    engine_ws: Workspace, pairs: list[tuple[int, int]]
) -> None:
    rows = values(engine_ws, {"a": "long", "b": "long"}, pairs,
                  "binary_and(a, b)", "binary_or(a, b)", "binary_xor(a, b)", "binary_not(a)")  # fmt: skip
    assert rows == [(a & b, a | b, a ^ b, ~a) for a, b in pairs]


# ---------------------------------------------------------------------------- convert_*


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=st.sampled_from(sorted(FAMILIES)), data=st.data())
def test_a_conversion_and_its_inverse_give_the_value_back(
    engine_ws: Workspace, family: str, data: st.DataObject
) -> None:
    unit = st.sampled_from(sorted(FAMILIES[family]))
    rows = data.draw(
        st.lists(st.tuples(st.floats(min_value=-0.99, max_value=0.99), unit, unit), min_size=1, max_size=8)
    )
    got = values(
        engine_ws, {"v": "real", "s": "string", "t": "string"}, rows, f"{family}({family}(v, s, t), t, s)"
    )
    assert [g[0] for g in got] == pytest.approx([r[0] for r in rows], rel=1e-9, abs=1e-9)


def test_constant_and_column_units_agree(engine_ws: Workspace) -> None:
    # the constant spelling folds into one multiply-add; the column spelling is a CASE over names
    constant = engine_ws.query(
        "print convert_speed(36.0, 'KilometerPerHour', 'MeterPerSecond'), "
        "convert_temperature(32.0, 'DegreeFahrenheit', 'DegreeCelsius')"
    ).rows[0]
    rows = values(engine_ws, {"v": "real", "s": "string", "t": "string"},
                  [(36.0, "KilometerPerHour", "MeterPerSecond"), (32.0, "DegreeFahrenheit", "DegreeCelsius")],
                  "coalesce(convert_speed(v, s, t), convert_temperature(v, s, t))")  # fmt: skip
    assert list(constant) == pytest.approx([10.0, 0.0], abs=1e-12)
    assert [r[0] for r in rows] == pytest.approx([10.0, 0.0], abs=1e-12)


def test_a_null_value_or_an_unknown_unit_is_null(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"v": "real", "s": "string"}, [(None, "Meter"), (1.0, "Meters"), (1.0, "")],
                  "convert_length(v, s, 'Foot')")  # fmt: skip
    assert rows == [(None,), (None,), (None,)]


# ---------------------------------------------------------------------------- parse_version

PARTS = st.lists(st.integers(min_value=0, max_value=99_999_999), min_size=1, max_size=4)


@PROPERTY
@given(versions=st.lists(PARTS, min_size=2, max_size=6))
def test_parsed_versions_compare_like_the_versions(engine_ws: Workspace, versions: list[list[int]]) -> None:
    texts = [".".join(str(p) for p in parts) for parts in versions]
    rows = values(engine_ws, {"v": "string"}, [(t,) for t in texts], "parse_version(v)")
    padded = [tuple(parts + [0] * (4 - len(parts))) for parts in versions]
    parsed = [r[0] for r in rows]
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (parsed[i] < parsed[j]) == (padded[i] < padded[j]), (texts[i], texts[j])
    assert parsed == [sum(p * 10 ** (8 * (3 - k)) for k, p in enumerate(parts)) for parts in padded]


@pytest.mark.parametrize("text", ["1.2.3.4.5", "123456789", "1..2", "-1", "1.2.", " 1.2", "1.x", ""])
def test_text_that_is_not_a_version_is_null(engine_ws: Workspace, text: str) -> None:
    assert values(engine_ws, {"v": "string"}, [(text,)], "parse_version(v)") == [(None,)]


def test_versions_sort_in_version_order(engine_ws: Workspace) -> None:
    query = (
        'datatable(v:string)["1.10", "1.9.9", "1.2.3.4", "2", "1.2.3.10"] '
        "| extend parsed = parse_version(v) | sort by parsed asc | project v"
    )
    assert [r[0] for r in engine_ws.query(query).rows] == ["1.2.3.4", "1.2.3.10", "1.9.9", "1.10", "2"]
