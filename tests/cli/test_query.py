"""``wk query`` and ``wk compile``: what a user sees on stdout, stderr and in the exit status."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Wk = Callable[..., Result]

ACCEPTANCE = 'datatable(a:int, b:string)[1,"x",2,"y"] | summarize count() by b'


def table_lines(stdout: str) -> list[str]:
    """The body rows of a rich table (lines between the header rule and the bottom border)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return lines[start + 1 : end]


def test_acceptance_query_prints_a_two_row_table(wk: Wk) -> None:
    result = wk("query", ACCEPTANCE)
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in table_lines(result.stdout)]
    assert sorted(rows) == [["x", "1"], ["y", "1"]]
    assert "b" in result.stdout.splitlines()[1]
    assert "count_" in result.stdout.splitlines()[1]
    assert "2 rows" in result.stdout


def test_json_format_is_exactly_columns_and_rows(wk: Wk) -> None:
    result = wk(
        "query",
        "--format",
        "json",
        'print n=1, s="a", d=dynamic({"k":[1,2]}), t=90m, when=datetime(2024-01-02)',
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"columns", "rows"}
    assert data["columns"] == [
        {"name": "n", "type": "long"},
        {"name": "s", "type": "string"},
        {"name": "d", "type": "dynamic"},
        {"name": "t", "type": "timespan"},
        {"name": "when", "type": "datetime"},
    ]
    assert data["rows"] == [[1, "a", {"k": [1, 2]}, "01:30:00", "2024-01-02T00:00:00.000000Z"]]


def test_csv_format_has_a_header_and_quotes_values(wk: Wk) -> None:
    result = wk("query", "-f", "csv", 'datatable(a:int, b:string, c:bool)[1, "x,y", true, 2, "", false]')
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["a", "b", "c"],
        ["1", "x,y", "true"],
        ["2", "", "false"],
    ]


def test_table_cells_are_data_not_markup(wk: Wk) -> None:
    result = wk("query", 'print s="[bold]not markup[/bold]"')
    assert "[bold]not markup[/bold]" in result.stdout


def test_bad_query_prints_caret_on_stderr_and_exits_1(wk: Wk) -> None:
    result = wk("query", "datatable(Account:string)['a'] | where Acount == 'a'")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Acount" in result.stderr
    assert "Account" in result.stderr
    caret_line = next(line for line in result.stderr.splitlines() if "^" in line)
    source_line = next(line for line in result.stderr.splitlines() if "| datatable" in line)
    assert source_line[caret_line.index("^")] == "A"  # the caret sits under 'Acount'
    assert "Traceback" not in result.output


def test_syntax_error_exits_1_without_traceback(wk: Wk) -> None:
    result = wk("query", "print 1 +")
    assert result.exit_code == 1
    assert "error" in result.stderr
    assert "Traceback" not in result.output


def test_truncated_result_warns_on_stderr(wk: Wk) -> None:
    result = wk("query", "--max-rows", "3", "-f", "json", "range x from 1 to 10 step 1")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"] == [[1], [2], [3]]
    assert "row limit" in result.stderr


def test_time_limit_is_reported(wk: Wk) -> None:
    result = wk("query", "--timeout", "0.05", "range x from 1 to 3000000000 step 1 | summarize dcount(x)")
    assert result.exit_code == 1
    assert "time limit" in result.stderr
    assert "Traceback" not in result.output


def test_query_from_stdin(wk: Wk) -> None:
    result = wk("query", "-f", "json", "-", stdin="print x = 40 + 2\n")
    assert json.loads(result.stdout)["rows"] == [[42]]


def test_missing_named_workspace_is_an_error(wk: Wk, scratch: Path) -> None:
    result = wk("query", "--workspace", str(scratch / "nowhere"), "print 1")
    assert result.exit_code == 1
    assert "no workspace" in result.stderr
    assert not (scratch / "nowhere").exists()


def test_unknown_table_is_an_error(wk: Wk) -> None:
    result = wk("query", "NoSuchTable | take 1")
    assert result.exit_code == 1
    assert "NoSuchTable" in result.stderr


def test_compile_prints_sql_per_dialect(wk: Wk) -> None:
    query = "SecurityEvent | where EventID == 4625 | summarize count() by IpAddress"
    duck = wk("compile", query)
    click = wk("compile", "--dialect", "clickhouse", query)
    assert duck.exit_code == 0
    assert click.exit_code == 0
    for result in (duck, click):
        assert result.stdout.startswith("SELECT")
        assert "4625" in result.stdout
        assert "GROUP BY" in result.stdout


def test_compile_error_exits_1(wk: Wk) -> None:
    result = wk("compile", "SecurityEvent | where NoColumn == 1")
    assert result.exit_code == 1
    assert "NoColumn" in result.stderr


def test_invalid_settings_are_reported(wk: Wk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_QUERY_ROW_LIMIT", "lots")
    result = wk("query", "print 1")
    assert result.exit_code == 1
    assert "query_row_limit" in result.stderr
    assert "Traceback" not in result.output


def test_python_dash_m_watchkeeper_runs_a_query(scratch: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "watchkeeper", "query", "--format", "json", ACCEPTANCE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=scratch,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert sorted(data["rows"]) == [["x", 1], ["y", 1]]


def test_python_dash_m_reports_bad_query_without_traceback(scratch: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "watchkeeper", "query", "print nosuchfunction(1)"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=scratch,
        check=False,
    )
    assert completed.returncode == 1
    assert "nosuchfunction" in completed.stderr
    assert "Traceback" not in completed.stderr
