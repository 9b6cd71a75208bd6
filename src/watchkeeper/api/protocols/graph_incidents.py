"""Incidents in Graph's ``security.incident`` shape (``../shared/specs/graph-security-api.md``
section 4), and Graph's incident changes in our incident model's terms.

Status: our ``New`` is Graph's ``active``, ``Active`` is ``inProgress``, ``Closed`` is
``resolved``; an incident merged into another is ``redirected`` with ``redirectIncidentId``.
``assignedTo`` is the owner, ``customTags`` the labels, ``resolvingComment`` the classification
comment.

Classification: our model classifies with a reason (Sentinel's), Graph with a classification and
a determination. Graph -> ours:

* ``truePositive`` -> ``TruePositive`` (reason ``SuspiciousActivity``);
* ``informationalExpectedActivity`` -> ``BenignPositive`` (``SuspiciousButExpected``);
* ``falsePositive`` -> ``FalsePositive`` with reason ``InaccurateData`` when the determination is
  ``notEnoughDataToValidate``, else ``IncorrectAlertLogic``;
* ``unknown`` -> ``Undetermined``.

The determination is kept as given, beside the classification, and read back as is. Closing
(``status: resolved``) needs a classification as in our model: one given in the same request or
one the incident already has, else 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.api.protocols.graph_alerts import AlertContext, alert_json, evolvable, iso
from watchkeeper.cases import AlertRead, IncidentRead
from watchkeeper.cases.alerts import DETERMINATIONS
from watchkeeper.errors import InvalidRequestError

__all__ = ["incident_changes", "incident_comment_json", "incident_json"]

_STATUS_OUT = {"New": "active", "Active": "inProgress", "Closed": "resolved"}
_STATUS_IN = {"active": "New", "inprogress": "Active", "resolved": "Closed"}
_CLASSIFICATION_OUT = {"TruePositive": "truePositive", "FalsePositive": "falsePositive",
                       "BenignPositive": "informationalExpectedActivity", "Undetermined": "unknown"}  # fmt: skip
_CLASSIFICATION_IN = {"truepositive": ("TruePositive", "SuspiciousActivity"),
                      "informationalexpectedactivity": ("BenignPositive", "SuspiciousButExpected"),
                      "falsepositive": ("FalsePositive", "IncorrectAlertLogic"), "unknown": ("Undetermined", None)}  # fmt: skip
_DETERMINATIONS = {d.lower(): d for d in DETERMINATIONS} | {
    "compromiseduser": "compromisedAccount", "confirmeduseractivity": "confirmedActivity"}  # fmt: skip
_SEVERITIES = {"informational": "Informational", "low": "Low", "medium": "Medium", "high": "High"}
EDITABLE = ("assignedTo", "classification", "determination", "status", "customTags", "resolvingComment",
            "displayName", "severity")  # fmt: skip


def incident_comment_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline comment as an ``alertComment``."""
    return {"@odata.type": "#microsoft.graph.security.alertComment", "comment": entry.get("message"),
            "createdByDisplayName": entry.get("actor"), "createdDateTime": entry.get("at")}  # fmt: skip


def incident_json(
    incident: IncidentRead, context: AlertContext, *, comments: Sequence[Mapping[str, Any]] = (),
    alerts: Sequence[AlertRead] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``incident`` as a ``#microsoft.graph.security.incident`` (with ``alerts`` when expanded)."""
    status = "redirected" if incident.merged_into else _STATUS_OUT.get(incident.status, "active")
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.security.incident", "id": incident.id, "tenantId": incident.tenant_id,
        "displayName": incident.title, "description": incident.description, "summary": None,
        "status": evolvable("incidentStatus", status, late_members=context.late_members),
        "severity": incident.severity.lower(), "assignedTo": incident.owner,
        "classification": _CLASSIFICATION_OUT.get(incident.classification or "", "unknown"),
        "determination": incident.determination or "unknown", "customTags": list(incident.labels),
        "systemTags": [], "resolvingComment": incident.classification_comment,
        "redirectIncidentId": incident.merged_into, "incidentWebUrl": context.incident_url(incident.id),
        "lastModifiedBy": None, "priorityScore": None, "createdDateTime": iso(incident.created_at),
        "lastUpdateDateTime": iso(incident.updated_at),
        "comments": [incident_comment_json(c) for c in comments],
    }  # fmt: skip
    if alerts is not None:
        body["alerts"] = [alert_json(a, context) for a in alerts]
    return body


def incident_changes(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Graph incident PATCH body as :func:`~watchkeeper.cases.update_incident` changes."""
    unknown = sorted(k for k in body if k not in EDITABLE and not k.startswith("@odata."))
    if unknown:
        raise InvalidRequestError(f"incident properties {', '.join(unknown)} cannot be updated "
                                  f"({', '.join(EDITABLE)} can)")  # fmt: skip
    changes: dict[str, Any] = {}
    for graph, ours, limit in (("assignedTo", "owner", 256), ("resolvingComment", "classificationComment", 30_000),
                               ("displayName", "title", 256)):  # fmt: skip
        if graph in body:
            changes[ours] = _text(graph, body[graph], limit, allow_none=graph != "displayName")
    if "customTags" in body:
        changes["labels"] = _tags(body["customTags"])
    if "severity" in body:
        changes["severity"] = _member("severity", body["severity"], _SEVERITIES)
    if "status" in body:
        changes["status"] = _member("status", body["status"], _STATUS_IN)
    changes.update(_classification(body))
    return changes


def _classification(body: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    determination = None
    if "determination" in body:
        determination = _member("determination", body["determination"], _DETERMINATIONS)
        changes["determination"] = determination
    if "classification" in body:
        ours, reason = _member("classification", body["classification"], _CLASSIFICATION_IN)
        if ours == "FalsePositive" and determination == "notEnoughDataToValidate":
            reason = "InaccurateData"
        changes["classification"], changes["classificationReason"] = ours, reason
    return changes


def _member(name: str, value: Any, members: Mapping[str, Any]) -> Any:
    if not isinstance(value, str) or value.lower() not in members:
        allowed = ", ".join(_STATUS_OUT.values()) if name == "status" else ", ".join(sorted(members))
        raise InvalidRequestError(f"{name} must be one of {allowed}, not {value!r}")
    return members[value.lower()]


def _text(name: str, value: Any, limit: int, *, allow_none: bool) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequestError(f"{name} must be a string of at most {limit:,} characters")
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 256 for v in value):
        raise InvalidRequestError("customTags must be a list of strings of 1 to 256 characters")
    return list(dict.fromkeys(value))
