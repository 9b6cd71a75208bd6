"""Kqlmagic, unchanged, driven as a notebook drives it (an IPython shell running ``%kql`` line and
cell magics), against the test server:

* ``loganalytics://`` with ``datasourceurl`` naming this server: Log Analytics queries with
  ``Prefer: ai.response-thinning=false``, answered in the Kusto V1 shape Kqlmagic parses;
* ``azuredataexplorer://`` with this server as the cluster and a workspace name as the database:
  Kusto v2 queries, and ``.show databases`` (Kqlmagic checks the database name against it).

Credentials: a token from this server's token endpoint handed over with ``-try_token`` (Kqlmagic's
option for a token obtained elsewhere), the token endpoint's JSON answer as is. Kqlmagic's own
client-secret path cannot reach a self-hosted authority: it builds an MSAL application that first
asks login.microsoftonline.com whether the authority is genuine, with no option to turn that off.
It also builds one for every connection that is not anonymous, even one handed a token, and MSAL
fetches login.microsoftonline.com's discovery document when built; Kqlmagic's
``KQLMAGIC_DEBUG_DISABLE_PACKAGES=msal`` keeps it from doing so. Every name resolution outside this
host is refused and recorded, and each test checks that there was none.

Display: ``table_package=pandas`` because Kqlmagic's default table rendering reads
``prettytable.__dict__["DEFAULT"]``, which current prettytable (3.18) serves only through a
deprecation shim that lookup does not reach; no banner, no version check against PyPI, no schema
popup, no local files server.
"""

from __future__ import annotations

import atexit
import gc
import re
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import httpx
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from tests.api.conftest import WHEN, Platform

QUIET = ";".join([
    "show_init_banner=False", "check_magic_version=False", "show_what_new=False", "auto_popup_schema=False",
    "temp_files_server='disabled'", "enable_add_items_to_help=False", "table_package='pandas'",
    "show_query_time=False", "warn_missing_dependencies=False",
])  # fmt: skip
QUERY = "SecurityEvent | project TimeGenerated, Computer, EventID | order by Computer asc"
BAD_KQL = "SecurityEvent\n| wher Computer == 'h1'"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Notebook:
    """An IPython shell with Kqlmagic loaded; ``kql`` runs a magic and returns its value and the
    text of what it displayed, as a notebook user would read it."""

    shell: InteractiveShell
    outside: list[str]
    shown: list[str] = field(default_factory=list)

    def kql(self, line: str, cell: str | None = None) -> tuple[Any, str]:
        self.shown.clear()
        if cell is None:
            value = self.shell.run_line_magic("kql", line)
        else:
            value = self.shell.run_cell_magic("kql", line, cell)
        return value, "\n".join(self.shown)

    def frame(self, line: str, cell: str | None = None) -> pd.DataFrame:
        """The result of a magic as a DataFrame; what Kqlmagic showed instead, if it has none."""
        value, shown = self.kql(line, cell)
        assert value is not None, shown
        frame: pd.DataFrame = value.to_dataframe()
        return frame

    def token(self, platform: Platform, tenant: str, origin: str | None = None) -> str:
        """Tenant's reader token for ``origin`` (the https listener unless named), fetched from the
        token endpoint as a user would, its JSON answer put in the notebook's namespace as is."""
        origin = origin or platform.https_url
        registered = platform.tenants[tenant].apps["reader"]
        form = {"grant_type": "client_credentials", "client_id": registered.client_id,
                "client_secret": registered.client_secret, "scope": f"{origin}/.default"}  # fmt: skip
        trust = ssl.create_default_context(cafile=platform.ca_cert)
        answer = httpx.post(
            f"{origin}/{platform.tenants[tenant].id}/oauth2/v2.0/token", data=form, verify=trust
        )
        answer.raise_for_status()
        name = f"token_{tenant}_{len(self.shell.user_ns)}"
        self.shell.user_ns[name] = answer.json()
        return name

    def _publish(self, data: dict[str, Any], *args: object, **kwargs: object) -> None:
        text = str(data.get("text/html") or data.get("text/plain") or "")
        self.shown.append(re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text))))


def _refuse_outside(outside: list[str]) -> Callable[..., Any]:
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            outside.append(str(host))
            raise socket.gaierror(f"{host}: the tests make no calls outside this host")
        return resolve(host, *args, **kwargs)

    return guarded


@pytest.fixture(scope="module")
def notebook(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    if "Kqlmagic" in sys.modules:
        pytest.fail("Kqlmagic was imported before this module set KQLMAGIC_DEBUG_DISABLE_PACKAGES")
    home = tmp_path_factory.mktemp("notebook")
    outside: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _refuse_outside(outside))
        patch.setenv("KQLMAGIC_DEBUG_DISABLE_PACKAGES", "msal")
        patch.setenv("KQLMAGIC_CONFIGURATION", QUIET)
        patch.setenv("IPYTHONDIR", str(home / "ipython"))
        patch.setenv("REQUESTS_CA_BUNDLE", str(platform.ca_cert))
        patch.chdir(home)  # Kqlmagic keeps its temporary files under the shell's starting directory
        # what an IPython shell takes over in this process, to give back afterwards
        patch.setattr(sys, "displayhook", sys.displayhook)
        patch.setattr(sys, "excepthook", sys.excepthook)
        patch.setitem(sys.modules, "__main__", sys.modules["__main__"])
        made = _shell(outside)
        try:
            yield made
        finally:
            _close(made.shell)


def _shell(outside: list[str]) -> Notebook:
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    made = Notebook(shell, outside)
    shell.display_pub.publish = made._publish  # type: ignore[method-assign]
    shell.run_line_magic("load_ext", "Kqlmagic")
    return made


def _close(shell: InteractiveShell) -> None:
    shell.run_line_magic("unload_ext", "Kqlmagic")
    atexit.unregister(shell.atexit_operations)
    InteractiveShell.clear_instance()
    # Kqlmagic's responses hold pooled connections until collected; the server's shutdown waits on them
    gc.collect()


def _expected() -> pd.DataFrame:
    return pd.DataFrame({"TimeGenerated": [pd.Timestamp(WHEN)] * 3, "Computer": ["h0", "h1", "h2"],
                         "EventID": [4624] * 3})  # fmt: skip


def _log_analytics(platform: Platform, workspace: str, token: str) -> str:
    return (
        f"loganalytics://code;workspace='{workspace}';datasourceurl='{platform.https_url}' -try_token={token}"
    )


def _data_explorer(cluster: str, database: str, token: str) -> str:
    return f"azuredataexplorer://code;cluster='{cluster}';database='{database}' -try_token={token}"


def test_log_analytics_connection_answers_a_query_as_a_dataframe(
    platform: Platform, notebook: Notebook
) -> None:
    token = notebook.token(platform, "a")
    notebook.kql(_log_analytics(platform, platform.workspace("a"), token))
    assert notebook.frame(QUERY).equals(_expected())
    assert "h1" in "".join(notebook.shown)
    assert notebook.outside == []


def test_data_explorer_connection_answers_cells_as_dataframes(platform: Platform, notebook: Notebook) -> None:
    token = notebook.token(platform, "a")
    notebook.kql(_data_explorer(platform.https_url, "main", token))
    assert notebook.frame("", QUERY).equals(_expected())
    counted = notebook.frame("", "SecurityEvent\n| summarize Logons = count() by EventID")
    assert counted.to_dict("records") == [{"EventID": 4624, "Logons": 3}]
    other = notebook.frame(
        _data_explorer(platform.https_url, "other", token) + " Heartbeat | project Computer"
    )
    assert other["Computer"].tolist() == ["beat"]
    assert notebook.outside == []


@pytest.mark.parametrize("protocol", ["log analytics", "data explorer"])
def test_bad_kql_shows_its_line_and_column(platform: Platform, notebook: Notebook, protocol: str) -> None:
    token = notebook.token(platform, "a")
    if protocol == "log analytics":
        notebook.kql(_log_analytics(platform, platform.workspace("a"), token))
    else:
        notebook.kql(_data_explorer(platform.https_url, "main", token))
    result, shown = notebook.kql("", BAD_KQL)
    assert result is None
    assert "unknown tabular operator 'wher'" in shown
    assert "line 2, column 3" in shown
    assert notebook.outside == []


# Kqlmagic keeps one connection per workspace (Log Analytics) or per database and cluster (Data
# Explorer) for the whole session, with the credentials it was first opened with; tenant b's tests
# therefore use targets no tenant a test opens: tenant a's other workspace by id, and the http
# listener, which Kqlmagic takes for another cluster.


def test_another_tenants_token_reads_nothing_of_a_log_analytics_workspace(
    platform: Platform, notebook: Notebook
) -> None:
    token = notebook.token(platform, "b")
    own = notebook.frame(_log_analytics(platform, platform.workspace("b"), token) + " SecurityEvent")
    assert own["Computer"].tolist() == ["b-secret"]
    theirs, shown = notebook.kql(
        _log_analytics(platform, platform.workspace("a", "other"), token) + " Heartbeat"
    )
    assert theirs is None
    assert f"'{platform.workspace('a', 'other')}' was not found" in shown
    assert notebook.outside == []


def test_another_tenants_token_sees_its_own_databases_only(platform: Platform, notebook: Notebook) -> None:
    token = notebook.token(platform, "b", platform.url)
    # both tenants have a workspace named main: tenant b's token reads tenant b's
    own = notebook.frame(_data_explorer(platform.url, "main", token) + " SecurityEvent | project Computer")
    assert own["Computer"].tolist() == ["b-secret"]
    theirs, shown = notebook.kql(_data_explorer(platform.url, "other", token) + " Heartbeat")
    assert theirs is None
    assert "Database wasn't found in cluster" in shown
    assert notebook.outside == []


def test_an_anonymous_connection_is_refused(platform: Platform, notebook: Notebook) -> None:
    # localhost: a cluster no other test opens
    cluster = platform.url.replace("127.0.0.1", "localhost")
    result, shown = notebook.kql(
        f"azuredataexplorer://anonymous;cluster='{cluster}';database='main' SecurityEvent"
    )
    assert result is None
    assert "InvalidAuthenticationToken" in shown
    assert "h0" not in shown
    assert "b-secret" not in shown
    assert notebook.outside == []
