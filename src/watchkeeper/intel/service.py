"""Threat indicators: created, read, changed and deleted by the app that owns them, within its
tenant (Graph's ``ThreatIndicators.ReadWrite.OwnedBy``: another app's or tenant's indicator is not
found, like a missing one). Every change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.errors import InvalidRequestError
from watchkeeper.intel.models import COLUMNS, DEFENDER, IndicatorRead, TiIndicatorRecord, iso
from watchkeeper.intel.validation import check_changes, check_new
from watchkeeper.state import utc_now
from watchkeeper.state.odata import Field, ODataQuery, Page, select_page

__all__ = [
    "DEFENDER_LIMIT",
    "create_indicator",
    "delete_by_external_id",
    "delete_indicator",
    "find_indicator",
    "list_indicators",
    "owned_indicators",
    "page_indicators",
    "read_indicator",
    "update_indicator",
]

# indicators a tenant may hold for the Defender target (Graph's documented limit)
DEFENDER_LIMIT = 15_000
_LISTS = frozenset({"tags", "killChain", "activityGroupNames", "malwareFamilyNames"})


def create_indicator(
    session: Session, *, tenant_id: str, owner_app: str, fields: Mapping[str, Any], actor: Actor,
    now: datetime | None = None,
) -> IndicatorRead:  # fmt: skip
    """Store a new indicator of ``owner_app`` from its Graph properties (camelCase); audited.
    InvalidRequestError naming the property when one is missing or wrong, or when the tenant
    already holds :data:`DEFENDER_LIMIT` Defender indicators; nothing is stored then."""
    values = check_new(fields)
    if values["targetProduct"] == DEFENDER:
        _check_room(session, tenant_id)
    now = now or utc_now()
    found = TiIndicatorRecord(
        tenant_id=tenant_id, owner_app=owner_app, ingested_at=now, updated_at=now, details={}
    )
    _store(found, values)
    session.add(found)
    session.flush()
    _audit(session, actor, "tiIndicator.create", found)
    return read_indicator(found)


def _check_room(session: Session, tenant_id: str) -> None:
    held = session.scalar(
        select(func.count()).where(
            TiIndicatorRecord.tenant_id == tenant_id, TiIndicatorRecord.target_product == DEFENDER
        )
    )
    if (held or 0) >= DEFENDER_LIMIT:
        raise InvalidRequestError(f"the tenant already holds {DEFENDER_LIMIT} indicators for {DEFENDER}, "
                                  "its limit; delete some before submitting more")  # fmt: skip


def owned_indicators(*, tenant_id: str, owner_app: str | None = None) -> Select[TiIndicatorRecord]:
    """The statement selecting the tenant's indicators (``owner_app``'s only, when given)."""
    statement = select(TiIndicatorRecord).where(TiIndicatorRecord.tenant_id == tenant_id)
    if owner_app is not None:
        statement = statement.where(TiIndicatorRecord.owner_app == owner_app)
    return statement


def list_indicators(
    session: Session, *, tenant_id: str, owner_app: str | None = None, active_only: bool = False,
    target_product: str | None = None, now: datetime | None = None, limit: int | None = None,
) -> list[IndicatorRead]:  # fmt: skip
    """The tenant's indicators (of one app, when given), oldest first; ``active_only`` keeps those
    active and not expired at ``now``."""
    statement = owned_indicators(tenant_id=tenant_id, owner_app=owner_app)
    if active_only:
        moment = now or utc_now()
        statement = statement.where(TiIndicatorRecord.is_active.is_(True),
                                    or_(TiIndicatorRecord.expiration.is_(None),
                                        TiIndicatorRecord.expiration > moment))  # fmt: skip
    if target_product is not None:
        statement = statement.where(TiIndicatorRecord.target_product == target_product)
    statement = statement.order_by(TiIndicatorRecord.ingested_at, TiIndicatorRecord.id).limit(limit)
    return [read_indicator(found) for found in session.scalars(statement)]


def page_indicators(
    session: Session, *, tenant_id: str, owner_app: str, query: ODataQuery, fields: Mapping[str, Field]
) -> tuple[list[IndicatorRead], Page]:
    """One page of ``owner_app``'s indicators under ``query`` (filter, order, paging), oldest first
    unless it orders them otherwise."""
    statement = owned_indicators(tenant_id=tenant_id, owner_app=owner_app).order_by(
        TiIndicatorRecord.ingested_at
    )
    page = select_page(session, statement, query, fields, key=TiIndicatorRecord.id)
    return [read_indicator(found) for found in page.rows], page


def find_indicator(
    session: Session, *, tenant_id: str, owner_app: str, indicator_id: str
) -> IndicatorRead | None:
    """``owner_app``'s indicator ``indicator_id`` in the tenant, or None."""
    found = _owned(session, tenant_id, owner_app, indicator_id)
    return read_indicator(found) if found is not None else None


def update_indicator(
    session: Session, *, tenant_id: str, owner_app: str, indicator_id: str, changes: Mapping[str, Any],
    actor: Actor, now: datetime | None = None,
) -> IndicatorRead | None:  # fmt: skip
    """Change editable properties of ``owner_app``'s indicator (None if it has none such);
    audited. InvalidRequestError naming a property that cannot change or a wrong value."""
    found = _owned(session, tenant_id, owner_app, indicator_id)
    if found is None:
        return None
    checked = check_changes(read_indicator(found).properties, changes)
    _store(found, checked)
    found.updated_at = now or utc_now()
    session.flush()
    _audit(session, actor, "tiIndicator.update", found, changed=sorted(checked))
    return read_indicator(found)


def delete_indicator(
    session: Session, *, tenant_id: str, owner_app: str, indicator_id: str, actor: Actor
) -> IndicatorRead | None:
    """Delete ``owner_app``'s indicator (returned as it was; None if it has none such); audited."""
    found = _owned(session, tenant_id, owner_app, indicator_id)
    if found is None:
        return None
    gone = read_indicator(found)
    session.delete(found)
    session.flush()
    _audit(session, actor, "tiIndicator.delete", found)
    return gone


def delete_by_external_id(
    session: Session, *, tenant_id: str, owner_app: str, external_id: str, actor: Actor
) -> list[IndicatorRead]:
    """Delete ``owner_app``'s indicators with ``external_id`` (returned as they were); audited."""
    statement = owned_indicators(tenant_id=tenant_id, owner_app=owner_app)
    matching = list(session.scalars(statement.where(TiIndicatorRecord.external_id == external_id)))
    gone = [read_indicator(found) for found in matching]
    for found in matching:
        session.delete(found)
        _audit(session, actor, "tiIndicator.delete", found)
    session.flush()
    return gone


def read_indicator(found: TiIndicatorRecord) -> IndicatorRead:
    """The read model of a stored indicator."""
    properties: dict[str, Any] = {}
    for name, column in COLUMNS.items():
        value = getattr(found, column)
        if value is not None:
            properties[name] = iso(value) if isinstance(value, datetime) else value
    return IndicatorRead(
        id=found.id, tenant_id=found.tenant_id, owner_app=found.owner_app, action=found.action,
        target_product=found.target_product, external_id=found.external_id, expiration=found.expiration,
        is_active=found.is_active, ingested_at=found.ingested_at, updated_at=found.updated_at,
        properties=properties | dict(found.details),
    )  # fmt: skip


def _store(found: TiIndicatorRecord, values: Mapping[str, Any]) -> None:
    details = dict(found.details or {})
    for name, value in values.items():
        column = COLUMNS.get(name)
        if column is not None:
            setattr(found, column, [] if value is None and name in _LISTS else value)
        elif value is None:
            details.pop(name, None)
        else:
            details[name] = iso(value) if isinstance(value, datetime) else value
    found.details = details


def _owned(session: Session, tenant_id: str, owner_app: str, indicator_id: str) -> TiIndicatorRecord | None:
    found = session.get(TiIndicatorRecord, indicator_id)
    return (
        found if found is not None and (found.tenant_id, found.owner_app) == (tenant_id, owner_app) else None
    )


def _audit(session: Session, actor: Actor, action: str, found: TiIndicatorRecord, **detail: Any) -> None:
    record(session, actor=actor, action=action, outcome="success", target=found.id, tenant_id=found.tenant_id,
           detail={"targetProduct": found.target_product, "externalId": found.external_id, **detail})  # fmt: skip
