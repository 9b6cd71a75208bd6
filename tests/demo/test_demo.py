"""The demo environment: deterministic, realistic enough to hunt in, every attack findable, fast."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchkeeper import Workspace
from watchkeeper.demo import BACKGROUND, DEMO_END, DemoBuild, Manifest, build_demo

ATTACK_IDS = [
    "password-spray",
    "ssh-brute-force",
    "brute-force-success",
    "credential-dumping",
    "audit-log-clear",
    "encoded-powershell",
]
TABLES = [table for table, _, _ in BACKGROUND]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoBuild:
    """The full-size demo, built once for this module."""
    return build_demo(tmp_path_factory.mktemp("demo") / "ws")


@pytest.fixture(scope="module")
def demo_ws(demo: DemoBuild) -> Workspace:
    return Workspace.open(demo.path)


def distinct(ws: Workspace, query: str, column: str) -> set[str]:
    result = ws.query(query)
    index = result.column_names.index(column)
    return {str(row[index]) for row in result.rows}


def test_builds_in_under_a_minute_with_the_promised_size(demo: DemoBuild) -> None:
    assert demo.seconds < 60
    manifest = demo.manifest
    assert set(manifest.tables) == set(TABLES)
    assert 250_000 <= manifest.total_rows <= 400_000
    assert manifest.hosts == 300
    assert manifest.users == 3000
    assert [a.id for a in manifest.attacks] == ATTACK_IDS


def test_row_counts_match_the_manifest(demo: DemoBuild, demo_ws: Workspace) -> None:
    for table, rows in demo.manifest.tables.items():
        assert demo_ws.query(f"{table} | count").rows == [(rows,)], table


def test_every_row_lies_in_the_30_day_window(demo: DemoBuild, demo_ws: Workspace) -> None:
    query = f"union {', '.join(TABLES)} | summarize first = min(TimeGenerated), last = max(TimeGenerated)"
    first, last = demo_ws.query(query).rows[0]
    assert demo.manifest.start <= first < last < DEMO_END == demo.manifest.end
    assert (last - first).days >= 29


@pytest.mark.parametrize("attack_id", ATTACK_IDS)
def test_manifest_hunts_find_exactly_the_attack(demo: DemoBuild, demo_ws: Workspace, attack_id: str) -> None:
    attack = next(a for a in demo.manifest.attacks if a.id == attack_id)
    assert attack.hunts, attack_id
    for hunt in attack.hunts:
        for column, expected in hunt.expect.items():
            assert distinct(demo_ws, hunt.query, column) == set(expected), (attack_id, column)


def test_brute_force_threshold_then_success(demo_ws: Workspace) -> None:
    query = """
        let noisy = SecurityEvent
            | where EventID == 4625
            | summarize Failures = count(), LastFailure = max(TimeGenerated) by IpAddress
            | where Failures > 30;
        SecurityEvent
        | where EventID == 4624
        | join kind=inner noisy on IpAddress
        | where TimeGenerated > LastFailure
        | project IpAddress, Account, LogonType
    """
    result = demo_ws.query(query)
    assert result.rows == [("203.0.113.45", "CORP\\svc-backup", 10)]


def test_encoded_powershell_has_enc(demo_ws: Workspace) -> None:
    hits = distinct(demo_ws, 'DeviceProcessEvents | where ProcessCommandLine has "-enc"', "DeviceName")
    assert hits == {"ws-0042.corp.example.com"}
    assert demo_ws.query('DeviceProcessEvents | where FileName =~ "powershell.exe" | count').rows[0][0] > 100


def test_password_spray_is_one_address_many_accounts_in_an_hour(demo_ws: Workspace) -> None:
    query = """SigninLogs
        | where ResultType == "50126"
        | summarize Accounts = dcount(UserPrincipalName) by IPAddress, bin(TimeGenerated, 1h)
        | top 2 by Accounts desc"""
    (top_ip, _, top_accounts), (_, _, runner_up) = demo_ws.query(query).rows
    assert (top_ip, top_accounts) == ("203.0.113.77", 150)
    assert runner_up < 10
    success = (
        'SigninLogs | where IPAddress == "203.0.113.77" and ResultType == "0" | project UserPrincipalName'
    )
    assert len(demo_ws.query(success).rows) == 1


def test_background_looks_like_telemetry(demo_ws: Workspace) -> None:
    event_ids = distinct(demo_ws, "SecurityEvent | distinct EventID", "EventID")
    assert {"4624", "4625", "4634", "4672", "4688", "4769"} <= event_ids
    us = demo_ws.query('SigninLogs | where tostring(LocationDetails.countryOrRegion) == "US" | count').rows[
        0
    ][0]
    assert us > 10_000
    facilities = distinct(demo_ws, "Syslog | distinct Facility", "Facility")
    assert {"auth", "authpriv", "cron", "daemon", "kern"} <= facilities
    failed = demo_ws.query('DeviceNetworkEvents | where ActionType == "ConnectionFailed" | count').rows[0][0]
    assert 0 < failed < 5_000


def test_manifest_file_round_trips(demo: DemoBuild) -> None:
    assert Manifest.read(demo.path) == demo.manifest


def _snapshot(path: Path) -> dict[str, list[str]]:
    with Workspace.open(path) as ws:
        return {table: sorted(repr(row) for row in ws.query(table).rows) for table in TABLES}


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a", scale=0.05)
    second = build_demo(tmp_path / "b", scale=0.05)
    build_demo(tmp_path / "c", scale=0.05, seed=7)
    assert first.manifest == second.manifest
    assert (tmp_path / "a" / "demo-manifest.json").read_bytes() == (
        tmp_path / "b" / "demo-manifest.json"
    ).read_bytes()
    snapshot = _snapshot(tmp_path / "a")
    assert snapshot == _snapshot(tmp_path / "b")
    assert snapshot != _snapshot(tmp_path / "c")


def test_attacks_move_with_the_window_when_it_ends_elsewhere(tmp_path: Path) -> None:
    end = datetime(2026, 11, 30, tzinfo=UTC)
    build = build_demo(tmp_path / "ws", scale=0.05, end=end)
    manifest = build.manifest
    assert manifest.end == end
    for attack in manifest.attacks:
        assert manifest.start <= attack.start <= attack.end < end, attack.id
    with Workspace.open(build.path) as ws:
        cleared = ws.query("SecurityEvent | where EventID == 1102 | project TimeGenerated").rows
        assert [row[0] for row in cleared] == [
            next(a for a in manifest.attacks if a.id == "audit-log-clear").end
        ]
        for attack in manifest.attacks:
            for hunt in attack.hunts:
                for column, expected in hunt.expect.items():
                    assert distinct(ws, hunt.query, column) == set(expected), (attack.id, column)


def test_existing_workspace_is_not_overwritten_by_accident(tmp_path: Path) -> None:
    build_demo(tmp_path / "ws", scale=0.05)
    with pytest.raises(FileExistsError):
        build_demo(tmp_path / "ws", scale=0.05)
    rebuilt = build_demo(tmp_path / "ws", scale=0.05, replace=True)
    with Workspace.open(rebuilt.path) as ws:
        assert ws.query("Syslog | count").rows == [(rebuilt.manifest.tables["Syslog"],)]
