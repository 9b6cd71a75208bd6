"""A workspace's rule library in the state database (SQLite, and PostgreSQL when
WK_TEST_POSTGRES_URL is set): rules kept whole, imported again in place, found only in their
tenant and workspace, enabled and disabled with an audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor, list_entries
from watchkeeper.detections.documents import rule_document, rule_from_document
from watchkeeper.detections.library import find_rule, list_rules, save_rules, set_enabled
from watchkeeper.detections.models import (
    AlertDetailsOverride,
    DetectionRule,
    EntityMapping,
    GroupingConfiguration,
    IncidentConfiguration,
    RuleKind,
    RuleTest,
)
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.state import Database

__all__ = ["database"]
ACTOR = Actor("cli", "operator")

FULL = DetectionRule(
    rule_id="3e3d8f26-5d3a-4a6f-9a0b-8d3b9a4c0f11", name="Brute force followed by success", source_format="sentinel",
    query="SigninLogs | where ResultType != '0' | summarize Failures = count() by UserPrincipalName, IPAddress",
    kind=RuleKind.SCHEDULED, description="Many failures, then a success.", severity="High",
    query_frequency=timedelta(hours=1), query_period=timedelta(days=1), trigger_operator="gt", trigger_threshold=3,
    tactics=("CredentialAccess",), techniques=("T1110", "T1110.003"),
    entity_mappings=(EntityMapping("Account", (("FullName", "UserPrincipalName"),)),
                     EntityMapping("IP", (("Address", "IPAddress"),))),
    custom_details=(("FailureCount", "Failures"),),
    alert_details_override=AlertDetailsOverride("Brute force on {{UserPrincipalName}}", None, None, None,
                                                (("ConfidenceScore", "Failures"),)),
    aggregation="AlertPerResult", suppression_enabled=True, suppression_duration=timedelta(hours=2),
    incident=IncidentConfiguration(True, GroupingConfiguration(True, True, timedelta(hours=5), "Selected",
                                                               ("Account",), ("Severity",), ("FailureCount",))),
    version="1.0.3", status="Available", tables=("SigninLogs",),
    tests=(RuleTest("fires", (("SigninLogs", ({"ResultType": "50126", "UserPrincipalName": "a@x"},)),), None, 1,
                    (("Account", "FullName", "a@x"),)),),
    origin="rules/brute.yaml", text="id: 3e3d8f26-...",
)  # fmt: skip


def _workspace(database: Database) -> tuple[str, str]:
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="w", actor=ACTOR)
    return tenant.id, workspace.id


def test_a_rule_document_reads_back_as_the_same_rule() -> None:
    assert rule_from_document(rule_document(FULL)) == FULL
    nrt = DetectionRule(rule_id="r", name="n", source_format="sigma", query="Syslog", kind=RuleKind.NRT)
    assert rule_from_document(rule_document(nrt)) == nrt


def test_rules_are_kept_whole_and_imported_again_in_place(database: Database) -> None:
    tenant, workspace = _workspace(database)
    other = DetectionRule(rule_id="r-2", name="A first by name", source_format="sigma", query="Syslog")
    with database.session() as session:
        first = save_rules(
            session, tenant_id=tenant, workspace_id=workspace, rules=[FULL, other], actor=ACTOR
        )
    assert sorted(first.created) == sorted([FULL.rule_id, "r-2"])
    with database.session() as session:
        set_enabled(session, tenant_id=tenant, workspace_id=workspace, ref="r-2", enabled=False, actor=ACTOR)
        again = save_rules(session, tenant_id=tenant, workspace_id=workspace,
                           rules=[replace(other, severity="High")], actor=ACTOR)  # fmt: skip
    assert (again.created, again.updated) == ([], ["r-2"])
    with database.session() as session:
        listed = list_rules(session, tenant_id=tenant, workspace_id=workspace)
        assert [r.rule_id for r in listed] == ["r-2", FULL.rule_id]  # by name
        assert listed[0].severity == "High"
        assert not listed[0].enabled  # importing again keeps a rule disabled
        assert listed[1].rule == FULL
        assert [
            r.rule_id for r in list_rules(session, tenant_id=tenant, workspace_id=workspace, enabled=True)
        ] == [FULL.rule_id]


def test_a_rule_is_found_only_in_its_tenant_and_workspace(database: Database) -> None:
    (tenant, workspace), (other, theirs) = _workspace(database), _workspace(database)
    with database.session() as session:
        save_rules(session, tenant_id=tenant, workspace_id=workspace, rules=[FULL], actor=ACTOR)
    with database.session() as session:
        found = find_rule(session, tenant_id=tenant, workspace_id=workspace, ref=FULL.rule_id)
        assert found is not None
        assert find_rule(session, tenant_id=tenant, workspace_id=workspace, ref=found.id) == found
        assert find_rule(session, tenant_id=other, workspace_id=theirs, ref=FULL.rule_id) is None
        assert find_rule(session, tenant_id=other, workspace_id=workspace, ref=found.id) is None
        assert list_rules(session, tenant_id=other, workspace_id=workspace) == []
        assert set_enabled(session, tenant_id=other, workspace_id=workspace, ref=found.id, enabled=False,
                           actor=ACTOR) is None  # fmt: skip


def test_imports_and_switches_are_audited(database: Database) -> None:
    tenant, workspace = _workspace(database)
    with database.session() as session:
        save_rules(session, tenant_id=tenant, workspace_id=workspace, rules=[FULL], actor=ACTOR)
        set_enabled(
            session, tenant_id=tenant, workspace_id=workspace, ref=FULL.rule_id, enabled=False, actor=ACTOR
        )
    with database.session() as session:
        actions = [e.action for e in list_entries(session, tenant_id=tenant).entries]
    assert "rule.import" in actions
    assert "rule.disable" in actions
