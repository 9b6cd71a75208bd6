"""Detection use cases across the layers: importing rules into a workspace's library, running
rules over windows (on schedule, or once over a chosen span: a retro-hunt), and turning what they
find into alerts and incidents, mirrored into ``SecurityAlert``/``SecurityIncident``.

A run queries the workspace with the rule's query over the window ``[start, end)`` with ``now`` at
the window's end, so ``ws.query(rule.query, time_range=window, now=window.end)`` reproduces an
alert's rows at any later time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor
from watchkeeper.cases import AlertRead, raise_alerts, read_incidents
from watchkeeper.cases.models import AlertRecord
from watchkeeper.detections.alerting import AlertDraft, alert_drafts, columns_read, tally_suffices
from watchkeeper.detections.formats import Imported, format_named, read_rules
from watchkeeper.detections.library import ImportOutcome, RuleRead, list_rules, save_rules
from watchkeeper.detections.models import RuleKind
from watchkeeper.detections.runs import (
    RunRecord,
    advance,
    record_failure,
    record_run,
    schedule_of,
    take_lease,
)
from watchkeeper.detections.scheduler import CatchUp, Window, due_windows, retry_delay
from watchkeeper.directory import (
    WorkspaceRead,
    create_tenant,
    create_workspace,
    every_workspace,
    find_tenant,
    workspace_at_folder,
)
from watchkeeper.errors import WatchkeeperError
from watchkeeper.flows.notifications import enqueue_raised
from watchkeeper.flows.rule_health import record_runs
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now
from watchkeeper.store.result import QueryResult, QueryTally
from watchkeeper.workspace import Workspace

__all__ = [
    "Assessment",
    "RuleRunOutcome",
    "assess",
    "conclude",
    "embedded_workspace",
    "import_rules",
    "rule_query",
    "run_due_rules",
    "run_rule",
    "run_rules_over",
]

# how long a node's lease on a rule lasts without renewal
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class RuleRunOutcome:
    """One run of one rule over one window."""

    rule: RuleRead
    window: Window
    rows: int
    alerts: list[AlertRead]
    error: str | None = None
    suppressed: bool = False


LOCAL_TENANT = "local"


def embedded_workspace(runtime: Runtime, actor: Actor, folder: Path) -> WorkspaceRead:
    """The workspace whose events are in ``folder`` (under the data directory), registered on
    first use under the ``local`` tenant: how ``wk`` commands that take a workspace folder find
    the rule library, alerts and incidents that go with it."""
    relative = folder.resolve().relative_to(runtime.settings.data_dir.resolve()).as_posix()
    with runtime.database.session() as session:
        found = workspace_at_folder(session, relative)
        if found is not None:
            return found
        tenant = find_tenant(session, ref=LOCAL_TENANT) or create_tenant(
            session, name=LOCAL_TENANT, actor=actor
        )
        name = "default" if relative == "." else relative.replace("/", "-")[-64:]
        return create_workspace(session, tenant_id=tenant.id, name=name, folder=relative, actor=actor)


def import_rules(
    runtime: Runtime,
    actor: Actor,
    workspace: WorkspaceRead,
    rule_format: str,
    path: Path,
    *,
    workers: int = 1,
) -> tuple[Imported, ImportOutcome]:
    """Read the rules at ``path`` (a file, folder or archive) in ``rule_format`` and add them to the
    workspace's library; files that cannot be loaded are reported, not imported. ``workers``
    processes share a large import."""
    imported = read_rules(path, format_named(rule_format), workers=workers)
    with runtime.database.session() as session:
        saved = save_rules(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rules=imported.rules,
                           actor=actor)  # fmt: skip
    return imported, saved


def run_rule(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, rule: RuleRead, window: Window, *, kind: str
) -> RuleRunOutcome:
    """Run ``rule`` over ``window``, raise what it finds, record the run (a failure too)."""
    query = _rule_query(runtime.workspaces.get(workspace), rule, window)
    return evaluate(runtime, actor, workspace, rule, window, kind=kind, query=query)


def rule_query(
    ws: Workspace, rule: RuleRead, *, now: datetime, time_range: tuple[datetime, datetime] | None = None
) -> Callable[[], QueryResult | QueryTally]:
    """The rule's query for a run at ``now`` (over ``time_range``), asking the engine for what its
    alerts read: only their columns, or only the count and time span when that is all they need."""
    if tally_suffices(rule.rule):
        return partial(ws.tally, rule.rule.query, now=now, time_range=time_range)
    return partial(ws.query, rule.rule.query, now=now, time_range=time_range, columns=columns_read(rule.rule))


def _rule_query(ws: Workspace, rule: RuleRead, window: Window) -> Callable[[], QueryResult | QueryTally]:
    return rule_query(ws, rule, now=window.end, time_range=(window.start, window.end))


@dataclass(frozen=True)
class Assessment:
    """One rule's query over one window and the alerts it would raise, before anything is stored."""

    rule: RuleRead
    window: Window
    kind: str
    started: datetime
    seconds: float
    rows: int = 0
    drafts: tuple[AlertDraft, ...] = ()
    error: str | None = None


def assess(
    rule: RuleRead, window: Window, *, kind: str, query: Callable[[], QueryResult | QueryTally]
) -> Assessment:
    """Run ``query`` (the rule's, over the window's rows) and draft the alerts its result makes."""
    started, clock = utc_now(), time.perf_counter()
    try:
        result = query()
    except WatchkeeperError as exc:
        error = f"{type(exc).__name__}: {exc}"
        return Assessment(rule, window, kind, started, time.perf_counter() - clock, error=error)
    drafts = tuple(alert_drafts(rule.rule, result, window))
    rows = result.rows if isinstance(result, QueryTally) else len(result.rows)
    return Assessment(rule, window, kind, started, time.perf_counter() - clock, rows, drafts)


def conclude(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, assessments: list[Assessment]
) -> list[RuleRunOutcome]:
    """Raise what the assessed runs found (unless a rule is suppressed) and record every run, in
    one state transaction; then mirror the alerts and incidents, with a ``SentinelHealth`` row a
    run, in one event-store write. Rules run together (a retro-hunt, the NRT rules of one write)
    so cost one commit, not one a rule."""
    now = utc_now()
    outcomes: list[RuleRunOutcome] = []
    raised: list[AlertRead] = []
    with runtime.database.session() as session:
        for done in assessments:
            suppressed = bool(done.drafts) and _suppressed(session, done.rule, done.window.end)
            alerts = [] if suppressed or done.error else raise_alerts(
                session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rule_ref=done.rule.id,
                drafts=list(done.drafts), actor=actor, now=now)  # fmt: skip
            record_run(session, rule_ref=done.rule.id, tenant_id=done.rule.tenant_id, run=RunRecord(
                done.kind, done.window.start, done.window.end, done.started, done.seconds, rows=done.rows,
                alerts=len(alerts), error=done.error))  # fmt: skip
            raised += alerts
            outcomes.append(RuleRunOutcome(done.rule, done.window, done.rows, alerts, done.error, suppressed))
        placed = {a.incident_id for a in raised if a.incident_id is not None}
        incidents = read_incidents(session, tenant_id=workspace.tenant_id, ids=placed) if placed else []
        if raised:
            enqueue_raised(
                session, tenant_id=workspace.tenant_id, alerts=raised, incidents=incidents, now=now
            )
    record_runs(runtime, workspace, actor=actor, runs=list(zip(assessments, outcomes, strict=True)), alerts=raised,
                incidents=incidents)  # fmt: skip
    return outcomes


def evaluate(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, rule: RuleRead, window: Window, *, kind: str,
    query: Callable[[], QueryResult | QueryTally],
) -> RuleRunOutcome:  # fmt: skip
    """Run ``query`` (the rule's, over the window's rows), raise the alerts its result makes
    (unless suppressed), and record the run, a failure too."""
    return conclude(runtime, actor, workspace, [assess(rule, window, kind=kind, query=query)])[0]


def run_rules_over(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, start: datetime, end: datetime
) -> list[RuleRunOutcome]:
    """Every enabled rule of the workspace once over ``[start, end)`` whatever its schedule (a
    retro-hunt); alerts and incidents as the rules configure. Schedules are left as they are."""
    with runtime.database.session() as session:
        rules = list_rules(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, enabled=True)
    window = Window(start, end)
    ws = runtime.workspaces.get(workspace)
    assessed = [assess(rule, window, kind="retro", query=_rule_query(ws, rule, window)) for rule in rules]
    return conclude(runtime, actor, workspace, assessed)


def run_due_rules(
    runtime: Runtime, *, node: str, now: datetime, catch_up: CatchUp | None = None
) -> list[RuleRunOutcome]:
    """One scheduler tick: every enabled scheduled rule this node holds (or can take) the lease
    of runs the windows due at ``now``, oldest first; a failure stops the rule's windows for this
    tick and is retried after a backoff. Returns what ran."""
    actor = Actor("system", f"scheduler:{node}")
    outcomes: list[RuleRunOutcome] = []
    with runtime.database.session() as session:
        workspaces = every_workspace(session)
    for workspace in workspaces:
        with runtime.database.session() as session:
            rules = list_rules(
                session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, enabled=True
            )
        for rule in rules:
            if rule.rule.kind is RuleKind.SCHEDULED:
                outcomes += _tick(runtime, actor, workspace, rule, node, now, catch_up or _catch_up(runtime))
    return outcomes


def _catch_up(runtime: Runtime) -> CatchUp:
    return CatchUp(span=timedelta(seconds=runtime.settings.detection_catch_up))


def _tick(runtime: Runtime, actor: Actor, workspace: WorkspaceRead, rule: RuleRead, node: str, now: datetime,
          catch_up: CatchUp) -> list[RuleRunOutcome]:  # fmt: skip
    with runtime.database.session() as session:
        if not take_lease(session, rule.id, node=node, now=now, ttl=LEASE):
            return []
        schedule = schedule_of(session, rule.id)
        last_end, waiting_until = schedule.last_window_end, schedule.next_attempt_at
    if waiting_until is not None and now < waiting_until:
        return []
    due = due_windows(rule.rule, last_end=last_end, now=now, catch_up=catch_up)
    if due.skipped is not None:
        _record(runtime, rule, RunRecord("skipped", due.skipped.start, due.skipped.end, now))
        with runtime.database.session() as session:
            advance(session, rule.id, due.skipped.end)
    outcomes = []
    for window in due.windows:
        outcome = run_rule(runtime, actor, workspace, rule, window, kind="scheduled")
        outcomes.append(outcome)
        with runtime.database.session() as session:
            if outcome.error is None:
                advance(session, rule.id, window.end)
                continue
            failures = schedule_of(session, rule.id).failures + 1
            record_failure(session, rule.id, error=outcome.error, retry_at=now + retry_delay(rule.rule, failures),
                           disable_after=runtime.settings.detection_disable_after)  # fmt: skip
        break
    return outcomes


def _suppressed(session: Session, rule: RuleRead, at: datetime) -> bool:
    """Whether the rule raised an alert less than its suppression duration before ``at``."""
    if not rule.rule.suppression_enabled:
        return False
    last = session.scalar(select(func.max(AlertRecord.window_end)).where(AlertRecord.rule_ref == rule.id))
    return last is not None and at - _aware(last) < rule.rule.suppression_duration


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record(runtime: Runtime, rule: RuleRead, run: RunRecord) -> None:
    with runtime.database.session() as session:
        record_run(session, rule_ref=rule.id, tenant_id=rule.tenant_id, run=run)
