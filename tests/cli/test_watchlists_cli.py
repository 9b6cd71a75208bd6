"""``wk watchlists``: create from a CSV, list, show, replace, delete; rules read the items."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Wk = Callable[..., Result]


def _query(wk: Wk, text: str, workspace: Path) -> Result:
    return wk("query", "-f", "json", text, "--workspace", str(workspace))


def test_create_list_show_replace_delete(wk: Wk, scratch: Path) -> None:
    ws = scratch / "ws"
    (scratch / "vip.csv").write_text("Name,UPN,Tier\nAlice,alice@contoso.com,0\nBob,bob@contoso.com,1\n")
    created = wk("watchlists", "create", "VIPUsers", str(scratch / "vip.csv"), "--search-key", "UPN",
                 "--workspace", str(ws))  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "watchlist 'VIPUsers' created: 2 items, search key 'UPN'" in created.stdout

    rows = json.loads(
        _query(wk, "_GetWatchlist('VIPUsers') | where Tier == 0 | project SearchKey, Name", ws).stdout
    )
    assert rows["rows"] == [["alice@contoso.com", "Alice"]]

    listed = json.loads(wk("watchlists", "list", "-f", "json", "--workspace", str(ws)).stdout)
    assert [(w["alias"], w["items"], w["searchKey"], w["source"]) for w in listed] == [
        ("VIPUsers", 2, "UPN", "vip.csv")
    ]
    shown = json.loads(wk("watchlists", "show", "VIPUsers", "-f", "json", "--workspace", str(ws)).stdout)
    assert shown["columns"] == [{"name": "Name", "type": "string"}, {"name": "UPN", "type": "string"},
                                {"name": "Tier", "type": "long"}]  # fmt: skip

    again = wk("watchlists", "create", "VIPUsers", str(scratch / "vip.csv"), "--workspace", str(ws))
    assert again.exit_code == 1
    assert "exists" in again.stderr
    (scratch / "vip2.csv").write_text("UPN\ncarol@contoso.com\n")
    replaced = wk(
        "watchlists", "create", "VIPUsers", str(scratch / "vip2.csv"), "--replace", "--workspace", str(ws)
    )
    assert "replaced: 1 items" in replaced.stdout
    rows = json.loads(_query(wk, "_GetWatchlist('VIPUsers') | project SearchKey", ws).stdout)
    assert rows["rows"] == [["carol@contoso.com"]]

    deleted = wk("watchlists", "delete", "VIPUsers", "--workspace", str(ws))
    assert deleted.exit_code == 0
    assert "deleted" in deleted.stdout
    gone = _query(wk, "_GetWatchlist('VIPUsers')", ws)
    assert gone.exit_code == 1
    assert "unknown watchlist 'VIPUsers'" in gone.stderr
    missing = wk("watchlists", "show", "VIPUsers", "--workspace", str(ws))
    assert missing.exit_code == 1
    assert "watchlist 'VIPUsers' was not found" in missing.stderr


def test_a_bad_csv_is_reported_with_its_line(wk: Wk, scratch: Path) -> None:
    (scratch / "bad.csv").write_text("a,b\n1,2\n3\n")
    result = wk("watchlists", "create", "Bad", str(scratch / "bad.csv"), "--workspace", str(scratch / "ws"))
    assert result.exit_code == 1
    assert "line 3: 1 values for 2 columns" in result.stderr
    assert "Traceback" not in result.output
    missing = wk("watchlists", "create", "Bad", str(scratch / "nope.csv"), "--workspace", str(scratch / "ws"))
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
