"""Stored functions (Kusto's ``.create function``): created, called, replaced and dropped in a
workspace; kept with its data across reopening; refused with the line and column of the error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchkeeper import Workspace
from watchkeeper.errors import InvalidRequestError, KqlBindError, KqlError, KqlSyntaxError, NotFoundError
from watchkeeper.workspace_functions import WorkspaceFunctions

WHEN = datetime(2025, 12, 1, 8, tzinfo=UTC)
LOGONS = [
    {"TimeGenerated": WHEN, "Computer": "web-1", "EventID": 4624, "Account": "alice"},
    {"TimeGenerated": WHEN, "Computer": "web-2", "EventID": 4625, "Account": "bob"},
    {"TimeGenerated": WHEN, "Computer": "web-2", "EventID": 4625, "Account": "bob"},
]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(tmp_path / "ws")
    workspace.ingest("SecurityEvent", LOGONS)
    yield workspace
    workspace.close()


def test_create_call_replace_and_drop(ws: Workspace) -> None:
    ws.functions.create("FailedLogons", "SecurityEvent\n| where EventID == 4625\n| project Computer, Account",
                        folder="Auth", docstring="Failed Windows logons")  # fmt: skip
    assert ws.query("FailedLogons | summarize n = count() by Computer").rows == [("web-2", 2)]
    assert ws.query("FailedLogons() | count").rows == [(2,)]

    with pytest.raises(InvalidRequestError, match="exists"):
        ws.functions.create("FailedLogons", "SecurityEvent | take 1")
    same = ws.functions.create("FailedLogons", "SecurityEvent | take 1", if_not_exists=True)
    assert same.docstring == "Failed Windows logons"  # ifnotexists leaves the function as it was

    ws.functions.create(
        "FailedLogons", "SecurityEvent | where EventID == 4624 | project Computer", replace=True
    )
    assert ws.query("FailedLogons").rows == [("web-1",)]  # a compiled query of the old body is not reused
    assert [d.name for d in ws.functions.list_all()] == ["FailedLogons"]

    assert ws.functions.drop("FailedLogons") is True
    with pytest.raises(KqlBindError, match="unknown function 'FailedLogons'"):
        ws.query("FailedLogons()")
    assert ws.functions.drop("FailedLogons", if_exists=True) is False
    with pytest.raises(NotFoundError):
        ws.functions.drop("FailedLogons")


def test_alter_changes_only_an_existing_function(ws: Workspace) -> None:
    with pytest.raises(NotFoundError):
        ws.functions.alter("Hosts", "SecurityEvent | distinct Computer")
    ws.functions.create("Hosts", "SecurityEvent | distinct Computer")
    altered = ws.functions.alter("Hosts", "SecurityEvent | where EventID == id | distinct Computer",
                                 parameters="(id:int)", folder="Inventory")  # fmt: skip
    assert (altered.shown_parameters, altered.shown_body, altered.folder) == (
        "(id:int)", "{SecurityEvent | where EventID == id | distinct Computer}", "Inventory")  # fmt: skip
    assert ws.query("Hosts(4624)").rows == [("web-1",)]


def test_scalar_parameters_with_defaults_and_named_arguments(ws: Workspace) -> None:
    ws.functions.create(
        "ByAccount",
        "let wanted = tolower(account);\nSecurityEvent | where Account == wanted | take n | project Computer",
        parameters="(account:string, n:long = 10)",
    )
    assert ws.query("ByAccount('BOB')").rows == [("web-2",), ("web-2",)]
    assert ws.query("ByAccount('bob', 1)").rows == [("web-2",)]
    assert ws.query("ByAccount(n = 1, account = 'alice')").rows == [("web-1",)]


def test_tabular_parameters_declared_and_open(ws: Workspace) -> None:
    ws.functions.create("CountByHost", "T | summarize n = count() by Computer | order by Computer asc",
                        parameters="(T:(Computer:string))")  # fmt: skip
    assert ws.query("CountByHost(SecurityEvent)").rows == [("web-1", 1), ("web-2", 2)]
    assert ws.query("CountByHost(SecurityEvent | where EventID == 4624)").rows == [("web-1", 1)]
    # (*) takes any table: the body may name the columns the table passed has
    ws.functions.create("Newest", "T | top n by TimeGenerated | project-away TimeGenerated",
                        parameters="T:(*), n:long")  # fmt: skip
    assert ws.query("Newest(datatable(TimeGenerated:datetime, x:long)[datetime(2025-01-01), 1, datetime(2025-01-02), 2], 1)").rows == [(2,)]  # fmt: skip
    with pytest.raises(KqlBindError, match="unknown column 'Nope'"):
        ws.functions.create("Bad", "T | project Nope", parameters="(T:(Computer:string))")


def test_functions_call_each_other_and_a_cycle_is_refused(ws: Workspace) -> None:
    ws.functions.create("Base", "SecurityEvent | project Computer, EventID")
    ws.functions.create("Failed", "Base | where EventID == 4625")
    assert ws.query("Failed | count").rows == [(2,)]
    with pytest.raises(KqlBindError, match="calls itself"):
        ws.functions.create("Base", "Failed | take 1", replace=True)
    assert ws.query("Base | count").rows == [(3,)]  # the refused definition changed nothing


def test_functions_survive_reopening_the_workspace_folder(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    with Workspace.open(folder) as ws:
        ws.ingest("SecurityEvent", LOGONS)
        ws.functions.create("Failed", "SecurityEvent | where EventID == 4625 | count", folder="Auth",
                            docstring="failures")  # fmt: skip
        ws.functions.create("Gone", "SecurityEvent | take 1")
        ws.functions.create("Failed", "SecurityEvent | where EventID == 4625 | distinct Computer", replace=True,
                            folder="Auth", docstring="hosts with failures")  # fmt: skip
        ws.functions.drop("Gone")
    with Workspace.open(folder) as again:
        assert [(d.name, d.folder, d.docstring) for d in again.functions.list_all()] == [
            ("Failed", "Auth", "hosts with failures")]  # fmt: skip
        assert again.query("Failed").rows == [("web-2",)]
        with pytest.raises(KqlBindError, match="unknown function 'Gone'"):
            again.query("Gone()")
        # the bookkeeping table is no table a query can read
        with pytest.raises(KqlBindError, match="unknown table '_wk_functions'"):
            again.query("_wk_functions")


def test_errors_point_into_the_body_and_the_parameters(ws: Workspace) -> None:
    with pytest.raises(KqlBindError) as unknown:
        ws.functions.create("F", "SecurityEvent\n| where EventID == 4625\n| project Computr")
    assert (unknown.value.line, unknown.value.column) == (3, 11)
    assert "unknown column 'Computr'" in str(unknown.value)
    with pytest.raises(KqlSyntaxError) as syntax:
        ws.functions.create("F", "let x = 1;\nSecurityEvent\n  | wher x")
    assert (syntax.value.line, syntax.value.column) == (3, 5)
    with pytest.raises(KqlSyntaxError) as parameters:
        ws.functions.create("F", "SecurityEvent", parameters="(a:long, b:strin)")
    assert parameters.value.message.startswith("in the parameters:")
    assert (parameters.value.line, parameters.value.column) == (1, 12)
    with pytest.raises(KqlSyntaxError, match="in the parameters: this '\\(' is not closed") as unclosed:
        ws.functions.create("F", "SecurityEvent", parameters=" (a:long")
    assert (unclosed.value.line, unclosed.value.column) == (1, 2)
    with pytest.raises(KqlBindError, match="returns a table"):
        ws.functions.create("F", "1 + 2")
    with pytest.raises(KqlBindError, match="unknown table 'SecurityEvnt'"):
        ws.functions.create("F", "SecurityEvnt | take 1")
    assert ws.functions.list_all() == []  # nothing refused was kept


@pytest.mark.parametrize(
    ("name", "reason"),
    [("SecurityEvent", "is a table"), ("strlen", "built-in function"), ("_GetWatchlist", "built-in function"),
     ("materialize", "built-in function"), ("count", "built-in function"), ("1st", "KQL identifier"),
     ("my-function", "KQL identifier"), ("Later_CL", "custom tables'")],
)  # fmt: skip
def test_a_function_may_not_hide_a_table_or_a_built_in(ws: Workspace, name: str, reason: str) -> None:
    with pytest.raises(KqlError, match=reason):
        ws.functions.create(name, "SecurityEvent | take 1")


def test_a_custom_table_is_not_hidden_either(ws: Workspace) -> None:
    ws.ingest("Inventory_CL", [{"Host": "web-1"}])
    with pytest.raises(KqlBindError, match="'Inventory_CL' is a table"):
        ws.functions.create("Inventory_CL", "SecurityEvent | take 1")


def test_a_stored_function_replaces_a_built_in_asim_parser(ws: Workspace) -> None:
    """As a workspace's own parser does in Sentinel: rules calling imAuthentication get it."""
    ws.functions.create("imAuthentication", "SecurityEvent | project TargetUsername = Account | take 1")
    assert ws.query("imAuthentication | project TargetUsername").rows == [("alice",)]
    ws.functions.drop("imAuthentication")
    assert "EventResult" in [name for name, _ in ws.query("imAuthentication | take 0").columns]


def test_the_clickhouse_store_keeps_functions_too() -> None:
    pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")
    from watchkeeper.store.clickhouse import ChdbEventStore

    with Workspace(ChdbEventStore()) as ws:
        ws.ingest("SecurityEvent", LOGONS)
        ws.functions.create("Failed", "SecurityEvent | where EventID == n | count", parameters="(n:int)",
                            docstring="it's \"quoted\"")  # fmt: skip
        ws.functions.create("Other", "SecurityEvent | take 1")
        ws.functions.drop("Other")
        assert ws.query("Failed(4625)").rows == [(2,)]
        # what a workspace opened on this store again reads back
        read_back = WorkspaceFunctions(ws, {})
        assert [(d.name, d.parameters, d.docstring) for d in read_back.list_all()] == [
            ("Failed", "n:int", 'it\'s "quoted"')]  # fmt: skip
