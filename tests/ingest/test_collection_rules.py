"""Data collection rules in the state database (SQLite, and PostgreSQL when WK_TEST_POSTGRES_URL is
set): found only within their tenant, ids unique, and a transform that runs on a batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.ingest.rules import RuleError, StreamColumn, StreamRoute, create_rule, find_rule, list_rules
from watchkeeper.state import Database

__all__ = ["database"]
ACTOR = Actor("cli", "operator")
ROUTE = StreamRoute(stream="Custom-App", table="App_CL")


def _tenant(database: Database) -> tuple[str, str]:
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="w", actor=ACTOR)
    return tenant.id, workspace.id


def test_a_rule_is_found_only_in_its_tenant(database: Database) -> None:
    (mine, workspace), (other, _) = _tenant(database), _tenant(database)
    with database.session() as session:
        rule = create_rule(
            session, tenant_id=mine, workspace_id=workspace, name="r", streams=[ROUTE], actor=ACTOR
        )
    with database.session() as session:
        assert find_rule(session, tenant_id=mine, immutable_id=rule.immutable_id.upper()) == rule
        assert find_rule(session, tenant_id=other, immutable_id=rule.immutable_id) is None
        assert find_rule(session, tenant_id=mine, immutable_id="not-an-id") is None
        assert list_rules(session, tenant_id=other) == []
        assert rule.stream("custom-app") == ROUTE


def test_names_and_immutable_ids_are_unique(database: Database) -> None:
    tenant, workspace = _tenant(database)
    kept = "dcr-" + unique("x").encode().hex()[:32].ljust(32, "0")
    with database.session() as session:
        create_rule(session, tenant_id=tenant, workspace_id=workspace, name="r", streams=[ROUTE], actor=ACTOR,
                    immutable_id=kept)  # fmt: skip
    for name, immutable_id in (("r", None), ("s", kept)):
        with pytest.raises(RuleError, match="already exists"), database.session() as session:
            create_rule(session, tenant_id=tenant, workspace_id=workspace, name=name, streams=[ROUTE],
                        actor=ACTOR, immutable_id=immutable_id)  # fmt: skip


def test_a_transform_filters_types_and_reports_what_does_not_fit() -> None:
    route = StreamRoute(
        stream="Custom-App", table="App_CL",
        transformKql="source | where Level != 'debug' | extend TimeGenerated = Time, Seen = tolong(Count) * 2",
        columns=[StreamColumn(name="Time", type="datetime"), StreamColumn(name="Level", type="string"),
                 StreamColumn(name="Count", type="int")],
    )  # fmt: skip
    records = [{"Time": "2026-01-01T00:00:00Z", "Level": "info", "Count": 2, "Extra": "dropped"},
               {"Time": "2026-01-01T00:00:01Z", "Level": "debug", "Count": 3},
               {"Time": "yesterday", "Level": "info", "Count": 4}]  # fmt: skip
    outcome = route.transformer().apply(records)
    assert outcome.rows == [{"Time": datetime(2026, 1, 1, tzinfo=UTC), "Level": "info", "Count": 2,
                             "TimeGenerated": datetime(2026, 1, 1, tzinfo=UTC), "Seen": 4}]  # fmt: skip
    assert [(index, "Time" in reason) for index, reason in outcome.refused] == [(2, True)]
