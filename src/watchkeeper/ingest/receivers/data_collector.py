"""The HTTP Data Collector API (``api-version=2016-04-01``), ``../shared/specs/log-ingestion.md`` §A:
``POST /api/logs`` signed with a workspace's shared key; the records of one request go to table
``{Log-Type}_CL``.

* Headers are checked in the order a sender can fix them: api version, ``Authorization`` syntax,
  content type, ``Log-Type``, ``x-ms-date`` (RFC 1123, within :data:`CLOCK_SKEW` of the server's
  clock, since the date is what makes a captured request expire), then the signature:
  ``base64(HMAC-SHA256(base64decode(key), "POST\\n{body bytes}\\napplication/json\\nx-ms-date:{date}\\n/api/logs"))``
  against the workspace's primary and secondary keys. Every refusal carries the service's error code.
* Columns are typed by each property's JSON value, with Azure's suffixes: ``_s`` text, ``_g`` GUID
  (stored dashed, lower case), ``_t`` ISO 8601 datetime, ``_d`` number, ``_b`` boolean; objects and
  arrays are kept as JSON text in ``_s``; nulls are left out. When the table already has a column for
  the property whose type the value converts to, the value goes there; otherwise a column with the
  value's own suffix is made (``flag_b`` then ``flag_d``). A property whose name already ends in the
  suffix its value gets keeps its name (``Computer_s`` stays ``Computer_s``; the spec is silent, and a
  doubled ``Computer_s_s`` helps nobody); with another suffix it gets its own appended (``count_s_d``).
* System columns: ``TimeGenerated`` (the ``time-generated-field`` value when it is an ISO 8601
  time no more than two days before receipt, else the receipt time), ``TenantId`` (the workspace),
  ``SourceSystem`` = ``RestAPI``, ``_ResourceId`` (``x-ms-AzureResourceId``); the store sets ``Type``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from watchkeeper.errors import InvalidRequestError
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.types import KqlType

__all__ = [
    "API_VERSION",
    "BODY_LIMIT",
    "CLOCK_SKEW",
    "RESERVED",
    "CollectorError",
    "CollectorPost",
    "SignedBy",
    "collector_batch",
    "signature_matches",
    "string_to_sign",
]

API_VERSION = "2016-04-01"
BODY_LIMIT = 30 * 1024 * 1024  # 30 MB per post
CLOCK_SKEW = timedelta(minutes=15)  # not documented upstream: the spec's suggestion
VALUE_LIMIT = 32 * 1024  # field values are cut at 32 KB
COLUMN_LIMIT = 500  # columns per table
NAME_LIMIT = 45  # characters per column name
RESERVED = frozenset({"tenant", "TimeGenerated", "RawData"})
_STALE = timedelta(days=2)  # older time-generated-field values fall back to the receipt time

_LOG_TYPE = re.compile(r"^[A-Za-z0-9_]{1,100}$")
_PROPERTY = re.compile(r"^[A-Za-z0-9_]+$")
_GUID = re.compile(
    r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_WORKSPACE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SUFFIX_TYPES = {"_s": KqlType.STRING, "_d": KqlType.REAL, "_b": KqlType.BOOL, "_t": KqlType.DATETIME,
                 "_g": KqlType.GUID}  # fmt: skip


class CollectorError(InvalidRequestError):
    """A refused request: the HTTP status and the service's error code (``{"Error", "Message"}``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class SignedBy:
    """The ``Authorization`` header's workspace id and signature bytes."""

    workspace_id: str
    signature: bytes


@dataclass(frozen=True)
class CollectorPost:
    """A request as received: the headers that matter and the body's bytes."""

    api_version: str | None
    authorization: str | None
    content_type: str | None
    log_type: str | None
    date: str | None
    time_field: str | None
    resource_id: str | None
    body: bytes

    def check(self, now: datetime) -> SignedBy:
        """Check every header; the signer named by ``Authorization`` (its signature unverified)."""
        if not self.api_version:
            raise CollectorError("MissingApiVersion", "The api-version query parameter is required.")
        if self.api_version != API_VERSION:
            raise CollectorError(
                "InvalidApiVersion", f"api-version {self.api_version!r} is not supported; use {API_VERSION}."
            )
        signer = _signer(self.authorization)
        if not self.content_type:
            raise CollectorError(
                "MissingContentType", "The Content-Type header is required: application/json."
            )
        if self.content_type.split(";")[0].strip().lower() != "application/json":
            raise CollectorError(
                "UnsupportedContentType",
                f"Content-Type {self.content_type!r} is not supported; use application/json.",
            )
        if not self.log_type:
            raise CollectorError("MissingLogType", "The Log-Type header is required.")
        if not _LOG_TYPE.match(self.log_type):
            raise CollectorError(
                "InvalidLogType", "Log-Type may contain only letters, digits and '_', at most 100 characters."
            )
        _check_date(self.date, now)
        return signer

    @property
    def table(self) -> str:
        return f"{self.log_type}_CL"


def _signer(header: str | None) -> SignedBy:
    scheme, _, credential = (header or "").strip().partition(" ")
    workspace_id, _, signature = credential.strip().rpartition(":")
    if scheme != "SharedKey" or not workspace_id or not signature:
        raise CollectorError(
            "InvalidAuthorization",
            "The Authorization header must be 'SharedKey {workspaceId}:{signature}'.",
            403,
        )
    if not _WORKSPACE_ID.match(workspace_id):
        raise CollectorError(
            "InvalidCustomerId", "The workspace id in the Authorization header is not a GUID."
        )
    try:
        decoded = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise CollectorError("InvalidAuthorization", "The signature is not base64.", 403) from None
    return SignedBy(workspace_id.lower(), decoded)


def _check_date(value: str | None, now: datetime) -> None:
    try:
        sent = parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        raise CollectorError(
            "InvalidAuthorization",
            "The x-ms-date header must be an RFC 1123 date, e.g. 'Mon, 04 Apr 2016 08:00:00 GMT'.",
            403,
        ) from None
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    if abs(now - sent) > CLOCK_SKEW:
        raise CollectorError(
            "InvalidAuthorization",
            f"The x-ms-date header is more than {int(CLOCK_SKEW.total_seconds() // 60)} minutes from the server's time.",
            403,
        )


def string_to_sign(content_length: int, date: str) -> str:
    """What the sender signs: the body's length in bytes and the ``x-ms-date`` value (§A)."""
    return f"POST\n{content_length}\napplication/json\nx-ms-date:{date}\n/api/logs"


def signature_matches(keys: Sequence[bytes], post: CollectorPost, signature: bytes) -> bool:
    """Whether ``signature`` is the HMAC of the request under one of ``keys`` (each compared in
    constant time, every key tried)."""
    message = string_to_sign(len(post.body), post.date or "").encode()
    matches = [
        hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), signature) for key in keys
    ]
    return any(matches)


# ---------------------------------------------------------------------------- records


def collector_batch(
    post: CollectorPost, *, workspace_id: str, existing: TableDef | None, now: datetime, source: str
) -> Parsed:
    """The request's records as rows of ``{Log-Type}_CL`` (``existing``: the table as it is now)."""
    records = _records(post.body)
    columns = _Columns(existing)
    batch = Parsed()
    for index, record in enumerate(records):
        where = f"{source}:record {index + 1}"
        if not isinstance(record, dict):
            batch.reject(where, json.dumps(record), "a record must be a JSON object")
            continue
        try:
            row = columns.row(record)
        except ValueError as exc:
            batch.reject(where, json.dumps(record), str(exc))
            continue
        row |= {"TimeGenerated": _time_generated(record, post.time_field, now), "TenantId": workspace_id,
                "SourceSystem": "RestAPI", "_ResourceId": post.resource_id or ""}  # fmt: skip
        batch.add(post.table, row)
    return batch


def _records(body: bytes) -> list[Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CollectorError("InvalidDataFormat", f"The body is not UTF-8 (byte {exc.start}).") from None
    except ValueError as exc:
        raise CollectorError("InvalidDataFormat", f"The body is not valid JSON: {exc}.") from None
    records = data if isinstance(data, list) else [data]
    reserved = sorted({k for r in records if isinstance(r, dict) for k in r if k in RESERVED})
    if reserved:
        raise CollectorError(
            "InvalidDataFormat", f"Reserved property name(s) in the body: {', '.join(reserved)}."
        )
    return records


def _time_generated(record: Mapping[str, Any], field: str | None, now: datetime) -> datetime:
    value = record.get(field) if field else None
    parsed = _datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None and parsed >= now - _STALE else now


def _datetime(text: str) -> datetime | None:
    if not _ISO_TIME.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Columns:
    """Column names and values of records for one table, given its columns so far."""

    def __init__(self, existing: TableDef | None) -> None:
        self.types: dict[str, KqlType] = {c.name: c.type for c in existing.columns} if existing else {}

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, value in record.items():
            if value is None:
                continue
            if not _PROPERTY.match(name):
                raise ValueError(f"property name {name!r}: only letters, digits and '_' are allowed")
            column, converted = self._place(name, value)
            row[column] = converted
        return row

    def _place(self, name: str, value: Any) -> tuple[str, Any]:
        suffix, natural = _natural(value)
        base = name[:-2] if name.endswith(suffix) and len(name) > 2 else name
        column = base + suffix
        if column not in self.types:  # the property's existing column that takes the value, if any
            for other, kind in _SUFFIX_TYPES.items():
                converted = _convert(value, kind) if base + other in self.types else None
                if converted is not None:
                    return base + other, converted
        if len(column) > NAME_LIMIT:
            raise ValueError(f"column {column!r} is longer than {NAME_LIMIT} characters")
        if column not in self.types and len(self.types) >= COLUMN_LIMIT:
            raise ValueError(f"the table would have more than {COLUMN_LIMIT} columns")
        self.types.setdefault(column, _SUFFIX_TYPES[suffix])
        return column, natural


def _natural(value: Any) -> tuple[str, Any]:
    """The suffix a value's JSON type gives it, and the value as stored."""
    if isinstance(value, bool):
        return "_b", value
    if isinstance(value, int | float):
        return "_d", float(value)
    if isinstance(value, str):
        if _GUID.match(value):
            return "_g", _dashed(value)
        moment = _datetime(value)
        if moment is not None:
            return "_t", moment
        return "_s", value[:VALUE_LIMIT]
    return "_s", json.dumps(value, separators=(",", ":"))[:VALUE_LIMIT]


def _dashed(guid: str) -> str:
    plain = guid.replace("-", "").lower()
    return f"{plain[:8]}-{plain[8:12]}-{plain[12:16]}-{plain[16:20]}-{plain[20:]}"


def _convert(value: Any, kind: KqlType) -> Any:
    """``value`` as a value of an existing column of type ``kind``, or None when it does not convert."""
    if kind is KqlType.STRING:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if kind is KqlType.REAL and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
