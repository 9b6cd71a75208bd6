"""Golden cases for the KQL compiler (design §4.11): every ``cases/**/NAME.kql`` runs on DuckDB and
on ClickHouse (chdb) and must give the rows of ``NAME.expected`` on both.

Case files
----------
``NAME.kql`` is the query. ``//`` comment lines may carry directives:

* ``// @unsupported <engine>: <message>`` -- the engine cannot run the case; the runner asserts
  that compiling for it raises :class:`~watchkeeper.UnsupportedError` with exactly ``message``.
* ``// @ordered`` / ``// @unordered`` -- override the row-order rule (rows are compared in order
  when the query sorts: ``sort``/``order by``/``top``; as a multiset otherwise).

``NAME.expected`` is the expected table, written by hand from Kusto's semantics: a header line of
``name:type`` pairs separated by ``, ``, then one JSON array per row. Values by column type:
string/guid as JSON strings (Kusto has no null string: ``""``), long/int/real/decimal as numbers
(``"nan"``, ``"inf"``, ``"-inf"`` for reals), bool as ``true``/``false``, datetime as ISO 8601
text, timespan as Kusto's ``[-][d.]hh:mm:ss[.fffffff]`` text, dynamic as the JSON value itself;
``null`` is null. Blank lines and lines starting with ``#`` are ignored.

Tables under ``cases/data/`` (``TABLE.jsonl``) are ingested into both workspaces first, so cases
also run over stored (on ClickHouse: ``Nullable``) columns, not just literals.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from watchkeeper import KqlType, UnsupportedError, Workspace

CASES = Path(__file__).parent / "cases"
DATA = CASES / "data"
ENGINES = ("duckdb", "clickhouse")
ORDERED = re.compile(r"\|\s*(sort|order)\s+by\b|\|\s*top\s+\d|\|\s*top\s+\w+\s+by\b", re.IGNORECASE)
DIRECTIVE = re.compile(r"^\s*//\s*@(\w+)\s*(.*)$")
TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
MIN_CASES = 100


# ---------------------------------------------------------------- case files


@dataclass
class Case:
    """One golden case: the query, its expected table and its per-engine exceptions."""

    name: str
    query: str
    columns: list[tuple[str, KqlType]]
    rows: list[list[Any]]
    ordered: bool
    unsupported: dict[str, str] = field(default_factory=dict)


def load_case(path: Path) -> Case:
    """Read ``path`` (a ``.kql`` file) and the ``.expected`` file next to it."""
    query = path.read_text(encoding="utf-8")
    ordered = bool(ORDERED.search(query))
    unsupported: dict[str, str] = {}
    for line in query.splitlines():
        match = DIRECTIVE.match(line)
        if match is None:
            continue
        key, rest = match.groups()
        if key == "unsupported":
            engine, _, message = rest.partition(":")
            assert engine.strip() in ENGINES, f"{path}: unknown engine in '{line}'"
            unsupported[engine.strip()] = message.strip()
        elif key in ("ordered", "unordered"):
            ordered = key == "ordered"
        else:
            raise AssertionError(f"{path}: unknown directive '{line}'")
    columns, rows = read_expected(path.with_suffix(".expected"))
    name = path.relative_to(CASES).with_suffix("").as_posix()
    return Case(name, query, columns, rows, ordered, unsupported)


def read_expected(path: Path) -> tuple[list[tuple[str, KqlType]], list[list[Any]]]:
    """The header's ``(name, type)`` pairs and the rows of an ``.expected`` file."""
    lines = [
        ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert lines, f"{path}: no header line"
    columns = []
    for part in lines[0].split(", "):
        name, _, type_name = part.strip().rpartition(":")
        columns.append((name, KqlType(type_name)))
    rows = [json.loads(ln) for ln in lines[1:]]
    for row in rows:
        assert isinstance(row, list), f"{path}: row {row} is not a JSON array"
        assert len(row) == len(columns), f"{path}: row {row} does not fit the header"
    return columns, rows


def case_files() -> list[Path]:
    return sorted(p for p in CASES.rglob("*.kql") if DATA not in p.parents)


# ---------------------------------------------------------------- typed comparison


def expected_value(value: Any, kql_type: KqlType) -> Any:
    """The Python value a result holds for the expected cell ``value`` of ``kql_type``."""
    if value is None or kql_type is KqlType.DYNAMIC:
        return value
    if kql_type is KqlType.DATETIME:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kql_type is KqlType.TIMESPAN:
        return parse_timespan(value)
    if kql_type is KqlType.REAL and isinstance(value, str):
        return float(value)
    if kql_type is KqlType.DECIMAL:
        return Decimal(str(value))
    return value


def parse_timespan(text: str) -> timedelta:
    match = TIMESPAN.match(text)
    assert match, f"not a timespan: {text!r}"
    sign, days, hours, minutes, seconds, fraction = match.groups()
    ticks = int((fraction or "0").ljust(7, "0"))
    span = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                     microseconds=ticks / 10)  # fmt: skip
    return -span if sign else span


def same_value(expected: Any, actual: Any, kql_type: KqlType) -> bool:
    """Typed equality: the actual value must have the column type's Python type."""
    if expected is None:
        return actual is None
    if kql_type is KqlType.DYNAMIC:
        return same_json(expected, actual)
    if kql_type is KqlType.REAL:
        return isinstance(actual, float) and same_float(float(expected), actual)
    if kql_type is KqlType.BOOL:
        return isinstance(actual, bool) and actual == expected
    if kql_type in (KqlType.INT, KqlType.LONG):
        return type(actual) is int and actual == expected
    if kql_type is KqlType.GUID:
        return isinstance(actual, str) and actual.lower() == str(expected).lower()
    if kql_type is KqlType.DECIMAL:
        return isinstance(actual, Decimal | float | int) and math.isclose(float(actual), float(expected))
    return type(actual) is type(expected) and actual == expected


def same_float(expected: float, actual: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)


def same_json(expected: Any, actual: Any) -> bool:
    """Deep JSON equality; booleans are not numbers, numbers compare with a small tolerance."""
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(same_json(expected[k], actual[k]) for k in expected))  # fmt: skip
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(same_json(e, a) for e, a in zip(expected, actual, strict=True)))  # fmt: skip
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and same_float(float(expected), float(actual))
    return type(expected) is type(actual) and expected == actual


def same_row(expected: list[Any], actual: tuple[Any, ...], types: list[KqlType]) -> bool:
    return all(
        same_value(expected_value(e, t), a, t) for e, a, t in zip(expected, actual, types, strict=True)
    )


def mismatch(case: Case, rows: list[tuple[Any, ...]]) -> str | None:
    """Why ``rows`` are not the expected rows (None when they are)."""
    types = [t for _, t in case.columns]
    if len(rows) != len(case.rows):
        return f"{len(rows)} rows, expected {len(case.rows)}"
    if case.ordered:
        for i, (expected, actual) in enumerate(zip(case.rows, rows, strict=True)):
            if not same_row(expected, actual, types):
                return f"row {i}: expected {expected}, got {actual}"
        return None
    remaining = list(rows)
    for expected in case.rows:
        hit = next((i for i, actual in enumerate(remaining) if same_row(expected, actual, types)), None)
        if hit is None:
            return f"expected row {expected} not found among {remaining}"
        remaining.pop(hit)
    return None


# ---------------------------------------------------------------- workspaces


def load_data(ws: Workspace) -> None:
    """Ingest the shared case tables (``cases/data/TABLE.jsonl``)."""
    for path in sorted(DATA.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        ws.ingest(path.stem, rows, now=datetime(2024, 1, 1, tzinfo=UTC))


def open_workspace(engine: str) -> Workspace:
    if engine == "duckdb":
        return Workspace.open(None)
    pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")
    from watchkeeper.store.clickhouse import ChdbEventStore

    return Workspace(ChdbEventStore())


@pytest.fixture(scope="module", params=ENGINES)
def golden_ws(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """One workspace per engine holding the case tables, shared by every case."""
    workspace = open_workspace(request.param)
    load_data(workspace)
    yield workspace
    workspace.close()


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.relative_to(CASES).with_suffix("").as_posix())
def test_golden_case(golden_ws: Workspace, path: Path) -> None:
    case = load_case(path)
    engine = golden_ws.store.dialect
    reason = case.unsupported.get(engine)
    if reason is not None:
        with pytest.raises(UnsupportedError) as raised:
            golden_ws.query(case.query)
        assert raised.value.message == reason
        return
    result = golden_ws.query(case.query)
    assert result.columns == case.columns
    problem = mismatch(case, result.rows)
    assert problem is None, f"{case.name} on {engine}: {problem}\nSQL: {result.sql}"


def test_every_case_has_its_expectation() -> None:
    names = {p.with_suffix("") for p in case_files()}
    expected = {p.with_suffix("") for p in CASES.rglob("*.expected")}
    assert names == expected, f"unpaired case files: {sorted(map(str, names ^ expected))}"
    assert len(names) >= MIN_CASES


@pytest.mark.parametrize(
    ("expected", "actual", "kql_type", "same"),
    [
        (1, 1, KqlType.LONG, True),
        (1, 1.0, KqlType.LONG, False),
        (1, True, KqlType.LONG, False),
        ("", "", KqlType.STRING, True),
        ({"a": [1, True]}, {"a": [1, True]}, KqlType.DYNAMIC, True),
        ({"a": [1, True]}, {"a": [1, 1]}, KqlType.DYNAMIC, False),
        ("1.02:00:00", timedelta(days=1, hours=2), KqlType.TIMESPAN, True),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC), KqlType.DATETIME, True),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, 1, tzinfo=UTC), KqlType.DATETIME, False),
        (0.1, 0.1000000000001, KqlType.REAL, True),
        ("nan", float("nan"), KqlType.REAL, True),
    ],
)
def test_typed_comparison(expected: Any, actual: Any, kql_type: KqlType, same: bool) -> None:
    """The comparer itself: values must match in type, not just in text."""
    assert same_value(expected_value(expected, kql_type), actual, kql_type) is same
