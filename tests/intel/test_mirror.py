"""Indicators mirrored to ``ThreatIntelligenceIndicator`` in every workspace of their tenant (and
no other tenant's), read with KQL the way Sentinel's TI-match rules read them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.audit import Actor
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.errors import InvalidRequestError
from watchkeeper.flows.intel import remove_by_external_id, remove_indicators, submit_indicators
from watchkeeper.intel import IndicatorRead
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.workspace import Workspace

APP = Actor("app", "feed-app")
LATEST = "ThreatIntelligenceIndicator | summarize arg_max(TimeGenerated, *) by IndicatorId"
EXPIRES = (datetime.now(UTC) + timedelta(days=7)).isoformat()


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    with Runtime(Settings(data_dir=Path(tmp_path_factory.mktemp("intel")))) as runtime:
        with runtime.database.session() as session:
            ours, theirs = (create_tenant(session, name=n, actor=APP).id for n in ("ours", "theirs"))
            spaces = {name: create_workspace(session, tenant_id=t, name=name, actor=APP)
                      for t, name in ((ours, "hunt"), (ours, "soc"), (theirs, "elsewhere"))}  # fmt: skip
        yield runtime, {"ours": ours, "theirs": theirs, **spaces}


def store(runtime: Runtime, workspace: Any) -> Workspace:
    return runtime.workspaces.get(workspace)


def indicator(ip: str, **extra: Any) -> dict[str, Any]:
    return {"targetProduct": "Azure Sentinel", "action": "block", "description": "botnet C2", "threatType": "Botnet",
            "expirationDateTime": EXPIRES, "tlpLevel": "green", "networkIPv4": ip, "killChain": ["C2"],
            "tags": ["feed", "c2"], "confidence": 70, **extra}  # fmt: skip


def test_submitted_indicators_reach_every_workspace_of_the_tenant_only(
    place: tuple[Runtime, dict[str, Any]],
) -> None:
    runtime, where = place
    outcomes = submit_indicators(runtime, APP, where["ours"], "feed-app",
                                 [indicator("203.0.113.7", externalId="x-1"), indicator("not-an-ip")])  # fmt: skip
    made, refused = outcomes
    assert isinstance(made, IndicatorRead)
    assert isinstance(refused, InvalidRequestError)
    assert "'networkIPv4'" in str(refused)
    query = f"{LATEST} | where IndicatorId == '{made.id}' | project NetworkIP, Active, ThreatType, Tags, " \
            "KillChainC2, KillChainDelivery, ConfidenceScore, ExternalIndicatorId, SourceSystem, Action"  # fmt: skip
    for name in ("hunt", "soc"):
        rows = store(runtime, where[name]).query(query).to_dicts()
        assert rows == [{"NetworkIP": "203.0.113.7", "Active": True, "ThreatType": "Botnet", "Tags": "feed, c2",
                         "KillChainC2": True, "KillChainDelivery": False, "ConfidenceScore": 70.0,
                         "ExternalIndicatorId": "x-1", "SourceSystem": "watchkeeper", "Action": "block"}]  # fmt: skip
    assert "ThreatIntelligenceIndicator" not in store(runtime, where["elsewhere"]).store.stored_tables()


def test_rules_join_events_on_the_active_indicators(place: tuple[Runtime, dict[str, Any]]) -> None:
    runtime, where = place
    hunt = store(runtime, where["hunt"])
    now = datetime.now(UTC)
    hunt.ingest("DeviceNetworkEvents", [{"TimeGenerated": now, "DeviceName": "pc1", "RemoteIP": "198.51.100.9"},
                                        {"TimeGenerated": now, "DeviceName": "pc2", "RemoteIP": "192.0.2.1"}])  # fmt: skip
    made = submit_indicators(
        runtime, APP, where["ours"], "feed-app", [indicator("198.51.100.9", externalId="x-2")]
    )
    match = f"{LATEST} | where Active == true and ExpirationDateTime > now() " \
            "| join kind=inner (DeviceNetworkEvents) on $left.NetworkIP == $right.RemoteIP | project DeviceName"  # fmt: skip
    assert hunt.query(match).to_dicts() == [{"DeviceName": "pc1"}]
    assert isinstance(made[0], IndicatorRead)
    gone = remove_indicators(runtime, APP, where["ours"], "feed-app", [made[0].id, "no-such-id"])
    assert [g.id if g else None for g in gone] == [made[0].id, None]
    assert hunt.query(match).to_dicts() == []


def test_deleting_by_external_id_mirrors_inactive_rows(place: tuple[Runtime, dict[str, Any]]) -> None:
    runtime, where = place
    submit_indicators(runtime, APP, where["ours"], "feed-app", [indicator("192.0.2.50", externalId="x-3")])
    gone = remove_by_external_id(runtime, APP, where["ours"], "feed-app", ["x-3", "x-unknown"])
    assert [len(group) for group in gone] == [1, 0]
    rows = store(runtime, where["soc"]).query(
        f"{LATEST} | where ExternalIndicatorId == 'x-3' | project Active"
    )
    assert rows.to_dicts() == [{"Active": False}]
