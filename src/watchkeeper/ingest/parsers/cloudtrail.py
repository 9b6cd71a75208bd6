"""AWS CloudTrail records -> ``AWSCloudTrail``.

Accepted layouts: CloudTrail's S3 log files (``{"Records": [...]}``, usually gzipped), a JSON array
of records (as ``aws cloudtrail lookup-events`` output is commonly saved, and the Stratus Red Team
detonation logs), and one record per line (NDJSON, e.g. from a Firehose or Logstash export), where a
line may itself be a ``{"Records": [...]}`` object. Arrays are streamed (see
:mod:`~watchkeeper.ingest.parsers.json_records` for the per-record size limit).

Column mapping: the AWSCloudTrail table of ``sentinel-table-schemas.md`` (the catalog) as the
Sentinel AWS S3 connector fills it: ``userIdentity`` is flattened into ``UserIdentity*`` columns,
``userIdentity.sessionContext`` into ``Session*``, ``tlsDetails`` into ``TlsVersion``,
``CipherSuite`` and ``ClientProvidedHostHeader``; ``requestParameters``, ``responseElements``,
``additionalEventData``, ``resources`` and ``serviceEventDetails`` are kept as JSON text (string
columns in the catalog; KQL's ``parse_json`` reads them). ``TimeGenerated`` is ``eventTime``; a
record without one takes a Logstash ``@timestamp`` if present (the OTRF recordings carry only
that), and is rejected otherwise. Fields without a column (``@version``, ``addendum``, ...) are
not stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.columns import RecordError, TableColumns, dig, event_time
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.json_records import parse_json_records

__all__ = ["CloudTrailParser"]

TABLE = "AWSCloudTrail"

# top-level record fields -> columns
_TOP = {
    "eventVersion": "EventVersion",
    "eventSource": "EventSource",
    "eventName": "EventName",
    "awsRegion": "AWSRegion",
    "sourceIPAddress": "SourceIpAddress",
    "userAgent": "UserAgent",
    "errorCode": "ErrorCode",
    "errorMessage": "ErrorMessage",
    "requestParameters": "RequestParameters",
    "responseElements": "ResponseElements",
    "additionalEventData": "AdditionalEventData",
    "resources": "Resources",
    "serviceEventDetails": "ServiceEventDetails",
    "requestID": "AwsRequestId",
    "eventID": "AwsEventId",
    "eventType": "EventTypeName",
    "apiVersion": "APIVersion",
    "readOnly": "ReadOnly",
    "managementEvent": "ManagementEvent",
    "recipientAccountId": "RecipientAccountId",
    "sharedEventID": "SharedEventId",
    "vpcEndpointId": "VpcEndpointId",
    "eventCategory": "Category",
    "ec2RoleDelivery": "EC2RoleDelivery",
}
# userIdentity fields -> columns
_IDENTITY = {
    "type": "UserIdentityType",
    "principalId": "UserIdentityPrincipalid",
    "arn": "UserIdentityArn",
    "accountId": "UserIdentityAccountId",
    "accessKeyId": "UserIdentityAccessKeyId",
    "userName": "UserIdentityUserName",
    "invokedBy": "UserIdentityInvokedBy",
}
# userIdentity.sessionContext.sessionIssuer fields -> columns
_ISSUER = {
    "type": "SessionIssuerType",
    "principalId": "SessionIssuerPrincipalId",
    "arn": "SessionIssuerArn",
    "accountId": "SessionIssuerAccountId",
    "userName": "SessionIssuerUserName",
}
_TLS = {
    "tlsVersion": "TlsVersion",
    "cipherSuite": "CipherSuite",
    "clientProvidedHostHeader": "ClientProvidedHostHeader",
}
# what a CloudTrail record has near its start, whatever the layout (keys are case-sensitive)
_KEYS = re.compile(rb'"(eventVersion|eventSource|eventName|awsRegion|userIdentity|recipientAccountId)"\s*:')


class CloudTrailParser:
    """AWS CloudTrail JSON (S3 files, arrays, NDJSON) into ``AWSCloudTrail``."""

    name: ClassVar[str] = "cloudtrail"
    tables: ClassVar[tuple[str, ...]] = (TABLE,)

    def sniff(self, head: bytes, filename: str) -> bool:
        """JSON whose first record has CloudTrail's own field names (at least four of six)."""
        if head.lstrip()[:1] not in (b"{", b"["):
            return False
        return len(set(_KEYS.findall(head))) >= 4

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Rows of ``AWSCloudTrail``, one per CloudTrail record."""
        return parse_json_records(stream, source, cloudtrail_row, wrappers=("Records",))


def cloudtrail_row(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``AWSCloudTrail`` row of one CloudTrail record."""
    if "eventName" not in record or "eventSource" not in record:
        raise RecordError("not a CloudTrail record: no eventName or eventSource")
    columns = TableColumns.of(TABLE)
    time_field = "eventTime" if "eventTime" in record or "@timestamp" not in record else "@timestamp"
    row: dict[str, Any] = {"TimeGenerated": event_time(record.get(time_field), "eventTime")}
    _copy(columns, row, record, _TOP)
    identity = record.get("userIdentity")
    if isinstance(identity, dict):
        _copy(columns, row, identity, _IDENTITY)
        _copy(columns, row, dig(identity, "sessionContext", "sessionIssuer") or {}, _ISSUER)
        _session(columns, row, identity)
        _on_behalf_of(columns, row, identity)
    _copy(columns, row, record.get("tlsDetails") or {}, _TLS)
    return TABLE, row


def _copy(columns: TableColumns, row: dict[str, Any], fields: Any, mapping: dict[str, str]) -> None:
    if not isinstance(fields, dict):
        return
    for field, column in mapping.items():
        columns.put(row, column, fields.get(field), field)


def _session(columns: TableColumns, row: dict[str, Any], identity: dict[str, Any]) -> None:
    attributes = dig(identity, "sessionContext", "attributes")
    if isinstance(attributes, dict):
        _copy(
            columns,
            row,
            attributes,
            {"mfaAuthenticated": "SessionMfaAuthenticated", "creationDate": "SessionCreationDate"},
        )


def _on_behalf_of(columns: TableColumns, row: dict[str, Any], identity: dict[str, Any]) -> None:
    """IAM Identity Center users: ``onBehalfOf`` names the user and the identity store."""
    _copy(
        columns,
        row,
        identity.get("onBehalfOf"),
        {"userId": "UserIdentityUserId", "identityStoreArn": "UserIdentityStoreArn"},
    )
