"""The audit log: entries listed per tenant, newest first, in pages that lose and repeat nothing;
an entry commits with the change it records or not at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor, AuditRead, list_entries, record
from watchkeeper.state import Database, utc_now

ANALYST = Actor("app", "0b4d6a8e-2f1c-4e3b-8a9d-7c6e5f4a3b21", tenant_id=None, request_id="r-1")


def _write(database: Database, tenant_id: str | None, count: int, action: str = "query.run") -> None:
    for n in range(count):  # one transaction each, as requests do
        with database.session() as session:
            record(session, actor=ANALYST, action=action, outcome="success", tenant_id=tenant_id,
                   target=f"workspace-{n}", detail={"n": n})  # fmt: skip


def _all_pages(database: Database, tenant_id: str | None, limit: int) -> list[list[AuditRead]]:
    pages, before = [], None
    while True:
        with database.session() as session:
            page = list_entries(session, tenant_id=tenant_id, limit=limit, before=before)
        pages.append(page.entries)
        if page.next_before is None:
            return pages
        before = page.next_before


def test_entries_are_listed_per_tenant_newest_first(database: Database) -> None:
    mine, theirs = unique("tenant"), unique("tenant")
    _write(database, mine, 4)
    _write(database, theirs, 3)
    with database.session() as session:
        page = list_entries(session, tenant_id=mine)
    assert [e.detail["n"] for e in page.entries] == [3, 2, 1, 0]
    assert all(e.tenant_id == mine for e in page.entries)
    assert [e.id for e in page.entries] == sorted((e.id for e in page.entries), reverse=True)
    assert [e.at for e in page.entries] == sorted((e.at for e in page.entries), reverse=True)
    assert page.next_before is None
    first = page.entries[-1]
    assert (first.actor_kind, first.actor, first.action, first.outcome, first.target, first.request_id) == (
        "app", ANALYST.id, "query.run", "success", "workspace-0", "r-1"
    )  # fmt: skip


@pytest.mark.parametrize("limit", [1, 4, 5, 7, 20, 21])
def test_pages_together_hold_every_entry_once(database: Database, limit: int) -> None:
    tenant = unique("tenant")
    _write(database, tenant, 20)
    _write(database, unique("tenant"), 2)  # another tenant's, between the pages
    pages = _all_pages(database, tenant, limit)
    ids = [entry.id for page in pages for entry in page]
    assert [entry.detail["n"] for page in pages for entry in page] == list(range(19, -1, -1))
    assert len(ids) == len(set(ids)) == 20
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit


def test_entries_written_while_paging_do_not_shift_the_pages(database: Database) -> None:
    tenant = unique("tenant")
    _write(database, tenant, 6)
    with database.session() as session:
        first = list_entries(session, tenant_id=tenant, limit=3)
    _write(database, tenant, 2, action="query.later")  # newer entries arrive between two pages
    with database.session() as session:
        second = list_entries(session, tenant_id=tenant, limit=3, before=first.next_before)
    assert [e.detail["n"] for e in first.entries + second.entries] == [5, 4, 3, 2, 1, 0]
    assert second.next_before is None


def test_entries_filter_by_action_and_time(database: Database) -> None:
    tenant = unique("tenant")
    _write(database, tenant, 2, action="app.create")
    middle = utc_now()
    _write(database, tenant, 3, action="query.run")
    with database.session() as session:
        created = list_entries(session, tenant_id=tenant, action="app.create")
        recent = list_entries(session, tenant_id=tenant, since=middle)
        future = list_entries(session, tenant_id=tenant, since=middle + timedelta(days=1))
    assert [e.action for e in created.entries] == ["app.create"] * 2
    assert [e.action for e in recent.entries] == ["query.run"] * 3
    assert future.entries == []


def test_server_entries_are_listed_apart_from_every_tenants(database: Database) -> None:
    action = unique("server.change")
    _write(database, None, 2, action=action)
    _write(database, unique("tenant"), 1, action=action)
    with database.session() as session:
        server = list_entries(session, tenant_id=None, action=action)
    assert len(server.entries) == 2
    assert all(e.tenant_id is None for e in server.entries)


def test_the_actors_tenant_is_the_default(database: Database) -> None:
    tenant = unique("tenant")
    with database.session() as session:
        record(session, actor=Actor("app", "client", tenant_id=tenant), action="query.run", outcome="denied")
    with database.session() as session:
        (entry,) = list_entries(session, tenant_id=tenant).entries
    assert (entry.outcome, entry.detail, entry.target) == ("denied", {}, None)


def _audit_then_fail(database: Database, tenant: str) -> None:
    with database.session() as session:
        record(session, actor=ANALYST, action="app.create", outcome="success", tenant_id=tenant)
        raise RuntimeError("the change failed after it was audited")


def test_an_entry_commits_with_its_change_or_not_at_all(database: Database) -> None:
    tenant = unique("tenant")
    with pytest.raises(RuntimeError, match="failed after it was audited"):
        _audit_then_fail(database, tenant)
    with database.session() as session:
        assert list_entries(session, tenant_id=tenant).entries == []


def test_a_long_query_text_is_kept_in_part_with_its_length(database: Database) -> None:
    tenant = unique("tenant")
    text = "SecurityEvent | where " + " or ".join(f"EventID == {n}" for n in range(2000))
    with database.session() as session:
        record(session, actor=ANALYST, action="query.run", outcome="success", tenant_id=tenant,
               detail={"query": text, "rows": 3})  # fmt: skip
    with database.session() as session:
        (entry,) = list_entries(session, tenant_id=tenant).entries
    assert entry.detail == {"query": text[:8192], "query_length": len(text), "rows": 3}


def test_an_unknown_outcome_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="unknown audit outcome 'ok'"), database.session() as session:
        record(session, actor=ANALYST, action="query.run", outcome="ok", tenant_id=unique("tenant"))
