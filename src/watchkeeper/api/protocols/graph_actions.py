"""``securityAction`` on the wire (beta; ``../shared/specs/graph-security-api.md`` section 6): the
create body checked into an :class:`~watchkeeper.flows.actions.ActionRequest`, an action as Graph
writes it, and the properties ``$filter``/``$orderby`` can use.

The caller gives ``name``, ``parameters`` and optionally ``actionReason``, ``clientContext`` and
``vendorInformation.provider`` (the provider to carry it out); ``appId``, ``azureTenantId`` and
``user`` come from the token and everything else from the server, so a body that sets them is
refused, naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from watchkeeper.automation import ACTION_STATUSES, SecurityActionRead, SecurityActionRecord
from watchkeeper.errors import InvalidRequestError
from watchkeeper.flows.actions import ActionRequest
from watchkeeper.state.odata import Field

__all__ = ["CONTEXT", "FIELDS", "MAX_PARAMETERS", "action_json", "action_request"]

CONTEXT = "security/securityActions"
MAX_PARAMETERS = 20
MAX_CLIENT_CONTEXT = 256  # the spec's limit
MAX_TEXT = 1024  # actionReason, a parameter's value
MAX_NAME = 64  # an action's or a parameter's name
_GIVEN = frozenset({"name", "parameters", "actionReason", "clientContext", "vendorInformation"})
_SERVER_SET = frozenset({"id", "appId", "azureTenantId", "user", "status", "states", "errorInfo",
                         "createdDateTime", "completedDateTime", "lastActionDateTime"})  # fmt: skip


def _status(value: Any) -> Any:
    # enum literals are accepted in any case; the stored spelling is Graph's
    known = {status.casefold(): status for status in ACTION_STATUSES}
    text = str(value)
    if text.casefold() not in known:
        raise InvalidRequestError(f"status {text!r} is not one of {list(ACTION_STATUSES)}")
    return known[text.casefold()]


_COLUMNS = SecurityActionRecord.__table__.c
FIELDS: dict[str, Field] = {
    "id": Field(_COLUMNS.id, "string"),
    "name": Field(_COLUMNS.name, "string"),
    "status": Field(_COLUMNS.status, "enum", encode=_status),
    "actionReason": Field(_COLUMNS.action_reason, "string"),
    "appId": Field(_COLUMNS.app_id, "string"),
    "azureTenantId": Field(_COLUMNS.tenant_id, "string"),
    "clientContext": Field(_COLUMNS.client_context, "string"),
    "user": Field(_COLUMNS.user, "string"),
    "createdDateTime": Field(_COLUMNS.created_at, "datetime"),
    "completedDateTime": Field(_COLUMNS.completed_at, "datetime"),
    "lastActionDateTime": Field(_COLUMNS.last_action_at, "datetime"),
    "vendorInformation/provider": Field(_COLUMNS.provider, "string"),
    "parameters": Field(_COLUMNS.parameters, "objects", sortable=False),
    "states": Field(_COLUMNS.states, "objects", sortable=False),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def _state_json(state: Mapping[str, Any]) -> dict[str, Any]:
    moment = datetime.fromisoformat(str(state["updatedDateTime"]))
    return {"appId": state.get("appId"), "status": state.get("status"), "updatedDateTime": _iso(moment),
            "user": state.get("user")}  # fmt: skip


def action_json(action: SecurityActionRead, *, vendor: str) -> dict[str, Any]:
    """The ``securityAction`` body; ``vendor`` is the vendor of the action's provider."""
    error = action.error_info
    return {
        "@odata.type": "#microsoft.graph.securityAction",
        "id": action.id,
        "name": action.name,
        "actionReason": action.action_reason,
        "appId": action.app_id,
        "azureTenantId": action.tenant_id,
        "clientContext": action.client_context,
        "createdDateTime": _iso(action.created_at),
        "completedDateTime": _iso(action.completed_at),
        "lastActionDateTime": _iso(action.last_action_at),
        "errorInfo": {
            "code": error.get("code"),
            "message": error.get("message"),
            "subcode": error.get("subcode"),
        }
        if error is not None
        else None,
        "parameters": [{"name": p.get("name"), "value": p.get("value")} for p in action.parameters],
        "states": [_state_json(state) for state in action.states],
        "status": action.status,
        "user": action.user,
        "vendorInformation": {
            "provider": action.provider,
            "providerVersion": None,
            "subProvider": None,
            "vendor": vendor,
        },
    }


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"securityAction property {name!r} must be a non-empty string")
    if len(value) > limit:
        raise InvalidRequestError(
            f"securityAction property {name!r} is {len(value)} characters; at most {limit}"
        )
    return value


def _parameter(item: Any, index: int) -> tuple[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise InvalidRequestError(f"parameters[{index}] must be an object with a non-empty string 'name'")
    value = item.get("value")
    if not isinstance(value, str) or len(value) > MAX_TEXT or len(item["name"]) > MAX_NAME:
        raise InvalidRequestError(f"parameters[{index}] ({item['name'][:MAX_NAME]!r}) needs a string 'value' "
                                  f"of at most {MAX_TEXT} characters and a name of at most {MAX_NAME}")  # fmt: skip
    return item["name"].strip(), value


def _parameters(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = body.get("parameters")
    if not isinstance(given, list) or not given:
        raise InvalidRequestError("securityAction property 'parameters' is required: a list of {name, value}, "
                                  'e.g. [{"name": "IP", "value": "192.0.2.1"}]')  # fmt: skip
    if len(given) > MAX_PARAMETERS:
        raise InvalidRequestError(
            f"securityAction takes at most {MAX_PARAMETERS} parameters, not {len(given)}"
        )
    return [_parameter(item, index) for index, item in enumerate(given)]


def _provider(body: Mapping[str, Any]) -> str | None:
    vendor = body.get("vendorInformation")
    if vendor is None:
        return None
    if not isinstance(vendor, dict):
        raise InvalidRequestError("securityAction property 'vendorInformation' must be an object")
    return _text(vendor, "provider", MAX_NAME)


def _check_names(body: Mapping[str, Any]) -> None:
    names = {name for name in body if not name.startswith("@odata.")}
    if server_set := sorted(names & _SERVER_SET):
        raise InvalidRequestError(
            f"securityAction properties {server_set} are set by the server, not the caller"
        )
    if unknown := sorted(names - _GIVEN):
        raise InvalidRequestError(
            f"unknown securityAction properties {unknown}; a request gives {sorted(_GIVEN)}"
        )


def action_request(body: Any) -> ActionRequest:
    """The action a create body asks for; InvalidRequestError naming the property that is wrong."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a securityAction JSON object")
    _check_names(body)
    name = _text(body, "name", MAX_NAME, required=True)
    assert name is not None  # required
    return ActionRequest(
        name=name.strip(),
        parameters=_parameters(body),
        reason=_text(body, "actionReason", MAX_TEXT),
        client_context=_text(body, "clientContext", MAX_CLIENT_CONTEXT),
        provider=_provider(body),
    )
