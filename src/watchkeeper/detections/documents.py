"""A :class:`~watchkeeper.detections.models.DetectionRule` as a JSON document and back: how the
state database keeps a loaded rule, so that reading it needs no loader (a Sigma conversion is
done once, at import)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from watchkeeper.detections.models import (
    AlertDetailsOverride,
    DetectionRule,
    EntityMapping,
    GroupingConfiguration,
    IncidentConfiguration,
    RuleKind,
    RuleTest,
)

__all__ = ["DOCUMENT_VERSION", "rule_document", "rule_from_document"]

# bumped when the document's shape changes; older documents are read by the code for their version
DOCUMENT_VERSION = 1


def rule_document(rule: DetectionRule) -> dict[str, Any]:
    """``rule`` as JSON-compatible data (durations in seconds)."""
    override = rule.alert_details_override
    grouping = rule.incident.grouping
    return {
        "documentVersion": DOCUMENT_VERSION,
        "ruleId": rule.rule_id, "name": rule.name, "sourceFormat": rule.source_format, "query": rule.query,
        "kind": rule.kind.value, "description": rule.description, "severity": rule.severity,
        "queryFrequency": rule.query_frequency.total_seconds(), "queryPeriod": rule.query_period.total_seconds(),
        "triggerOperator": rule.trigger_operator, "triggerThreshold": rule.trigger_threshold,
        "tactics": list(rule.tactics), "techniques": list(rule.techniques),
        "entityMappings": [{"entityType": m.entity_type, "fields": [list(f) for f in m.fields]}
                           for m in rule.entity_mappings],
        "customDetails": [list(d) for d in rule.custom_details],
        "alertDetailsOverride": None if override is None else {
            "displayNameFormat": override.display_name_format, "descriptionFormat": override.description_format,
            "tacticsColumn": override.tactics_column, "severityColumn": override.severity_column,
            "dynamicProperties": [list(p) for p in override.dynamic_properties],
        },
        "aggregation": rule.aggregation, "suppressionEnabled": rule.suppression_enabled,
        "suppressionDuration": rule.suppression_duration.total_seconds(),
        "incident": {
            "createIncident": rule.incident.create_incident,
            "grouping": {
                "enabled": grouping.enabled, "reopenClosedIncident": grouping.reopen_closed_incident,
                "lookback": grouping.lookback.total_seconds(), "matchingMethod": grouping.matching_method,
                "groupByEntities": list(grouping.group_by_entities),
                "groupByAlertDetails": list(grouping.group_by_alert_details),
                "groupByCustomDetails": list(grouping.group_by_custom_details),
            },
        },
        "enabled": rule.enabled, "version": rule.version, "status": rule.status, "tables": list(rule.tables),
        "tests": [_test_document(t) for t in rule.tests], "origin": rule.origin, "text": rule.text,
    }  # fmt: skip


def rule_from_document(document: dict[str, Any]) -> DetectionRule:
    """The rule a :func:`rule_document` describes."""
    override = document["alertDetailsOverride"]
    grouping = document["incident"]["grouping"]
    return DetectionRule(
        rule_id=document["ruleId"], name=document["name"], source_format=document["sourceFormat"],
        query=document["query"], kind=RuleKind(document["kind"]), description=document["description"],
        severity=document["severity"], query_frequency=timedelta(seconds=document["queryFrequency"]),
        query_period=timedelta(seconds=document["queryPeriod"]), trigger_operator=document["triggerOperator"],
        trigger_threshold=document["triggerThreshold"], tactics=tuple(document["tactics"]),
        techniques=tuple(document["techniques"]),
        entity_mappings=tuple(EntityMapping(m["entityType"], tuple((i, c) for i, c in m["fields"]))
                              for m in document["entityMappings"]),
        custom_details=tuple((k, c) for k, c in document["customDetails"]),
        alert_details_override=None if override is None else AlertDetailsOverride(
            display_name_format=override["displayNameFormat"], description_format=override["descriptionFormat"],
            tactics_column=override["tacticsColumn"], severity_column=override["severityColumn"],
            dynamic_properties=tuple((p, c) for p, c in override["dynamicProperties"]),
        ),
        aggregation=document["aggregation"], suppression_enabled=document["suppressionEnabled"],
        suppression_duration=timedelta(seconds=document["suppressionDuration"]),
        incident=IncidentConfiguration(
            create_incident=document["incident"]["createIncident"],
            grouping=GroupingConfiguration(
                enabled=grouping["enabled"], reopen_closed_incident=grouping["reopenClosedIncident"],
                lookback=timedelta(seconds=grouping["lookback"]), matching_method=grouping["matchingMethod"],
                group_by_entities=tuple(grouping["groupByEntities"]),
                group_by_alert_details=tuple(grouping["groupByAlertDetails"]),
                group_by_custom_details=tuple(grouping["groupByCustomDetails"]),
            ),
        ),
        enabled=document["enabled"], version=document["version"], status=document["status"],
        tables=tuple(document["tables"]), tests=tuple(_test_from(t) for t in document["tests"]),
        origin=document["origin"], text=document["text"],
    )  # fmt: skip


def _test_document(test: RuleTest) -> dict[str, Any]:
    return {
        "name": test.name, "events": [[table, list(rows)] for table, rows in test.events], "fixture": test.fixture,
        "expectAlerts": test.expect_alerts, "expectEntities": [list(e) for e in test.expect_entities],
    }  # fmt: skip


def _test_from(document: dict[str, Any]) -> RuleTest:
    return RuleTest(
        name=document["name"],
        events=tuple((table, tuple(rows)) for table, rows in document["events"]),
        fixture=document["fixture"],
        expect_alerts=document["expectAlerts"],
        expect_entities=tuple((t, i, v) for t, i, v in document["expectEntities"]),
    )
