"""Storing security actions and what their providers report, and finding the provider of an action.

Functions take the session of the request (keyword-only); the caller audits. The status moves
``NotStarted`` -> ``Running`` -> ``Completed`` / ``Failed`` as the provider reports; each change is
appended to the action's ``states`` with the app and user whose request brought it about. A
cancelled action ends ``Failed`` with :data:`CANCELLED_CODE` in its ``errorInfo`` (Graph's
operationStatus has no cancelled member).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from watchkeeper.automation.actions.base import ActionProvider, ProviderReport, canonical_name
from watchkeeper.automation.actions.blocklist import BlocklistProvider
from watchkeeper.automation.models import ResultInfo, SecurityActionRead, SecurityActionRecord
from watchkeeper.errors import InvalidRequestError
from watchkeeper.plugins import load_plugins
from watchkeeper.state import utc_now

__all__ = [
    "CANCELLED_CODE",
    "ENTRY_POINT_GROUP",
    "ActionProviders",
    "actions_statement",
    "apply_report",
    "create_action",
    "find_action",
    "mark_cancelled",
    "running_actions",
]

ENTRY_POINT_GROUP = "watchkeeper.actions"
# errorInfo.code of a cancelled action: the requester withdrew it (HTTP's 499, "client closed request")
CANCELLED_CODE = 499
FINAL = frozenset({"Completed", "Failed"})


class ActionProviders:
    """The installed providers, by name; an action goes to the first (in name order) that takes it,
    unless the request names one in ``vendorInformation.provider``."""

    def __init__(self, providers: Iterable[ActionProvider]) -> None:
        self._providers: dict[str, ActionProvider] = {p.name: p for p in providers}

    @classmethod
    def installed(cls) -> ActionProviders:
        """The providers of the ``watchkeeper.actions`` entry points; the built-in one is there even
        when the package's entry points are not installed (an editable checkout run from source)."""
        found = load_plugins(ENTRY_POINT_GROUP, ActionProvider)
        found.setdefault(BlocklistProvider.name, BlocklistProvider())
        return cls(found.values())

    def add(self, provider: ActionProvider) -> None:
        """Install one more provider (it replaces one of the same name)."""
        self._providers[provider.name] = provider

    def remove(self, name: str) -> None:
        self._providers.pop(name, None)

    def named(self, name: str) -> ActionProvider | None:
        return self._providers.get(name)

    def known_actions(self) -> list[str]:
        """Every action name some provider takes."""
        return sorted({action for p in self._providers.values() for action in p.actions}, key=str.casefold)

    def choose(self, name: str, provider: str | None) -> tuple[ActionProvider, str]:
        """The provider for an action of ``name`` and its spelling of the name; InvalidRequestError
        naming the known actions (or providers) when there is none."""
        candidates = (
            sorted(self._providers.items()) if provider is None else [(provider, self.named(provider))]
        )
        for _, found in candidates:
            if found is not None and (canonical := canonical_name(found, name)) is not None:
                return found, canonical
        if provider is not None and self.named(provider) is None:
            raise InvalidRequestError(f"vendorInformation.provider {provider!r} is not a provider here; "
                                      f"known providers: {sorted(self._providers)}")  # fmt: skip
        raise InvalidRequestError(f"unknown security action {name!r}; known actions: {self.known_actions()}")


def _read(record: SecurityActionRecord) -> SecurityActionRead:
    return SecurityActionRead.model_validate(record)


def _state(app_id: str, status: str, user: str | None, at: datetime) -> dict[str, Any]:
    return {"appId": app_id, "status": status, "updatedDateTime": at.isoformat(), "user": user}


def create_action(
    session: Session, *, tenant_id: str, name: str, parameters: Sequence[dict[str, str]], provider: str,
    app_id: str, user: str | None, reason: str | None = None, client_context: str | None = None,
) -> SecurityActionRead:  # fmt: skip
    """Store a new action, ``NotStarted``."""
    now = utc_now()
    record = SecurityActionRecord(
        tenant_id=tenant_id, name=name, parameters=list(parameters), provider=provider, app_id=app_id,
        user=user, action_reason=reason, client_context=client_context, status="NotStarted",
        states=[_state(app_id, "NotStarted", user, now)], created_at=now, last_action_at=now,
    )  # fmt: skip
    session.add(record)
    session.flush()
    return _read(record)


def _record(session: Session, tenant_id: str, action_id: str) -> SecurityActionRecord | None:
    found = session.get(SecurityActionRecord, action_id)
    return found if found is not None and found.tenant_id == tenant_id else None


def find_action(session: Session, *, tenant_id: str, action_id: str) -> SecurityActionRead | None:
    """The tenant's action of this id (None for another tenant's: not found, like a missing one)."""
    found = _record(session, tenant_id, action_id)
    return _read(found) if found is not None else None


def _move(record: SecurityActionRecord, status: str, *, app_id: str, user: str | None) -> None:
    now = utc_now()
    record.last_action_at = now
    if status != record.status:
        record.status = status
        record.states = [*record.states, _state(app_id, status, user, now)]
    if status in FINAL and record.completed_at is None:
        record.completed_at = now


def apply_report(
    session: Session, *, tenant_id: str, action_id: str, report: ProviderReport, app_id: str, user: str | None
) -> SecurityActionRead:
    """Record what the provider said about the action (``Running`` first, when a provider finishes
    an action as it starts, so the history shows both)."""
    record = _record(session, tenant_id, action_id)
    if record is None:
        raise LookupError(action_id)  # the caller just read it in this transaction
    if record.status == "NotStarted" and report.status != "Running":
        _move(record, "Running", app_id=app_id, user=user)
    _move(record, report.status, app_id=app_id, user=user)
    record.error_info = report.error.model_dump() if report.error is not None else None
    record.provider_ref = report.reference if report.reference is not None else record.provider_ref
    session.flush()
    return _read(record)


def mark_cancelled(
    session: Session, *, tenant_id: str, action_id: str, app_id: str, user: str | None
) -> SecurityActionRead:
    """The action ends ``Failed``, its errorInfo saying who cancelled it and when."""
    record = _record(session, tenant_id, action_id)
    if record is None:
        raise LookupError(action_id)
    now = utc_now()
    message = f"cancelled by app {app_id} at {now.isoformat()}; the provider undid what it had done"
    _move(record, "Failed", app_id=app_id, user=user)
    record.error_info = ResultInfo(code=CANCELLED_CODE, message=message).model_dump()
    record.cancelled_at = now
    session.flush()
    return _read(record)


def actions_statement(tenant_id: str) -> Select[SecurityActionRecord]:
    """The tenant's actions, for listing with OData options."""
    return select(SecurityActionRecord).where(SecurityActionRecord.tenant_id == tenant_id)


def running_actions(session: Session, *, tenant_id: str, limit: int) -> list[SecurityActionRead]:
    """The tenant's actions still ``Running``, least recently checked first, at most ``limit``."""
    query = (
        actions_statement(tenant_id)
        .where(SecurityActionRecord.status == "Running")
        .order_by(SecurityActionRecord.last_action_at, SecurityActionRecord.id)
        .limit(limit)
    )
    return [_read(record) for record in session.scalars(query)]
