"""Secure score across the layers: the controls' KQL checks run over every workspace of a tenant,
their counts add up into the tenant's daily snapshot, and administrators set control states
(``graph-security-api.md`` section 6). Snapshots and state changes are audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from watchkeeper.audit import Actor, record
from watchkeeper.directory import TenantRead, WorkspaceRead, list_tenants, list_workspaces
from watchkeeper.errors import InvalidRequestError, NotFoundError, WatchkeeperError
from watchkeeper.posture import (
    STATES,
    Control,
    ControlScore,
    ControlStateRead,
    Measure,
    SnapshotFacts,
    SnapshotRead,
    control_states,
    find_snapshot,
    has_snapshot,
    load_controls,
    record_control_state,
    save_snapshot,
    score_control,
    snapshots_page,
)
from watchkeeper.runtime import Runtime
from watchkeeper.state.odata import ODataQuery, Page
from watchkeeper.store.base import QueryLimits
from watchkeeper.workspace import Workspace

__all__ = [
    "ControlChange",
    "ControlProfile",
    "change_control",
    "control_profile",
    "control_profiles",
    "score",
    "scores",
    "take_missing_snapshots",
    "take_snapshot",
]

log = logging.getLogger(__name__)

_CHECK_TIMEOUT = 60.0  # seconds a control's check may run, whatever the workspace's limit for callers

# users who signed in over the last 30 days (activeUserCount: successfully); summed over workspaces
_USERS = """SigninLogs
| where TimeGenerated > ago(30d) and isnotempty(UserPrincipalName)
| summarize active = dcountif(tolower(UserPrincipalName), ResultType == "0"), seen = dcount(tolower(UserPrincipalName))"""


@dataclass(frozen=True)
class ControlProfile:
    """A control as one tenant sees it: its definition and the state changes made to it."""

    tenant_id: str
    control: Control
    updates: tuple[ControlStateRead, ...]

    @property
    def state(self) -> str:
        return self.updates[-1].state if self.updates else "Default"


@dataclass(frozen=True)
class ControlChange:
    """A PATCH of a control profile: fields left None keep their current value."""

    state: str | None = None
    assigned_to: str | None = None
    comment: str | None = None


def _count(workspace: Workspace, text: str, now: datetime) -> tuple[int, int]:
    # the checks are the server's own one-row aggregates, not bound by the limit set for callers
    limits = QueryLimits(max_rows=1, timeout=max(workspace.limits.timeout, _CHECK_TIMEOUT))
    row = workspace.query(text, now=now, limits=limits).rows
    first, second = (row[0] if row else (0, 0))[:2]
    return int(first or 0), int(second or 0)


def _measure(runtime: Runtime, stores: list[tuple[WorkspaceRead, Workspace]], control: Control,
             now: datetime, failures: list[str]) -> Measure:  # fmt: skip
    total = Measure()
    for record_, store in stores:
        try:
            total += Measure(*_count(store, control.check, now))
        except WatchkeeperError as exc:  # a shipped check that fails is a defect: scored as no data, logged
            log.warning("secure score: check %s failed on workspace %s: %s", control.id, record_.id, exc)
            failures.append(f"{control.id}@{record_.name}: {type(exc).__name__}")
    return total


def _users(stores: list[tuple[WorkspaceRead, Workspace]], now: datetime) -> tuple[int, int]:
    active = seen = 0
    for _, store in stores:
        counted = _count(store, _USERS, now)
        active, seen = active + counted[0], seen + counted[1]
    return active, seen


def _evaluate(runtime: Runtime, tenant_id: str, now: datetime, states: dict[str, str]) -> tuple[
        list[ControlScore], SnapshotFacts, list[str]]:  # fmt: skip
    with runtime.database.session() as session:
        workspaces = list_workspaces(session, tenant_id=tenant_id)
    stores = [(w, runtime.workspaces.get(w)) for w in workspaces]
    failures: list[str] = []
    with runtime.gate.slot(tenant_id):
        measures = {c.id: _measure(runtime, stores, c, now, failures) for c in load_controls()}
        active, seen = _users(stores, now)
    scores = [score_control(c, measures[c.id], states.get(c.id, "Default")) for c in load_controls()]
    services = sorted({c.service for c in load_controls() if c.has_data(measures[c.id])})
    return scores, SnapshotFacts(now, active, seen, tuple(services)), failures


def take_snapshot(
    runtime: Runtime, actor: Actor, tenant_id: str, *, now: datetime | None = None
) -> SnapshotRead:
    """Score the tenant now (or at ``now``) and record it as that day's snapshot, replacing an
    earlier one of the same day; audited as ``score.snapshot``."""
    now = now or datetime.now(UTC)
    with runtime.database.session() as session:
        states = {c: updates[-1].state for c, updates in control_states(session, tenant_id=tenant_id).items()}
    scores, facts, failures = _evaluate(runtime, tenant_id, now, states)
    try:
        saved = _save(runtime, tenant_id, scores, facts, states)
    except IntegrityError:  # another node stored the same day at the same moment: ours replaces it
        saved = _save(runtime, tenant_id, scores, facts, states)
    detail = {"currentScore": saved.current_score, "maxScore": saved.max_score, "failedChecks": failures}
    with runtime.database.session() as session:
        record(session, actor=actor, action="score.snapshot", outcome="success", target=saved.id,
               tenant_id=tenant_id, detail=detail)  # fmt: skip
    return saved


def _save(runtime: Runtime, tenant_id: str, scores: list[ControlScore], facts: SnapshotFacts,
          states: dict[str, str]) -> SnapshotRead:  # fmt: skip
    with runtime.database.session() as session:
        return save_snapshot(session, tenant_id=tenant_id, scores=scores, facts=facts, states=states)


def take_missing_snapshots(runtime: Runtime, *, now: datetime | None = None) -> int:
    """The daily snapshot: every tenant without one for today gets one; returns how many were taken.
    A tenant whose scoring fails is logged and skipped (the next run tries again)."""
    now = now or datetime.now(UTC)
    with runtime.database.session() as session:
        due: list[TenantRead] = [t for t in list_tenants(session)
                                 if not has_snapshot(session, tenant_id=t.id, day=now.date().isoformat())]  # fmt: skip
    taken = 0
    for tenant in due:
        try:
            take_snapshot(runtime, Actor("system", "secure-score", tenant.id), tenant.id, now=now)
            taken += 1
        except WatchkeeperError:
            log.exception("secure score: the daily snapshot of tenant %s failed", tenant.id)
    return taken


def scores(runtime: Runtime, actor: Actor, query: ODataQuery) -> tuple[list[SnapshotRead], Page]:
    """A page of the actor's tenant's snapshots (newest first unless ``$orderby`` says otherwise)."""
    with runtime.database.session() as session:
        return snapshots_page(session, tenant_id=_tenant(actor), query=query)


def score(runtime: Runtime, actor: Actor, snapshot: str) -> SnapshotRead:
    """One of the actor's tenant's snapshots; another tenant's is not found, like a missing one."""
    found = None
    if actor.tenant_id is not None:
        with runtime.database.session() as session:
            found = find_snapshot(session, tenant_id=actor.tenant_id, snapshot=snapshot)
    if found is None:
        raise NotFoundError("secureScore", snapshot)
    return found


def control_profiles(runtime: Runtime, actor: Actor) -> list[ControlProfile]:
    """Every control with the actor's tenant's state changes, in rank order."""
    tenant_id = _tenant(actor)
    with runtime.database.session() as session:
        history = control_states(session, tenant_id=tenant_id)
    return [ControlProfile(tenant_id, c, tuple(history.get(c.id, ()))) for c in load_controls()]


def control_profile(runtime: Runtime, actor: Actor, control_id: str) -> ControlProfile:
    """One control as the actor's tenant sees it."""
    found = next((p for p in control_profiles(runtime, actor) if p.control.id == control_id), None)
    if found is None:
        raise NotFoundError("secureScoreControlProfile", control_id)
    return found


def change_control(runtime: Runtime, actor: Actor, control_id: str, change: ControlChange) -> ControlProfile:
    """Set a control's state, owner or comment in the actor's tenant (a new ``controlStateUpdates``
    entry carrying the fields not given over from the current one); audited as ``score.control``.
    The new state counts from the next snapshot on."""
    current = control_profile(runtime, actor, control_id)
    if change.state is not None and change.state not in STATES:
        raise InvalidRequestError(f"state must be one of {', '.join(STATES)}, not {change.state!r}")
    last = current.updates[-1] if current.updates else None
    state = change.state or current.state
    assigned_to = (
        change.assigned_to if change.assigned_to is not None else (last.assigned_to if last else None)
    )
    comment = change.comment if change.comment is not None else (last.comment if last else None)
    with runtime.database.session() as session:
        record_control_state(session, tenant_id=current.tenant_id, control_id=control_id, state=state,
                             assigned_to=assigned_to, comment=comment, updated_by=f"{actor.kind}:{actor.id}",
                             at=datetime.now(UTC))  # fmt: skip
        detail = {"state": state, "assignedTo": assigned_to, "comment": comment}
        record(session, actor=actor, action="score.control", outcome="success", target=control_id,
               tenant_id=current.tenant_id, detail=detail)  # fmt: skip
    return control_profile(runtime, actor, control_id)


def _tenant(actor: Actor) -> str:
    if actor.tenant_id is None:
        raise NotFoundError("tenant", "(none)")
    return actor.tenant_id
