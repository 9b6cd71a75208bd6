"""The real Azure clients, unchanged, against the test server's https listener: azure-identity
gets tokens from our token endpoint, azure-monitor-query's ``LogsQueryClient`` and
azure-kusto-data's ``KustoClient`` query a workspace with them.

The only setting is trust: the server's certificate is self-signed, so ``REQUESTS_CA_BUNDLE``
(read by MSAL, azure-core's requests transport and azure-kusto-data) names its CA. Retries are
turned off (``retry_total=0``) where a test expects a failure, so that the client reports it at
once instead of retrying a 504.

azure-kusto-data sends queries to ``/v2/rest/query`` and management commands to
``/v1/rest/mgmt``; it has no call for ``/v1/rest/query`` (the V1 query shape is checked with
plain HTTP in ``test_kusto.py``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.kusto.data import ClientRequestProperties, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import KustoApiError
from azure.monitor.query import LogsBatchQuery, LogsQueryClient, LogsQueryPartialResult, LogsQueryStatus

from tests.api.conftest import ROW_LIMIT, WHEN, Platform

SLOW = "range x from 1 to 3000000000 step 1 | summarize dcount(x)"


@pytest.fixture(scope="module")
def trusted(platform: Platform) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(platform.ca_cert))
        patch.setenv("SSL_CERT_FILE", str(platform.ca_cert))
        yield
    # A raised HttpResponseError/KustoApiError keeps its response, and with it an open TLS socket,
    # until the garbage collector breaks the traceback's cycle; collect now so that the server's
    # shutdown does not wait for those connections.
    gc.collect()


class Credentials:
    """One ``ClientSecretCredential`` per (tenant, app), closed at the end, so that no client
    keeps an idle TLS connection to the server open past the tests."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.made: dict[tuple[str, str], ClientSecretCredential] = {}

    def __call__(self, tenant: str, app: str = "reader") -> ClientSecretCredential:
        if (tenant, app) not in self.made:
            registered = self.platform.tenants[tenant].apps[app]
            self.made[tenant, app] = ClientSecretCredential(
                self.platform.tenants[tenant].id, registered.client_id, registered.client_secret,
                authority=self.platform.https_url, disable_instance_discovery=True,
            )  # fmt: skip
        return self.made[tenant, app]


@pytest.fixture(scope="module")
def credential(platform: Platform, trusted: None) -> Iterator[Credentials]:
    made = Credentials(platform)
    yield made
    for each in made.made.values():
        each.close()


@pytest.fixture(scope="module")
def logs(platform: Platform, credential: Credentials) -> Iterator[LogsQueryClient]:
    with LogsQueryClient(credential("a"), endpoint=f"{platform.https_url}/v1", retry_total=0) as client:
        yield client


def kusto_client(platform: Platform, credential: ClientSecretCredential) -> KustoClient:
    builder = KustoConnectionStringBuilder.with_azure_token_credential(platform.https_url, credential)
    return KustoClient(builder)


@pytest.fixture(scope="module")
def kusto(platform: Platform, credential: Credentials) -> Iterator[KustoClient]:
    with kusto_client(platform, credential("a")) as client:
        yield client


# ---------------------------------------------------------------------------- azure-identity


def test_client_secret_credential_gets_a_token_from_our_endpoint(
    platform: Platform, credential: Credentials
) -> None:
    token = credential("a").get_token(f"{platform.https_url}/.default")
    principal = platform.runtime.tokens.verify(token.token, audiences={platform.https_url})
    assert principal.tenant_id == platform.tenants["a"].id
    assert set(principal.roles) == {"Data.Read"}


# ---------------------------------------------------------------------------- azure-monitor-query


def test_logs_query_client_gets_typed_rows(logs: LogsQueryClient, platform: Platform) -> None:
    result = logs.query_workspace(platform.workspace("a"),
                                  "SecurityEvent | project TimeGenerated, Computer, EventID | order by Computer asc",
                                  timespan=(WHEN - timedelta(hours=1), WHEN + timedelta(hours=1)))  # fmt: skip
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert table.columns == ["TimeGenerated", "Computer", "EventID"]
    assert table.columns_types == ["datetime", "string", "int"]
    assert [list(row) for row in table.rows] == [[WHEN, f"h{i}", 4624] for i in range(3)]
    assert table.rows[0]["TimeGenerated"].tzinfo is not None


def test_logs_query_client_reports_statistics(logs: LogsQueryClient, platform: Platform) -> None:
    result = logs.query_workspace(platform.workspace("a"), "SecurityEvent | count", timespan=None,
                                  include_statistics=True, server_timeout=30)  # fmt: skip
    assert result.statistics["query"]["datasetStatistics"] == [{"tableRowCount": 1}]


def test_logs_query_client_gets_a_partial_result_at_the_row_limit(
    logs: LogsQueryClient, platform: Platform
) -> None:
    result = logs.query_workspace(platform.workspace("a"), "range x from 1 to 500 step 1", timespan=None)
    assert isinstance(result, LogsQueryPartialResult)
    assert len(result.partial_data[0].rows) == ROW_LIMIT
    assert result.partial_error.code == "PartialError"
    assert str(ROW_LIMIT) in result.partial_error.message


def test_logs_query_client_raises_bad_argument_on_bad_kql(logs: LogsQueryClient, platform: Platform) -> None:
    with pytest.raises(HttpResponseError) as raised:
        logs.query_workspace(platform.workspace("a"), "SecurityEvent\n| where Computr == 'x'", timespan=None)
    assert raised.value.error.code == "BadArgumentError"
    assert raised.value.status_code == 400
    assert "Computr" in str(raised.value)


def test_logs_query_client_reports_the_time_limit(logs: LogsQueryClient, platform: Platform) -> None:
    with pytest.raises(HttpResponseError) as raised:
        logs.query_workspace(platform.workspace("a"), SLOW, timespan=None)
    assert raised.value.status_code == 504
    assert raised.value.error.code == "GatewayTimeout"
    assert "time limit" in str(raised.value)


def test_logs_query_client_batch(logs: LogsQueryClient, platform: Platform) -> None:
    queries = [
        LogsBatchQuery(platform.workspace("a"), "SecurityEvent | count", timespan=timedelta(days=36500)),
        LogsBatchQuery(platform.workspace("a", "other"), "Heartbeat | project Computer", timespan=None),
        LogsBatchQuery(platform.workspace("a"), "SecurityEvent | wher x", timespan=None),
        LogsBatchQuery(platform.workspace("b"), "SecurityEvent", timespan=None),
        LogsBatchQuery(platform.workspace("a"), "range x from 1 to 500 step 1", timespan=None),
    ]
    count, heartbeat, bad, theirs, cut = logs.query_batch(queries)
    assert count.status == LogsQueryStatus.SUCCESS
    assert [list(r) for r in count.tables[0].rows] == [[3]]
    assert [list(r) for r in heartbeat.tables[0].rows] == [["beat"]]
    assert bad.status == LogsQueryStatus.FAILURE
    assert bad.code == "BadArgumentError"
    assert theirs.status == LogsQueryStatus.FAILURE
    assert theirs.code == "WorkspaceNotFoundError"
    assert cut.status == LogsQueryStatus.PARTIAL


def test_logs_query_client_of_another_tenant_sees_its_own_data(
    platform: Platform, credential: Credentials
) -> None:
    with LogsQueryClient(credential("b"), endpoint=f"{platform.https_url}/v1") as theirs:
        result = theirs.query_workspace(
            platform.workspace("b"), "SecurityEvent | project Computer", timespan=None
        )
        assert [list(r) for r in result.tables[0].rows] == [["b-secret"]]
        with pytest.raises(HttpResponseError) as raised:
            theirs.query_workspace(platform.workspace("a"), "SecurityEvent", timespan=None)
    assert raised.value.status_code == 404


# ---------------------------------------------------------------------------- azure-kusto-data


def test_kusto_client_queries_through_v2(kusto: KustoClient, platform: Platform) -> None:
    response = kusto.execute_query("main", "SecurityEvent | project TimeGenerated, Computer, EventID, "
                                           "Age = datetime(2025-12-02) - TimeGenerated | order by Computer asc")  # fmt: skip
    assert response.errors_count == 0
    rows = [row.to_list() for row in response.primary_results[0]]
    assert rows == [[WHEN, f"h{i}", 4624, timedelta(hours=16)] for i in range(3)]
    assert rows[0][0] == datetime(2025, 12, 1, 8, tzinfo=UTC)


def test_kusto_client_runs_management_commands_through_v1(kusto: KustoClient, platform: Platform) -> None:
    tables = kusto.execute("main", ".show tables").primary_results[0]
    assert [row["TableName"] for row in tables] == platform.tables_with_data("a")
    assert "SecurityEvent" in [row["TableName"] for row in tables]
    databases = kusto.execute_mgmt(platform.workspace("a", "other"), ".show databases").primary_results[0]
    assert sorted(row["DatabaseName"] for row in databases) == ["main", "other"]
    assert {row["DatabaseName"]: row["IsCurrent"] for row in databases} == {"main": False, "other": True}


def test_kusto_client_of_another_tenant_sees_only_its_databases(
    platform: Platform, credential: Credentials
) -> None:
    with kusto_client(platform, credential("b")) as theirs:
        databases = theirs.execute_mgmt(None, ".show databases").primary_results[0]
        assert [row["DatabaseId"] for row in databases] == [platform.workspace("b")]
        with pytest.raises(KustoApiError) as raised:
            theirs.execute_query(platform.workspace("a"), "SecurityEvent")
    assert raised.value.get_api_error().code == "BadRequest_EntityNotFound"


def test_kusto_client_raises_a_syntax_error_with_line_and_column(kusto: KustoClient) -> None:
    with pytest.raises(KustoApiError) as raised:
        kusto.execute_query("main", "SecurityEvent\n| wher Computer == 'h1'")
    assert str(raised.value).startswith("Syntax error: ")
    assert "line 2, column 3" in str(raised.value)
    assert raised.value.get_api_error().type == "Kusto.Data.Exceptions.SyntaxException"


def test_kusto_client_sees_the_row_limit_as_a_partial_failure(kusto: KustoClient) -> None:
    response = kusto.execute_query("main", "range x from 1 to 500 step 1")
    assert len(response.primary_results[0]) == ROW_LIMIT
    assert response.errors_count == 1
    assert "E_QUERY_RESULT_SET_TOO_LARGE" in response.get_exceptions()[0]


def test_kusto_client_request_properties_limit_rows_and_time(kusto: KustoClient) -> None:
    properties = ClientRequestProperties()
    properties.set_option("truncationmaxrecords", 7)
    cut = kusto.execute_query("main", "range x from 1 to 100 step 1", properties)
    assert len(cut.primary_results[0]) == 7
    assert cut.errors_count == 1
    properties = ClientRequestProperties()
    properties.set_option(ClientRequestProperties.request_timeout_option_name, timedelta(seconds=0.5))
    with pytest.raises(KustoApiError) as raised:
        kusto.execute_query("main", SLOW, properties)
    assert raised.value.get_api_error().code == "Request_ExecutionTimeout"
    assert "0.5 s" in str(raised.value)
