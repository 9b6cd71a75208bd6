"""Providers in the state database: configured, found (within a tenant), and their alerts taken in.

:func:`take_in` is the heart: in the caller's one transaction it stores a pull's new alerts (each
placed in an incident: alerts of one provider sharing the provider's grouping values within five
hours join one incident), applies a provider's later changes to alerts it already sent, links
provider alert ids to alerts (so nothing is taken twice) and records the checkpoint. Functions
take a session and are keyword-only; every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.cases import AlertRead, raise_alerts, update_alert
from watchkeeper.cases.models import AlertRecord
from watchkeeper.connectors.base import SEVERITIES, ProviderAlert
from watchkeeper.connectors.models import ProviderAlertLink, ProviderCheckpoint, ProviderRead, ProviderRecord
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.models import DetectionRule, GroupingConfiguration, IncidentConfiguration
from watchkeeper.detections.scheduler import Window
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import utc_now

__all__ = [
    "PROVIDER_NAME",
    "TakenIn",
    "checkpoint_of",
    "create_provider",
    "find_provider",
    "link_of",
    "list_providers",
    "provider_secrets",
    "take_in",
]

PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# alerts of one provider sharing their grouping values join one incident within this span
GROUPING = GroupingConfiguration(enabled=True, lookback=timedelta(hours=5), matching_method="Selected",
                                 group_by_custom_details=("Provider", "Group"))  # fmt: skip
_SYNCED = ("status", "classification", "determination", "assigned_to")
_GRAPH_NAMES = {"assigned_to": "assignedTo"}


@dataclass(frozen=True)
class TakenIn:
    """What one intake stored: new alerts, alerts the provider changed, ids already held."""

    created: list[AlertRead]
    updated: list[AlertRead]
    duplicates: int


def create_provider(
    session: Session, *, tenant_id: str, workspace_id: str, name: str, kind: str, settings: Mapping[str, Any],
    secrets: Mapping[str, str], actor: Actor,
) -> ProviderRead:  # fmt: skip
    """Configure a provider; InvalidRequestError for a bad or taken name. Audited (secret names only)."""
    if not PROVIDER_NAME.match(name):
        raise InvalidRequestError(f"provider name {name!r}: 1 to 64 letters, digits, '-', '_' or '.'")
    if find_provider(session, tenant_id=tenant_id, name=name) is not None:
        raise InvalidRequestError(f"the tenant already has a provider named {name!r}")
    found = ProviderRecord(tenant_id=tenant_id, workspace_id=workspace_id, name=name, kind=kind,
                           settings=dict(settings), secrets=dict(secrets))  # fmt: skip
    session.add(found)
    session.flush()
    record(session, actor=actor, action="provider.create", outcome="success", target=found.id, tenant_id=tenant_id,
           detail={"name": name, "kind": kind, "secrets": sorted(secrets)})  # fmt: skip
    return ProviderRead.of(found)


def find_provider(session: Session, *, tenant_id: str, name: str) -> ProviderRead | None:
    """The tenant's provider named ``name``; another tenant's is never found."""
    found = _provider(session, tenant_id, name)
    return ProviderRead.of(found) if found is not None else None


def list_providers(session: Session, *, tenant_id: str | None = None) -> list[ProviderRead]:
    """Every provider (of one tenant when given), by name."""
    query = select(ProviderRecord).order_by(ProviderRecord.tenant_id, ProviderRecord.name)
    if tenant_id is not None:
        query = query.where(ProviderRecord.tenant_id == tenant_id)
    return [ProviderRead.of(p) for p in session.scalars(query)]


def provider_secrets(session: Session, *, provider_id: str) -> dict[str, str]:
    """The provider's secrets, for the connector that uses them (never for display)."""
    found = session.get(ProviderRecord, provider_id)
    return dict(found.secrets) if found is not None else {}


def checkpoint_of(session: Session, *, provider_id: str) -> str | None:
    found = session.get(ProviderCheckpoint, provider_id)
    return found.value if found is not None else None


def link_of(session: Session, *, alert_id: str) -> ProviderRead | None:
    """The provider an alert came from, if it came from one."""
    link = session.scalar(select(ProviderAlertLink).where(ProviderAlertLink.alert_id == alert_id))
    found = session.get(ProviderRecord, link.provider_id) if link is not None else None
    return ProviderRead.of(found) if found is not None else None


def take_in(
    session: Session, *, provider: ProviderRead, alerts: Iterable[ProviderAlert], checkpoint: str | None,
    actor: Actor,
) -> TakenIn:  # fmt: skip
    """Store ``alerts`` of ``provider`` (new ones raised, known ones updated) and ``checkpoint``."""
    created: list[AlertRead] = []
    updated: list[AlertRead] = []
    duplicates = 0
    for alert in _distinct(alerts):
        held = session.scalar(select(ProviderAlertLink).where(
            ProviderAlertLink.provider_id == provider.id,
            ProviderAlertLink.provider_alert_id == alert.provider_alert_id))  # fmt: skip
        if held is None:
            created.append(_raise(session, provider, alert, actor))
            continue
        changed = _update(session, provider, held.alert_id, alert, actor)
        duplicates += changed is None
        updated += [changed] if changed is not None else []
    if checkpoint is not None:
        _save_checkpoint(session, provider.id, checkpoint, len(created))
    return TakenIn(created, updated, duplicates)


def _distinct(alerts: Iterable[ProviderAlert]) -> list[ProviderAlert]:
    """One alert per provider id (the last one wins: it is the provider's latest word)."""
    return list({alert.provider_alert_id: alert for alert in alerts}.values())


def _raise(session: Session, provider: ProviderRead, alert: ProviderAlert, actor: Actor) -> AlertRead:
    if alert.severity not in SEVERITIES:
        raise InvalidRequestError(f"severity must be one of {', '.join(SEVERITIES)}, not {alert.severity!r}")
    (raised,) = raise_alerts(session, tenant_id=provider.tenant_id, workspace_id=provider.workspace_id,
                             rule_ref=None, drafts=[_draft(provider, alert)], actor=actor, now=utc_now())  # fmt: skip
    session.add(ProviderAlertLink(provider_id=provider.id, provider_alert_id=alert.provider_alert_id,
                                  alert_id=raised.id))  # fmt: skip
    session.flush()
    changes = {_GRAPH_NAMES.get(n, n): getattr(alert, n) for n in _SYNCED if getattr(alert, n) is not None}
    changes = {k: v for k, v in changes.items() if getattr(raised, _snake(k)) != v}
    if not changes:
        return raised
    return update_alert(session, tenant_id=provider.tenant_id, alert_id=raised.id, changes=changes,
                        actor=actor) or raised  # fmt: skip


def _update(
    session: Session, provider: ProviderRead, alert_id: str, alert: ProviderAlert, actor: Actor
) -> AlertRead | None:
    """Apply the provider's newer status, classification, determination, assignee (None if none)."""
    current = session.get(AlertRecord, alert_id)
    if current is None:
        return None
    changes = {_GRAPH_NAMES.get(n, n): getattr(alert, n) for n in _SYNCED
               if getattr(alert, n) is not None and getattr(current, n) != getattr(alert, n)}  # fmt: skip
    if not changes:
        return None
    return update_alert(
        session, tenant_id=provider.tenant_id, alert_id=alert_id, changes=changes, actor=actor
    )


def _snake(name: str) -> str:
    return "assigned_to" if name == "assignedTo" else name


def _draft(provider: ProviderRead, alert: ProviderAlert) -> AlertDraft:
    first = alert.first_activity or alert.created
    last = alert.last_activity or first
    rule = DetectionRule(
        rule_id=(alert.detector_id or provider.kind)[:64], name=f"{provider.name}: {alert.title}"[:256],
        source_format=provider.kind, query="", description=alert.description, severity=alert.severity,
        incident=IncidentConfiguration(create_incident=True, grouping=GROUPING),
    )  # fmt: skip
    group = "|".join(alert.group_by) or alert.title
    return AlertDraft(
        rule=rule, window=Window(min(first, last), max(first, last)), title=alert.title,
        description=alert.description, severity=alert.severity, tactics=alert.tactics,
        techniques=alert.techniques, entities=alert.entities,
        custom_details={"Provider": [provider.name], "Group": [group]},
        dynamic_properties=alert.properties(), rows=1, first_event=first, last_event=last,
    )  # fmt: skip


def _save_checkpoint(session: Session, provider_id: str, value: str, taken: int) -> None:
    found = session.get(ProviderCheckpoint, provider_id)
    if found is None:
        found = ProviderCheckpoint(provider_id=provider_id, value=value, alerts=0)
        session.add(found)
    found.value, found.alerts, found.updated_at = value, found.alerts + taken, utc_now()
    session.flush()


def _provider(session: Session, tenant_id: str, name: str) -> ProviderRecord | None:
    query = select(ProviderRecord).where(ProviderRecord.tenant_id == tenant_id, ProviderRecord.name == name)
    return session.scalar(query)
