"""Alerts and incidents as Graph's Security API queries them: which stored column each Graph
property is (for ``$filter`` and ``$orderby``, ``../shared/specs/graph-security-api.md`` section 1),
and tenant-scoped pages of alerts and incidents with what the Graph shapes add (comments, the kind
of the rule that raised an alert, an incident's alerts).

Values in filters arrive in Graph's spelling and are turned into the stored one (``encode``);
severity is compared by its place in Graph's enum (``medium`` is 3, stored ``Medium``), so that
sorting follows Graph's order; an incident's status and classification are compared as
Graph spells them (``active``/``inProgress``/``resolved``/``redirected``;
``truePositive``/``falsePositive``/``informationalExpectedActivity``/``unknown``) through SQL
``CASE`` expressions over the stored Sentinel values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import QueryableAttribute, Session

from watchkeeper.cases.alerts import DETERMINATIONS, AlertRead
from watchkeeper.cases.incidents import IncidentRead, incident_timeline
from watchkeeper.cases.models import AlertComment, AlertRecord, IncidentRecord
from watchkeeper.detections.library import AnalyticsRule
from watchkeeper.detections.models import SEVERITIES
from watchkeeper.state.odata import Field, ODataQuery, Page, select_page

__all__ = [
    "ALERT_FIELDS",
    "INCIDENT_FIELDS",
    "LEGACY_ALERT_FIELDS",
    "alert_comments",
    "alerts_page",
    "incident_alerts",
    "incident_comments",
    "incidents_page",
    "rule_kinds",
]

_DETERMINATION_ALIASES = {
    "compromiseduser": "compromisedAccount",
    "confirmeduseractivity": "confirmedActivity",
}
_DETERMINATION = {d.lower(): d for d in DETERMINATIONS} | _DETERMINATION_ALIASES
RULE_SERVICE_SOURCE = "microsoftSentinel"  # what serviceSource rule alerts report (no serviceSource property)
RULE_PRODUCT = "watchkeeper"


def _severity_rank(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Severity as its place in Graph's enum (informational < low < medium < high), so that
    ``$orderby=severity desc`` puts high first as Graph does; unknown values rank 0."""
    return case(*((column == name, literal(rank)) for rank, name in enumerate(SEVERITIES, start=1)),
                else_=literal(0))  # fmt: skip


def _severity(value: Any) -> Any:
    """A Graph severity literal as its rank (``medium`` -> 3); a value Graph does not have matches none."""
    return {name.lower(): rank for rank, name in enumerate(SEVERITIES, start=1)}.get(str(value).lower(), -1)


def _determination(value: Any) -> Any:
    return _DETERMINATION.get(str(value).lower(), value)


def _casefold(values: Collection[str]) -> Any:
    known = {v.lower(): v for v in values}
    return lambda value: known.get(str(value).lower(), value)


def _prop(name: str, default: str) -> ColumnElement[Any]:
    """An agreed key of an alert's ``properties`` (alerts of other products), else the rule default."""
    return func.coalesce(AlertRecord.properties[name].as_string(), literal(default))


def _c(attribute: QueryableAttribute[Any]) -> ColumnElement[Any]:
    """A mapped attribute's column expression (what a :class:`Field` holds)."""
    return attribute.expression


def _shown(column: ColumnElement[Any], kind: str = "string") -> Field:
    """A property callers may ``$select`` but not filter or sort on."""
    return Field(column, kind, filterable=False, sortable=False)


ALERT_FIELDS: Mapping[str, Field] = {
    "id": Field(_c(AlertRecord.id), "string"),
    "title": Field(_c(AlertRecord.title), "string"),
    "assignedTo": Field(_c(AlertRecord.assigned_to), "string"),
    "classification": Field(_c(AlertRecord.classification), "enum",
                            encode=_casefold(("unknown", "falsePositive", "truePositive",
                                              "informationalExpectedActivity"))),
    "determination": Field(_c(AlertRecord.determination), "enum", encode=_determination),
    "severity": Field(_severity_rank(_c(AlertRecord.severity)), "enum", encode=_severity),
    "status": Field(_c(AlertRecord.status), "enum", encode=_casefold(("new", "inProgress", "resolved"))),
    "serviceSource": Field(_prop("serviceSource", RULE_SERVICE_SOURCE), "enum"),
    "productName": Field(_prop("productName", RULE_PRODUCT), "string"),
    "detectorId": Field(_c(AlertRecord.rule_id), "string"),
    "incidentId": Field(_c(AlertRecord.incident_id), "string"),
    "mitreTechniques": Field(_c(AlertRecord.techniques), "strings", sortable=False),
    "createdDateTime": Field(_c(AlertRecord.created_at), "datetime"),
    "lastUpdateDateTime": Field(_c(AlertRecord.updated_at), "datetime"),
    "firstActivityDateTime": Field(_c(AlertRecord.first_activity), "datetime"),
    "lastActivityDateTime": Field(_c(AlertRecord.last_activity), "datetime"),
    "resolvedDateTime": Field(_c(AlertRecord.resolved_at), "datetime"),
    "category": Field(AlertRecord.tactics[0].as_string(), "string", filterable=False),
    **{name: _shown(_c(AlertRecord.properties)) for name in (
        "providerAlertId", "detectionSource", "tenantId", "description", "recommendedActions", "alertWebUrl",
        "incidentWebUrl", "actorDisplayName", "threatDisplayName", "threatFamilyName", "systemTags",
        "customDetails", "comments", "evidence")},
}  # fmt: skip

_LEGACY_STATUS = {"newalert": "new", "inprogress": "inProgress", "resolved": "resolved"}
_FEEDBACK = {"truepositive": "truePositive", "falsepositive": "falsePositive",
             "benignpositive": "informationalExpectedActivity", "unknown": "unknown"}  # fmt: skip

LEGACY_ALERT_FIELDS: Mapping[str, Field] = {
    "id": ALERT_FIELDS["id"],
    "title": ALERT_FIELDS["title"],
    "assignedTo": ALERT_FIELDS["assignedTo"],
    "severity": ALERT_FIELDS["severity"],
    "status": Field(_c(AlertRecord.status), "enum", encode=lambda v: _LEGACY_STATUS.get(str(v).lower(), v)),
    "feedback": Field(_c(AlertRecord.classification), "enum", encode=lambda v: _FEEDBACK.get(str(v).lower(), v)),
    "createdDateTime": ALERT_FIELDS["createdDateTime"],
    "eventDateTime": Field(func.coalesce(AlertRecord.first_activity, AlertRecord.created_at), "datetime"),
    "lastEventDateTime": Field(func.coalesce(AlertRecord.last_activity, AlertRecord.created_at), "datetime"),
    "lastModifiedDateTime": ALERT_FIELDS["lastUpdateDateTime"],
    "closedDateTime": ALERT_FIELDS["resolvedDateTime"],
    "vendorInformation/provider": Field(_prop("productName", RULE_PRODUCT), "string"),
    "vendorInformation/vendor": Field(_prop("productName", RULE_PRODUCT), "string"),
    "category": ALERT_FIELDS["category"],
    **{name: _shown(_c(AlertRecord.properties)) for name in (
        "azureTenantId", "description", "comments", "tags", "detectionIds", "incidentIds", "sourceMaterials",
        "recommendedActions", "confidence", "vendorInformation", "triggers", "alertDetections", "cloudAppStates",
        "historyStates", "investigationSecurityStates", "messageSecurityStates", "uriClickSecurityStates",
        "vulnerabilityStates", "securityResources", "userStates", "hostStates", "networkConnections",
        "fileStates", "processes", "registryKeyStates", "malwareStates")},
}  # fmt: skip

_INCIDENT_STATUS = case(
    (IncidentRecord.merged_into.is_not(None), literal("redirected")),
    (IncidentRecord.status == "New", literal("active")),
    (IncidentRecord.status == "Active", literal("inProgress")),
    else_=literal("resolved"),
)
_INCIDENT_CLASSIFICATION = case(
    (IncidentRecord.classification == "TruePositive", literal("truePositive")),
    (IncidentRecord.classification == "FalsePositive", literal("falsePositive")),
    (IncidentRecord.classification == "BenignPositive", literal("informationalExpectedActivity")),
    else_=literal("unknown"),
)

INCIDENT_FIELDS: Mapping[str, Field] = {
    "id": Field(_c(IncidentRecord.id), "string"),
    "displayName": Field(_c(IncidentRecord.title), "string"),
    "assignedTo": Field(_c(IncidentRecord.owner), "string"),
    "classification": Field(_INCIDENT_CLASSIFICATION, "enum", encode=ALERT_FIELDS["classification"].encode),
    "determination": Field(func.coalesce(IncidentRecord.determination, literal("unknown")), "enum",
                           encode=_determination),
    "severity": Field(_severity_rank(_c(IncidentRecord.severity)), "enum", encode=_severity),
    "status": Field(_INCIDENT_STATUS, "enum",
                    encode=_casefold(("active", "inProgress", "resolved", "redirected", "awaitingAction"))),
    "customTags": Field(_c(IncidentRecord.labels), "strings", sortable=False),
    "createdDateTime": Field(_c(IncidentRecord.created_at), "datetime"),
    "lastUpdateDateTime": Field(_c(IncidentRecord.updated_at), "datetime"),
    **{name: _shown(_c(IncidentRecord.description)) for name in (
        "tenantId", "description", "summary", "systemTags", "resolvingComment", "redirectIncidentId",
        "incidentWebUrl", "lastModifiedBy", "priorityScore", "comments", "alerts")},
}  # fmt: skip


def alerts_page(
    session: Session, *, tenant_id: str, query: ODataQuery, fields: Mapping[str, Field] = ALERT_FIELDS,
    incident_id: str | None = None,
) -> tuple[list[AlertRead], Page]:  # fmt: skip
    """One page of the tenant's alerts (of one incident if ``incident_id``) as ``query`` selects them."""
    statement = (
        select(AlertRecord).where(AlertRecord.tenant_id == tenant_id).order_by(AlertRecord.created_at.desc())
    )
    if incident_id is not None:
        statement = statement.where(AlertRecord.incident_id == incident_id)
    page = select_page(session, statement, query, fields, key=_c(AlertRecord.id))
    return [AlertRead.model_validate(_entity(row)) for row in page.rows], page


def incidents_page(session: Session, *, tenant_id: str, query: ODataQuery) -> tuple[list[IncidentRead], Page]:
    """One page of the tenant's incidents (merged ones too: Graph shows them as ``redirected``)."""
    statement = (select(IncidentRecord).where(IncidentRecord.tenant_id == tenant_id)
                 .order_by(IncidentRecord.created_at.desc()))  # fmt: skip
    page = select_page(session, statement, query, INCIDENT_FIELDS, key=_c(IncidentRecord.id))
    return [IncidentRead.model_validate(_entity(row)) for row in page.rows], page


def _entity(row: Any) -> Any:
    """The mapped object of a result row (``select_page`` may hand back rows or objects)."""
    return row[0] if isinstance(row, tuple) or hasattr(row, "_mapping") else row


def incident_alerts(
    session: Session, *, tenant_id: str, incident_ids: Collection[str]
) -> dict[str, list[AlertRead]]:
    """The alerts of each incident, oldest first."""
    found: dict[str, list[AlertRead]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    rows = session.scalars(select(AlertRecord).where(AlertRecord.tenant_id == tenant_id,
                                                     AlertRecord.incident_id.in_(list(incident_ids)))
                           .order_by(AlertRecord.created_at, AlertRecord.id))  # fmt: skip
    for row in rows:
        found[row.incident_id or ""].append(AlertRead.model_validate(row))
    return found


def alert_comments(session: Session, alert_ids: Collection[str]) -> dict[str, list[AlertComment]]:
    """The comments on each alert (of alerts already scoped to a tenant), oldest first."""
    found: dict[str, list[AlertComment]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return found
    rows = session.scalars(select(AlertComment).where(AlertComment.alert_id.in_(list(alert_ids)))
                           .order_by(AlertComment.created_at, AlertComment.id))  # fmt: skip
    for row in rows:
        found[row.alert_id].append(row)
    return found


def incident_comments(session: Session, *, tenant_id: str, incident_id: str) -> list[dict[str, Any]]:
    """The comments of an incident's timeline: ``{"message", "actor", "at"}``, oldest first."""
    timeline = incident_timeline(session, tenant_id=tenant_id, ref=incident_id)
    return [entry for entry in timeline if entry["kind"] == "comment"]


def rule_kinds(session: Session, rule_refs: Collection[str | None]) -> dict[str, str]:
    """Library rule id -> its kind (``Scheduled``, ``NRT``), for the rules that raised some alerts."""
    refs = sorted({r for r in rule_refs if r is not None})
    if not refs:
        return {}
    kind = AnalyticsRule.document["kind"].as_string()
    return {ref: str(value) for ref, value in session.execute(
        select(AnalyticsRule.id, kind).where(AnalyticsRule.id.in_(refs)))}  # fmt: skip
