"""Watchlists: ``_GetWatchlist('alias')`` in Sentinel's shape, the ``Watchlist`` table mirror,
replacing and deleting, and the errors a rule over a missing watchlist gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper import Workspace, kql
from watchkeeper.errors import InvalidRequestError, KqlBindError, NotFoundError
from watchkeeper.schema.types import KqlType

TERMINATED = (
    "User Principal Name,Termination date,Level,Score,Active,Notes\n"
    "alice@contoso.com,2024-01-05,3,1.5,true,left\n"
    'bob@contoso.com,2024-02-01T10:00:00Z,7,2,FALSE,"moved, then left"\n'
)


@pytest.fixture
def ws() -> Workspace:
    workspace = Workspace.open(None)
    workspace.watchlists.create("TerminatedEmployees", TERMINATED, search_key="User Principal Name")
    return workspace


def test_get_watchlist_returns_typed_csv_columns_with_sentinels_item_columns(ws: Workspace) -> None:
    result = ws.query("_GetWatchlist('TerminatedEmployees') | order by Level asc")
    assert [name for name, _ in result.columns] == [
        "_DTItemId", "LastUpdatedTimeUTC", "SearchKey", "WatchlistItem",
        "User Principal Name", "Termination date", "Level", "Score", "Active", "Notes",
    ]  # fmt: skip
    types = dict(result.columns)
    assert (types["Termination date"], types["Level"], types["Score"], types["Active"], types["Notes"]) == (
        KqlType.DATETIME, KqlType.LONG, KqlType.REAL, KqlType.BOOL, KqlType.STRING,
    )  # fmt: skip
    first, second = (dict(zip([n for n, _ in result.columns], row, strict=True)) for row in result.rows)
    assert first["SearchKey"] == "alice@contoso.com"
    assert first["Termination date"] == datetime(2024, 1, 5, tzinfo=UTC)
    assert (first["Level"], first["Score"], first["Active"]) == (3, 1.5, True)
    assert second["Termination date"] == datetime(2024, 2, 1, 10, tzinfo=UTC)
    assert (second["Active"], second["Notes"]) == (False, "moved, then left")
    assert second["WatchlistItem"]["Level"] == 7


def test_a_sentinel_rule_joins_a_watchlist_by_a_bracketed_column(ws: Workspace) -> None:
    ws.ingest("SigninLogs", [{"UserPrincipalName": "bob@contoso.com", "TimeGenerated": datetime(2024, 3, 1, tzinfo=UTC)},
                             {"UserPrincipalName": "carol@contoso.com", "TimeGenerated": datetime(2024, 3, 1, tzinfo=UTC)}])  # fmt: skip
    result = ws.query(
        "_GetWatchlist('TerminatedEmployees')\n"
        "| join (SigninLogs) on $left.['User Principal Name'] == $right.UserPrincipalName\n"
        "| where TimeGenerated > todatetime(['Termination date'])\n"
        "| project UserPrincipalName"
    )
    assert result.rows == [("bob@contoso.com",)]


def test_search_key_lookup_and_watchlist_items_outside_the_rule_window(ws: Workspace) -> None:
    """Items uploaded before a rule's window are still the watchlist's items."""
    now = datetime.now(UTC)
    ws.ingest(
        "SigninLogs", [{"UserPrincipalName": "alice@contoso.com", "TimeGenerated": now + timedelta(days=1)}]
    )
    window = (now + timedelta(hours=12), now + timedelta(days=2))
    result = ws.query(
        "SigninLogs | where UserPrincipalName in ((_GetWatchlist('TerminatedEmployees') | project SearchKey))"
        " | count",
        time_range=window,
    )
    assert result.rows == [(1,)]


def test_watchlist_table_mirrors_items_and_the_definition(ws: Workspace) -> None:
    result = ws.query(
        "Watchlist | where _DTItemType == 'watchlist-item' | order by SearchKey asc"
        " | project WatchlistAlias, SearchKey, _DTItemStatus, WatchlistItem['Notes']"
    )
    assert result.rows == [
        ("TerminatedEmployees", "alice@contoso.com", "Create", "left"),
        ("TerminatedEmployees", "bob@contoso.com", "Create", "moved, then left"),
    ]
    record = ws.query("Watchlist | where _DTItemType == 'watchlist' | project SearchKey, WatchlistName").rows
    assert record == [("User Principal Name", "TerminatedEmployees")]


def test_replacing_a_watchlist_replaces_its_items_and_columns(ws: Workspace) -> None:
    with pytest.raises(InvalidRequestError, match="exists"):
        ws.watchlists.create("TerminatedEmployees", "Upn\ncarol@contoso.com\n")
    ws.watchlists.create("TerminatedEmployees", "Upn,Days\ncarol@contoso.com,4\n", replace=True)
    assert ws.query("_GetWatchlist('TerminatedEmployees') | project SearchKey, Upn, Days").rows == [
        ("carol@contoso.com", "carol@contoso.com", 4)
    ]
    with pytest.raises(KqlBindError, match="unknown column 'Level'"):
        ws.query("_GetWatchlist('TerminatedEmployees') | project Level")
    deleted = ws.query("Watchlist | where _DTItemStatus == 'Delete' | summarize dcount(_DTItemId)").rows
    assert deleted == [(2,)]
    assert ws.watchlists.get("TerminatedEmployees").item_count == 1


def test_deleting_a_watchlist_makes_rules_over_it_fail_loudly(ws: Workspace) -> None:
    ws.watchlists.delete("TerminatedEmployees")
    with pytest.raises(KqlBindError) as caught:
        ws.query(
            "SigninLogs\n| join _GetWatchlist('TerminatedEmployees') on $left.UserPrincipalName == $right.SearchKey"
        )
    assert "unknown watchlist 'TerminatedEmployees'" in caught.value.message
    assert "line 2, column 22" in caught.value.render()
    assert ws.watchlists.list_all() == []
    with pytest.raises(NotFoundError):
        ws.watchlists.delete("TerminatedEmployees")


def test_unknown_alias_suggests_a_close_one(ws: Workspace) -> None:
    with pytest.raises(
        KqlBindError, match="unknown watchlist 'TerminatedEmployee'; did you mean 'TerminatedEmployees'"
    ):
        ws.query("_GetWatchlist('TerminatedEmployee')")


def test_watchlists_survive_reopening_the_workspace(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as first:
        first.watchlists.create("HighValueAssets", "Asset Name,Tier\ndc01,0\nweb01,2\n", source="assets.csv")
    with Workspace.open(tmp_path / "ws") as again:
        assert again.query(
            "_GetWatchlist('HighValueAssets') | where Tier == 0 | project ['Asset Name']"
        ).rows == [("dc01",)]
        listed = again.watchlists.list_all()
        assert [(w.alias, w.item_count, w.source, w.schema.search_key) for w in listed] == [
            ("HighValueAssets", 2, "assets.csv", "Asset Name")
        ]


@pytest.mark.parametrize(
    ("text", "search_key", "message"),
    [
        ("", None, "empty"),
        ("a,a\n1,2\n", None, "'a' appears twice"),
        ("a,b\n1\n", None, "line 2: 1 values for 2 columns"),
        ("a,SearchKey\n1,2\n", None, "'SearchKey' is a column _GetWatchlist adds"),
        ("a,b\n1,2\n", "c", "'c' is not a column"),
    ],
)
def test_a_csv_that_cannot_be_a_watchlist_is_refused_and_writes_nothing(
    text: str, search_key: str | None, message: str
) -> None:
    ws = Workspace.open(None)
    with pytest.raises(InvalidRequestError, match=message):
        ws.watchlists.create("bad", text, search_key=search_key)
    assert ws.watchlists.list_all() == []


def test_an_alias_with_quotes_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="not a watchlist alias"):
        Workspace.open(None).watchlists.create("x') | union SecurityEvent //", "a\n1\n")


def test_compiling_without_a_workspace_gives_an_open_schema() -> None:
    """A rule compiled on its own (no workspace behind it) still translates."""
    compiled = kql.translate("_GetWatchlist('VIPUsers') | project SearchKey, ['User Principal Name']")[0]
    assert [name for name, _ in compiled.columns] == ["SearchKey", "User Principal Name"]
