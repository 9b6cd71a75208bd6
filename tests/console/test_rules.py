"""The rules page in a real browser against a real server: the workspace's rules with their last run
(hits, errors, failing streak), filters, disabling a rule (and the API agreeing), running a rule now
and reading its outcome, a rule's details and tests, the ATT&CK coverage matrix with the keyboard;
a tenant b user sees none of tenant a's rules. Screenshots go to tests/console/artifacts/.

The rules live in a workspace of tenant a's of their own (``rules``, after ``main`` by name, so the
other pages' default workspace is unchanged), and raise no alerts (thresholds above their hits), so
the incident and alert counts other modules check stay as they are."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.console.conftest import ACTOR, NOW, PASSWORD, Console, screenshot
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.detections.models import DetectionRule, RuleTest
from watchkeeper.directory import WorkspaceRead, create_user, create_workspace, find_tenant
from watchkeeper.flows.detections import run_rules_over

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

USER = "rules-analyst"  # in tenants a and b: may read and change rules (SecurityAlert.ReadWrite.All)
QUIET = 1000  # a trigger threshold no run here reaches: hits are counted, no alert is raised


def _rule(rule_id: str, name: str, severity: str, query: str, tactic: str, technique: str, table: str,
          **extra: Any) -> DetectionRule:  # fmt: skip
    return DetectionRule(rule_id=rule_id, name=name, source_format="sentinel", severity=severity, query=query,
                         tactics=(tactic,), techniques=(technique,), tables=(table,), trigger_threshold=QUIET,
                         **extra)  # fmt: skip


SPRAY_TEST = RuleTest(
    name="counts the spray", events=(("SecurityEvent", ({"EventID": 4625},)),), expect_alerts=0
)
RULES = (
    _rule("rules-spray", "Password spray against many accounts", "High", "SecurityEvent | where EventID == 4625",
          "CredentialAccess", "T1110.003", "SecurityEvent", tests=(SPRAY_TEST,)),
    _rule("rules-service", "Suspicious service installed", "Medium", "SecurityEvent | where EventID == 7045",
          "Persistence", "T1543.003", "SecurityEvent"),
    _rule("rules-broken", "Broken lateral movement rule", "Low", "SecurityEvent | where NoSuchColumn > 1",
          "LateralMovement", "T1021", "SecurityEvent"),
    _rule("rules-tor", "Sign-ins from anonymising networks", "Informational", "SigninLogs | where RiskLevel == 'high'",
          "InitialAccess", "T1078", "SigninLogs"),
    _rule("rules-old", "Retired discovery rule", "Low", "SecurityEvent | where EventID == 4798", "Discovery",
          "T1087", "SecurityEvent", enabled=False),
)  # fmt: skip
SPRAY_HITS = 3


@pytest.fixture(scope="module")
def lab(console: Console) -> WorkspaceRead:
    """Tenant a's ``rules`` workspace: recent logons (three failed), the rules, one retro-hunt over
    the last hour so they have a last run; users who may change rules in tenants a and b."""
    runtime = console.runtime
    with runtime.database.session() as session:
        tenants = {key: find_tenant(session, ref=console.tenants[key]) for key in ("a", "b")}
        for tenant in tenants.values():
            assert tenant is not None
            create_user(session, tenant_id=tenant.id, username=USER, password=PASSWORD,
                        roles=["SecurityAlert.ReadWrite.All"], actor=ACTOR)  # fmt: skip
        a = tenants["a"]
        assert a is not None
        workspace = create_workspace(session, tenant_id=a.id, name="rules", actor=ACTOR)
        save_rules(session, tenant_id=a.id, workspace_id=workspace.id, rules=RULES, actor=ACTOR)
    runtime.workspaces.get(workspace).ingest("SecurityEvent", [
        {"TimeGenerated": NOW - timedelta(minutes=10 + n), "EventID": 4625 if n < SPRAY_HITS else 4624,
         "Computer": "dc1", "TargetUserName": f"user{n}"} for n in range(5)])  # fmt: skip
    run_rules_over(runtime, ACTOR, workspace, NOW - timedelta(hours=1), NOW + timedelta(minutes=1))
    return workspace


def open_rules(page: Any, console: Console, tenant: str = "a", query: str = "?workspace=rules") -> None:
    """Open the rules page: the sign-in form comes first and leads back to it."""
    page.goto(f"{console.url}/console/rules{query}")
    page.get_by_label("Tenant").fill(console.tenants[tenant])
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/console/rules"))
    expect(page.locator("[aria-busy='false']:is(#rules, #matrix)")).to_have_count(1)  # the view has loaded


def row(page: Any, name: str) -> Any:
    return page.locator("#rules tbody tr").filter(has_text=name)


def names(page: Any) -> list[str]:
    shown: list[str] = page.locator("#rules tbody tr td:first-child button.link").all_inner_texts()
    return shown


def test_the_rules_show_their_last_run_hits_and_errors(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console)
    assert sorted(names(page)) == sorted(r.name for r in RULES)
    spray = row(page, "Password spray")
    expect(spray.locator(".badge.rule-enabled")).to_have_text("Enabled")
    expect(spray.locator(".badge.run-succeeded")).to_have_text("Succeeded")
    expect(spray.locator("td").nth(4)).to_contain_text(f"{SPRAY_HITS} hits, 0 alerts (retro)")
    expect(spray.locator("td").nth(5)).to_have_text(str(SPRAY_HITS))
    broken = row(page, "Broken lateral movement")
    expect(broken.locator(".badge.run-failed")).to_have_text("Failed")
    expect(broken.locator(".run-error")).to_contain_text("NoSuchColumn")
    expect(broken.locator(".streak")).to_have_text("1 failed")
    expect(row(page, "Retired discovery").locator(".badge.rule-disabled")).to_have_text("Disabled")
    expect(row(page, "Retired discovery")).to_contain_text("Never run")
    screenshot(page, "rules-list")


def test_filters_narrow_the_list(page: Any, console: Console, lab: WorkspaceRead) -> None:
    open_rules(page, console)
    page.get_by_label("Name, id or table contains").fill("signinlogs")
    assert names(page) == ["Sign-ins from anonymising networks"]
    page.get_by_label("Name, id or table contains").fill("")
    page.get_by_label("Status").select_option("failing")
    assert names(page) == ["Broken lateral movement rule"]
    page.get_by_label("Status").select_option("")
    page.get_by_label("Severity").select_option("high")
    assert names(page) == ["Password spray against many accounts"]
    page.get_by_label("Severity").select_option("")
    page.get_by_label("Tactic").select_option(label="Persistence")
    assert names(page) == ["Suspicious service installed"]
    expect(page.locator("#rule-count")).to_have_text("1 of 5 rules · 4 enabled")


def test_disabling_a_rule_shows_it_disabled_and_the_api_agrees(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console)
    switch = page.get_by_role("switch", name="Enabled: Suspicious service installed")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.locator("#status")).to_have_text("Suspicious service installed is disabled.")
    expect(row(page, "Suspicious service").locator(".badge.rule-disabled")).to_have_text("Disabled")
    expect(page.get_by_role("switch", name="Enabled: Suspicious service installed")).to_have_attribute(
        "aria-checked", "false"
    )
    answer = page.request.get(f"{console.url}/api/rules?workspace=rules")
    assert answer.ok
    assert {r["ruleId"]: r["enabled"] for r in answer.json()["value"]}["rules-service"] is False
    with console.runtime.database.session() as session:
        stored = find_rule(session, tenant_id=lab.tenant_id, workspace_id=lab.id, ref="rules-service")
    assert stored is not None
    assert stored.enabled is False
    page.get_by_role("switch", name="Enabled: Suspicious service installed").click()  # back as it was
    expect(row(page, "Suspicious service").locator(".badge.rule-enabled")).to_have_text("Enabled")


def test_run_now_shows_the_outcome_and_the_new_last_run(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console)
    page.get_by_role("button", name="Run Password spray against many accounts now").click()
    expect(page.locator("#status")).to_have_text(
        re.compile(
            rf"^Password spray against many accounts ran over .+ UTC: {SPRAY_HITS} hits, 0 alerts raised\.$"
        )
    )
    expect(row(page, "Password spray").locator("td").nth(4)).to_contain_text(
        f"{SPRAY_HITS} hits, 0 alerts (manual)"
    )
    page.get_by_role("button", name="Run Broken lateral movement rule now").click()
    expect(page.locator("#status")).to_contain_text("Broken lateral movement rule failed over")
    expect(page.locator("#status")).to_have_class(re.compile(r"\berror\b"))
    expect(row(page, "Broken lateral movement").locator(".streak")).to_have_text(
        re.compile(r"^[2-9]\d* failed$")
    )
    screenshot(page, "rules-run-now")


def test_a_rules_details_show_its_query_runs_and_tests(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console)
    page.get_by_role("button", name="Details of Password spray against many accounts").click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(page.locator("#detail-query")).to_have_text("SecurityEvent | where EventID == 4625")
    expect(page.locator("#detail-runs tbody tr").first).to_contain_text("Succeeded")
    expect(page.locator("#detail-tests li")).to_have_text(["counts the spray — not run"])
    page.get_by_role("button", name="Run tests").click()
    expect(page.locator("#detail-tests li")).to_have_text(["counts the spray — passed (0 alerts)"])
    expect(page.locator("#status")).to_have_text("1 of 1 tests passed.")
    screenshot(page, "rules-detail")


def test_the_coverage_matrix_shows_covered_techniques_with_the_keyboard(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console, query="?workspace=rules&view=coverage")
    expect(page.get_by_role("tab", name="ATT&CK coverage")).to_have_attribute("aria-selected", "true")
    headers = page.locator("#matrix thead th > span:first-child").all_inner_texts()
    assert headers[:4] == ["Reconnaissance", "Resource Development", "Initial Access", "Execution"]
    assert headers.index("Credential Access") < headers.index("Lateral Movement") < headers.index("Impact")
    spray = page.locator('#matrix td[data-technique="T1110.003"]')
    expect(spray).to_have_class(re.compile(r"\bcover-1\b"))
    expect(page.locator('#matrix td[data-technique="T1087"]')).to_have_count(0)  # its rule is disabled
    tor = page.locator('#matrix td[data-technique="T1078"]')
    expect(tor).to_have_class(re.compile(r"\bnodata\b"))  # SigninLogs receives no data here
    expect(tor).to_have_attribute("aria-label", "T1078 under Initial Access: 1 enabled rule, 1 without data")
    tor.click()
    expect(tor).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.press("Home")
    for _ in range(headers.index("Credential Access")):
        page.keyboard.press("ArrowRight")
    expect(spray).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#cell-title")).to_have_text("T1110.003 · Credential Access")
    expect(page.locator("#cell-rules li")).to_contain_text(
        ["Password spray against many accounts (rules-spray)"]
    )
    expect(page.locator("#legend li")).to_have_count(4)
    screenshot(page, "rules-coverage")
    page.get_by_role("tab", name="Rules").click()
    expect(page).to_have_url(f"{console.url}/console/rules?workspace=rules")
    expect(page.locator("#list-view")).to_be_visible()


def test_a_tenant_b_user_sees_none_of_tenant_as_rules(
    page: Any, console: Console, lab: WorkspaceRead
) -> None:
    open_rules(page, console, tenant="b", query=f"?workspace={lab.id}")
    expect(page.locator("#workspace option")).to_have_text(["main"])  # only tenant b's own workspace
    shown = names(page)
    assert not {r.name for r in RULES} & set(shown)
    assert "Tenant b secret" in shown  # its own rule (the conftest's)
    answer = page.request.get(f"{console.url}/api/rules?workspace={lab.id}")
    assert answer.status == 404
    assert "Password spray" not in answer.text()
    page.get_by_role("tab", name="ATT&CK coverage").click()
    expect(page.locator("#matrix")).to_have_attribute("aria-busy", "false")
    expect(page.locator('#matrix td[data-technique="T1110.003"]')).to_have_count(0)
