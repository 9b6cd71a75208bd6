"""Security actions across the layers: the request goes to a provider (a ``watchkeeper.actions``
plugin) that carries it out, and the action's status is what the provider reports. Every request
and cancellation is audited with its outcome; so is every status change a poll brings.

A provider that raises instead of reporting fails its action with errorInfo code 500 (the
exception is logged, not shown); what it wrote before raising is rolled back, the action stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.automation import (
    ActionProvider,
    ActionProviders,
    ActionRefused,
    BlockedAddress,
    ProviderReport,
    ResultInfo,
    SecurityActionRead,
    actions_statement,
    apply_report,
    blocked_addresses,
    create_action,
    find_action,
    indicators_touched,
    mark_cancelled,
    running_actions,
)
from watchkeeper.automation.models import SecurityActionRecord
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.flows.intel import mirror_indicators
from watchkeeper.intel import IndicatorRead, find_indicator
from watchkeeper.runtime import Runtime
from watchkeeper.state.odata import Field, ODataQuery, Page, select_page

__all__ = [
    "MAX_POLLS_PER_READ",
    "ActionRequest",
    "Requester",
    "action_providers",
    "cancel_action",
    "download_blocklist",
    "list_actions",
    "read_action",
    "request_action",
]

log = logging.getLogger(__name__)
# running actions polled before a list is read (least recently checked first); the rest are
# polled by later reads or when read one by one
MAX_POLLS_PER_READ = 50
_PROVIDERS: WeakKeyDictionary[Runtime, ActionProviders] = WeakKeyDictionary()


@dataclass(frozen=True)
class Requester:
    """Who asks: the audit actor (an app of a tenant) and the user the token names."""

    actor: Actor
    user: str | None

    @property
    def tenant_id(self) -> str:
        if self.actor.tenant_id is None:
            raise NotFoundError("securityAction", "*")  # no tenant, no actions
        return self.actor.tenant_id


@dataclass(frozen=True)
class ActionRequest:
    """A new action as asked for: ``parameters`` in the order given, ``provider`` from
    ``vendorInformation.provider`` when the caller names one."""

    name: str
    parameters: Sequence[tuple[str, str]]
    reason: str | None = None
    client_context: str | None = None
    provider: str | None = None


def action_providers(runtime: Runtime) -> ActionProviders:
    """The runtime's providers, loaded from the entry points on first use."""
    if runtime not in _PROVIDERS:
        _PROVIDERS[runtime] = ActionProviders.installed()
    return _PROVIDERS[runtime]


def _parameters(request: ActionRequest) -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in request.parameters:
        if name.casefold() in {known.casefold() for known in given}:
            raise InvalidRequestError(f"parameter {name!r} is given more than once")
        given[name] = value
    return given


def _guarded(
    provider: ActionProvider, session: Session, step: Callable[[], ProviderReport]
) -> ProviderReport:
    """The provider's report; a provider that raises fails the action, its writes rolled back."""
    try:
        with session.begin_nested():
            return step()
    except Exception:
        log.exception("security action provider %s failed", provider.name)
        return ProviderReport("Failed", error=ResultInfo(code=500, message=f"the provider {provider.name} failed; "
                                                                          "the server log has the details"))  # fmt: skip


def _audit(session: Session, who: Requester, action: str, found: SecurityActionRead, **detail: Any) -> None:
    record(session, actor=who.actor, action=action, outcome="success", target=f"securityAction:{found.id}",
           detail={"name": found.name, "provider": found.provider, "status": found.status, **detail})  # fmt: skip


def _refused(runtime: Runtime, who: Requester, action: str, target: str, reason: str) -> None:
    with runtime.database.session() as session:
        record(
            session,
            actor=who.actor,
            action=action,
            outcome="failure",
            target=target,
            detail={"reason": reason},
        )


def request_action(runtime: Runtime, who: Requester, request: ActionRequest) -> SecurityActionRead:
    """Store the action, hand it to its provider and record what the provider reports; audited.
    InvalidRequestError (nothing stored, the refusal audited) for an unknown action or provider, or
    parameters the provider will not take."""
    try:
        provider, name = action_providers(runtime).choose(request.name, request.provider)
        checked = provider.validate(name, _parameters(request))
    except InvalidRequestError as refused:
        _refused(runtime, who, "securityAction.create", f"securityAction:{request.name}", str(refused))
        raise
    with runtime.database.session() as session:
        action = create_action(session, tenant_id=who.tenant_id, name=name, provider=provider.name,
                               parameters=[{"name": k, "value": v} for k, v in checked.items()],
                               app_id=who.actor.id, user=who.user, reason=request.reason,
                               client_context=request.client_context)  # fmt: skip
        report = _guarded(provider, session, lambda: provider.start(action, session=session))
        started = apply_report(session, tenant_id=who.tenant_id, action_id=action.id, report=report,
                               app_id=who.actor.id, user=who.user)  # fmt: skip
        _audit(session, who, "securityAction.create", started, parameters=dict(checked))
    _mirror(runtime, started)
    return started


def _refresh(
    runtime: Runtime, session: Session, who: Requester, action: SecurityActionRead
) -> SecurityActionRead:
    """A running action as its provider reports it now (unchanged when the provider is gone)."""
    provider = action_providers(runtime).named(action.provider)
    if action.status != "Running" or action.cancelled_at is not None or provider is None:
        return action
    report = _guarded(provider, session, lambda: provider.poll(action, session=session))
    polled = apply_report(session, tenant_id=action.tenant_id, action_id=action.id, report=report,
                          app_id=action.app_id, user=action.user)  # fmt: skip
    if polled.status != action.status:
        _audit(session, who, "securityAction.update", polled, was=action.status)
    return polled


def read_action(runtime: Runtime, who: Requester, action_id: str) -> SecurityActionRead:
    """The tenant's action, polled if still running; NotFoundError for a missing or another
    tenant's."""
    with runtime.database.session() as session:
        found = find_action(session, tenant_id=who.tenant_id, action_id=action_id)
        if found is None:
            raise NotFoundError("securityAction", action_id)
        return _refresh(runtime, session, who, found)


def list_actions(
    runtime: Runtime, who: Requester, query: ODataQuery, fields: dict[str, Field]
) -> tuple[list[SecurityActionRead], Page]:
    """One page of the tenant's actions under the OData options (running ones polled first)."""
    with runtime.database.session() as session:
        for running in running_actions(session, tenant_id=who.tenant_id, limit=MAX_POLLS_PER_READ):
            _refresh(runtime, session, who, running)
    with runtime.database.session() as session:
        page = select_page(
            session, actions_statement(who.tenant_id), query, fields, key=SecurityActionRecord.__table__.c.id
        )
        return [SecurityActionRead.model_validate(row) for row in page.rows], page


def cancel_action(runtime: Runtime, who: Requester, action_id: str) -> SecurityActionRead:
    """Have the provider stop and undo the action, which then ends ``Failed`` with errorInfo saying
    it was cancelled (a second cancellation changes nothing); audited. NotFoundError for a missing
    or another tenant's action; ActionRefused (audited, nothing changed) when the provider cannot
    cancel it or is no longer installed."""
    try:
        return _cancel(runtime, who, action_id)
    except ActionRefused as refused:
        _refused(runtime, who, "securityAction.cancel", f"securityAction:{action_id}", str(refused))
        raise


def _cancel(runtime: Runtime, who: Requester, action_id: str) -> SecurityActionRead:
    with runtime.database.session() as session:
        found = find_action(session, tenant_id=who.tenant_id, action_id=action_id)
        if found is None:
            raise NotFoundError("securityAction", action_id)
        if found.cancelled_at is not None:
            return found
        _provider_cancel(runtime, session, found)
        cancelled = mark_cancelled(session, tenant_id=who.tenant_id, action_id=action_id, app_id=who.actor.id,
                                   user=who.user)  # fmt: skip
        _audit(session, who, "securityAction.cancel", cancelled, was=found.status)
    _mirror(runtime, cancelled)
    return cancelled


def _mirror(runtime: Runtime, action: SecurityActionRead) -> None:
    """The block indicators the action created or switched, into ThreatIntelligenceIndicator, as
    every indicator change is (so rules join events against what the blocklist holds)."""
    with runtime.database.session() as session:
        touched = indicators_touched(session, tenant_id=action.tenant_id, action_id=action.id)
        found = [find_indicator(session, tenant_id=action.tenant_id, owner_app=app, indicator_id=indicator)
                 for app, indicator in touched]  # fmt: skip
    mirror_indicators(runtime, action.tenant_id, [i for i in found if isinstance(i, IndicatorRead)])


def _provider_cancel(runtime: Runtime, session: Session, action: SecurityActionRead) -> None:
    provider = action_providers(runtime).named(action.provider)
    if provider is None:
        raise ActionRefused(
            f"the provider {action.provider} of this action is not installed; it cannot be cancelled"
        )
    with session.begin_nested():
        provider.cancel(action, session=session)


def download_blocklist(runtime: Runtime, who: Requester) -> list[BlockedAddress]:
    """The tenant's blocklist now (the built-in provider's); the download is audited."""
    with runtime.database.session() as session:
        listed = blocked_addresses(session, tenant_id=who.tenant_id)
        record(session, actor=who.actor, action="blocklist.download", outcome="success", target="blocklist",
               detail={"addresses": len(listed)})  # fmt: skip
    return listed
