"""``wk functions``: create from a .kql file, list, show, call from ``wk query``, replace, drop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Wk = Callable[..., Result]


def _query(wk: Wk, text: str, workspace: Path) -> Result:
    return wk("query", "-f", "json", text, "--workspace", str(workspace))


def test_create_list_show_call_and_drop(wk: Wk, scratch: Path) -> None:
    ws = scratch / "ws"
    body = scratch / "tagged.kql"
    body.write_text("datatable(Host:string, Tier:long)['web-1', 0, 'db-1', 1]\n| where Tier <= max_tier\n")
    created = wk("functions", "create", "Tagged", str(body), "--parameters", "(max_tier:long)",
                 "--folder", "Inventory", "--docstring", "Hosts by tier", "--workspace", str(ws))  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "function 'Tagged(max_tier:long)' stored" in created.stdout

    rows = json.loads(_query(wk, "Tagged(0) | project Host", ws).stdout)
    assert rows["rows"] == [["web-1"]]

    listed = json.loads(wk("functions", "list", "-f", "json", "--workspace", str(ws)).stdout)
    assert listed == [{"name": "Tagged", "parameters": "(max_tier:long)", "folder": "Inventory",
                       "docstring": "Hosts by tier"}]  # fmt: skip
    shown = json.loads(wk("functions", "show", "Tagged", "-f", "json", "--workspace", str(ws)).stdout)
    assert shown["body"] == body.read_text().rstrip()

    again = wk("functions", "create", "Tagged", str(body), "--workspace", str(ws))
    assert again.exit_code == 1
    assert "exists" in again.stderr

    dropped = wk("functions", "drop", "Tagged", "--workspace", str(ws))
    assert "function 'Tagged' dropped" in dropped.stdout
    assert json.loads(wk("functions", "list", "-f", "json", "--workspace", str(ws)).stdout) == []
    missing = wk("functions", "show", "Tagged", "--workspace", str(ws))
    assert missing.exit_code == 1
    assert "function 'Tagged' was not found" in missing.stderr


def test_a_body_that_does_not_compile_shows_its_line_and_column(wk: Wk, scratch: Path) -> None:
    body = scratch / "broken.kql"
    body.write_text("SecurityEvent\n| where EventID == 4625\n| summarize count() by Computr\n")
    refused = wk("functions", "create", "Broken", str(body), "--workspace", str(scratch / "ws"))
    assert refused.exit_code == 1
    assert "unknown column 'Computr'" in refused.stderr
    assert "line 3, column 24" in refused.stderr
    hidden = wk("functions", "create", "SecurityEvent", str(body), "--workspace", str(scratch / "ws"))
    assert hidden.exit_code == 1
    assert "'SecurityEvent' is a table" in hidden.stderr
