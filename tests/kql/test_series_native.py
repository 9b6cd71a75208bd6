"""A make-series datetime axis leaves DuckDB as a list of native datetimes (Kusto's text for every
bin of every row cost more than the query), and every surface still shows what Kusto shows:
``2020-01-01T00:00:00.0000000Z`` inside the dynamic array, in ``QueryResult.rows``, the Log
Analytics and Kusto V2 responses, ``wk query --format json``, alert details, ``mv-expand`` and the
``series_*`` functions. Number and timespan axes keep their JSON form. On chdb the axis stays
Kusto's text from the engine: the answers are the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from watchkeeper import Catalog, Workspace, kql
from watchkeeper.api.protocols.kusto import QueryContext, v2_frames
from watchkeeper.api.protocols.log_analytics import tables_body
from watchkeeper.cli.app import app
from watchkeeper.detections.alerting import alert_drafts
from watchkeeper.detections.models import AlertDetailsOverride, DetectionRule
from watchkeeper.detections.scheduler import Window
from watchkeeper.schema.types import KqlType
from watchkeeper.store.result import convert_rows

DATA = (
    "datatable(t:datetime, v:long, k:string)"
    '[datetime(2020-01-01), 1, "a", datetime(2020-01-03 10:00), 5, "a", datetime(2020-01-02 05:00), 2, "b"]'
)
BY_KEY = (
    DATA
    + " | make-series s=sum(v) default=0 on t from datetime(2020-01-01) to datetime(2020-01-04) step 1d by k"
)
DAYS = ["2020-01-01T00:00:00.0000000Z", "2020-01-02T00:00:00.0000000Z", "2020-01-03T00:00:00.0000000Z"]


def sorted_rows(ws: Workspace, query: str) -> list[tuple[Any, ...]]:
    return sorted(ws.query(query).rows, key=repr)


def engine_types(query: str) -> dict[str, str]:
    """The engine's own type of each result column of ``query`` compiled for DuckDB."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(kql.compile(query, Catalog.sentinel(), "duckdb"))
        return {name: str(kind) for name, kind, *_ in con.description}


def test_the_datetime_axis_is_a_list_of_native_datetimes_in_the_engine() -> None:
    assert engine_types(BY_KEY) == {"k": "VARCHAR", "s": "BIGINT[]", "t": "TIMESTAMP[]"}
    assert engine_types(BY_KEY + " | where k == 'a'") == {"k": "VARCHAR", "s": "BIGINT[]", "t": "TIMESTAMP[]"}


def test_number_and_timespan_axes_keep_their_json_form() -> None:
    numbers = DATA + " | make-series s=sum(v) default=0 on v from 0 to 6 step 2"
    spans = (
        DATA
        + " | extend d = t - datetime(2020-01-01) | make-series s=sum(v) default=0 on d from 0h to 48h step 12h"
    )
    assert engine_types(numbers)["v"] == "BIGINT[]"
    assert engine_types(spans)["d"] == "VARCHAR[]"


def test_rows_hold_kusto_text(engine_ws: Workspace) -> None:
    assert sorted_rows(engine_ws, BY_KEY) == [("a", [1, 0, 5], DAYS), ("b", [0, 2, 0], DAYS)]
    assert sorted_rows(engine_ws, BY_KEY + " | project axis = t") == [(DAYS,), (DAYS,)]


def test_fractions_print_in_full(engine_ws: Workspace) -> None:
    fine = "print t=datetime(2020-01-01) | make-series kind=nonempty count() on t from datetime(2020-01-01) to datetime(2020-01-01 00:00:00.00003) step 100tick"
    (row,) = engine_ws.query(fine).rows
    assert row[1] == [
        "2020-01-01T00:00:00.0000000Z",
        "2020-01-01T00:00:00.0000100Z",
        "2020-01-01T00:00:00.0000200Z",
    ]


def test_early_years_keep_four_digits() -> None:
    # DuckDB only: ClickHouse's DateTime64 starts in 1900
    old = "print t=datetime(0005-03-01) | make-series kind=nonempty count() on t from datetime(0005-03-01) to datetime(0005-03-03) step 1d"
    with Workspace.open(None) as ws:
        assert ws.query(old).rows == [
            ([1, 0], ["0005-03-01T00:00:00.0000000Z", "0005-03-02T00:00:00.0000000Z"])
        ]


def test_empty_and_null_series(engine_ws: Workspace) -> None:
    none = (
        DATA
        + " | make-series kind=nonempty s=sum(v) on t from datetime(2020-01-02) to datetime(2020-01-02) step 1d"
    )
    assert engine_ws.query(none).rows == [([], [])]
    nulls = (DATA + " | where v > 100 | make-series kind=nonempty s=sum(v) default=long(null) on t"
             " from datetime(2020-01-01) to datetime(2020-01-03) step 1d")  # fmt: skip
    assert engine_ws.query(nulls).rows == [([None, None], DAYS[:2])]
    result = engine_ws.query(none)
    assert result.to_json()["rows"] == [[[], []]]
    assert tables_body(result)["tables"][0]["rows"] == [["[]", "[]"]]


def test_number_and_timespan_axes_read_as_before(engine_ws: Workspace) -> None:
    numbers = sorted_rows(engine_ws, DATA + " | make-series s=sum(v) default=0 on v from 0 to 6 step 2 by k")
    assert numbers == [("a", [1, 0, 5], [0, 2, 4]), ("b", [0, 2, 0], [0, 2, 4])]
    spans = (
        DATA
        + " | extend d = t - datetime(2020-01-01) | make-series s=sum(v) default=0 on d from 0h to 48h step 12h"
    )
    assert engine_ws.query(spans).rows == [
        ([1, 0, 2, 0], ["00:00:00", "12:00:00", "1.00:00:00", "1.12:00:00"])
    ]


def test_log_analytics_and_kusto_v2_bodies(engine_ws: Workspace) -> None:
    result = engine_ws.query(BY_KEY + " | order by k asc")
    la_rows = tables_body(result)["tables"][0]["rows"]
    assert la_rows[0] == ["a", "[1,0,5]", json.dumps(DAYS, separators=(",", ":"))]
    when = datetime(2026, 1, 1, tzinfo=UTC)
    (frame,) = [
        f
        for f in v2_frames(result, QueryContext("c", "a", 0.0, when))
        if f.get("TableKind") == "PrimaryResult"
    ]
    assert frame["Rows"] == [["a", [1, 0, 5], DAYS], ["b", [0, 2, 0], DAYS]]
    assert result.to_json()["rows"] == [["a", [1, 0, 5], DAYS], ["b", [0, 2, 0], DAYS]]


def test_mv_expand_of_the_axis(engine_ws: Workspace) -> None:
    typed = engine_ws.query(BY_KEY + " | where k == 'a' | mv-expand t to typeof(datetime), s to typeof(long)")
    assert sorted(typed.rows, key=lambda row: row[2]) == [("a", n, datetime(2020, 1, d, tzinfo=UTC))
                                                          for n, d in ((1, 1), (0, 2), (5, 3))]  # fmt: skip
    plain = engine_ws.query(BY_KEY + " | where k == 'a' | mv-expand t | project t, next = todatetime(t) + 1h")
    assert sorted(plain.rows) == [
        (text, datetime(2020, 1, d, 1, tzinfo=UTC)) for d, text in enumerate(DAYS, 1)
    ]


def test_series_functions_over_the_series(engine_ws: Workspace) -> None:
    query = (
        BY_KEY
        + " | extend (r2, slope) = series_fit_line(s), twice = series_multiply(s, 2) | project k, twice, t, slope"
    )
    assert sorted_rows(engine_ws, query) == [("a", [2, 0, 10], DAYS, 2.0), ("b", [0, 4, 0], DAYS, 0.0)]
    later = BY_KEY + " | extend n = array_length(t), first = todatetime(t[0])"
    assert {row[3:] for row in engine_ws.query(later).rows} == {(3, datetime(2020, 1, 1, tzinfo=UTC))}


def test_alert_details_carry_the_text(engine_ws: Workspace) -> None:
    rule = DetectionRule(rule_id="r", name="Spikes", source_format="sentinel", severity="Low", query=BY_KEY,
                         trigger_operator="gt", trigger_threshold=0, custom_details=(("Hours", "t"),),
                         alert_details_override=AlertDetailsOverride(dynamic_properties=(("Axis", "t"),)))  # fmt: skip
    now = datetime(2020, 1, 5, tzinfo=UTC)
    (alert,) = alert_drafts(rule, engine_ws.query(BY_KEY), Window(now - timedelta(days=5), now))
    assert alert.custom_details == {"Hours": [DAYS]}
    assert alert.dynamic_properties == {"Axis": DAYS}


def test_wk_query_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("WK_WORKSPACE", raising=False)
    printed = CliRunner().invoke(app, ["query", "--format", "json", BY_KEY + " | order by k asc"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["rows"] == [["a", [1, 0, 5], DAYS], ["b", [0, 2, 0], DAYS]]
    assert f'"dynamic"}}], "rows": [["a", [1, 0, 5], {json.dumps(DAYS)}]' in printed.stdout


def test_each_row_gets_its_own_axis_text() -> None:
    first = [datetime(2020, 1, 1), datetime(2020, 1, 2)]
    other = [datetime(2020, 1, 1, 12, 30, 0, 250), None]
    aware = [datetime(2020, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))]
    raw = [(first,), (list(first),), (other,), (first,), (aware,), ([],), (None,), ('["x"]',)]
    rows = convert_rows(raw, [KqlType.DYNAMIC])
    text = ["2020-01-01T00:00:00.0000000Z", "2020-01-02T00:00:00.0000000Z"]
    assert [row[0] for row in rows] == [text, text, ["2020-01-01T12:30:00.0002500Z", None], text,
                                        ["2020-01-01T00:00:00.0000000Z"], [], None, ["x"]]  # fmt: skip
    rows[0][0].append("changed")  # a row's list is its own: changing one leaves the others
    assert rows[1][0] == text


def test_series_of_different_spans_in_one_result(engine_ws: Workspace) -> None:
    early = DATA + " | make-series s=sum(v) on t from datetime(2020-01-01) to datetime(2020-01-03) step 1d"
    late = DATA + " | make-series s=sum(v) on t from datetime(2020-01-02) to datetime(2020-01-04) step 1d"
    rows = sorted_rows(engine_ws, f"union ({early}), ({late})")
    assert rows == [([1, 2], DAYS[:2]), ([2, 5], DAYS[1:])]
