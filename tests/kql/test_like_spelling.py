"""String predicates on literals (``contains``, ``startswith``, ``endswith``, the ``has`` prefilter)
become LIKE tests; on DuckDB they are spelled without an ``ESCAPE`` clause, which runs about ten
times slower. The spelling must still mean exactly the predicate: checked here against Python on
DuckDB for terms full of backslashes, ``%`` and ``_``, and end to end through KQL."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from watchkeeper import Workspace
from watchkeeper.kql.dialects import DuckDBDialect
from watchkeeper.kql.functions.sqlparts import like_escape

TEXT = st.text(alphabet=["a", "B", "\\", "%", "_", "x", "é", "É", " "], max_size=6)
SHAPES: dict[str, tuple[str, Callable[[str, str], bool]]] = {
    "contains": ("%{}%", lambda v, t: t in v),
    "startswith": ("{}%", lambda v, t: v.startswith(t)),
    "endswith": ("%{}", lambda v, t: v.endswith(t)),
    "equals": ("{}", lambda v, t: v == t),
}


@pytest.fixture(scope="module")
def connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(value=TEXT, term=TEXT, shape=st.sampled_from(sorted(SHAPES)), insensitive=st.booleans())
def test_like_spelling_means_the_predicate(
    connection: duckdb.DuckDBPyConnection, value: str, term: str, shape: str, insensitive: bool
) -> None:
    dialect = DuckDBDialect()
    pattern, predicate = SHAPES[shape]
    build = dialect.ilike if insensitive else dialect.like
    sql = build(exp.Literal.string(value), pattern.format(like_escape(term))).sql("duckdb")
    got = connection.execute(f"SELECT {sql}").fetchone()
    expected = predicate(value.lower(), term.lower()) if insensitive else predicate(value, term)
    assert got == (expected,), sql


@pytest.mark.parametrize(
    ("predicate", "matches"),
    [
        ("CommandLine contains @'\\perfc.dat'", ["rundll32 C:\\Windows\\PERFC.DAT,#1"]),
        ("CommandLine contains '50%_off'", ["get 50%_OFF now"]),
        ("CommandLine startswith @'C:\\Users\\'", ["c:\\users\\public\\a.exe"]),
        ("CommandLine endswith '_x'", ["run A_X"]),
        ("CommandLine has @'perfc.dat'", ["rundll32 C:\\Windows\\PERFC.DAT,#1"]),
    ],
)
def test_string_predicates_with_backslashes_and_wildcards(predicate: str, matches: list[str]) -> None:
    lines = [
        "rundll32 C:\\Windows\\PERFC.DAT,#1",
        "rundll32 C:/Windows/perfcXdat",
        "get 50%_OFF now",
        "get 50% off",
        "c:\\users\\public\\a.exe",
        "run A_X",
        "run AXX",
    ]
    with Workspace.open(None) as workspace:
        workspace.ingest("SecurityEvent", [{"CommandLine": line, "EventID": 4688} for line in lines])
        query = f"SecurityEvent | where {predicate} | project CommandLine"
        assert [row[0] for row in workspace.query(query).rows] == matches
        assert "ESCAPE" not in workspace.translate(query)[0].sql
