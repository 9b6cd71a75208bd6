"""The Kusto REST API over real HTTP with real tokens: the exact V2 and V1 bodies, management
commands, errors in Kusto's shape, limits, and tenant isolation."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import ROW_LIMIT, Platform

KUSTO_SCOPE = "https://help.kusto.windows.net/.default"
COMPLETION_COLUMNS = [
    ["Timestamp", "datetime"], ["ClientRequestId", "string"], ["ActivityId", "guid"], ["SubActivityId", "guid"],
    ["ParentActivityId", "guid"], ["Level", "int"], ["LevelName", "string"], ["StatusCode", "int"],
    ["StatusCodeName", "string"], ["EventType", "int"], ["EventTypeName", "string"], ["Payload", "string"],
]  # fmt: skip


def kusto(client: httpx.Client, platform: Platform, path: str, csl: str, *, db: str | None = "main",
          tenant: str = "a", app: str = "reader", **extra: Any) -> httpx.Response:  # fmt: skip
    headers = {**platform.headers(tenant, app, KUSTO_SCOPE), "x-ms-client-request-id": "KPC.execute;test-1"}
    return client.post(path, json={"db": db, "csl": csl, **extra}, headers=headers)


def frames_by_kind(frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f.get("TableKind", f["FrameType"]): f for f in frames}


def test_v2_query_answers_in_frames(client: httpx.Client, platform: Platform) -> None:
    response = kusto(client, platform, "/v2/rest/query",
                     "SecurityEvent | summarize n = count() by Computer, TimeGenerated | order by Computer asc")  # fmt: skip
    assert response.status_code == 200
    frames = response.json()
    assert [f["FrameType"] for f in frames] == ["DataSetHeader"] + ["DataTable"] * 3 + ["DataSetCompletion"]
    assert frames[0] == {"FrameType": "DataSetHeader", "IsProgressive": False, "Version": "v2.0"}
    assert frames[-1] == {"FrameType": "DataSetCompletion", "HasErrors": False, "Cancelled": False}
    tables = frames_by_kind(frames)
    assert tables["QueryProperties"]["TableName"] == "@ExtendedProperties"
    assert tables["PrimaryResult"] == {
        "FrameType": "DataTable", "TableId": 1, "TableKind": "PrimaryResult", "TableName": "PrimaryResult",
        "Columns": [{"ColumnName": "Computer", "ColumnType": "string"},
                    {"ColumnName": "TimeGenerated", "ColumnType": "datetime"},
                    {"ColumnName": "n", "ColumnType": "long"}],
        "Rows": [["h0", "2025-12-01T08:00:00Z", 1], ["h1", "2025-12-01T08:00:00Z", 1],
                 ["h2", "2025-12-01T08:00:00Z", 1]],
    }  # fmt: skip
    completion = tables["QueryCompletionInformation"]
    assert [[c["ColumnName"], c["ColumnType"]] for c in completion["Columns"]] == COMPLETION_COLUMNS
    info = completion["Rows"][0]
    assert info[1] == "KPC.execute;test-1"
    assert info[2] == response.headers["x-ms-request-id"]
    assert info[5:11] == [4, "Info", 0, "S_OK (0)", 4, "QueryInfo"]
    assert json.loads(info[11]) == {"Count": 1, "Text": "Query completed successfully"}


def test_v2_values_use_kusto_spellings(client: httpx.Client, platform: Platform) -> None:
    text = ("print d = dynamic({'a': [1, 2]}), t = 1d + 2h + 3ms, neg = -90s, dt = datetime(2024-01-02 03:04:05.25), "
            "g = toguid('6b1d6a40-7c6a-4b8e-9e5f-1c2d3e4f5a6b'), b = true, i = toint(7), r = 1.5, dec = todecimal(2.50)")  # fmt: skip
    primary = frames_by_kind(kusto(client, platform, "/v2/rest/query", text).json())["PrimaryResult"]
    assert [c["ColumnType"] for c in primary["Columns"]] == [
        "dynamic", "timespan", "timespan", "datetime", "guid", "bool", "int", "real", "decimal"]  # fmt: skip
    assert primary["Rows"] == [[{"a": [1, 2]}, "1.02:00:00.0030000", "-00:01:30", "2024-01-02T03:04:05.25Z",
                                "6b1d6a40-7c6a-4b8e-9e5f-1c2d3e4f5a6b", True, 7, 1.5, "2.5"]]  # fmt: skip


def test_v1_query_has_the_table_of_contents_last(client: httpx.Client, platform: Platform) -> None:
    response = kusto(client, platform, "/v1/rest/query",
                     "SecurityEvent | where Computer == 'h1' | project Computer, EventID, Extra = dynamic([1])")  # fmt: skip
    assert response.status_code == 200
    tables = response.json()["Tables"]
    assert [t["TableName"] for t in tables] == ["Table_0", "Table_1", "Table_2", "Table_3"]
    assert tables[0] == {
        "TableName": "Table_0",
        "Columns": [{"ColumnName": "Computer", "DataType": "String", "ColumnType": "string"},
                    {"ColumnName": "EventID", "DataType": "Int32", "ColumnType": "int"},
                    {"ColumnName": "Extra", "DataType": "Object", "ColumnType": "dynamic"}],
        "Rows": [["h1", 4624, "[1]"]],
    }  # fmt: skip
    contents = tables[-1]
    assert [c["ColumnName"] for c in contents["Columns"]] == ["Ordinal", "Kind", "Name", "Id", "PrettyName"]
    assert [row[:3] for row in contents["Rows"]] == [
        [0, "QueryResult", "PrimaryResult"], [1, "QueryProperties", "@ExtendedProperties"],
        [2, "QueryStatus", "QueryStatus"]]  # fmt: skip
    status = tables[2]["Rows"]
    assert next(row[1:5] for row in status) == [4, "Info", 0, "Query completed successfully"]
    assert status[1][2] == "Stats"
    assert json.loads(status[1][4])["dataset_statistics"] == [{"table_row_count": 1}]
    assert "Exceptions" not in response.json()


def test_row_limit_is_a_partial_failure_in_v2_and_v1(client: httpx.Client, platform: Platform) -> None:
    frames = kusto(client, platform, "/v2/rest/query", "range x from 1 to 200 step 1").json()
    tables = frames_by_kind(frames)
    assert len(tables["PrimaryResult"]["Rows"]) == ROW_LIMIT
    completion = frames[-1]
    assert completion["HasErrors"] is True
    error = completion["OneApiErrors"][0]["error"]
    assert error["code"] == "LimitsExceeded"
    assert f"{ROW_LIMIT} rows" in error["@message"]
    assert tables["QueryCompletionInformation"]["Rows"][0][5] < 4  # a Level below 4 is an error
    v1 = kusto(client, platform, "/v1/rest/query", "range x from 1 to 200 step 1").json()
    assert len(v1["Tables"][0]["Rows"]) == ROW_LIMIT
    assert "E_QUERY_RESULT_SET_TOO_LARGE" in v1["Exceptions"][0]
    assert v1["Tables"][2]["Rows"][0][2] == "Error"


def test_request_properties_set_row_and_time_limits(client: httpx.Client, platform: Platform) -> None:
    asked = json.dumps({"Options": {"truncationmaxrecords": 5}})
    frames = kusto(client, platform, "/v2/rest/query", "range x from 1 to 20 step 1", properties=asked).json()
    assert len(frames_by_kind(frames)["PrimaryResult"]["Rows"]) == 5
    assert frames[-1]["HasErrors"] is True
    # more than the server allows is the server's limit, still reported
    more = {"Options": {"truncationmaxrecords": 10_000}}
    frames = kusto(client, platform, "/v2/rest/query", "range x from 1 to 200 step 1", properties=more).json()
    assert len(frames_by_kind(frames)["PrimaryResult"]["Rows"]) == ROW_LIMIT
    assert frames[-1]["HasErrors"] is True
    bad = kusto(
        client, platform, "/v2/rest/query", "print 1", properties='{"Options": {"servertimeout": "soon"}}'
    )
    assert bad.status_code == 400
    assert "servertimeout" in bad.json()["error"]["@message"]


@pytest.mark.parametrize("path", ["/v2/rest/query", "/v1/rest/query"])
def test_a_query_past_the_time_limit_is_cancelled_and_reported(
    client: httpx.Client, platform: Platform, path: str
) -> None:
    slow = "range x from 1 to 3000000000 step 1 | summarize dcount(x)"
    short = json.dumps({"Options": {"servertimeout": "00:00:00.5"}})
    response = kusto(client, platform, path, slow, properties=short)
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "Request_ExecutionTimeout"
    assert "0.5 s" in error["@message"]
    assert error["@permanent"] is False


def test_too_many_concurrent_queries_is_a_throttling_error(
    client: httpx.Client, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = platform.runtime.gate
    monkeypatch.setattr(gate, "wait", 0.2)
    with contextlib.ExitStack() as held:
        for _ in range(gate.limit):  # the tenant's every slot is taken by queries still running
            held.enter_context(gate.slot(platform.tenants["a"].id))
        response = kusto(client, platform, "/v2/rest/query", "print 1")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert "too many concurrent queries" in response.json()["error"]["@message"]


def test_syntax_error_has_line_and_column(client: httpx.Client, platform: Platform) -> None:
    response = kusto(client, platform, "/v2/rest/query", "SecurityEvent\n| wher Computer == 'h1'")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "General_BadRequest"
    assert error["@type"] == "Kusto.Data.Exceptions.SyntaxException"
    assert error["@message"].startswith("Syntax error: ")
    assert "(line 2, column 3)" in error["@message"]
    assert error["@permanent"] is True
    assert error["@context"]["clientRequestId"] == "KPC.execute;test-1"
    semantic = kusto(client, platform, "/v1/rest/query", "SecurityEvent | where Computr == 'x'").json()[
        "error"
    ]
    assert semantic["@type"] == "Kusto.Data.Exceptions.SemanticException"
    assert semantic["@message"].startswith("Semantic error: ")
    assert "Computr" in semantic["@message"]


def test_databases_are_the_callers_workspaces_only(client: httpx.Client, platform: Platform) -> None:
    body = kusto(client, platform, "/v1/rest/mgmt", ".show databases").json()
    table = body["Tables"][0]
    assert [c["ColumnName"] for c in table["Columns"]][:2] == ["DatabaseName", "PersistentStorage"]
    names = {row[0]: row for row in table["Rows"]}
    assert set(names) == {"main", "other"}
    assert names["main"][3] is True
    assert names["other"][3] is False
    assert names["main"][-1] == platform.workspace("a", "main")
    theirs = kusto(client, platform, "/v1/rest/mgmt", ".show databases", tenant="b").json()["Tables"][0][
        "Rows"
    ]
    assert [row[-1] for row in theirs] == [platform.workspace("b", "main")]


def test_show_tables_and_schemas(client: httpx.Client, platform: Platform) -> None:
    tables = kusto(client, platform, "/v1/rest/mgmt", ".show tables").json()["Tables"][0]
    assert [c["ColumnName"] for c in tables["Columns"]] == [
        "TableName",
        "DatabaseName",
        "Folder",
        "DocString",
    ]
    assert ["SecurityEvent", "main", "", ""] in tables["Rows"]
    assert tables["Rows"] == [[name, "main", "", ""] for name in platform.tables_with_data("a")]
    other = kusto(
        client, platform, "/v1/rest/mgmt", ".show tables", db=platform.workspace("a", "other")
    ).json()
    assert other["Tables"][0]["Rows"] == [
        [name, "other", "", ""] for name in platform.tables_with_data("a", "other")
    ]
    assert ["Heartbeat", "other", "", ""] in other["Tables"][0]["Rows"]
    schema = kusto(client, platform, "/v1/rest/mgmt", ".show table SecurityEvent schema as json").json()
    row = schema["Tables"][0]["Rows"][0]
    document = json.loads(row[1])
    assert document["Name"] == "SecurityEvent"
    assert row[2] == "main"
    columns = {c["Name"]: c for c in document["OrderedColumns"]}
    assert columns["EventID"] == {**columns["EventID"], "Type": "System.Int32", "CslType": "int"}
    assert columns["TimeGenerated"]["CslType"] == "datetime"
    bracketed = kusto(client, platform, "/v1/rest/mgmt", ".show   table ['SecurityEvent']  cslschema").json()
    assert "EventID:int" in bracketed["Tables"][0]["Rows"][0][1]
    database = kusto(client, platform, "/v1/rest/mgmt", ".show database main schema as json").json()
    parsed = json.loads(database["Tables"][0]["Rows"][0][0])
    assert list(parsed["Databases"]["main"]["Tables"]) == platform.tables_with_data("a")
    flat = kusto(client, platform, "/v1/rest/mgmt", ".show database schema").json()["Tables"][0]["Rows"]
    assert ["main", "SecurityEvent", "Computer", "System.String"] in [r[:4] for r in flat]
    functions = kusto(client, platform, "/v1/rest/mgmt", ".show functions").json()["Tables"][0]
    assert [c["ColumnName"] for c in functions["Columns"]] == [
        "Name",
        "Parameters",
        "Body",
        "Folder",
        "DocString",
    ]
    version = kusto(client, platform, "/v1/rest/mgmt", ".show version", db=None).json()["Tables"][0]
    assert version["Columns"][0]["ColumnName"] == "BuildVersion"
    assert version["Rows"][0][0]


def test_management_errors_are_clear(client: httpx.Client, platform: Platform) -> None:
    unknown = kusto(client, platform, "/v1/rest/mgmt", ".drop table SecurityEvent")
    assert unknown.status_code == 400
    assert ".drop table SecurityEvent" in unknown.json()["error"]["@message"]
    assert ".show tables" in unknown.json()["error"]["@message"]
    no_table = kusto(client, platform, "/v1/rest/mgmt", ".show table Nope_CL schema as json")
    assert no_table.status_code == 400
    assert no_table.json()["error"]["code"] == "BadRequest_EntityNotFound"
    no_db = kusto(client, platform, "/v1/rest/mgmt", ".show tables", db=None)
    assert no_db.status_code == 400
    assert "db" in no_db.json()["error"]["@message"]
    missing_csl = client.post(
        "/v1/rest/mgmt", json={"db": "main"}, headers=platform.headers("a", "reader", KUSTO_SCOPE)
    )
    assert missing_csl.status_code == 400
    assert "csl" in missing_csl.json()["error"]["@message"]


def test_another_tenants_database_is_not_found(client: httpx.Client, platform: Platform) -> None:
    theirs = kusto(client, platform, "/v2/rest/query", "SecurityEvent", db=platform.workspace("b"), app="all")
    missing = kusto(
        client, platform, "/v2/rest/query", "SecurityEvent", db="00000000-0000-4000-8000-000000000000"
    )
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "BadRequest_EntityNotFound"
    assert "b-secret" not in theirs.text
    tables = kusto(client, platform, "/v1/rest/mgmt", ".show tables", db=platform.workspace("b"))
    assert tables.status_code == 400
    assert "b-secret" not in tables.text


@pytest.mark.parametrize("path", ["/v2/rest/query", "/v1/rest/query", "/v1/rest/mgmt"])
def test_kusto_routes_need_a_token_with_data_read(
    client: httpx.Client, platform: Platform, path: str
) -> None:
    anonymous = client.post(path, json={"db": "main", "csl": ".show tables"})
    assert anonymous.status_code == 401
    denied = kusto(client, platform, path, ".show tables", app="hunter")
    assert denied.status_code == 403
    assert "Data.Read" in denied.json()["error"]["message"]


def test_queries_and_commands_are_audited(client: httpx.Client, platform: Platform) -> None:
    from watchkeeper.audit import list_entries

    kusto(client, platform, "/v2/rest/query", "SecurityEvent | take 1 | project marker = 'audit-v2'")
    kusto(client, platform, "/v1/rest/mgmt", ".show  tables")
    tenant = platform.tenants["a"].id
    with platform.runtime.database.session() as session:
        queries = list_entries(session, tenant_id=tenant, action="query.run", limit=50).entries
        commands = list_entries(session, tenant_id=tenant, action="query.command", limit=50).entries
    assert any(e.detail.get("protocol") == "kusto-v2" and "audit-v2" in e.detail["query"] for e in queries)
    assert any(e.detail.get("command") == ".show  tables" and e.outcome == "success" for e in commands)


def test_auth_metadata_names_this_server(client: httpx.Client, platform: Platform) -> None:
    body = client.get("/v1/rest/auth/metadata").json()["AzureAD"]
    assert body["LoginEndpoint"] == body["KustoServiceResourceId"] == platform.url
