"""Entra ID (Azure AD) sign-in and directory audit events -> ``SigninLogs`` and ``AuditLogs``.

Accepted records: Microsoft Graph ``signIn`` and ``directoryAudit`` resources (``GET
/auditLogs/signIns``, ``/auditLogs/directoryAudits``), as a Graph page ``{"value": [...]}``, a JSON
array or one per line; and rows exported from Log Analytics (fields already named as the columns, with ``TimeGenerated``,
e.g. the OTRF Golden SAML recording, whose query overwrote ``Type`` in some rows).

Column mapping: the SigninLogs and AuditLogs tables of ``sentinel-table-schemas.md`` (the catalog),
as Entra ID's diagnostic settings fill them from the same resources: a Graph property becomes the
column of the same name ignoring case (``userPrincipalName`` -> ``UserPrincipalName``,
``riskEventTypes_v2`` -> ``RiskEventTypes_V2``), except the renames below; ``status.errorCode`` is
``ResultType`` (``"0"`` is success) and ``status.failureReason`` is ``ResultDescription``;
``location`` is ``LocationDetails`` with its ``countryOrRegion`` in ``Location``;
``TimeGenerated`` is ``createdDateTime`` / ``activityDateTime`` (a record without it is rejected).
Structures bound for string columns (``AuthenticationDetails``...) are JSON text. Exported rows
keep their columns; ``Type``, ``TenantId`` and fields that are not columns (a query's extensions)
are not stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.columns import RecordError, TableColumns, dig, event_time
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.json_records import parse_json_records

__all__ = ["EntraAuditParser", "EntraSigninParser", "audit_row", "signin_row"]

SIGNINS = "SigninLogs"
AUDITS = "AuditLogs"

# Graph signIn properties whose column is not the property's own name
_SIGNIN_RENAMES = {
    "location": "LocationDetails",
    "appliedConditionalAccessPolicies": "ConditionalAccessPolicies",
    "resourceId": "ResourceIdentity",
    "authenticationProcessingDetails": "AuthenticationProcessingDetails",
}
# Graph directoryAudit properties whose column is not the property's own name
_AUDIT_RENAMES = {"operationType": "AADOperationType"}

_SIGNIN_KEYS = re.compile(
    rb'"(createdDateTime|appDisplayName|userPrincipalName|ipAddress|clientAppUsed|status)"\s*:'
)
_AUDIT_KEYS = re.compile(
    rb'"(activityDateTime|activityDisplayName|loggedByService|initiatedBy|targetResources)"\s*:'
)
# an AuditLogs export whose first row's Type was overwritten by the exporting query's own columns
_AUDIT_COLUMNS = re.compile(
    rb'"(ActivityDateTime|ActivityDisplayName|LoggedByService|InitiatedBy|TargetResources)"\s*:'
)


def _exported(head: bytes, table: str) -> bool:
    return re.search(rb'"Type"\s*:\s*"' + table.encode() + rb'"', head) is not None


class EntraSigninParser:
    """Graph ``signIn`` records (or SigninLogs exports) into ``SigninLogs``."""

    name: ClassVar[str] = "entra-signin"
    tables: ClassVar[tuple[str, ...]] = (SIGNINS,)

    def sniff(self, head: bytes, filename: str) -> bool:
        """JSON with a signIn's own property names (five of six), or a SigninLogs export."""
        if head.lstrip()[:1] not in (b"{", b"["):
            return False
        return len(set(_SIGNIN_KEYS.findall(head))) >= 5 or _exported(head, SIGNINS)

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Rows of ``SigninLogs``, one per sign-in."""
        return parse_json_records(stream, source, signin_row, wrappers=("value",))


class EntraAuditParser:
    """Graph ``directoryAudit`` records (or AuditLogs exports) into ``AuditLogs``."""

    name: ClassVar[str] = "entra-audit"
    tables: ClassVar[tuple[str, ...]] = (AUDITS,)

    def sniff(self, head: bytes, filename: str) -> bool:
        """JSON with a directoryAudit's own property names (four of five), or an AuditLogs export."""
        if head.lstrip()[:1] not in (b"{", b"["):
            return False
        if len(set(_AUDIT_KEYS.findall(head))) >= 4 or _exported(head, AUDITS):
            return True
        return len(set(_AUDIT_COLUMNS.findall(head))) >= 4

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Rows of ``AuditLogs``, one per directory audit event."""
        return parse_json_records(stream, source, audit_row, wrappers=("value",))


def signin_row(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``SigninLogs`` row of a Graph signIn (or of an exported SigninLogs row)."""
    columns = TableColumns.of(SIGNINS)
    if "TimeGenerated" in record and "createdDateTime" not in record:
        return SIGNINS, columns.exported_row(record)
    if "createdDateTime" not in record:
        raise RecordError("not an Entra ID sign-in: no createdDateTime")
    row: dict[str, Any] = {"TimeGenerated": event_time(record["createdDateTime"], "createdDateTime")}
    for field, column in _SIGNIN_RENAMES.items():
        columns.put(row, column, record.get(field), field)
    columns.put(row, "ResultType", dig(record, "status", "errorCode"), "status.errorCode")
    columns.put(row, "ResultDescription", dig(record, "status", "failureReason"), "status.failureReason")
    columns.put(row, "Location", dig(record, "location", "countryOrRegion"), "location.countryOrRegion")
    columns.put(row, "Identity", record.get("userDisplayName"), "userDisplayName")
    row.update(OperationName="Sign-in activity", Category=SIGNINS, OperationVersion="1.0")
    columns.put_matching(row, record, skip=_SIGNIN_RENAMES)
    return SIGNINS, row


def audit_row(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``AuditLogs`` row of a Graph directoryAudit (or of an exported AuditLogs row)."""
    columns = TableColumns.of(AUDITS)
    if "TimeGenerated" in record and "activityDateTime" not in record:
        return AUDITS, columns.exported_row(record)
    if "activityDateTime" not in record:
        raise RecordError("not an Entra ID directory audit: no activityDateTime")
    row: dict[str, Any] = {"TimeGenerated": event_time(record["activityDateTime"], "activityDateTime")}
    for field, column in _AUDIT_RENAMES.items():
        columns.put(row, column, record.get(field), field)
    # Entra ID's diagnostic export names the operation by its display name
    columns.put(row, "OperationName", record.get("activityDisplayName"), "activityDisplayName")
    columns.put(row, "Identity", _initiator(record), "initiatedBy")
    row["OperationVersion"] = "1.0"
    columns.put_matching(row, record, skip=_AUDIT_RENAMES)
    return AUDITS, row


def _initiator(record: dict[str, Any]) -> Any:
    """Who did it: the user's principal name, or the application's display name."""
    return dig(record, "initiatedBy", "user", "userPrincipalName") or dig(
        record, "initiatedBy", "app", "displayName"
    )
