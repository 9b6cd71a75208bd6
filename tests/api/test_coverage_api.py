"""``GET /api/coverage``: a workspace's ATT&CK coverage over HTTP, for callers with an alert-reading
role, within their own tenant only."""

from __future__ import annotations

import httpx

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.detections.library import save_rules
from watchkeeper.detections.models import DetectionRule

GRAPH = "https://graph.microsoft.com/.default"
RULE = DetectionRule(rule_id="cov-1", name="Cleared audit log", source_format="sentinel",
                     query="SecurityEvent | where EventID == 1102", tactics=("DefenseEvasion",),
                     techniques=("T1070.001",), tables=("SecurityEvent",))  # fmt: skip


def test_coverage_lists_the_enabled_rules_tactics_for_alert_readers_of_the_tenant(
    client: httpx.Client, platform: Platform
) -> None:
    with platform.runtime.database.session() as session:
        save_rules(session, tenant_id=platform.tenants["a"].id, workspace_id=platform.workspace("a"), rules=[RULE],
                   actor=Actor("cli", "operator"))  # fmt: skip
    answer = client.get(
        "/api/coverage", params={"workspace": "main"}, headers=platform.headers("a", "all", GRAPH)
    )
    assert answer.status_code == 200, answer.text
    tactics = {t["tactic"]: t for t in answer.json()["tactics"]}
    assert tactics["DefenseEvasion"]["techniques"] == [{"technique": "T1070.001", "rules": ["cov-1"]}]
    (rule,) = [r for r in answer.json()["rules"] if r["id"] == "cov-1"]
    assert rule["tests"] == "none"
    theirs = client.get("/api/coverage", params={"workspace": platform.workspace("a")},
                        headers=platform.headers("b", "all", GRAPH))  # fmt: skip
    assert theirs.status_code == 404
    assert "cov-1" not in theirs.text
    reader = client.get(
        "/api/coverage", params={"workspace": "main"}, headers=platform.headers("a", "reader", GRAPH)
    )
    assert reader.status_code == 403
