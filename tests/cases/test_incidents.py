"""Alerts and incidents in the state database (SQLite, and PostgreSQL when WK_TEST_POSTGRES_URL is
set): grouping by each matching method, reopening closed incidents or not, the lifecycle (closing
needs a classification and its reason), comments, tasks, merges, a timeline of who did what, and
tenant scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor
from watchkeeper.cases import (
    add_task,
    comment_incident,
    find_alert,
    find_incident,
    incident_timeline,
    list_alerts,
    list_incidents,
    merge_incidents,
    raise_alerts,
    read_incidents,
    update_alert,
    update_incident,
)
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.detections.models import DetectionRule, GroupingConfiguration, IncidentConfiguration
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import Database

__all__ = ["database"]
RULES = Actor("system", "scheduler")
ANALYST = Actor("user", "ana@contoso.com")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
ALICE = {"Type": "account", "Name": "alice"}
BOB = {"Type": "account", "Name": "bob"}
HOST = {"Type": "host", "HostName": "dc1"}


def rule(**grouping: object) -> DetectionRule:
    config = GroupingConfiguration(enabled=bool(grouping), **grouping)  # type: ignore[arg-type]
    return DetectionRule(rule_id="r-1", name="Failed logons", source_format="sentinel", query="SecurityEvent",
                         incident=IncidentConfiguration(True, config))  # fmt: skip


def draft(r: DetectionRule, *entities: dict[str, str], title: str = "Failed logons", severity: str = "Low",
          details: dict[str, list[object]] | None = None) -> AlertDraft:  # fmt: skip
    return AlertDraft(rule=r, window=Window(NOW - timedelta(hours=1), NOW), title=title, description="",
                      severity=severity, tactics=("CredentialAccess",), techniques=("T1110",), entities=entities,
                      custom_details=details or {}, rows=1)  # fmt: skip


class Place:
    """A tenant's workspace with one library rule, raising alerts at chosen times."""

    def __init__(self, database: Database, r: DetectionRule) -> None:
        self.database, self.rule = database, r
        with database.session() as session:
            tenant = create_tenant(session, name=unique("t"), actor=RULES)
            workspace = create_workspace(session, tenant_id=tenant.id, name="w", actor=RULES)
            save_rules(session, tenant_id=tenant.id, workspace_id=workspace.id, rules=[r], actor=RULES)
            found = find_rule(session, tenant_id=tenant.id, workspace_id=workspace.id, ref=r.rule_id)
        assert found is not None
        self.tenant, self.workspace, self.rule_ref = tenant.id, workspace.id, found.id

    def raise_(self, alert: AlertDraft, at: datetime = NOW) -> str:
        with self.database.session() as session:
            (raised,) = raise_alerts(session, tenant_id=self.tenant, workspace_id=self.workspace,
                                     rule_ref=self.rule_ref, drafts=[alert], actor=RULES, now=at)  # fmt: skip
        assert raised.incident_id is not None
        return raised.incident_id

    def update(self, ref: str, **changes: object) -> None:
        with self.database.session() as session:
            update_incident(session, tenant_id=self.tenant, ref=ref, changes=changes, actor=ANALYST)


def test_without_grouping_each_alert_opens_an_incident_numbered_in_sequence(database: Database) -> None:
    place = Place(database, rule())
    first, second = place.raise_(draft(place.rule, ALICE)), place.raise_(draft(place.rule, ALICE))
    assert first != second
    with database.session() as session:
        numbers = [
            i.number for i in list_incidents(session, tenant_id=place.tenant, workspace_id=place.workspace)
        ]
    assert numbers == [2, 1]


def test_all_entities_groups_alerts_with_the_same_entities_within_the_lookback(database: Database) -> None:
    place = Place(database, rule(matching_method="AllEntities", lookback=timedelta(hours=5)))
    first = place.raise_(draft(place.rule, ALICE, HOST))
    assert (
        place.raise_(draft(place.rule, HOST, ALICE), NOW + timedelta(hours=1)) == first
    )  # order does not matter
    assert place.raise_(draft(place.rule, ALICE), NOW + timedelta(hours=1)) != first  # a different set
    assert (
        place.raise_(draft(place.rule, ALICE, HOST), NOW + timedelta(hours=6)) != first
    )  # past the lookback


def test_any_alert_groups_everything_from_the_rule(database: Database) -> None:
    place = Place(database, rule(matching_method="AnyAlert"))
    first = place.raise_(draft(place.rule, ALICE))
    assert place.raise_(draft(place.rule, BOB, severity="High"), NOW + timedelta(minutes=5)) == first
    with database.session() as session:
        incident = find_incident(session, tenant_id=place.tenant, ref=first)
    assert incident is not None
    assert incident.severity == "High"  # the most severe alert's
    assert len(incident.alert_ids) == 2
    assert sorted(e["Name"] for e in incident.entities) == ["alice", "bob"]


def test_selected_groups_on_the_chosen_entities_details_and_custom_details(database: Database) -> None:
    place = Place(database, rule(matching_method="Selected", group_by_entities=("Account",),
                                 group_by_alert_details=("Severity",), group_by_custom_details=("Port",)))  # fmt: skip
    first = place.raise_(draft(place.rule, ALICE, HOST, details={"Port": [22]}))
    other_host = draft(place.rule, ALICE, {"Type": "host", "HostName": "web1"}, details={"Port": [22]})
    assert place.raise_(other_host) == first  # hosts are not among the grouping entities
    assert place.raise_(draft(place.rule, ALICE, details={"Port": [3389]})) != first
    assert place.raise_(draft(place.rule, ALICE, severity="High", details={"Port": [22]})) != first
    assert place.raise_(draft(place.rule, BOB, details={"Port": [22]})) != first


GROUPINGS = {
    "AnyAlert": {},
    "AllEntities": {},
    "Selected": {"group_by_entities": ("Account",)},
}


@pytest.mark.parametrize("method", sorted(GROUPINGS))
@pytest.mark.parametrize("reopen", [True, False])
def test_a_closed_incident_is_reopened_only_when_the_rule_says_so(
    database: Database, reopen: bool, method: str
) -> None:
    config = {"matching_method": method, "reopen_closed_incident": reopen, **GROUPINGS[method]}
    place = Place(database, rule(**config))
    first = place.raise_(draft(place.rule, ALICE))
    place.update(
        first, status="Closed", classification="TruePositive", classificationReason="SuspiciousActivity"
    )
    again = place.raise_(draft(place.rule, ALICE), NOW + timedelta(minutes=10))
    assert (again == first) is reopen
    with database.session() as session:
        incident = find_incident(session, tenant_id=place.tenant, ref=first)
    assert incident is not None
    assert incident.status == ("Active" if reopen else "Closed")


def test_closing_needs_a_classification_and_its_reason(database: Database) -> None:
    place = Place(database, rule())
    incident = place.raise_(draft(place.rule, ALICE))
    with pytest.raises(InvalidRequestError, match="needs a classification"):
        place.update(incident, status="Closed")
    with pytest.raises(InvalidRequestError, match="IncorrectAlertLogic, InaccurateData"):
        place.update(
            incident,
            status="Closed",
            classification="FalsePositive",
            classificationReason="SuspiciousActivity",
        )
    place.update(incident, status="Closed", classification="FalsePositive", classificationReason="InaccurateData",
                 classificationComment="test data", owner="ana@contoso.com")  # fmt: skip
    with database.session() as session:
        closed = find_incident(session, tenant_id=place.tenant, ref=incident)
        timeline = incident_timeline(session, tenant_id=place.tenant, ref=incident)
    assert closed is not None
    assert (closed.status, closed.classification, closed.owner) == (
        "Closed",
        "FalsePositive",
        "ana@contoso.com",
    )
    assert closed.closed_at is not None
    assert [e["kind"] for e in timeline] == ["created", "alert", "owner", "status"]
    assert timeline[-1]["actor"] == "user:ana@contoso.com"


def test_comments_tasks_and_merges_go_on_the_timeline(database: Database) -> None:
    place = Place(database, rule())
    first, second = place.raise_(draft(place.rule, ALICE)), place.raise_(draft(place.rule, BOB))
    with database.session() as session:
        comment_incident(session, tenant_id=place.tenant, ref=first, message="looking", actor=ANALYST)
        assert (
            add_task(session, tenant_id=place.tenant, ref=first, title="reset password", actor=ANALYST)
            is not None
        )
        merged = merge_incidents(session, tenant_id=place.tenant, source=second, target=first, actor=ANALYST)
    assert merged is not None
    assert len(merged.alert_ids) == 2
    with database.session() as session:
        gone = find_incident(session, tenant_id=place.tenant, ref=second)
        listed = [i.id for i in list_incidents(session, tenant_id=place.tenant)]
        kinds = [e["kind"] for e in incident_timeline(session, tenant_id=place.tenant, ref=first)]
    assert gone is not None
    assert (gone.status, gone.merged_into) == ("Closed", first)
    assert listed == [first]
    assert kinds == ["created", "alert", "comment", "task", "alert", "merged"]


def test_alerts_are_updated_with_graph_values_and_scoped_to_their_tenant(database: Database) -> None:
    place, other = Place(database, rule()), Place(database, rule())
    place.raise_(draft(place.rule, ALICE))
    with database.session() as session:
        (alert,) = list_alerts(session, tenant_id=place.tenant)
        changed = update_alert(session, tenant_id=place.tenant, alert_id=alert.id, actor=ANALYST,
                               changes={"status": "resolved", "classification": "truePositive",
                                        "determination": "compromisedUser", "assignedTo": "ana"})  # fmt: skip
        assert changed is not None
        assert (changed.status, changed.determination, changed.resolved_at is not None) == (
            "resolved", "compromisedAccount", True)  # fmt: skip
        with pytest.raises(InvalidRequestError, match="status must be one of"):
            update_alert(
                session, tenant_id=place.tenant, alert_id=alert.id, changes={"status": "done"}, actor=ANALYST
            )
        assert find_alert(session, tenant_id=other.tenant, alert_id=alert.id) is None
        assert update_alert(session, tenant_id=other.tenant, alert_id=alert.id, changes={"status": "new"},
                            actor=ANALYST) is None  # fmt: skip
        assert list_incidents(session, tenant_id=other.tenant) == []
        assert find_incident(session, tenant_id=other.tenant, ref="1", workspace_id=place.workspace) is None
    document = changed.to_json()
    assert {
        "id",
        "ruleId",
        "ruleName",
        "severity",
        "tactics",
        "techniques",
        "entities",
        "createdDateTime",
    } <= set(document)
    assert document["createdDateTime"].endswith("Z")


def test_incidents_read_together_are_read_as_one_at_a_time_and_only_the_tenants(database: Database) -> None:
    place, other = Place(database, rule(matching_method="AllEntities")), Place(database, rule())
    grouped = place.raise_(draft(place.rule, ALICE))
    assert place.raise_(draft(place.rule, ALICE, severity="High")) == grouped  # two alerts, one incident
    alone, foreign = place.raise_(draft(place.rule, BOB)), other.raise_(draft(other.rule, ALICE))
    with database.session() as session:
        together = read_incidents(session, tenant_id=place.tenant, ids={grouped, alone, foreign})
        one_by_one = [find_incident(session, tenant_id=place.tenant, ref=i) for i in sorted({grouped, alone})]
    assert together == one_by_one
    assert [len(i.alert_ids) for i in together] == [2 if i.id == grouped else 1 for i in together]
