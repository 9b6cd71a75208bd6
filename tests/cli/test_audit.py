"""``wk audit``: the audit log from the server's shell, per tenant or the server's own entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

Wk = Callable[..., Result]


def _entries(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


def test_a_tenants_entries_newest_first(wk: Wk) -> None:
    assert wk("tenants", "create", "acme").exit_code == 0
    assert wk("workspaces", "create", "main", "--tenant", "acme").exit_code == 0
    assert wk("tenants", "create", "other").exit_code == 0
    entries = _entries(wk("audit", "--tenant", "acme", "--format", "json"))
    assert [e["action"] for e in entries] == ["workspace.create", "tenant.create"]
    assert {e["actorKind"] for e in entries} == {"cli"}
    assert entries[0]["detail"] == {"name": "main", "folder": entries[0]["detail"]["folder"]}  # type: ignore[index]
    assert set(entries[0]) == {"id", "at", "tenantId", "actorKind", "actor", "action", "target", "outcome",
                               "detail", "requestId"}  # fmt: skip


def test_filters_limits_and_paging(wk: Wk) -> None:
    wk("tenants", "create", "acme")
    for name in ("one", "two", "three"):
        wk("workspaces", "create", name, "--tenant", "acme")
    only = _entries(wk("audit", "-t", "acme", "--action", "tenant.create", "-f", "json"))
    assert [e["action"] for e in only] == ["tenant.create"]
    first = wk("audit", "-t", "acme", "--limit", "2", "-f", "json")
    names = [e["detail"]["name"] for e in _entries(first)]  # type: ignore[index]
    assert names == ["three", "two"]
    assert "--before" in first.stderr
    before = first.stderr.split("--before")[1].split()[0]
    rest = _entries(wk("audit", "-t", "acme", "--before", before, "-f", "json"))
    assert [e["detail"]["name"] for e in rest] == ["one", "acme"]  # type: ignore[index]


def test_without_a_tenant_the_server_entries(wk: Wk, scratch: Path) -> None:
    wk("tenants", "create", "acme")
    assert _entries(wk("audit", "-f", "json")) == []  # tenant entries are not server entries
    with Runtime(Settings(data_dir=scratch / "var")) as runtime:
        runtime.keys.signing_key()  # the first signing key is created and audited
    server = _entries(wk("audit", "-f", "json"))
    assert [(e["action"], e["tenantId"]) for e in server] == [("signing_key.create", None)]


def test_table_output_and_errors(wk: Wk) -> None:
    wk("tenants", "create", "acme")
    table = wk("audit", "--tenant", "acme")
    assert table.exit_code == 0
    assert "tenant.create" in table.stdout
    assert "cli:" in table.stdout
    unknown = wk("audit", "--tenant", "nobody")
    assert unknown.exit_code == 1
    assert "no tenant 'nobody'" in unknown.stderr
    assert wk("audit", "--limit", "0").exit_code == 2
