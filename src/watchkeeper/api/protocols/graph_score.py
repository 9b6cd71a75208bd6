"""Graph's secure score shapes (``graph-security-api.md`` section 6): ``secureScore`` and
``secureScoreControlProfile`` as JSON, the collection envelope with its paging link, and the PATCH
body of a control profile read into a :class:`~watchkeeper.flows.posture.ControlChange`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from watchkeeper.errors import InvalidRequestError
from watchkeeper.flows.posture import ControlChange, ControlProfile
from watchkeeper.posture import STATES, SnapshotRead

__all__ = [
    "VENDOR",
    "control_profile_json",
    "parse_control_change",
    "secure_score_json",
]

# the vendorInformation of every secure score object; a PATCH must name the provider
PROVIDER = "SecureScore"
VENDOR = {"provider": PROVIDER, "providerVersion": None, "subProvider": None, "vendor": "watchkeeper"}
MAX_ASSIGNED_TO = 256
MAX_COMMENT = 4000
_EDITABLE = ("assignedTo", "comment", "state")


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _control_score(stored: Mapping[str, Any]) -> dict[str, Any]:
    maximum = float(stored["maxScore"]) or 1.0
    return {"@odata.type": "#microsoft.graph.controlScore", "controlCategory": stored["category"],
            "controlName": stored["control"], "description": stored["description"], "score": stored["score"],
            # open-type extras, as Microsoft's service returns them
            "scoreInPercentage": round(100 * float(stored["score"]) / maximum, 2), "count": stored["passed"],
            "total": stored["total"], "controlState": stored["state"]}  # fmt: skip


def secure_score_json(snapshot: SnapshotRead) -> dict[str, Any]:
    """A snapshot as ``microsoft.graph.secureScore``."""
    return {
        "@odata.type": "#microsoft.graph.secureScore",
        "id": snapshot.id,
        "azureTenantId": snapshot.tenant_id,
        "activeUserCount": snapshot.active_user_count,
        "licensedUserCount": snapshot.licensed_user_count,
        "createdDateTime": _time(snapshot.created_at),
        "currentScore": snapshot.current_score,
        "maxScore": snapshot.max_score,
        "enabledServices": list(snapshot.enabled_services),
        "averageComparativeScores": [
            {"@odata.type": "#microsoft.graph.averageComparativeScore", **entry}
            for entry in snapshot.average_comparative_scores
        ],
        "controlScores": [_control_score(entry) for entry in snapshot.control_scores],
        "vendorInformation": dict(VENDOR),
    }


def control_profile_json(profile: ControlProfile) -> dict[str, Any]:
    """A control as ``microsoft.graph.secureScoreControlProfile`` for the profile's tenant."""
    control, last = profile.control, (profile.updates[-1] if profile.updates else None)
    return {
        "@odata.type": "#microsoft.graph.secureScoreControlProfile",
        "id": control.id, "azureTenantId": profile.tenant_id, "title": control.title,
        "controlCategory": control.category, "actionType": control.action_type, "actionUrl": control.action_url,
        "maxScore": control.max_score, "rank": control.rank, "tier": control.tier, "service": control.service,
        "remediation": control.remediation, "remediationImpact": control.remediation_impact,
        "userImpact": control.user_impact, "implementationCost": control.implementation_cost,
        "threats": list(control.threats), "deprecated": False, "complianceInformation": [],
        "lastModifiedDateTime": _time(last.updated_at) if last else None,
        "controlStateUpdates": [{"assignedTo": u.assigned_to, "comment": u.comment, "state": u.state,
                                 "updatedBy": u.updated_by, "updatedDateTime": _time(u.updated_at)}
                                for u in profile.updates],
        "vendorInformation": dict(VENDOR),
    }  # fmt: skip


def _text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequestError(f"{name} must be a string of at most {limit} characters")
    return value


def _state(value: Any) -> str | None:
    if value is None:
        return None
    canonical = {s.lower(): s for s in STATES}  # enum values are accepted in any case
    if not isinstance(value, str) or value.lower() not in canonical:
        raise InvalidRequestError(f"state must be one of {', '.join(STATES)}, not {value!r}")
    return canonical[value.lower()]


def _check_vendor(body: Mapping[str, Any]) -> None:
    vendor = body.get("vendorInformation")
    if not isinstance(vendor, dict) or not vendor.get("provider") or not vendor.get("vendor"):
        raise InvalidRequestError("vendorInformation with provider and vendor is required")
    if str(vendor["provider"]).lower() != PROVIDER.lower():
        raise InvalidRequestError(
            f"vendorInformation.provider must be {PROVIDER!r}, not {vendor['provider']!r}"
        )


def _fields(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The editable fields: top level, as the Graph reference documents, or as the one entry of
    ``controlStateUpdates`` (how an SDK model carries them)."""
    updates = body.get("controlStateUpdates")
    if updates is None:
        return body
    if not isinstance(updates, list) or len(updates) != 1 or not isinstance(updates[0], dict):
        raise InvalidRequestError("controlStateUpdates must hold exactly one update")
    if any(name in body for name in _EDITABLE):
        raise InvalidRequestError(
            "give assignedTo, comment and state either at the top level or in controlStateUpdates"
        )
    return dict(updates[0])


def parse_control_change(body: Any) -> ControlChange:
    """The PATCH body of a control profile: ``assignedTo``, ``comment``, ``state`` and the required
    ``vendorInformation``; any other property is read-only and refused by name."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    _check_vendor(body)
    allowed = {*_EDITABLE, "vendorInformation", "controlStateUpdates", "id"}
    refused = sorted(k for k in body if k not in allowed and not k.startswith("@odata."))
    if refused:
        raise InvalidRequestError(f"read-only or unknown properties: {', '.join(refused)}; "
                                  f"a control profile's editable properties are {', '.join(_EDITABLE)}")  # fmt: skip
    fields = _fields(body)
    if fields is not body:
        extra = sorted(k for k in fields if k not in (*_EDITABLE, "updatedBy", "updatedDateTime")
                       and not k.startswith("@odata."))  # fmt: skip
        if extra:
            raise InvalidRequestError(f"unknown properties in the update: {', '.join(extra)}")
    change = ControlChange(_state(fields.get("state")), _text(fields, "assignedTo", MAX_ASSIGNED_TO),
                           _text(fields, "comment", MAX_COMMENT))  # fmt: skip
    if change == ControlChange():
        raise InvalidRequestError("nothing to change: give assignedTo, comment or state")
    return change
