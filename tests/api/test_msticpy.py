"""msticpy's query providers, unchanged, against the test server's https listener, set up as a
notebook user would for a sovereign cloud:

* ``MSSentinel`` (azure-monitor-query underneath): msticpyconfig names this server as the cloud's
  Resource Manager; msticpy reads our ``/metadata/endpoints`` document and sends its queries to
  the Log Analytics endpoint the document names. The workspace comes from msticpyconfig.
* ``Kusto`` (azure-kusto-data underneath): a Kusto connection string naming this server.
* ``MDE`` and ``M365DGraph`` (msticpy's OData drivers): client id and secret in the connection
  string; msticpy asks the login endpoint of our cloud document for a token, then hunts.

Credentials: an azure-identity ``ClientSecretCredential`` from our token service, handed to the
provider (msticpy uses a given credential as is). It needs ``disable_instance_discovery=True``:
MSAL otherwise asks login.microsoftonline.com whether our authority is genuine, which is neither
possible offline nor meaningful for a self-hosted authority.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from azure.identity import ClientSecretCredential
from msticpy.common import pkg_config
from msticpy.common.exceptions import MsticpyDataQueryError
from msticpy.data import QueryProvider

from tests.api.conftest import WHEN, Platform


@pytest.fixture(scope="module")
def msticpy_config(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A msticpyconfig.yaml that points msticpy's Azure cloud at this server, with tenant a's
    main workspace as the default Sentinel workspace; the server's CA is trusted."""
    tenant = platform.tenants["a"]
    path = tmp_path_factory.mktemp("msticpy") / "msticpyconfig.yaml"
    path.write_text(
        "Azure:\n"
        "  cloud: global\n"
        f"  resource_manager_url: {platform.https_url}/\n"
        "AzureSentinel:\n"
        "  Workspaces:\n"
        "    Default:\n"
        f"      WorkspaceId: {platform.workspace('a')}\n"
        f"      TenantId: {tenant.id}\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MSTICPYCONFIG", str(path))
        patch.setenv("REQUESTS_CA_BUNDLE", str(platform.ca_cert))
        patch.setenv("SSL_CERT_FILE", str(platform.ca_cert))
        pkg_config.refresh_config()
        yield path
    pkg_config.refresh_config()
    # a raised error keeps its response, and with it an open TLS connection, until the garbage
    # collector breaks the traceback's cycle; collect now so that the server's shutdown does not wait
    gc.collect()


@pytest.fixture(scope="module")
def credential(platform: Platform, msticpy_config: Path) -> Iterator[ClientSecretCredential]:
    app = platform.tenants["a"].apps["reader"]
    made = ClientSecretCredential(platform.tenants["a"].id, app.client_id, app.client_secret,
                                  authority=platform.https_url, disable_instance_discovery=True)  # fmt: skip
    yield made
    made.close()


QUERY = "SecurityEvent | project TimeGenerated, Computer, EventID | order by Computer asc"


def _expected() -> pd.DataFrame:
    return pd.DataFrame({"TimeGenerated": [pd.Timestamp(WHEN)] * 3, "Computer": ["h0", "h1", "h2"],
                         "EventID": [4624] * 3})  # fmt: skip


class Providers:
    """Connects msticpy providers for a test and closes the SDK clients they wrap afterwards:
    msticpy keeps providers referenced (its pivot registry) and has no close call, and their idle
    TLS connections would hold up the server's shutdown."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch, self.made = monkeypatch, []  # type: ignore[var-annotated]

    def connect(self, kind: str, **connection: object) -> QueryProvider:
        # msticpy takes PYTEST_CURRENT_TEST as a sign that it is being unit-tested, and then reads
        # its built-in cloud tables instead of the cloud's metadata document: remove it, as in a notebook
        self.monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
        provider = QueryProvider(kind)
        self.made.append(provider)
        provider.connect(**connection)
        return provider

    def close(self) -> None:
        for provider in self.made:
            driver = provider._query_provider
            for client in (getattr(driver, "client", None), getattr(driver, "_query_client", None)):
                if client is not None:
                    client.close()


@pytest.fixture
def providers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, msticpy_config: Path
) -> Iterator[Providers]:
    # msticpy logs each failed query with its traceback; pytest keeps a test's log records until
    # after the package's server has stopped, and that traceback holds an open TLS connection
    caplog.set_level(logging.CRITICAL, logger="msticpy")
    made = Providers(monkeypatch)
    yield made
    made.close()


def _kusto_connection(platform: Platform, token: str, database: str = "") -> str:
    catalog = f"Initial Catalog={database};" if database else ""
    return f"Data Source={platform.https_url};{catalog}AAD Federated Security=True;Application Token={token}"


def test_sentinel_provider_queries_the_workspace_from_its_config(
    credential: ClientSecretCredential, providers: Providers
) -> None:
    provider = providers.connect("MSSentinel", credential=credential)
    frame = provider.exec_query(QUERY)
    assert isinstance(frame, pd.DataFrame)
    assert frame["Computer"].tolist() == ["h0", "h1", "h2"]
    assert frame["EventID"].tolist() == [4624] * 3
    assert frame["TimeGenerated"].tolist() == [pd.Timestamp(WHEN)] * 3


def test_sentinel_provider_reports_bad_kql_with_its_position(
    credential: ClientSecretCredential, providers: Providers
) -> None:
    provider = providers.connect("MSSentinel", credential=credential)
    with pytest.raises(MsticpyDataQueryError, match=r"line 2, column 3") as raised:
        provider.exec_query("SecurityEvent\n| wher Computer == 'h1'")
    assert "BadArgumentError" in str(raised.value)


def test_kusto_provider_queries_through_a_connection_string(
    platform: Platform, credential: ClientSecretCredential, providers: Providers
) -> None:
    token = credential.get_token(f"{platform.https_url}/.default").token
    provider = providers.connect("Kusto", connection_str=_kusto_connection(platform, token, "main"))
    frame = provider.exec_query(QUERY, database="main")
    assert isinstance(frame, pd.DataFrame)
    assert frame.astype({"EventID": "int64"}).equals(_expected().astype({"EventID": "int64"}))
    with pytest.raises(MsticpyDataQueryError, match=r"line 2, column 3"):
        provider.exec_query("SecurityEvent\n| wher Computer == 'h1'", database="main")


def test_kusto_provider_of_another_tenant_cannot_reach_tenant_a(
    platform: Platform, providers: Providers
) -> None:
    theirs = platform.tenants["b"].apps["reader"]
    with ClientSecretCredential(platform.tenants["b"].id, theirs.client_id, theirs.client_secret,
                                authority=platform.https_url, disable_instance_discovery=True) as other:  # fmt: skip
        token = other.get_token(f"{platform.https_url}/.default").token
    provider = providers.connect("Kusto", connection_str=_kusto_connection(platform, token))
    own = provider.exec_query("SecurityEvent | project Computer", database="main")
    assert own["Computer"].tolist() == ["b-secret"]
    with pytest.raises(MsticpyDataQueryError, match="was not found"):
        provider.exec_query("SecurityEvent", database=platform.workspace("a"))


@pytest.mark.parametrize("kind", ["MDE", "M365DGraph"])
def test_hunting_providers_get_tokens_and_hunt(platform: Platform, providers: Providers, kind: str) -> None:
    """The Defender (``/api/advancedqueries/run``) and Graph (``runHuntingQuery``) providers: msticpy
    posts its own token request to the login endpoint of our cloud document, then hunts."""
    tenant = platform.tenants["a"]
    hunter = tenant.apps["hunter"]
    provider = providers.connect(kind, connection_str=f"tenant_id={tenant.id};client_id={hunter.client_id};"
                                                      f"client_secret={hunter.client_secret};apiRoot={platform.https_url}")  # fmt: skip
    frame = provider.exec_query("range x from 1 to 3 step 1 | extend y = x * 2")
    assert isinstance(frame, pd.DataFrame)
    assert frame["y"].tolist() == [2, 4, 6]
