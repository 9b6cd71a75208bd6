"""``tiIndicator`` on the wire (beta; ``../shared/specs/graph-security-api.md`` sections 0 and 6):
an indicator as Graph writes it, the properties ``$filter``/``$orderby`` can use, and the bodies of
the batch actions.

Batch bodies are ``{"value": [...]}`` with at most :data:`MAX_BATCH` entries; a body that is not
that shape is refused whole (400). Each entry then succeeds or fails on its own: the answer is 200
when all succeeded and 206 when some failed, with one result per entry in order. For
``submitTiIndicators``/``updateTiIndicators`` a result is the indicator, or for a failed entry
``{"@odata.type", "error": {"code", "message"}}`` (plus the entry's ``id``/``externalId`` when it
gave them); for the delete actions it is a ``resultInfo`` ``{code, message, subcode}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false

from watchkeeper.errors import InvalidRequestError, NotFoundError, WatchkeeperError
from watchkeeper.intel import IndicatorRead
from watchkeeper.intel.models import TiIndicatorRecord
from watchkeeper.intel.validation import (
    ACTIONS,
    DIAMOND_MODELS,
    FILE_HASH_TYPES,
    TARGET_PRODUCTS,
    THREAT_TYPES,
    TLP_LEVELS,
)
from watchkeeper.state.odata import Field

__all__ = [
    "CONTEXT",
    "MAX_BATCH",
    "ODATA_TYPE",
    "batch_values",
    "deletion_result",
    "identifiers",
    "indicator_fields",
    "item_result",
    "update_entries",
]

CONTEXT = "security/tiIndicators"
ODATA_TYPE = "#microsoft.graph.tiIndicator"
MAX_BATCH = 100  # entries of one batch action (Graph's limit)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], Any]:
    known = {choice.casefold(): choice for choice in choices}

    def encode(value: Any) -> Any:
        return known[str(value).casefold()]  # KeyError: the filter names a value that cannot match

    return encode


def indicator_fields(now: datetime) -> dict[str, Field]:
    """What ``$filter``/``$orderby`` can use, as of ``now``: ``isActive`` is false for an expired
    indicator, as the indicator reads."""
    r = TiIndicatorRecord
    expired = and_(r.expiration.is_not(None), r.expiration <= now)
    text: dict[str, Any] = {
        "externalId": r.external_id, "description": r.description, "domainName": r.domain_name, "url": r.url,
        "networkIPv4": r.network_ipv4, "networkIPv6": r.network_ipv6, "networkSourceIPv4": r.network_source_ipv4,
        "networkSourceIPv6": r.network_source_ipv6, "networkDestinationIPv4": r.network_destination_ipv4,
        "networkDestinationIPv6": r.network_destination_ipv6, "fileHashValue": r.file_hash_value,
        "emailSenderAddress": r.email_sender_address, "id": r.id,
    }  # fmt: skip
    enums: dict[str, tuple[Any, tuple[str, ...]]] = {
        "action": (r.action, ACTIONS), "threatType": (r.threat_type, THREAT_TYPES),
        "targetProduct": (r.target_product, TARGET_PRODUCTS), "tlpLevel": (r.tlp_level, TLP_LEVELS),
        "diamondModel": (r.diamond_model, DIAMOND_MODELS), "fileHashType": (r.file_hash_type, FILE_HASH_TYPES),
    }  # fmt: skip
    return {
        **{name: Field(column, "string") for name, column in text.items()},
        **{name: Field(column, "enum", _choice(choices)) for name, (column, choices) in enums.items()},
        "confidence": Field(r.confidence, "number"), "severity": Field(r.severity, "number"),
        "expirationDateTime": Field(r.expiration, "datetime"), "ingestedDateTime": Field(r.ingested_at, "datetime"),
        "lastReportedDateTime": Field(r.last_reported, "datetime"),
        "isActive": Field(case((expired, false()), else_=r.is_active), "bool"),
        "passiveOnly": Field(r.passive_only, "bool"),
        **{name: Field(getattr(r, column), "strings", sortable=False) for name, column in
           (("tags", "tags"), ("killChain", "kill_chain"), ("activityGroupNames", "activity_group_names"),
            ("malwareFamilyNames", "malware_family_names"))},
    }  # fmt: skip


def batch_values(body: Any) -> list[Any]:
    """The entries of a batch action's body ``{"value": [...]}``; InvalidRequestError otherwise."""
    if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
        raise InvalidRequestError('the body must be a JSON object {"value": [...]}')
    entries = list(body["value"])
    if not entries:
        raise InvalidRequestError("value lists no entries")
    if len(entries) > MAX_BATCH:
        raise InvalidRequestError(
            f"value lists {len(entries)} entries; at most {MAX_BATCH} are taken at once"
        )
    return entries


def identifiers(body: Any, what: str) -> list[str]:
    """The ids (or external ids) a delete action lists."""
    entries = batch_values(body)
    if not all(isinstance(entry, str) and 0 < len(entry) <= 256 for entry in entries):
        raise InvalidRequestError(f"value must list {what}s as strings")
    return entries


def update_entries(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(id, changes)`` of each entry of ``updateTiIndicators``: each names its ``id``, and (as
    Graph requires) ``expirationDateTime`` and ``targetProduct``."""
    entries: list[tuple[str, dict[str, Any]]] = []
    for number, entry in enumerate(batch_values(body), start=1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise InvalidRequestError(f"entry {number} of value must be an object with the indicator's id")
        missing = [name for name in ("expirationDateTime", "targetProduct") if entry.get(name) is None]
        if missing:
            raise InvalidRequestError(f"entry {number} of value lacks {' and '.join(missing)}")
        entries.append((entry["id"], {k: v for k, v in entry.items() if k != "id"}))
    return entries


def item_result(
    outcome: IndicatorRead | WatchkeeperError, given: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """One result of ``submitTiIndicators``/``updateTiIndicators``: the indicator, or why the
    entry ``given`` failed."""
    if isinstance(outcome, IndicatorRead):
        return outcome.to_graph(now)
    code = "itemNotFound" if isinstance(outcome, NotFoundError) else "invalidRequest"
    echoed = {name: given[name] for name in ("id", "externalId") if isinstance(given.get(name), str)}
    return {"@odata.type": ODATA_TYPE, **echoed, "error": {"code": code, "message": str(outcome)}}


def deletion_result(ref: str, deleted: int, what: str = "tiIndicator") -> dict[str, Any]:
    """A ``resultInfo`` of a delete action: 200 with how many were deleted, or 404."""
    if deleted:
        return {"code": 200, "message": f"deleted {deleted} {what}{'s' if deleted > 1 else ''} '{ref}'",
                "subcode": 0}  # fmt: skip
    return {"code": 404, "message": str(NotFoundError(what, ref)), "subcode": 0}
