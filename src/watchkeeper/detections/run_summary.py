"""How a workspace's rules have been running, read from their run records (``rule_runs``) in a few
grouped queries (not one a rule): each rule's latest run, what its runs found over a recent span,
and its failing streak (the runs that failed since its last successful one).

Spans the scheduler gave up on (``kind='skipped'``) are not runs: they count in none of these.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from watchkeeper.detections.runs import RuleRun

__all__ = ["RunSummary", "latest_runs", "summarize_runs"]

SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One rule's runs at a glance: the latest (None if it never ran), what the runs since
    ``since`` found, and how many runs in a row failed most recently."""

    last: RuleRun | None
    rows_since: int
    alerts_since: int
    runs_since: int
    failing_streak: int


def summarize_runs(
    session: Session, *, tenant_id: str, rule_refs: Collection[str], since: datetime
) -> dict[str, RunSummary]:
    """Rule library id -> :class:`RunSummary`, for each of ``rule_refs`` (the tenant's rules)."""
    if not rule_refs:
        return {}
    refs = list(rule_refs)
    last = _latest_runs(session, tenant_id, refs)
    recent = _totals_since(session, tenant_id, refs, since)
    streaks = _failing_streaks(session, tenant_id, refs)
    return {
        ref: RunSummary(last.get(ref), *recent.get(ref, (0, 0, 0)), failing_streak=streaks.get(ref, 0))
        for ref in refs
    }


def _runs(tenant_id: str, refs: list[str]) -> tuple[ColumnElement[bool], ...]:
    """The conditions every query here shares: the tenant's runs of these rules, no skipped spans."""
    return (RuleRun.tenant_id == tenant_id, RuleRun.rule_ref.in_(refs), RuleRun.kind != SKIPPED)


def _latest_runs(session: Session, tenant_id: str, refs: list[str]) -> dict[str, RuleRun]:
    newest = (
        select(RuleRun.rule_ref, func.max(RuleRun.started_at).label("at"))
        .where(*_runs(tenant_id, refs))
        .group_by(RuleRun.rule_ref)
        .subquery()
    )
    query = select(RuleRun).join(
        newest, (RuleRun.rule_ref == newest.c.rule_ref) & (RuleRun.started_at == newest.c.at)
    )
    return {run.rule_ref: run for run in session.scalars(query.where(*_runs(tenant_id, refs)))}


def _totals_since(
    session: Session, tenant_id: str, refs: list[str], since: datetime
) -> dict[str, tuple[int, int, int]]:
    query = (
        select(RuleRun.rule_ref, func.sum(RuleRun.rows), func.sum(RuleRun.alerts), func.count())
        .where(*_runs(tenant_id, refs), RuleRun.started_at >= since)
        .group_by(RuleRun.rule_ref)
    )
    return {
        ref: (int(rows or 0), int(alerts or 0), int(n)) for ref, rows, alerts, n in session.execute(query)
    }


def _failing_streaks(session: Session, tenant_id: str, refs: list[str]) -> dict[str, int]:
    succeeded = (
        select(RuleRun.rule_ref, func.max(RuleRun.started_at).label("at"))
        .where(*_runs(tenant_id, refs), RuleRun.error.is_(None))
        .group_by(RuleRun.rule_ref)
        .subquery()
    )
    query = (
        select(RuleRun.rule_ref, func.count())
        .outerjoin(succeeded, RuleRun.rule_ref == succeeded.c.rule_ref)
        .where(*_runs(tenant_id, refs), RuleRun.error.is_not(None))
        .where((succeeded.c.at.is_(None)) | (RuleRun.started_at > succeeded.c.at))
        .group_by(RuleRun.rule_ref)
    )
    return {ref: int(n) for ref, n in session.execute(query)}


def latest_runs(session: Session, *, tenant_id: str, rule_ref: str, limit: int) -> list[RuleRun]:
    """The rule's last ``limit`` runs by when they started, newest first (a retro-hunt over an old
    window is as recent as it was run, not as its window)."""
    query = select(RuleRun).where(*_runs(tenant_id, [rule_ref]))
    return list(session.scalars(query.order_by(RuleRun.started_at.desc()).limit(limit)))
