"""Threat indicators in the state database (SQLite, and PostgreSQL when WK_TEST_POSTGRES_URL is
set): Graph's required fields per target product, enums and ranges, defaults, ownership by the
app that created them within its tenant, updates of editable fields only, expiration, the limit
of Defender indicators per tenant, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor, AuditEntry
from watchkeeper.directory import create_tenant
from watchkeeper.errors import InvalidRequestError
from watchkeeper.intel import (
    DEFENDER,
    DEFENDER_LIMIT,
    create_indicator,
    delete_by_external_id,
    delete_indicator,
    find_indicator,
    list_indicators,
    update_indicator,
)
from watchkeeper.intel.models import TiIndicatorRecord
from watchkeeper.state import Database, new_id

__all__ = ["database"]
APP = Actor("app", "feed-app")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


def sentinel(**extra: Any) -> dict[str, Any]:
    return {"targetProduct": "Azure Sentinel", "action": "alert", "description": "C2 server seen in the feed",
            "expirationDateTime": "2026-03-31T00:00:00Z", "threatType": "C2", "tlpLevel": "amber",
            "networkIPv4": "203.0.113.7", **extra}  # fmt: skip


def defender(**extra: Any) -> dict[str, Any]:
    return {"targetProduct": DEFENDER, "action": "block", "domainName": "bad.example", **extra}


@pytest.fixture
def tenant(database: Database) -> str:
    with database.session() as session:
        return create_tenant(session, name=unique("intel"), actor=APP).id


def create(database: Database, tenant: str, fields: dict[str, Any], owner: str = "feed-app") -> Any:
    with database.session() as session:
        return create_indicator(session, tenant_id=tenant, owner_app=owner, fields=fields, actor=APP, now=NOW)


def test_a_sentinel_indicator_is_stored_with_graph_defaults_and_audited(
    database: Database, tenant: str
) -> None:
    made = create(database, tenant, sentinel(killChain=["c2"], tags=["feed:x"], confidence=80))
    graph = made.to_graph(NOW)
    assert graph["azureTenantId"] == tenant
    assert graph["ingestedDateTime"] == "2026-03-01T12:00:00Z"
    assert (graph["isActive"], graph["passiveOnly"], graph["severity"]) == (True, False, 3)
    assert (graph["killChain"], graph["tags"], graph["confidence"]) == (["C2"], ["feed:x"], 80)
    assert graph["expirationDateTime"] == "2026-03-31T00:00:00Z"
    assert graph["tlpLevel"] == "amber"
    with database.session() as session:
        again = find_indicator(session, tenant_id=tenant, owner_app="feed-app", indicator_id=made.id)
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.target == made.id)).all()
    assert again == made
    assert audited == ["tiIndicator.create"]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        (sentinel(description=None), "'description'"),
        (sentinel(tlpLevel=None, threatType=None), "'threatType', 'tlpLevel'"),
        (sentinel(networkIPv4=None), "observable"),
        (sentinel(description="x" * 101), "'description' is longer than 100"),
        (sentinel(action="destroy"), "'action': 'destroy' is not one of unknown, allow, block, alert"),
        (sentinel(threatType="Spam"), "'threatType'"),
        (sentinel(confidence=101), "'confidence': 101 is outside 0..100"),
        (sentinel(severity=6), "'severity'"),
        (sentinel(severity="high"), "'severity': expected an integer"),
        (sentinel(networkIPv4="2001:db8::1"), "'networkIPv4'"),
        (sentinel(killChain=["Lunch"]), "'killChain'"),
        (sentinel(expirationDateTime="next week"), "'expirationDateTime'"),
        (sentinel(fileHashValue="ab" * 32), "'fileHashType' is required"),
        (sentinel(colour="red"), "no property 'colour'"),
        (sentinel(id="mine"), "'id' is set by the server"),
        (sentinel(targetProduct="Splunk"), "'targetProduct'"),
        ({"action": "block", "domainName": "x.example"}, "'targetProduct' is required"),
        (defender(domainName=None), "needs one of domainName, url"),
        (defender(action=None), "'action' is required"),
    ],
)
def test_each_invalid_indicator_is_refused_naming_the_property(
    database: Database, tenant: str, fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        create(database, tenant, {k: v for k, v in fields.items() if v is not None})
    assert named in str(refused.value)
    with database.session() as session:
        assert list_indicators(session, tenant_id=tenant) == []


def test_a_defender_indicator_needs_only_an_action_and_an_observable(database: Database, tenant: str) -> None:
    made = create(database, tenant, defender(fileHashValue="ab" * 32, fileHashType="SHA256", domainName=None))
    assert made.properties["fileHashType"] == "sha256"
    assert made.expiration is None
    assert made.active_at(NOW + timedelta(days=3650))


def test_another_app_or_tenant_sees_nothing_and_changes_nothing(database: Database, tenant: str) -> None:
    made = create(database, tenant, sentinel())
    with database.session() as session:
        other = create_tenant(session, name=unique("other"), actor=APP).id
        for tenant_id, owner in ((tenant, "other-app"), (other, "feed-app")):
            scope = {"tenant_id": tenant_id, "owner_app": owner, "indicator_id": made.id}
            assert find_indicator(session, **scope) is None
            assert update_indicator(session, **scope, changes={"severity": 5}, actor=APP) is None
            assert delete_indicator(session, **scope, actor=APP) is None
            assert list_indicators(session, tenant_id=tenant_id, owner_app=owner) == []
        assert find_indicator(session, tenant_id=tenant, owner_app="feed-app", indicator_id=made.id) == made


def test_updates_change_editable_properties_only(database: Database, tenant: str) -> None:
    made = create(database, tenant, sentinel(tags=["a"]))
    scope = {"tenant_id": tenant, "owner_app": "feed-app", "indicator_id": made.id}
    with database.session() as session:
        changed = update_indicator(session, **scope, actor=APP,
                                   changes={"severity": 5, "tags": None, "targetProduct": "Azure Sentinel",
                                            "knownFalsePositives": "the lab scanner"})  # fmt: skip
    assert changed is not None
    assert (changed.properties["severity"], changed.properties["tags"]) == (5, [])
    assert changed.properties["knownFalsePositives"] == "the lab scanner"
    for changes, named in (({"networkIPv4": "198.51.100.1"}, "'networkIPv4' cannot be changed"),
                           ({"targetProduct": DEFENDER}, "'targetProduct' cannot be changed"),
                           ({"description": None}, "requires 'description'"),
                           ({"confidence": -1}, "'confidence'")):  # fmt: skip
        with pytest.raises(InvalidRequestError) as refused, database.session() as session:
            update_indicator(session, **scope, changes=changes, actor=APP)
        assert named in str(refused.value)
    with database.session() as session:
        assert find_indicator(session, **scope) == changed


def test_an_expired_indicator_reads_inactive(database: Database, tenant: str) -> None:
    made = create(database, tenant, sentinel(expirationDateTime="2026-03-02T00:00:00+00:00"))
    assert made.to_graph(NOW)["isActive"] is True
    assert made.to_graph(NOW + timedelta(days=2))["isActive"] is False
    with database.session() as session:
        before = list_indicators(session, tenant_id=tenant, active_only=True, now=NOW)
        after = list_indicators(session, tenant_id=tenant, active_only=True, now=NOW + timedelta(days=2))
        everything = list_indicators(session, tenant_id=tenant, now=NOW + timedelta(days=2))
    assert ([i.id for i in before], after, [i.id for i in everything]) == ([made.id], [], [made.id])


def test_switched_off_indicators_are_not_active(database: Database, tenant: str) -> None:
    made = create(database, tenant, sentinel(isActive=False))
    assert made.to_graph(NOW)["isActive"] is False
    with database.session() as session:
        assert list_indicators(session, tenant_id=tenant, active_only=True, now=NOW) == []


def test_deleting_by_external_id_removes_every_indicator_of_the_app_with_it(
    database: Database, tenant: str
) -> None:
    first, second = (
        create(database, tenant, sentinel(externalId="feed-1")),
        create(database, tenant, defender(externalId="feed-1")),
    )
    theirs = create(database, tenant, sentinel(externalId="feed-1"), owner="other-app")
    with database.session() as session:
        gone = delete_by_external_id(
            session, tenant_id=tenant, owner_app="feed-app", external_id="feed-1", actor=APP
        )
        left = list_indicators(session, tenant_id=tenant)
    assert sorted(i.id for i in gone) == sorted([first.id, second.id])
    assert [i.id for i in left] == [theirs.id]


def test_the_tenant_holds_at_most_the_defender_limit(database: Database, tenant: str) -> None:
    rows = [{"id": new_id(), "tenant_id": tenant, "owner_app": "bulk", "action": "block", "target_product": DEFENDER,
             "domain_name": f"d{n}.example", "severity": 3, "is_active": True, "passive_only": False, "tags": [],
             "kill_chain": [], "activity_group_names": [], "malware_family_names": [], "details": {},
             "ingested_at": NOW, "updated_at": NOW} for n in range(DEFENDER_LIMIT - 1)]  # fmt: skip
    with database.session() as session:
        session.execute(insert(TiIndicatorRecord), rows)
    create(database, tenant, defender())  # the last one that fits
    with pytest.raises(InvalidRequestError, match="already holds 15000 indicators"):
        create(database, tenant, defender(domainName="one-more.example"))
    assert create(database, tenant, sentinel()).target_product == "Azure Sentinel"  # other targets unaffected
