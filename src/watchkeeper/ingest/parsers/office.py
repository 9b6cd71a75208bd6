"""Microsoft 365 audit records (Office 365 Management Activity API) -> ``OfficeActivity``.

Accepted records: the Management Activity API's content blobs (a JSON array of audit records with
the common schema: ``CreationTime``, ``Id``, ``Operation``, ``OrganizationId``, ``RecordType``,
``UserType``, ``Workload``, ...), one record per line, ``{"value": [...]}``, and rows exported from
Log Analytics (fields named as the columns, with ``TimeGenerated``; e.g. the OTRF Golden SAML recording's
MailItemsAccessed event).

Column mapping: the OfficeActivity table of ``sentinel-table-schemas.md`` (the catalog), as the
Sentinel Office 365 connector fills it: a record field becomes the column of the same name ignoring
case (``Operation``, ``UserId``, ``ClientIP``, ``MailboxOwnerUPN``, ``OperationProperties``...),
except the renames below (``Workload`` -> ``OfficeWorkload``, ``Id`` -> ``OfficeId``, ``ObjectId``
-> ``OfficeObjectId``, ``ClientIPAddress`` -> ``Client_IPAddress``, ``Site`` -> ``Site_``, ...);
``UserType`` and ``LogonType`` numbers become their names (``Regular``, ``Owner``...) as in
Sentinel; ``RecordType`` is kept as its number's text. ``TimeGenerated`` is ``CreationTime``
(UTC; a record without it is rejected). Lists and objects bound for string columns (``Folders``,
``Parameters``, ``ExtendedProperties``...) are JSON text. Exported rows keep their columns;
``Type``, ``TenantId`` and fields that are not columns (``OrganizationId_``...) are not stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.columns import RecordError, TableColumns, event_time
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.json_records import parse_json_records

__all__ = ["OfficeActivityParser", "office_row"]

TABLE = "OfficeActivity"

# record fields whose column is not the field's own name
_RENAMES = {
    "Id": "OfficeId",
    "Workload": "OfficeWorkload",
    "ObjectId": "OfficeObjectId",
    "ClientIPAddress": "Client_IPAddress",
    "Site": "Site_",
    "SiteUrl": "Site_Url",
    "AzureActiveDirectoryEventType": "AzureActiveDirectory_EventType",
    "Target": "AADTarget",
    "LogonType": "Logon_Type",
}
# Management Activity API enumerations (the API's schema reference), by the names Sentinel stores
_USER_TYPES = (
    "Regular",
    "Reserved",
    "Admin",
    "DcAdmin",
    "System",
    "Application",
    "ServicePrincipal",
    "CustomPolicy",
    "SystemPolicy",
)
_LOGON_TYPES = ("Owner", "Admin", "Delegated", "Transport", "SystemService", "BestAccess", "DelegatedAdmin")
_ENUMS = {"UserType": _USER_TYPES, "LogonType": _LOGON_TYPES}
_KEYS = re.compile(rb'"(CreationTime|Operation|OrganizationId|RecordType|UserKey|Workload)"\s*:')
_EXPORT = re.compile(rb'"Type"\s*:\s*"OfficeActivity"')


class OfficeActivityParser:
    """Microsoft 365 Management Activity API records into ``OfficeActivity``."""

    name: ClassVar[str] = "office-activity"
    tables: ClassVar[tuple[str, ...]] = (TABLE,)

    def sniff(self, head: bytes, filename: str) -> bool:
        """JSON with the audit common schema's field names (five of six), or an OfficeActivity export."""
        if head.lstrip()[:1] not in (b"{", b"["):
            return False
        return len(set(_KEYS.findall(head))) >= 5 or _EXPORT.search(head) is not None

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Rows of ``OfficeActivity``, one per audit record."""
        return parse_json_records(stream, source, office_row, wrappers=("value",))


def office_row(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``OfficeActivity`` row of one audit record (or of an exported OfficeActivity row)."""
    columns = TableColumns.of(TABLE)
    if "TimeGenerated" in record and "CreationTime" not in record:
        return TABLE, columns.exported_row(record)
    if "CreationTime" not in record or "Operation" not in record:
        raise RecordError("not a Microsoft 365 audit record: no CreationTime or Operation")
    row: dict[str, Any] = {"TimeGenerated": event_time(record["CreationTime"], "CreationTime")}
    for field, column in _RENAMES.items():
        columns.put(row, column, _named(field, record.get(field)), field)
    columns.put(row, "UserType", _named("UserType", record.get("UserType")), "UserType")
    columns.put_matching(row, record, skip=_RENAMES)
    return TABLE, row


def _named(field: str, value: Any) -> Any:
    """An enumeration's name for its number (the number's text when the API adds one)."""
    names = _ENUMS.get(field)
    if names is None or isinstance(value, bool) or not isinstance(value, int):
        return value
    return names[value] if 0 <= value < len(names) else str(value)
