"""Rules' standing with the scheduler in the state database (SQLite, and PostgreSQL when
WK_TEST_POSTGRES_URL is set): one node at a time holds a rule's lease, a dead node's lease runs
out and another takes over where it stopped, windows only move forward, failures turn a rule off."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor
from watchkeeper.detections.library import AnalyticsRule, find_rule, save_rules
from watchkeeper.detections.models import DetectionRule
from watchkeeper.detections.runs import (
    RunRecord,
    advance,
    recent_runs,
    record_failure,
    record_run,
    release_lease,
    schedule_of,
    take_lease,
)
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.state import Database

__all__ = ["database"]
ACTOR = Actor("cli", "operator")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)


def _rule(database: Database) -> tuple[str, str]:
    """A library rule of a new tenant: (tenant id, library id)."""
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="w", actor=ACTOR)
        rule = DetectionRule(rule_id="r-1", name="r", source_format="sentinel", query="Syslog")
        save_rules(session, tenant_id=tenant.id, workspace_id=workspace.id, rules=[rule], actor=ACTOR)
        found = find_rule(session, tenant_id=tenant.id, workspace_id=workspace.id, ref="r-1")
    assert found is not None
    return tenant.id, found.id


def test_one_node_holds_a_lease_until_it_runs_out(database: Database) -> None:
    _, rule = _rule(database)
    with database.session() as session:
        assert take_lease(session, rule, node="a", now=NOW, ttl=TTL)
        assert not take_lease(session, rule, node="b", now=NOW + timedelta(minutes=1), ttl=TTL)
        assert take_lease(session, rule, node="a", now=NOW + timedelta(minutes=1), ttl=TTL)  # renewed
    with database.session() as session:  # node a died: nobody renews; after the lease, b takes over
        assert not take_lease(session, rule, node="b", now=NOW + timedelta(minutes=2), ttl=TTL)
        assert take_lease(session, rule, node="b", now=NOW + timedelta(minutes=4), ttl=TTL)
        release_lease(session, rule, node="a")  # a late release by the dead node changes nothing
        assert not take_lease(session, rule, node="a", now=NOW + timedelta(minutes=5), ttl=TTL)
        release_lease(session, rule, node="b")
        assert take_lease(session, rule, node="a", now=NOW + timedelta(minutes=5), ttl=TTL)


def test_nodes_asking_at_once_get_one_lease(database: Database) -> None:
    _, rule = _rule(database)
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def ask(node: str) -> None:
        barrier.wait()
        with database.session() as session:
            if take_lease(session, rule, node=node, now=NOW, ttl=TTL):
                winners.append(node)

    threads = [threading.Thread(target=ask, args=(f"node-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_the_last_window_end_only_moves_forward_and_runs_are_recorded(database: Database) -> None:
    tenant, rule = _rule(database)
    with database.session() as session:
        advance(session, rule, NOW)
        advance(session, rule, NOW - timedelta(hours=1))  # a late, older run does not move it back
        record_run(session, rule_ref=rule, tenant_id=tenant,
                   run=RunRecord("scheduled", NOW - timedelta(hours=1), NOW, NOW, 0.12, rows=3, alerts=1))  # fmt: skip
    with database.session() as session:
        assert schedule_of(session, rule).last_window_end == NOW
        (run,) = recent_runs(session, tenant_id=tenant, rule_ref=rule)
        assert (run.rows, run.alerts, run.window_end) == (3, 1, NOW)
        assert recent_runs(session, tenant_id="someone-else", rule_ref=rule) == []


def test_consecutive_failures_turn_a_rule_off_and_a_success_resets_them(database: Database) -> None:
    _, rule = _rule(database)
    with database.session() as session:
        assert not record_failure(session, rule, error="timeout", retry_at=NOW, disable_after=3)
        advance(session, rule, NOW)  # a success in between starts the count again
        assert schedule_of(session, rule).failures == 0
        assert not record_failure(session, rule, error="timeout", retry_at=NOW, disable_after=3)
        assert not record_failure(session, rule, error="timeout", retry_at=NOW, disable_after=3)
        assert record_failure(session, rule, error="timeout after 180 s", retry_at=NOW, disable_after=3)
    with database.session() as session:
        schedule = schedule_of(session, rule)
        assert (schedule.failures, schedule.last_error) == (3, "timeout after 180 s")
        stored = session.get(AnalyticsRule, rule)
        assert stored is not None
        assert not stored.enabled
