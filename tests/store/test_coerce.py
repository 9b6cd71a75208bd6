"""Coercion of rows to a table's storage types: the column-wise conversions (Arrow converts a whole
column when its values allow it) give exactly what converting value by value gives, rejections
included (a differential property test against :func:`to_arrow_by_cell`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.errors import IngestError
from watchkeeper.schema.catalog import Catalog, TableDef, custom_table
from watchkeeper.schema.types import KqlType
from watchkeeper.schema.values import PLAIN_ISO_PATTERN
from watchkeeper.store.coerce import infer_columns, to_arrow, to_arrow_by_cell

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TABLE = custom_table(
    "Mixed_CL",
    [("When", KqlType.DATETIME), ("Name", KqlType.STRING), ("Small", KqlType.INT), ("Count", KqlType.LONG),
     ("Ratio", KqlType.REAL), ("Flag", KqlType.BOOL), ("Bag", KqlType.DYNAMIC), ("Span", KqlType.TIMESPAN)],
)  # fmt: skip
FIELDS = [c.name for c in TABLE.stored_columns if c.name not in ("TenantId",)]

offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
aware = st.builds(lambda m, o: m.replace(tzinfo=timezone(o)), moments, offsets)
zones = st.sampled_from(["", "Z", "+00:00", "-00:00", "+05:30", "-23:59", "+23:59", "+24:00", "-12:60"])
iso_texts = st.builds(
    lambda m, sep, spec, zone: m.isoformat(sep=sep, timespec=spec) + zone,
    moments, st.sampled_from("T "), st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    zones,
)  # fmt: skip
# ISO text Arrow reads but Python does not, or reads to an instant Python cannot hold
iso_edges = st.sampled_from([
    "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00", "0000-01-01T00:00:00Z", "2026-02-30T00:00Z",
    "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:60Z", "2026-01-01T10:00:00.1234567Z",
    "2026-01-01T10Z", "2026-01-01T10:00:00+05", "2026-01-01T10",
])  # fmt: skip
aware_edges = st.sampled_from([datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
                               datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))])  # fmt: skip
other_texts = st.sampled_from([
    "2026-01-01", "2026-01-01T10", "not a time", "", " 2026-01-01T10:00:00Z", "12/31/2025 10:00 PM",
    "2026-01-01T10:00:00z", "1", "true", "5d", "01:02:03", '{"a": 1}', "[1, 2]",
])  # fmt: skip
texts = st.one_of(other_texts, st.from_regex(PLAIN_ISO_PATTERN, fullmatch=True), st.text(max_size=8))
ints = st.one_of(
    st.integers(-(2**31) - 2, 2**31 + 1), st.integers(-(2**64), 2**64), st.sampled_from([2**53 + 1])
)
floats = st.floats(allow_nan=True, allow_infinity=True)
# each column is drawn from one kind of value (the common case, which Arrow converts whole) or a mix
kinds = [st.one_of(iso_texts, iso_edges), texts, ints, floats, st.booleans(), moments,
         st.one_of(aware, aware_edges), st.lists(st.integers(), max_size=2)]  # fmt: skip
column_values = st.one_of(
    *(st.lists(st.one_of(st.none(), kind) if i % 2 else kind, min_size=6, max_size=6)
      for i, kind in enumerate(kinds * 2)),
    st.lists(st.one_of(st.none(), *kinds), min_size=6, max_size=6),
)  # fmt: skip


def _outcome(convert: Any, table: TableDef, rows: list[dict[str, Any]]) -> Any:
    try:
        result = convert(table, rows, now=NOW)
    except IngestError as exc:
        return ("rejected", exc.reasons)
    except (ValueError, TypeError, OverflowError) as exc:  # a batch Arrow cannot hold at all
        return (type(exc), str(exc))
    nan = "NaN"  # NaN is not equal to itself: compare it by name
    columns = {name: [nan if isinstance(v, float) and math.isnan(v) else v for v in values]
               for name, values in result.to_pydict().items()}  # fmt: skip
    return (result.schema, columns)


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(FIELDS, column_values)), st.data())
def test_column_wise_conversion_equals_value_by_value(
    columns: dict[str, list[Any]], data: st.DataObject
) -> None:
    absent = data.draw(st.sets(st.sampled_from(FIELDS)))  # fields some rows lack altogether
    rows = [{name: values[i] for name, values in columns.items() if not (name in absent and i % 2)}
            for i in range(6)]  # fmt: skip
    assert _outcome(to_arrow, TABLE, rows) == _outcome(to_arrow_by_cell, TABLE, rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(iso_texts, iso_edges, aware, aware_edges), min_size=1, max_size=3), st.booleans())
def test_datetime_columns_convert_as_value_by_value(values: list[Any], as_text: bool) -> None:
    # short columns of one kind: mostly ones Arrow reads whole, so its edges are met often
    rows = [
        {"When": value.isoformat() if as_text and isinstance(value, datetime) else value} for value in values
    ]
    assert _outcome(to_arrow, TABLE, rows) == _outcome(to_arrow_by_cell, TABLE, rows)


def test_iso_text_is_read_whole_and_other_forms_still_parse() -> None:
    rows = [
        {"When": "2026-01-01T10:00:00+02:00"},
        {"When": "2026-01-01 10:00"},
        {"When": "2026-01-01T10:00Z"},
    ]
    when = to_arrow(TABLE, rows, now=NOW).column("When").to_pylist()
    assert when == [datetime(2026, 1, 1, 8, tzinfo=UTC), datetime(2026, 1, 1, 10, tzinfo=UTC),
                    datetime(2026, 1, 1, 10, tzinfo=UTC)]  # fmt: skip
    rows.append({"When": "12/31/2025 10:00 PM"})  # not ISO: the whole column is read value by value
    assert to_arrow(TABLE, rows, now=NOW).column("When")[3].as_py() == datetime(2025, 12, 31, 22, tzinfo=UTC)


def test_values_a_column_cannot_hold_are_rejected_by_row_with_the_reason() -> None:
    rows = [{"Small": 1}, {"Small": 2**31}, {"When": "9999-12-31T23:59:59-01:00"}, {"Name": 5}]
    with pytest.raises(IngestError) as info:
        to_arrow(TABLE, rows, now=NOW)
    reasons = dict(info.value.reasons)
    assert sorted(reasons) == [1, 2]
    assert reasons[1] == "column Small (int): 2147483648 is out of range"
    assert reasons[2].startswith("column When (datetime):")


def test_missing_values_are_filled_as_before() -> None:
    rows = [{"Name": None, "Count": 3}, {"Count": None, "TimeGenerated": None}]
    table = to_arrow(TABLE, rows, now=NOW)
    assert table.column("Name").to_pylist() == ["", ""]
    assert table.column("Count").to_pylist() == [3, None]
    assert table.column("TimeGenerated").to_pylist() == [NOW, NOW]
    assert table.column("Type").to_pylist() == ["Mixed_CL", "Mixed_CL"]
    assert table.column("Bag").to_pylist() == [None, None]


def test_a_wide_table_fills_the_columns_no_row_has() -> None:
    security = Catalog.sentinel().table("SecurityEvent")
    assert security is not None
    table = to_arrow(security, [{"Computer": "dc1", "EventID": 4624}] * 3, now=NOW)
    assert table.num_columns == len(security.stored_columns)
    assert table.column("Account").to_pylist() == ["", "", ""]
    assert table.column("EventID").type == pa.int32()
    assert table.column("TimeGenerated").to_pylist() == [NOW] * 3


def test_unknown_fields_are_named_per_row() -> None:
    with pytest.raises(IngestError) as info:
        to_arrow(TABLE, [{"Name": "a"}, {"Name": "b", "Extra": 1, "More": 2}], now=NOW)
    assert info.value.reasons == [(1, "unknown column(s) Extra, More for table Mixed_CL")]


def test_inferred_types_come_from_the_first_value_that_is_not_null() -> None:
    rows = [{"a": None, "b": "x"}, {"a": 2, "c": 1.5, "b": 3}, {"a": "text", "d": None, "e": {"k": 1}}]
    assert infer_columns(rows) == [("a", KqlType.LONG), ("b", KqlType.STRING), ("c", KqlType.REAL),
                                   ("d", KqlType.STRING), ("e", KqlType.DYNAMIC)]  # fmt: skip
