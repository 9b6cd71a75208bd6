"""The built-in provider on the state database (SQLite, and PostgreSQL when WK_TEST_POSTGRES_URL is
set): parameters checked before anything is stored, blockIp puts the address on the tenant's
blocklist with a block indicator, allowIp lifts it, cancelling undoes either, tenants apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.automation import (
    ActionRefused,
    BlocklistProvider,
    apply_report,
    blocked_addresses,
    create_action,
    find_action,
    mark_cancelled,
)
from watchkeeper.automation.actions.blocklist import DEFAULT_BLOCK
from watchkeeper.directory import create_tenant
from watchkeeper.intel import find_indicator
from watchkeeper.state import Database, utc_now

PROVIDER = BlocklistProvider()
SYSTEM = Actor("system", "tests")


def tenant(database: Database) -> str:
    with database.session() as session:
        return create_tenant(session, name=unique("t"), actor=SYSTEM).id


def run(database: Database, tenant_id: str, name: str, **parameters: str) -> str:
    """Validate, store and start an action as the flow does; its id."""
    checked = PROVIDER.validate(name, parameters)
    with database.session() as session:
        action = create_action(session, tenant_id=tenant_id, name=name, provider=PROVIDER.name, app_id="app-1",
                               user="u-1", parameters=[{"name": k, "value": v} for k, v in checked.items()])  # fmt: skip
        report = PROVIDER.start(action, session=session)
        apply_report(
            session, tenant_id=tenant_id, action_id=action.id, report=report, app_id="app-1", user="u-1"
        )
    return action.id


def blocklist(database: Database, tenant_id: str) -> list[str]:
    with database.session() as session:
        return [entry.address for entry in blocked_addresses(session, tenant_id=tenant_id)]


def cancel(database: Database, tenant_id: str, action_id: str) -> None:
    with database.session() as session:
        action = find_action(session, tenant_id=tenant_id, action_id=action_id)
        assert action is not None
        PROVIDER.cancel(action, session=session)
        mark_cancelled(session, tenant_id=tenant_id, action_id=action_id, app_id="app-2", user=None)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "needs the parameter IP"),
        ({"IP": "10.0.0.256"}, "'10.0.0.256' is not an IPv4 or IPv6 address"),
        ({"IP": "1.2.3.4", "Port": "22"}, "not 'Port'"),
        ({"IP": "1.2.3.4", "ExpirationDateTime": "tomorrow"}, "is not an ISO 8601 date and time"),
        ({"IP": "1.2.3.4", "ExpirationDateTime": "2020-01-01T00:00:00Z"}, "must be in the future"),
        ({"IP": "1.2.3.4", "ExpirationDateTime": "2099-01-01T00:00:00"}, "needs an offset"),
    ],
)
def test_block_parameters_are_checked_with_a_reason(parameters: dict[str, str], message: str) -> None:
    with pytest.raises(ActionRefused, match=message):
        PROVIDER.validate("blockIp", parameters)


def test_parameter_and_action_names_match_in_any_case_and_addresses_are_canonical() -> None:
    assert PROVIDER.accepts("BLOCKIP")
    assert PROVIDER.accepts("allowip")
    assert not PROVIDER.accepts("isolateHost")
    assert PROVIDER.validate("BlockIp", {"ip": "2001:DB8:0:0::1"}) == {"IP": "2001:db8::1"}


def test_block_lists_the_address_with_an_active_block_indicator(database: Database) -> None:
    tenant_id, other = tenant(database), tenant(database)
    action_id = run(database, tenant_id, "blockIp", IP="203.0.113.7")
    run(database, tenant_id, "blockIp", IP="2001:db8::7")
    with database.session() as session:
        action = find_action(session, tenant_id=tenant_id, action_id=action_id)
        assert action is not None
        assert action.status == "Completed"
        assert action.provider_ref is not None
        assert [s["status"] for s in action.states] == ["NotStarted", "Running", "Completed"]
        indicator = find_indicator(
            session, tenant_id=tenant_id, owner_app="app-1", indicator_id=action.provider_ref
        )
        [entry, _] = blocked_addresses(session, tenant_id=tenant_id)
    assert indicator is not None
    assert indicator.is_active
    assert (indicator.action, indicator.target_product) == ("block", "Microsoft Defender ATP")
    assert indicator.properties["networkDestinationIPv4"] == "203.0.113.7"
    assert indicator.properties["threatType"] == "WatchList"
    assert abs(entry.expires_at - (utc_now() + DEFAULT_BLOCK)) < timedelta(minutes=1)
    assert blocklist(database, tenant_id) == ["203.0.113.7", "2001:db8::7"]
    assert blocklist(database, other) == []  # another tenant's list is its own


def test_a_block_ends_at_its_expiration(database: Database) -> None:
    tenant_id = tenant(database)
    until = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    run(database, tenant_id, "blockIp", IP="198.51.100.1", ExpirationDateTime=until.isoformat())
    with database.session() as session:
        assert [e.expires_at for e in blocked_addresses(session, tenant_id=tenant_id)] == [until]
        later = blocked_addresses(session, tenant_id=tenant_id, now=until + timedelta(seconds=1))
    assert later == []


def test_allow_lifts_a_block_and_cancelling_the_allow_restores_it(database: Database) -> None:
    tenant_id = tenant(database)
    block = run(database, tenant_id, "blockIp", IP="192.0.2.10")
    allow = run(database, tenant_id, "allowIp", IP="192.0.2.10")
    assert blocklist(database, tenant_id) == []
    with database.session() as session:
        action = find_action(session, tenant_id=tenant_id, action_id=block)
        assert action is not None
        assert action.provider_ref is not None
        indicator = find_indicator(
            session, tenant_id=tenant_id, owner_app="app-1", indicator_id=action.provider_ref
        )
    assert indicator is not None
    assert not indicator.is_active
    cancel(database, tenant_id, allow)
    assert blocklist(database, tenant_id) == ["192.0.2.10"]


def test_cancelling_a_block_takes_the_address_off_and_ends_failed_saying_so(database: Database) -> None:
    tenant_id = tenant(database)
    kept = run(database, tenant_id, "blockIp", IP="192.0.2.20")
    gone = run(database, tenant_id, "blockIp", IP="192.0.2.21")
    cancel(database, tenant_id, gone)
    assert blocklist(database, tenant_id) == ["192.0.2.20"]
    with database.session() as session:
        action = find_action(session, tenant_id=tenant_id, action_id=gone)
        assert find_action(session, tenant_id=tenant_id, action_id=kept) is not None
    assert action is not None
    assert action.status == "Failed"
    assert action.cancelled_at is not None
    assert action.error_info is not None
    assert action.error_info["code"] == 499
    assert "cancelled by app app-2" in action.error_info["message"]
    assert action.states[-1]["appId"] == "app-2"


def test_another_tenants_action_is_not_found(database: Database) -> None:
    tenant_id, other = tenant(database), tenant(database)
    action_id = run(database, tenant_id, "blockIp", IP="192.0.2.30")
    with database.session() as session:
        assert find_action(session, tenant_id=other, action_id=action_id) is None


def test_times_are_utc(database: Database) -> None:
    tenant_id = tenant(database)
    action_id = run(database, tenant_id, "blockIp", IP="192.0.2.40")
    with database.session() as session:
        action = find_action(session, tenant_id=tenant_id, action_id=action_id)
    assert action is not None
    assert action.completed_at is not None
    assert action.created_at.tzinfo is not None
    assert action.completed_at.utcoffset() == timedelta(0)
    assert action.created_at <= action.completed_at <= datetime.now(UTC)
