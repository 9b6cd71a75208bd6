"""The rules API (``/api/rules``) on the real server: a workspace's rules with their last run, hits
and failing streak; enable/disable and "run now" (audited, and recorded like the scheduler's runs);
the rule file's tests; role checks (a read-only app cannot change a rule); and tenant isolation
(tenant b sees none of tenant a's rules, and cannot change them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.detections.library import save_rules
from watchkeeper.detections.models import DetectionRule, RuleTest
from watchkeeper.directory import create_app, find_workspace

GRAPH = "https://graph.microsoft.com/.default"
ACTOR = Actor("cli", "operator")
TABLE = "RulesApiProbe_CL"
# a threshold no probe run reaches: runs count their hits and raise no alert (other modules count alerts)
PROBE = DetectionRule(
    rule_id="rules-api-probe", name="Probe beacons", source_format="sentinel", severity="High",
    query=f"{TABLE} | where Level_s == 'bad'", tactics=("CommandAndControl",), techniques=("T1071",),
    tables=(TABLE,), trigger_threshold=100,
    tests=(RuleTest(name="quiet below the threshold", events=((TABLE, ({"Level_s": "bad"},)),), expect_alerts=0),
           RuleTest(name="expects an alert", events=((TABLE, ({"Level_s": "bad"},)),), expect_alerts=1)),
)  # fmt: skip
BROKEN = DetectionRule(
    rule_id="rules-api-broken", name="Broken probe", source_format="sentinel", severity="Low",
    query=f"{TABLE} | where NoSuchColumn > 1", tactics=("Discovery",), techniques=("T1046",), tables=(TABLE,),
)  # fmt: skip


@pytest.fixture(scope="module")
def rules(platform: Platform) -> Platform:
    """Tenant a's main workspace holds the two rules and three recent probe rows (two 'bad'); an app
    of tenant a may only read alerts (``rules-reader``)."""
    tenant = platform.tenants["a"]
    with platform.runtime.database.session() as session:
        save_rules(session, tenant_id=tenant.id, workspace_id=platform.workspace("a"), rules=[PROBE, BROKEN],
                   actor=ACTOR)  # fmt: skip
        tenant.apps["rules-reader"] = create_app(session, tenant_id=tenant.id, name="rules-reader",
                                                 roles=["SecurityAlert.Read.All"], actor=ACTOR)  # fmt: skip
        record = find_workspace(session, tenant_id=tenant.id, ref="main")
    assert record is not None
    now = datetime.now(UTC)
    platform.runtime.workspaces.get(record).ingest(TABLE, [
        {"TimeGenerated": now - timedelta(minutes=m), "Level_s": level} for m, level in [(5, "bad"), (9, "bad"),
                                                                                         (12, "fine")]])  # fmt: skip
    return platform


def call(client: httpx.Client, platform: Platform, method: str, path: str, *, tenant: str = "a",
         app: str = "all", workspace: str = "main") -> httpx.Response:  # fmt: skip
    return client.request(
        method, path, params={"workspace": workspace}, headers=platform.headers(tenant, app, GRAPH)
    )


def listed(client: httpx.Client, platform: Platform, tenant: str = "a") -> dict[str, dict[str, Any]]:
    answer = call(client, platform, "GET", "/api/rules", tenant=tenant)
    assert answer.status_code == 200, answer.text
    return {r["ruleId"]: r for r in answer.json()["value"]}


def test_rules_are_listed_with_their_settings_and_run_now_records_the_outcome(
    client: httpx.Client, rules: Platform
) -> None:
    before = listed(client, rules)["rules-api-probe"]
    assert (before["name"], before["kind"], before["format"], before["severity"]) == (
        "Probe beacons", "scheduled", "sentinel", "high")  # fmt: skip
    assert (before["tactics"], before["techniques"], before["queryPeriod"], before["tests"]) == (
        ["CommandAndControl"], ["T1071"], "PT1H", 2)  # fmt: skip
    ran = call(client, rules, "POST", "/api/rules/rules-api-probe/run")
    assert ran.status_code == 200, ran.text
    outcome = ran.json()
    assert (outcome["status"], outcome["hits"], outcome["alerts"], outcome["error"]) == (
        "succeeded",
        2,
        [],
        None,
    )
    after = listed(client, rules)["rules-api-probe"]
    assert after["lastRun"]["status"] == "succeeded"
    assert (after["lastRun"]["kind"], after["lastRun"]["hits"]) == ("manual", 2)
    assert after["last24Hours"]["hits"] >= 2  # the scheduler may have run it too
    assert after["failingStreak"] == 0
    detail = call(client, rules, "GET", f"/api/rules/{after['id']}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["query"] == PROBE.query
    assert detail.json()["latestRuns"][0]["startedDateTime"] == after["lastRun"]["startedDateTime"]
    audit = client.get("/api/audit", params={"action": "rule.run"}, headers=rules.headers("a", "all", GRAPH))
    assert any(e["target"] == after["id"] for e in audit.json()["value"])


def test_a_failing_rule_shows_its_error_and_failing_streak(client: httpx.Client, rules: Platform) -> None:
    for _ in range(2):
        ran = call(client, rules, "POST", "/api/rules/rules-api-broken/run")
        assert ran.status_code == 200, ran.text
        assert ran.json()["status"] == "failed"
        assert "NoSuchColumn" in ran.json()["error"]
    broken = listed(client, rules)["rules-api-broken"]
    assert broken["failingStreak"] >= 2
    assert broken["lastRun"]["status"] == "failed"
    assert "NoSuchColumn" in broken["lastRun"]["error"]


def test_disable_and_enable_a_rule_audited(client: httpx.Client, rules: Platform) -> None:
    off = call(client, rules, "POST", "/api/rules/rules-api-broken/disable")
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False
    assert listed(client, rules)["rules-api-broken"]["enabled"] is False
    coverage = call(client, rules, "GET", "/api/coverage").json()
    assert "rules-api-broken" not in {r["id"] for r in coverage["rules"]}  # coverage counts enabled rules
    on = call(client, rules, "POST", "/api/rules/rules-api-broken/enable")
    assert on.json()["enabled"] is True
    audit = client.get(
        "/api/audit", params={"action": "rule.disable"}, headers=rules.headers("a", "all", GRAPH)
    )
    assert any(e["detail"]["ruleId"] == "rules-api-broken" for e in audit.json()["value"])


def test_the_rule_files_tests_are_listed_and_run(client: httpx.Client, rules: Platform) -> None:
    shown = call(client, rules, "GET", "/api/rules/rules-api-probe/tests")
    assert shown.status_code == 200, shown.text
    assert [(t["name"], t["passed"]) for t in shown.json()["value"]] == [
        ("quiet below the threshold", None), ("expects an alert", None)]  # fmt: skip
    ran = call(client, rules, "POST", "/api/rules/rules-api-probe/tests/run", app="rules-reader")
    assert ran.status_code == 200, ran.text
    results = {t["name"]: t for t in ran.json()["value"]}
    assert results["quiet below the threshold"]["passed"] is True
    assert results["expects an alert"]["passed"] is False
    assert results["expects an alert"]["problem"] == "expected 1 alerts, got 0"


def test_a_read_only_app_reads_rules_but_cannot_change_or_run_them(
    client: httpx.Client, rules: Platform
) -> None:
    assert call(client, rules, "GET", "/api/rules", app="rules-reader").status_code == 200
    for action in ("disable", "enable", "run"):
        refused = call(client, rules, "POST", f"/api/rules/rules-api-probe/{action}", app="rules-reader")
        assert refused.status_code == 403, action
        assert refused.json()["error"]["code"] == "accessDenied"
    assert listed(client, rules)["rules-api-probe"]["enabled"] is True
    assert call(client, rules, "GET", "/api/rules", app="reader").status_code == 403  # Data.Read only


def test_tenant_b_sees_none_of_tenant_as_rules(client: httpx.Client, rules: Platform) -> None:
    mine = listed(client, rules)["rules-api-probe"]
    assert not {"rules-api-probe", "rules-api-broken"} & set(listed(client, rules, tenant="b"))
    a_workspace = rules.workspace("a")
    for method, path, workspace in [
        ("GET", "/api/rules", a_workspace),
        ("GET", f"/api/rules/{mine['id']}", "main"),
        ("GET", "/api/rules/rules-api-probe", a_workspace),
        ("POST", f"/api/rules/{mine['id']}/disable", "main"),
        ("POST", "/api/rules/rules-api-probe/run", "main"),
        ("GET", "/api/rules/rules-api-probe/tests", "main"),
    ]:
        answer = call(client, rules, method, path, tenant="b", workspace=workspace)
        assert answer.status_code == 404, (method, path, workspace)
        assert answer.json()["error"]["code"] == "itemNotFound"
        assert "Probe beacons" not in answer.text
    assert listed(client, rules)["rules-api-probe"]["enabled"] is True


def test_an_unknown_rule_or_workspace_is_not_found(client: httpx.Client, rules: Platform) -> None:
    assert call(client, rules, "GET", "/api/rules/no-such-rule").status_code == 404
    assert call(client, rules, "GET", "/api/rules", workspace="nowhere").status_code == 404
    missing = client.get("/api/rules", headers=rules.headers("a", "all", GRAPH))
    assert missing.status_code == 400
    assert "workspace" in missing.text
