"""The built-in provider, ``watchkeeper``: ``blockIp`` puts an address on the tenant's blocklist
(served at ``GET /api/blocklist`` for firewalls and proxies to download), ``allowIp`` lifts it.

Cancelling a ``blockIp`` takes its address off the list; cancelling an ``allowIp`` puts back what
it lifted (unless that has expired meanwhile). A block lasts until its ``ExpirationDateTime``
parameter (ISO 8601 with an offset, at most :data:`MAX_BLOCK` ahead) or :data:`DEFAULT_BLOCK`.
Both actions complete as they start: the list is in the state database, so there is nothing to
wait for. Each block is also a threat indicator (action ``block``, threatType ``WatchList``, for
``Microsoft Defender ATP``, owned by the app that asked for the block), active while the address is
on the list, so matching and sharing see it; the indicator writes are audited as the action's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor
from watchkeeper.automation.actions.base import ActionRefused, ProviderReport, canonical_name
from watchkeeper.automation.models import BlocklistEntry, ResultInfo, SecurityActionRead, SecurityActionRecord
from watchkeeper.errors import InvalidRequestError
from watchkeeper.intel import create_indicator, update_indicator
from watchkeeper.state import utc_now

__all__ = ["DEFAULT_BLOCK", "MAX_BLOCK", "BlockedAddress", "BlocklistProvider", "blocked_addresses"]

DEFAULT_BLOCK = timedelta(days=30)
MAX_BLOCK = timedelta(days=365)
IP = "IP"
EXPIRATION = "ExpirationDateTime"
# parameter names each action takes -> whether it is required
_PARAMETERS: dict[str, dict[str, bool]] = {"blockIp": {IP: True, EXPIRATION: False}, "allowIp": {IP: True}}


@dataclass(frozen=True)
class BlockedAddress:
    """One address on a tenant's blocklist, until ``expires_at`` (the latest of its blocks)."""

    address: str
    expires_at: datetime


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ActionRefused(f"parameter {IP}: {value!r} is not an IPv4 or IPv6 address") from None


def _expiration(value: str, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ActionRefused(f"parameter {EXPIRATION}: {value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ActionRefused(f"parameter {EXPIRATION}: {value!r} needs an offset (e.g. Z for UTC)")
    if not now < moment <= now + MAX_BLOCK:
        raise ActionRefused(f"parameter {EXPIRATION}: {value!r} must be in the future and at most "
                            f"{MAX_BLOCK.days} days ahead")  # fmt: skip
    return moment


def _named(action: str, parameters: Mapping[str, str]) -> dict[str, str]:
    """The parameters under their canonical names; unknown, repeated or missing ones refused."""
    known = {name.casefold(): name for name in _PARAMETERS[action]}
    named: dict[str, str] = {}
    for given, value in parameters.items():
        name = known.get(given.casefold())
        if name is None:
            raise ActionRefused(f"{action} takes the parameters {sorted(known.values())}, not {given!r}")
        named[name] = value
    missing = [name for name, required in _PARAMETERS[action].items() if required and name not in named]
    if missing:
        raise ActionRefused(f"{action} needs the parameter {missing[0]}")
    return named


class BlocklistProvider:
    """``blockIp`` / ``allowIp`` on the tenant's downloadable blocklist."""

    name = "watchkeeper"
    vendor = "watchkeeper"
    actions: tuple[str, ...] = ("blockIp", "allowIp")

    def accepts(self, name: str) -> bool:
        return canonical_name(self, name) is not None

    def validate(self, name: str, parameters: Mapping[str, str]) -> dict[str, str]:
        action = canonical_name(self, name)
        if action is None:
            raise ActionRefused(f"{self.name} does not carry out {name!r}")
        named = _named(action, parameters)
        named[IP] = _address(named[IP])
        if EXPIRATION in named:
            named[EXPIRATION] = _expiration(named[EXPIRATION], utc_now()).isoformat()
        return named

    def start(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        address = _address(action.parameter(IP) or "")
        if action.name == "allowIp":
            lifted = _entries(session, action.tenant_id, address=address)
            _set_lifted(session, action, lifted, by=action.id)
            return ProviderReport("Completed")
        given = action.parameter(EXPIRATION)
        expires = datetime.fromisoformat(given) if given else utc_now() + DEFAULT_BLOCK
        try:
            indicator = create_indicator(session, tenant_id=action.tenant_id, owner_app=action.app_id,
                                         fields=_indicator_fields(action, address, expires),
                                         actor=_actor(action))  # fmt: skip
        except InvalidRequestError as refused:  # e.g. the tenant holds as many indicators as it may
            return ProviderReport("Failed", error=ResultInfo(code=400, message=str(refused)))
        entry = BlocklistEntry(tenant_id=action.tenant_id, address=address, action_id=action.id,
                               expires_at=expires, indicator_id=indicator.id)  # fmt: skip
        session.add(entry)
        session.flush()
        return ProviderReport("Completed", reference=indicator.id)

    def poll(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        # both actions complete as they start; a poll finds them as they ended
        return ProviderReport("Completed", reference=action.provider_ref)

    def cancel(self, action: SecurityActionRead, *, session: Session) -> None:
        if action.name == "allowIp":
            restored = list(
                session.scalars(select(BlocklistEntry).where(BlocklistEntry.lifted_by == action.id))
            )
            _set_lifted(session, action, restored, by=None)
            return
        for entry in _entries(session, action.tenant_id, action_id=action.id):
            entry.cancelled_at = utc_now()
            _set_indicator(session, action, entry, active=False)
        session.flush()


def _actor(action: SecurityActionRead) -> Actor:
    return Actor("system", f"securityAction:{action.id}", action.tenant_id)


def _indicator_fields(action: SecurityActionRead, address: str, expires: datetime) -> dict[str, str]:
    observable = (
        "networkDestinationIPv4" if ipaddress.ip_address(address).version == 4 else "networkDestinationIPv6"
    )
    return {
        "action": "block", "threatType": "WatchList", "targetProduct": "Microsoft Defender ATP",
        observable: address, "expirationDateTime": expires.isoformat(), "externalId": action.id,
        "description": f"blockIp security action {action.id}", "tlpLevel": "amber",
    }  # fmt: skip


def _entries(
    session: Session, tenant_id: str, *, address: str | None = None, action_id: str | None = None
) -> list[BlocklistEntry]:
    """The tenant's entries in force (neither lifted nor cancelled) for an address or an action."""
    query = select(BlocklistEntry).where(BlocklistEntry.tenant_id == tenant_id,
                                         BlocklistEntry.lifted_by.is_(None),
                                         BlocklistEntry.cancelled_at.is_(None))  # fmt: skip
    if address is not None:
        query = query.where(BlocklistEntry.address == address)
    if action_id is not None:
        query = query.where(BlocklistEntry.action_id == action_id)
    return list(session.scalars(query))


def _set_lifted(
    session: Session, action: SecurityActionRead, entries: list[BlocklistEntry], *, by: str | None
) -> None:
    for entry in entries:
        entry.lifted_by = by
        _set_indicator(session, action, entry, active=by is None)
    session.flush()


def _set_indicator(
    session: Session, action: SecurityActionRead, entry: BlocklistEntry, *, active: bool
) -> None:
    """The entry's indicator follows it on and off the list (it belongs to the app that asked for
    the block; an indicator its owner deleted meanwhile stays deleted)."""
    if entry.indicator_id is None:
        return
    owner = session.scalar(
        select(SecurityActionRecord.app_id).where(SecurityActionRecord.id == entry.action_id)
    )
    if owner is not None:
        update_indicator(session, tenant_id=entry.tenant_id, owner_app=owner, indicator_id=entry.indicator_id,
                         changes={"isActive": active}, actor=_actor(action))  # fmt: skip


def blocked_addresses(
    session: Session, *, tenant_id: str, now: datetime | None = None
) -> list[BlockedAddress]:
    """The tenant's blocklist now: addresses blocked, neither lifted, cancelled nor expired, in
    address order (IPv4 before IPv6)."""
    now = now or utc_now()
    query = (
        select(BlocklistEntry.address, func.max(BlocklistEntry.expires_at))
        .where(
            BlocklistEntry.tenant_id == tenant_id,
            BlocklistEntry.lifted_by.is_(None),
            BlocklistEntry.cancelled_at.is_(None),
            BlocklistEntry.expires_at > now,
        )
        .group_by(BlocklistEntry.address)
    )
    rows = [BlockedAddress(address, expires) for address, expires in session.execute(query)]
    return sorted(rows, key=lambda row: _sort_key(row.address))


def indicators_touched(session: Session, *, tenant_id: str, action_id: str) -> list[tuple[str, str]]:
    """(owner app, indicator id) of the block indicators an action created or switched: its own
    entries' (a blockIp), and those it lifted (an allowIp)."""
    query = (
        select(SecurityActionRecord.app_id, BlocklistEntry.indicator_id)
        .join(SecurityActionRecord, SecurityActionRecord.id == BlocklistEntry.action_id)
        .where(
            BlocklistEntry.tenant_id == tenant_id,
            BlocklistEntry.indicator_id.is_not(None),
            (BlocklistEntry.action_id == action_id) | (BlocklistEntry.lifted_by == action_id),
        )
    )
    return [(app, indicator) for app, indicator in session.execute(query) if indicator is not None]


def _sort_key(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)
