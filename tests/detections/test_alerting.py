"""Result rows to alerts: trigger thresholds, one alert or one per row (capped), entities from
the mappings (merged, empty identifiers left out), custom details, and overrides from the row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from watchkeeper import Workspace
from watchkeeper.detections.alerting import MAX_ALERTS_PER_RUN, alert_drafts, tally_suffices
from watchkeeper.detections.models import AlertDetailsOverride, DetectionRule, EntityMapping
from watchkeeper.detections.scheduler import Window

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(hours=1), NOW)

RULE = DetectionRule(
    rule_id="r", name="Failed logons", source_format="sentinel", severity="Low",
    query="SecurityEvent | where EventID == 4625 | summarize Failures = count() by TargetUserName, IpAddress, Computer",
    trigger_operator="gt", trigger_threshold=0, tactics=("CredentialAccess",), techniques=("T1110",),
    entity_mappings=(EntityMapping("Account", (("Name", "TargetUserName"),)),
                     EntityMapping("IP", (("Address", "IpAddress"),)),
                     EntityMapping("Host", (("HostName", "Computer"),))),
    custom_details=(("Failures", "Failures"),),
)  # fmt: skip


def workspace() -> Workspace:
    ws = Workspace.open(None)
    events = [
        {"TimeGenerated": NOW - timedelta(minutes=m), "EventID": 4625, "TargetUserName": user, "IpAddress": ip,
         "Computer": "dc1"}
        for m, user, ip in [(5, "alice", "10.0.0.5"), (6, "alice", "10.0.0.5"), (7, "bob", ""), (8, "carol", "10.0.0.9")]
    ]  # fmt: skip
    ws.ingest("SecurityEvent", events)
    return ws


def test_one_alert_gathers_every_rows_entities_and_details() -> None:
    with workspace() as ws:
        result = ws.query(RULE.query, time_range=(WINDOW.start, WINDOW.end))
    (alert,) = alert_drafts(RULE, result, WINDOW)
    assert (alert.title, alert.severity, alert.rows, alert.tactics) == (
        "Failed logons",
        "Low",
        3,
        ("CredentialAccess",),
    )
    kinds = sorted(
        (e["Type"], e.get("Name") or e.get("Address") or e.get("HostName")) for e in alert.entities
    )
    # bob's empty IpAddress makes no IP entity; dc1 appears once for three rows
    assert kinds == [("account", "alice"), ("account", "bob"), ("account", "carol"), ("host", "dc1"),
                     ("ip", "10.0.0.5"), ("ip", "10.0.0.9")]  # fmt: skip
    assert sorted(alert.custom_details["Failures"]) == [1, 2]


def test_one_alert_per_row_with_overrides_from_that_row() -> None:
    rule = replace(RULE, aggregation="AlertPerResult", alert_details_override=AlertDetailsOverride(
        display_name_format="{{Failures}} failed logons for {{TargetUserName}}", severity_column="Sev"))  # fmt: skip
    query = RULE.query + " | extend Sev = iff(Failures > 1, 'High', 'nonsense')"
    with workspace() as ws:
        result = ws.query(query, time_range=(WINDOW.start, WINDOW.end))
    alerts = sorted(alert_drafts(replace(rule, query=query), result, WINDOW), key=lambda a: a.title)
    assert [(a.title, a.severity, a.rows) for a in alerts] == [
        ("1 failed logons for bob", "Low", 1), ("1 failed logons for carol", "Low", 1),
        ("2 failed logons for alice", "High", 1),
    ]  # fmt: skip


def test_thresholds_decide_and_per_row_alerts_are_capped() -> None:
    with workspace() as ws:
        result = ws.query(RULE.query, time_range=(WINDOW.start, WINDOW.end))
    assert alert_drafts(replace(RULE, trigger_threshold=3), result, WINDOW) == []  # 3 rows, not > 3
    assert len(alert_drafts(replace(RULE, trigger_operator="eq", trigger_threshold=3), result, WINDOW)) == 1
    many = replace(result, rows=[result.rows[0]] * (MAX_ALERTS_PER_RUN + 20))
    assert len(alert_drafts(replace(RULE, aggregation="AlertPerResult"), many, WINDOW)) == MAX_ALERTS_PER_RUN


def test_a_rule_whose_alert_carries_no_row_values_is_drafted_from_a_tally() -> None:
    bare = replace(RULE, query="SecurityEvent | where EventID == 4625", entity_mappings=(), custom_details=())
    assert tally_suffices(bare)
    assert not tally_suffices(RULE)  # entities and details read the rows
    assert not tally_suffices(replace(bare, aggregation="AlertPerResult"))  # one alert per row
    with workspace() as ws:
        from_rows = alert_drafts(bare, ws.query(bare.query, now=NOW), WINDOW)
        tally = ws.tally(bare.query, now=NOW)
    assert alert_drafts(bare, tally, WINDOW) == from_rows
    (draft,) = from_rows
    assert (draft.rows, draft.first_event, draft.last_event) == (
        4,
        NOW - timedelta(minutes=8),
        NOW - timedelta(minutes=5),
    )
    assert alert_drafts(replace(bare, trigger_threshold=4), tally, WINDOW) == []
