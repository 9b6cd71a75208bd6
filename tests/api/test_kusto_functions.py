"""Stored functions through the Kusto management endpoint with azure-kusto-data's ``KustoClient``,
unchanged, over TLS: ``.create function`` and its kin, calls from queries, errors with the body's
line and column, the administrator's role for changes, audit entries, and tenant isolation.

The functions live in tenant a's ``other`` workspace and are dropped again at the end, so other
modules sharing the server see none."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.kusto.data import KustoClient
from azure.kusto.data.exceptions import KustoApiError

from tests.api.conftest import Platform
from tests.api.test_azure_clients import Credentials, kusto_client
from watchkeeper.audit import list_entries

CREATE = """.create function with (docstring = 'Hosts that sent heartbeats', folder = 'Inventory')
BeatingHosts(since:datetime, T:(Computer:string)) {
    union Heartbeat, (T | extend TimeGenerated = datetime(2025-12-01))
    | where TimeGenerated >= since
    | distinct Computer
    | order by Computer asc
}"""


@pytest.fixture(scope="module")
def credentials(platform: Platform) -> Iterator[Credentials]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(platform.ca_cert))
        patch.setenv("SSL_CERT_FILE", str(platform.ca_cert))
        made = Credentials(platform)
        yield made
        for each in made.made.values():
            each.close()
    # a raised KustoApiError keeps its response's TLS socket open until collected (see
    # test_azure_clients): collect now so that the server's shutdown does not wait for it
    gc.collect()


@pytest.fixture(scope="module")
def admin(platform: Platform, credentials: Credentials) -> Iterator[KustoClient]:
    """Tenant a's app holding every role (Data.Read for the endpoint, an administrator's for changes)."""
    with kusto_client(platform, credentials("a", "all")) as client:
        yield client
        for name in ("BeatingHosts", "Recent"):
            client.execute_mgmt("other", f".drop function {name} ifexists")


def _rows(response: Any) -> list[list[Any]]:
    return [row.to_list() for row in response.primary_results[0]]


def test_create_show_call_alter_and_drop(admin: KustoClient) -> None:
    created = _rows(admin.execute_mgmt("other", CREATE))
    assert created[0][:2] == ["BeatingHosts", "(since:datetime, T:(Computer:string))"]
    assert created[0][2].startswith("{\n    union Heartbeat")
    assert created[0][2].endswith("asc\n}")
    assert created[0][3:] == ["Inventory", "Hosts that sent heartbeats"]
    assert [row[0] for row in _rows(admin.execute_mgmt("other", ".show functions"))] == ["BeatingHosts"]
    assert _rows(admin.execute_mgmt("other", ".show function BeatingHosts")) == created

    schema = json.loads(_rows(admin.execute_mgmt("other", ".show database schema as json"))[0][0])
    document = schema["Databases"]["other"]["Functions"]["BeatingHosts"]
    assert document["InputParameters"] == [
        {"Name": "since", "Type": "System.DateTime", "CslType": "datetime"},
        {"Name": "T", "Columns": [{"Name": "Computer", "Type": "System.String", "CslType": "string"}]},
    ]
    assert (document["Body"], document["Folder"]) == (created[0][2], "Inventory")

    called = admin.execute_query(
        "other", "BeatingHosts(datetime(2025-01-01), datatable(Computer:string)['tab'])"
    )
    assert _rows(called) == [["beat"], ["tab"]]

    with pytest.raises(KustoApiError, match="exists"):
        admin.execute_mgmt("other", CREATE)
    assert _rows(
        admin.execute_mgmt("other", CREATE.replace(".create function", ".create function ifnotexists"))
    )
    with pytest.raises(KustoApiError, match="not found"):
        admin.execute_mgmt("other", ".alter function Recent() { Heartbeat | take 1 }")
    admin.execute_mgmt("other", ".create-or-alter function Recent() { Heartbeat | project Computer }")
    admin.execute_mgmt("other", ".alter function with (folder='Kept') Recent() { Heartbeat | count }")
    assert _rows(admin.execute_query("other", "Recent")) == [[1]]
    assert _rows(admin.execute_mgmt("other", ".show function Recent"))[0][3] == "Kept"

    assert _rows(admin.execute_mgmt("other", ".drop function Recent")) == [["Recent"]]
    assert _rows(admin.execute_mgmt("other", ".drop function Recent ifexists")) == []
    with pytest.raises(KustoApiError, match="unknown function 'Recent'"):
        admin.execute_query("other", "Recent()")


def test_the_log_analytics_metadata_lists_stored_functions_and_parsers(
    admin: KustoClient, platform: Platform
) -> None:
    admin.execute_mgmt("other", ".create-or-alter function with (folder='Kept') Recent() { Heartbeat }")
    try:
        url = f"{platform.url}/v1/workspaces/{platform.workspace('a', 'other')}/metadata"
        body = httpx.get(url, headers=platform.headers("a", "reader")).json()
        theirs = httpx.get(url.replace(platform.workspace("a", "other"), platform.workspace("b")),
                           headers=platform.headers("b", "reader")).json()  # fmt: skip
    finally:
        admin.execute_mgmt("other", ".drop function Recent")
    found = {f["name"]: f for f in body["functions"]}
    assert (found["Recent"]["body"].strip(), found["Recent"]["category"]) == ("Heartbeat", "Kept")
    assert found["imProcessCreate"]["category"] == "ASIM parsers"
    assert "starttime:datetime" in found["imProcessCreate"]["parameters"]
    assert "Recent" not in {f["name"] for f in theirs["functions"]}  # tenant b's workspace has its own


def test_a_body_that_does_not_compile_is_refused_with_its_line_and_column(admin: KustoClient) -> None:
    command = ".create function Broken() {\n    Heartbeat\n    | where Computr == 'x'\n}"
    with pytest.raises(KustoApiError) as raised:
        admin.execute_mgmt("other", command)
    assert raised.value.get_api_error().type == "Kusto.Data.Exceptions.SemanticException"
    # line 1 of the body is the rest of the command's first line (empty here)
    assert "unknown column 'Computr'" in str(raised.value)
    assert "line 3, column 13" in str(raised.value)
    with pytest.raises(KustoApiError, match="is a table of the workspace"):
        admin.execute_mgmt("other", ".create function Heartbeat() { print 1 }")
    with pytest.raises(KustoApiError, match="property 'view' is not supported"):
        admin.execute_mgmt("other", ".create function with (view=true) V() { Heartbeat }")
    assert "Broken" not in [row[0] for row in _rows(admin.execute_mgmt("other", ".show functions"))]


def test_changes_need_an_administrator_and_are_audited(
    admin: KustoClient, platform: Platform, credentials: Credentials
) -> None:
    with kusto_client(platform, credentials("a", "reader")) as reader:
        with pytest.raises(KustoApiError) as denied:
            reader.execute_mgmt("other", ".create function Sneaky() { Heartbeat }")
        assert denied.value.get_api_error().code == "Forbidden"
        assert "needs a tenant administrator's role: AuditLog.Read.All" in str(denied.value)
        listed = [row[0] for row in _rows(reader.execute_mgmt("other", ".show functions"))]
        assert "Sneaky" not in listed  # refused, and listing needs only Data.Read
    admin.execute_mgmt("other", ".create-or-alter function Recent() { Heartbeat }")
    admin.execute_mgmt("other", ".drop function Recent")
    with platform.runtime.database.session() as session:
        entries = list_entries(session, tenant_id=platform.tenants["a"].id, limit=50).entries
    actions = [(e.action, e.outcome, e.target) for e in entries]
    workspace = platform.workspace("a", "other")
    assert ("function.create", "success", f"{workspace}/Recent") in actions
    assert ("function.drop", "success", f"{workspace}/Recent") in actions
    assert any(e.action == "request.denied" and e.detail.get("command") == "create function" for e in entries)


def test_another_tenant_neither_sees_nor_calls_the_function(
    admin: KustoClient, platform: Platform, credentials: Credentials
) -> None:
    admin.execute_mgmt("other", ".create-or-alter function BeatingHosts() { Heartbeat | distinct Computer }")
    theirs_id = platform.workspace("a", "other")
    with kusto_client(platform, credentials("b", "all")) as theirs:
        assert _rows(theirs.execute_mgmt("main", ".show functions")) == []
        with pytest.raises(KustoApiError, match="unknown function 'BeatingHosts'"):
            theirs.execute_query("main", "BeatingHosts()")
        for command in (".show functions", ".show function BeatingHosts", ".drop function BeatingHosts",
                        ".create-or-alter function BeatingHosts() { SecurityEvent }"):  # fmt: skip
            with pytest.raises(KustoApiError) as raised:
                theirs.execute_mgmt(theirs_id, command)
            assert raised.value.get_api_error().code == "BadRequest_EntityNotFound"
    # tenant a's function is as it was
    assert _rows(admin.execute_query("other", "BeatingHosts")) == [["beat"]]
