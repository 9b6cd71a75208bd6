"""Secure score snapshots and control states in the state database (SQLite, and PostgreSQL when
WK_TEST_POSTGRES_URL is set): one snapshot per tenant per day with Graph's id, a second one the
same day replacing the first, history newest first, the tenant's own average, and tenant scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import create_tenant
from watchkeeper.posture import (
    Measure,
    SnapshotFacts,
    control_states,
    find_snapshot,
    list_snapshots,
    load_controls,
    record_control_state,
    save_snapshot,
    score_control,
)
from watchkeeper.state import Database

ACTOR = Actor("cli", "operator")
DAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def tenant(database: Database) -> str:
    with database.session() as session:
        return create_tenant(session, name=unique("score"), actor=ACTOR).id


def snapshot(database: Database, tenant_id: str, at: datetime, passed: int):  # type: ignore[no-untyped-def]
    scores = [score_control(c, Measure(passed, 4)) for c in load_controls()]
    with database.session() as session:
        return save_snapshot(session, tenant_id=tenant_id, scores=scores,
                             facts=SnapshotFacts(at, 5, 7, ("AzureAD",)))  # fmt: skip


def test_a_snapshot_is_the_tenant_s_day(database: Database) -> None:
    tenant_id = tenant(database)
    saved = snapshot(database, tenant_id, DAY, 2)
    maximum = sum(c.max_score for c in load_controls())
    assert saved.id == f"{tenant_id}_2026-03-02"
    assert (saved.current_score, saved.max_score) == (round(maximum / 2, 2), maximum)
    assert (saved.active_user_count, saved.licensed_user_count, saved.enabled_services) == (5, 7, ["AzureAD"])
    assert [s["control"] for s in saved.control_scores] == [c.id for c in load_controls()]
    assert saved.average_comparative_scores == [
        {"basis": "TenantHistory", "averageScore": saved.current_score}
    ]


def test_the_same_day_again_replaces_it_and_history_is_newest_first(database: Database) -> None:
    tenant_id = tenant(database)
    snapshot(database, tenant_id, DAY - timedelta(days=1), 0)
    snapshot(database, tenant_id, DAY, 1)
    again = snapshot(database, tenant_id, DAY + timedelta(hours=10), 4)
    with database.session() as session:
        history = list_snapshots(session, tenant_id=tenant_id, limit=10)
    assert [s.day for s in history] == ["2026-03-02", "2026-03-01"]
    assert history[0].current_score == again.current_score == sum(c.max_score for c in load_controls())
    # the average covers the tenant's own days: yesterday's 0 and today's full score
    assert again.average_comparative_scores[0]["averageScore"] == round(again.current_score / 2, 2)


def test_another_tenant_s_snapshot_is_not_found(database: Database) -> None:
    mine, theirs = tenant(database), tenant(database)
    saved = snapshot(database, theirs, DAY, 3)
    with database.session() as session:
        assert find_snapshot(session, tenant_id=mine, snapshot=saved.id) is None
        assert find_snapshot(session, tenant_id=theirs, snapshot=saved.id) == saved
        assert list_snapshots(session, tenant_id=mine, limit=10) == []


def test_control_states_keep_their_history_per_tenant(database: Database) -> None:
    mine, theirs = tenant(database), tenant(database)
    with database.session() as session:
        for state, at in (("Reviewed", DAY), ("Ignored", DAY + timedelta(minutes=1))):
            record_control_state(session, tenant_id=mine, control_id="AuditLoggingEnabled", state=state,
                                 assigned_to="ana@contoso.com", comment=state, updated_by="app:x", at=at)  # fmt: skip
    with database.session() as session:
        history = control_states(session, tenant_id=mine)
        assert control_states(session, tenant_id=theirs) == {}
    assert [u.state for u in history["AuditLoggingEnabled"]] == ["Reviewed", "Ignored"]
