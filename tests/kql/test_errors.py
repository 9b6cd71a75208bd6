"""Errors users see: the offending query line, a caret under the column, a short message; unsupported
features say ``unsupported: <thing>`` with their span; bad input never yields a Python traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from watchkeeper import KqlBindError, KqlError, KqlSyntaxError, UnsupportedError, Workspace, kql


def error_of(text: str, ws: Workspace | None = None) -> KqlError:
    """The KqlError compiling ``text`` raises (running it in ``ws`` when given)."""
    run = kql.compile if ws is None else ws.query
    with pytest.raises(KqlError) as info:
        run(text)
    return info.value


def test_syntax_error_renders_line_column_and_caret() -> None:
    error = error_of("SecurityEvent | where")
    assert isinstance(error, KqlSyntaxError)
    assert error.render() == (
        "syntax error: expected an expression but found the end of the query\n"
        "  --> line 1, column 22\n"
        "   | SecurityEvent | where\n"
        "   |                      ^"
    )


def test_bind_error_puts_a_caret_under_the_whole_name(ws: Workspace) -> None:
    error = error_of("SecurityEvent | where Acount == 'x'", ws)
    assert isinstance(error, KqlBindError)
    assert error.render() == (
        "bind error: unknown column 'Acount'; did you mean 'Account'?\n"
        "  --> line 1, column 23\n"
        "   | SecurityEvent | where Acount == 'x'\n"
        "   |                       ^^^^^^"
    )
    assert str(error) == "unknown column 'Acount'; did you mean 'Account'? (line 1, column 23)"


def test_errors_on_later_lines_show_that_line() -> None:
    text = "SecurityEvent\n| where EventID == 4625\n| extend y = bogus(Account)\n| take 10"
    error = error_of(text)
    assert (error.line, error.column) == (3, 14)
    lines = error.render().splitlines()
    assert lines[1] == "  --> line 3, column 14"
    assert lines[2] == "   | | extend y = bogus(Account)"
    assert lines[3] == "   |              ^^^^^"


def test_the_caret_does_not_run_past_the_line() -> None:
    text = "print x = 1 | where x == 'abc"
    rendered = error_of(text).render().splitlines()
    caret = rendered[3][len("   | ") :]
    assert caret.strip() == "^" * (len(text) - caret.index("^"))
    assert len(caret) == len(text)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("SecurityEvent | fork (take 1)", "unsupported: operator 'fork'", 17),
        (
            "print x = 1 | partition by x (take 1)",
            "unsupported: partition with 'take' in its subquery (only operators that look at one row at a time "
            "run per partition here)",
            31,
        ),
        ("print x = 1 | facet by x", "unsupported: operator 'facet'", 15),
        (
            "print x = 1, k = 'a' | partition by k (sort by x asc | extend p = prev(x))",
            "unsupported: partition with prev() in its subquery (a window function runs over the rows of "
            "every partition here, not of each)",
            67,
        ),
        (
            "SecurityEvent | extend t = ingestion_time()",
            "unsupported: ingestion_time(): watchkeeper does not keep the time each row was stored; "
            "TimeGenerated is the event's time, and the Usage table records when each batch became queryable",
            28,
        ),
        ("restrict access to (SecurityEvent); SecurityEvent", "unsupported: 'restrict' statement", 1),
        (
            'union SecurityEvent, workspace("soc-2").SecurityEvent',
            "unsupported: cross-workspace queries (workspace()): a query reads the workspace it is sent to",
            22,
        ),
        (
            'cluster("https://help.kusto.windows.net").database("Samples").StormEvents | take 1',
            "unsupported: cross-cluster queries (cluster()): a query reads the workspace it is sent to",
            1,
        ),
        (
            'app("fabrikam").requests',
            "unsupported: cross-app queries (app()): a query reads the workspace it is sent to",
            1,
        ),
    ],
)
def test_unsupported_features_say_so_with_their_span(text: str, message: str, column: int) -> None:
    error = error_of(text)
    assert isinstance(error, UnsupportedError)
    assert error.message == message
    assert error.span is not None
    assert (error.line, error.column) == (1, column)
    assert message in error.render()


def test_unsupported_plugin_explains_why() -> None:
    error = error_of("print x = 1 | evaluate autocluster()")
    assert isinstance(error, UnsupportedError)
    assert error.message.startswith("unsupported: evaluate autocluster()")
    assert error.column == 24


@pytest.mark.parametrize(
    "text",
    [
        "SecurityEvent | where",
        "SecurityEvent | where Acount == 1",
        "SecurityEvent | summarize count() by",
        "SecurityEvnt",
        "print x = 1 +",
        "print x = strlen()",
        "print x = 'abc",
        "datatable(a:int)[1, 2, 3] | extend b = a +",
        "SecurityEvent | join (SigninLogs on Account",
        "let f = (x:long) { x }; print f()",
        "print x = 1 | fork (take 1)",
        "\u00e9 | take 1",
        "",
    ],
)
def test_malformed_queries_raise_kql_errors_from_the_workspace(ws: Workspace, text: str) -> None:
    error = error_of(text, ws)
    assert error.message
    # "syntax error: ...", "bind error: ..."; an unsupported feature reads "unsupported: <what>"
    head = "unsupported: " if error.stage == "unsupported" else f"{error.stage} error: "
    assert error.render().startswith(head)


def test_the_cli_prints_the_error_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watchkeeper", "query", "SecurityEvent | where Acount == 1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "unknown column 'Acount'; did you mean 'Account'?" in result.stderr
    assert "line 1, column 23" in result.stderr
    assert "^^^^^^" in result.stderr


def test_the_cli_reports_syntax_errors_on_the_right_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watchkeeper", "compile", "SecurityEvent\n| where"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "line 2, column 8" in result.stderr
    assert "| | where" in result.stderr
