"""Working threat indicators across the layers: each change is made in the state database and
appended as a row to the ``ThreatIntelligenceIndicator`` table of every workspace of the tenant,
so that KQL rules in any of them join on the latest indicators (the API comes through here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.audit import Actor, record
from watchkeeper.directory import list_workspaces
from watchkeeper.errors import InvalidRequestError, NotFoundError, WatchkeeperError
from watchkeeper.intel import (
    IndicatorRead,
    create_indicator,
    delete_by_external_id,
    delete_indicator,
    find_indicator,
    update_indicator,
)
from watchkeeper.intel.mirror import indicator_row
from watchkeeper.intel.service import page_indicators
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now
from watchkeeper.state.odata import Field, ODataQuery, Page

__all__ = [
    "TABLE",
    "change_indicators",
    "indicator_page",
    "mirror_indicators",
    "owned_indicator",
    "remove_by_external_id",
    "remove_indicators",
    "submit_indicators",
]

TABLE = "ThreatIntelligenceIndicator"


def mirror_indicators(
    runtime: Runtime, tenant_id: str, indicators: Sequence[IndicatorRead], *, deleted: bool = False
) -> None:
    """Append the indicators' current state to every workspace of ``tenant_id``."""
    if not indicators:
        return
    now = utc_now()
    rows = [indicator_row(indicator, now=now, deleted=deleted) for indicator in indicators]
    with runtime.database.session() as session:
        workspaces = list_workspaces(session, tenant_id=tenant_id)
    for workspace in workspaces:
        runtime.workspaces.get(workspace).ingest(TABLE, rows)


def indicator_page(
    runtime: Runtime, tenant_id: str, owner_app: str, query: ODataQuery, fields: Mapping[str, Field]
) -> tuple[list[IndicatorRead], Page]:
    """One page of ``owner_app``'s indicators in its tenant under ``query``."""
    with runtime.database.session() as session:
        return page_indicators(session, tenant_id=tenant_id, owner_app=owner_app, query=query, fields=fields)


def owned_indicator(runtime: Runtime, tenant_id: str, owner_app: str, indicator_id: str) -> IndicatorRead:
    """``owner_app``'s indicator; NotFoundError alike when it is missing or another app's or tenant's."""
    with runtime.database.session() as session:
        found = find_indicator(session, tenant_id=tenant_id, owner_app=owner_app, indicator_id=indicator_id)
    if found is None:
        raise NotFoundError("tiIndicator", indicator_id)
    return found


def submit_indicators(
    runtime: Runtime, actor: Actor, tenant_id: str, owner_app: str, items: Sequence[Mapping[str, Any]]
) -> list[IndicatorRead | InvalidRequestError]:
    """Create one indicator per item, in order: each the stored indicator, or the error that kept
    that item out (the others are stored all the same); the stored ones are mirrored."""
    outcomes: list[IndicatorRead | InvalidRequestError] = []
    with runtime.database.session() as session:
        for item in items:
            try:
                outcomes.append(create_indicator(session, tenant_id=tenant_id, owner_app=owner_app, fields=item,
                                                 actor=actor))  # fmt: skip
            except InvalidRequestError as exc:
                record(session, actor=actor, action="tiIndicator.create", outcome="failure", tenant_id=tenant_id,
                       detail={"error": str(exc)})  # fmt: skip
                outcomes.append(exc)
    mirror_indicators(runtime, tenant_id, [o for o in outcomes if isinstance(o, IndicatorRead)])
    return outcomes


def change_indicators(
    runtime: Runtime,
    actor: Actor,
    tenant_id: str,
    owner_app: str,
    changes: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[IndicatorRead | WatchkeeperError]:
    """Apply each ``(id, changes)`` to ``owner_app``'s indicator, in order: each the changed
    indicator, or why it was not changed (NotFoundError, InvalidRequestError); mirrored."""
    outcomes: list[IndicatorRead | WatchkeeperError] = []
    with runtime.database.session() as session:
        for indicator_id, change in changes:
            try:
                changed = update_indicator(session, tenant_id=tenant_id, owner_app=owner_app,
                                           indicator_id=indicator_id, changes=change, actor=actor)  # fmt: skip
            except InvalidRequestError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(changed if changed is not None else NotFoundError("tiIndicator", indicator_id))
    mirror_indicators(runtime, tenant_id, [o for o in outcomes if isinstance(o, IndicatorRead)])
    return outcomes


def remove_indicators(
    runtime: Runtime, actor: Actor, tenant_id: str, owner_app: str, ids: Sequence[str]
) -> list[IndicatorRead | None]:
    """Delete ``owner_app``'s indicators by id, in order: each the deleted indicator or None when
    the app has none such; the deletions are mirrored (``Active == false``)."""
    with runtime.database.session() as session:
        gone = [delete_indicator(session, tenant_id=tenant_id, owner_app=owner_app, indicator_id=indicator_id,
                                 actor=actor) for indicator_id in ids]  # fmt: skip
    mirror_indicators(runtime, tenant_id, [g for g in gone if g is not None], deleted=True)
    return gone


def remove_by_external_id(
    runtime: Runtime, actor: Actor, tenant_id: str, owner_app: str, external_ids: Sequence[str]
) -> list[list[IndicatorRead]]:
    """Delete ``owner_app``'s indicators by external id: per external id, the deleted ones; mirrored."""
    with runtime.database.session() as session:
        gone = [delete_by_external_id(session, tenant_id=tenant_id, owner_app=owner_app, external_id=external_id,
                                      actor=actor) for external_id in external_ids]  # fmt: skip
    mirror_indicators(runtime, tenant_id, [indicator for group in gone for indicator in group], deleted=True)
    return gone
