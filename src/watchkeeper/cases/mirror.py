"""Alerts and incidents as rows of the workspace's ``SecurityAlert`` and ``SecurityIncident``
tables, with Sentinel's columns: every create or update appends a row (as Sentinel does), so KQL
hunts over them (``SecurityIncident | summarize arg_max(TimeGenerated, *) by IncidentNumber``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from watchkeeper.cases.alerts import AlertRead
from watchkeeper.cases.incidents import IncidentRead

__all__ = ["PROVIDER", "alert_row", "incident_row"]

PROVIDER = "watchkeeper"


def alert_row(alert: AlertRead, *, now: datetime) -> dict[str, Any]:
    """A ``SecurityAlert`` row for ``alert`` as it is at ``now``."""
    return {
        "TimeGenerated": now, "SystemAlertId": alert.id, "VendorOriginalId": alert.rule_id,
        "AlertName": alert.rule_name, "DisplayName": alert.title, "Description": alert.description,
        "AlertSeverity": alert.severity, "Status": "Resolved" if alert.status == "resolved" else
        ("InProgress" if alert.status == "inProgress" else "New"),
        "ProviderName": PROVIDER, "VendorName": PROVIDER, "ProductName": "watchkeeper analytics",
        "ProductComponentName": "Scheduled Alerts", "AlertType": f"{PROVIDER}_{alert.rule_id}",
        "StartTime": alert.first_activity or alert.window_start, "EndTime": alert.last_activity or alert.window_end,
        "ProcessingEndTime": alert.created_at, "Tactics": ", ".join(alert.tactics),
        "Techniques": json.dumps([t for t in alert.techniques if "." not in t]),
        "SubTechniques": json.dumps([t for t in alert.techniques if "." in t]),
        "Entities": json.dumps([{"$id": str(i + 2), **e} for i, e in enumerate(alert.entities)], default=str),
        "ExtendedProperties": json.dumps({**{k: _flat(v) for k, v in alert.custom_details.items()},
                                          "Query": alert.query, "Query Start Time UTC": _iso(alert.window_start),
                                          "Query End Time UTC": _iso(alert.window_end),
                                          "Search Query Results Overall Count": str(alert.rows)}, default=str),
        "CompromisedEntity": _compromised(alert.entities), "IsIncident": False,
    }  # fmt: skip


def incident_row(incident: IncidentRead, *, now: datetime, modified_by: str) -> dict[str, Any]:
    """A ``SecurityIncident`` row for ``incident`` as it is at ``now``."""
    return {
        "TimeGenerated": now, "IncidentName": incident.id, "IncidentNumber": incident.number, "Title": incident.title,
        "Description": incident.description, "Severity": incident.severity, "Status": incident.status,
        "Classification": incident.classification or "", "ClassificationReason": incident.classification_reason or "",
        "ClassificationComment": incident.classification_comment or "",
        "Owner": {"assignedTo": incident.owner, "userPrincipalName": incident.owner},
        "Labels": [{"labelName": label, "labelType": "User"} for label in incident.labels],
        "AlertIds": incident.alert_ids, "RelatedAnalyticRuleIds": [incident.rule_ref] if incident.rule_ref else [],
        "FirstActivityTime": incident.first_activity, "LastActivityTime": incident.last_activity,
        "CreatedTime": incident.created_at, "LastModifiedTime": incident.updated_at,
        "FirstModifiedTime": incident.created_at, "ClosedTime": incident.closed_at, "ModifiedBy": modified_by,
        "ProviderName": PROVIDER, "ProviderIncidentId": str(incident.number), "SourceSystem": PROVIDER,
        "AdditionalData": {"alertsCount": len(incident.alert_ids), "tactics": incident.tactics,
                           "techniques": incident.techniques, "alertProductNames": ["watchkeeper analytics"]},
    }  # fmt: skip


def _flat(values: Any) -> str:
    return json.dumps(values, default=str) if isinstance(values, list) else str(values)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _compromised(entities: list[dict[str, Any]]) -> str:
    for kind, field in (("host", "HostName"), ("account", "Name"), ("ip", "Address")):
        for entity in entities:
            if entity.get("Type") == kind and entity.get(field):
                return str(entity[field])
    return ""
