"""Where each library rule stands with the scheduler, in the state database: the end of the last
window it ran, who holds its lease, its consecutive failures; and the record of every run.

Only the node holding a rule's lease runs it. :func:`take_lease` is one conditional ``UPDATE``
(free, expired, or already ours), so two nodes asking at once cannot both win, and a node that
dies stops renewing: its lease runs out and another node takes the rule over from the last window
end it recorded. :func:`advance` only ever moves that end forward, so a window is never run twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.detections.library import AnalyticsRule
from watchkeeper.state import Base, new_id
from watchkeeper.state.db import UtcDateTime

__all__ = [
    "RuleRun",
    "RuleSchedule",
    "RunRecord",
    "advance",
    "recent_runs",
    "record_failure",
    "record_run",
    "release_lease",
    "schedule_of",
    "take_lease",
]


class RuleSchedule(Base):
    """A rule's standing with the scheduler (one row per library rule, made on first use)."""

    __tablename__ = "rule_schedules"

    rule_ref: Mapped[str] = mapped_column(ForeignKey("analytics_rules.id"), primary_key=True)
    last_window_end: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class RuleRun(Base):
    """One run of a rule over one window (or a span given up, ``kind='skipped'``)."""

    __tablename__ = "rule_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    rule_ref: Mapped[str] = mapped_column(ForeignKey("analytics_rules.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # scheduled, nrt, retro, skipped
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())
    window_end: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one run did, for :func:`record_run`."""

    kind: str
    window_start: datetime
    window_end: datetime
    started_at: datetime
    seconds: float = 0.0
    rows: int = 0
    alerts: int = 0
    error: str | None = None


def schedule_of(session: Session, rule_ref: str) -> RuleSchedule:
    """The rule's schedule row, made if it has none yet (two nodes making it at once is fine)."""
    found = session.get(RuleSchedule, rule_ref)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(RuleSchedule(rule_ref=rule_ref))
    except IntegrityError:
        pass  # another node made it meanwhile
    found = session.get(RuleSchedule, rule_ref)
    assert found is not None
    return found


def take_lease(session: Session, rule_ref: str, *, node: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the rule's lease for ``ttl``: True when ``node`` holds it now. A lease held
    until a moment is free from that moment on."""
    schedule_of(session, rule_ref)
    free = (
        (RuleSchedule.lease_owner.is_(None))
        | (RuleSchedule.lease_until <= now)
        | (RuleSchedule.lease_owner == node)
    )
    taken = session.execute(
        update(RuleSchedule)
        .where(RuleSchedule.rule_ref == rule_ref, free)
        .values(lease_owner=node, lease_until=now + ttl)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(getattr(taken, "rowcount", 0) == 1)


def release_lease(session: Session, rule_ref: str, *, node: str) -> None:
    """Give the lease up (a node shutting down), if ``node`` holds it."""
    session.execute(
        update(RuleSchedule)
        .where(RuleSchedule.rule_ref == rule_ref, RuleSchedule.lease_owner == node)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()


def advance(session: Session, rule_ref: str, window_end: datetime) -> None:
    """Record that the rule's windows up to ``window_end`` are done (never moves back); a run
    that succeeds also clears the failure count."""
    schedule = schedule_of(session, rule_ref)
    if schedule.last_window_end is None or window_end > schedule.last_window_end:
        schedule.last_window_end = window_end
    schedule.failures, schedule.next_attempt_at, schedule.last_error = 0, None, None
    session.flush()


def record_failure(
    session: Session, rule_ref: str, *, error: str, retry_at: datetime, disable_after: int
) -> bool:
    """Count a failed run; the rule is disabled (True) when it reaches ``disable_after``
    consecutive failures (0: never)."""
    schedule = schedule_of(session, rule_ref)
    schedule.failures += 1
    schedule.last_error, schedule.next_attempt_at = error, retry_at
    disabled = disable_after > 0 and schedule.failures >= disable_after
    if disabled:
        rule = session.get(AnalyticsRule, rule_ref)
        if rule is not None:
            rule.enabled = False
    session.flush()
    return disabled


def record_run(session: Session, *, rule_ref: str, tenant_id: str, run: RunRecord) -> RuleRun:
    """Keep the record of one run."""
    row = RuleRun(rule_ref=rule_ref, tenant_id=tenant_id, kind=run.kind, window_start=run.window_start,
                  window_end=run.window_end, started_at=run.started_at, seconds=run.seconds, rows=run.rows,
                  alerts=run.alerts, error=run.error)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def recent_runs(session: Session, *, tenant_id: str, rule_ref: str, limit: int = 50) -> list[RuleRun]:
    """The rule's latest runs, newest first."""
    query = select(RuleRun).where(RuleRun.tenant_id == tenant_id, RuleRun.rule_ref == rule_ref)
    return list(session.scalars(query.order_by(RuleRun.window_end.desc()).limit(limit)))
