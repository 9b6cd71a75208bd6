"""Alert providers across the layers: configuring them, running their pulls, taking in posted
alerts, and pushing status changes back to the product an alert came from.

Every intake goes through :func:`watchkeeper.connectors.service.take_in`: the alerts, their
incidents, the provider alert links and the checkpoint are written in one transaction, then the
alerts and incidents are mirrored into ``SecurityAlert``/``SecurityIncident``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.audit import Actor, record
from watchkeeper.cases import AlertRead, IncidentRead, find_incident
from watchkeeper.cases.models import AlertRecord
from watchkeeper.connectors import AlertProvider, ProviderConfig, StatusPusher, connector_named
from watchkeeper.connectors.models import ProviderRead
from watchkeeper.connectors.service import (
    TakenIn,
    checkpoint_of,
    create_provider,
    find_provider,
    link_of,
    list_providers,
    provider_secrets,
    take_in,
)
from watchkeeper.connectors.webhook import webhook_alerts
from watchkeeper.directory import WorkspaceRead, find_workspace
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.flows.cases import mirror
from watchkeeper.notifications import enqueue_changes
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now
from watchkeeper.store.base import QueryLimits

__all__ = [
    "ProviderRun",
    "add_provider",
    "provider_of",
    "push_alert_change",
    "receive_alerts",
    "run_enabled_providers",
    "run_provider",
]

# pulls one run makes at most (a provider with more waits for the next run)
MAX_PULLS = 50
_FAR = timedelta(days=3650)
SCHEDULER = Actor("system", "provider-scheduler")  # who runs providers on the server's timer
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderRun:
    """What one run of a provider took in."""

    provider: str
    pulls: int
    created: int
    updated: int
    duplicates: int
    error: str | None = None


def add_provider(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, *, name: str, kind: str,
    settings: Mapping[str, Any], secrets: Mapping[str, str],
) -> ProviderRead:  # fmt: skip
    """Configure a provider of ``kind`` sending its alerts to ``workspace``; its settings are
    checked by building it once (InvalidRequestError naming what is wrong)."""
    connector_named(kind).build(ProviderConfig(name, settings, secrets, read_table=lambda *_: []))
    with runtime.database.session() as session:
        return create_provider(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, name=name,
                               kind=kind, settings=settings, secrets=secrets, actor=actor)  # fmt: skip


def provider_of(runtime: Runtime, provider: ProviderRead) -> AlertProvider:
    """The running provider a configuration describes (a plugin's kind too)."""
    with runtime.database.session() as session:
        secrets = provider_secrets(session, provider_id=provider.id)
        workspace = find_workspace(session, tenant_id=provider.tenant_id, ref=provider.workspace_id)
    if workspace is None:
        raise NotFoundError("workspace", provider.workspace_id)
    config = ProviderConfig(provider.name, provider.settings, secrets, read_table=_reader(runtime, workspace))
    return connector_named(provider.kind).build(config)


def _reader(runtime: Runtime, workspace: WorkspaceRead):  # type: ignore[no-untyped-def]
    """Rows of a workspace table from ``since`` on, oldest first (none while the table is empty)."""

    def read(table: str, since: datetime, limit: int) -> list[dict[str, Any]]:
        ws = runtime.workspaces.get(workspace)
        if table not in ws.store.stored_tables():
            return []
        # `table` is a connector's constant and `limit` an int: no caller text reaches the query
        result = ws.query(f"{table} | sort by TimeGenerated asc | take {int(limit)}",
                          limits=QueryLimits(max_rows=limit, timeout=60.0), time_range=(since, utc_now() + _FAR))  # fmt: skip
        names = [name for name, _ in result.columns]
        return [dict(zip(names, row, strict=True)) for row in result.rows]

    return read


def run_provider(
    runtime: Runtime, actor: Actor, provider: ProviderRead, *, max_pulls: int = MAX_PULLS
) -> ProviderRun:
    """Pull ``provider`` until it has nothing more (at most ``max_pulls`` times), taking in what
    each pull finds with its checkpoint; a failing pull stops the run, reported and audited, and
    the next run resumes from the last checkpoint stored."""
    source = provider_of(runtime, provider)
    totals, pulls = [0, 0, 0], 0
    while pulls < max_pulls:
        with runtime.database.session() as session:
            checkpoint = checkpoint_of(session, provider_id=provider.id)
        try:
            pulled = source.pull(checkpoint)
        except Exception as exc:  # network, auth, the provider's own errors: the run ends, reported
            _audit_failure(runtime, actor, provider, exc)
            return ProviderRun(provider.name, pulls, totals[0], totals[1], totals[2], _error_text(exc))
        taken = _take_in(runtime, actor, provider, pulled.alerts, pulled.checkpoint)
        pulls, totals = pulls + 1, [totals[0] + len(taken.created), totals[1] + len(taken.updated),
                                    totals[2] + taken.duplicates]  # fmt: skip
        if not pulled.more:
            break
    return ProviderRun(provider.name, pulls, totals[0], totals[1], totals[2])


def run_enabled_providers(runtime: Runtime, actor: Actor = SCHEDULER) -> list[ProviderRun]:
    """One pass of the server's timer (``provider_tick``): every enabled provider of every tenant
    is run in turn. A provider that cannot even be built or stored is reported on its run and
    logged, and the others still run."""
    with runtime.database.session() as session:
        enabled = [p for p in list_providers(session) if p.enabled]
    runs: list[ProviderRun] = []
    for provider in enabled:
        try:
            runs.append(run_provider(runtime, actor, provider))
        except Exception as exc:  # one provider's broken configuration or intake never stops the others
            _LOG.exception(
                "alert provider %s of tenant %s: the run failed", provider.name, provider.tenant_id
            )
            runs.append(ProviderRun(provider.name, 0, 0, 0, 0, _error_text(exc)))
    return runs


def receive_alerts(runtime: Runtime, actor: Actor, *, tenant_id: str, name: str, body: Any) -> TakenIn:
    """Alerts posted to webhook provider ``name`` of the tenant (another tenant's is not found, as
    a missing one); InvalidRequestError naming the first bad field. Posting an alert again is a no-op
    unless its status, classification, determination or assignee changed."""
    with runtime.database.session() as session:
        provider = find_provider(session, tenant_id=tenant_id, name=name)
    if provider is None:
        raise NotFoundError("alert provider", name)
    if provider.kind != "webhook":
        raise InvalidRequestError(f"provider {name!r} is a {provider.kind} provider: only webhook providers "
                                  "take posted alerts")  # fmt: skip
    return _take_in(runtime, actor, provider, webhook_alerts(body, provider=name), None)


def _take_in(
    runtime: Runtime, actor: Actor, provider: ProviderRead, alerts: Any, checkpoint: str | None
) -> TakenIn:
    with runtime.database.session() as session:
        started = utc_now()
        taken = take_in(session, provider=provider, alerts=alerts, checkpoint=checkpoint, actor=actor)
        workspace = find_workspace(session, tenant_id=provider.tenant_id, ref=provider.workspace_id)
        incidents = _incidents(session, provider.tenant_id, [*taken.created, *taken.updated])
        _notify(session, provider.tenant_id, taken, incidents, started)
    if workspace is not None and (taken.created or taken.updated):
        mirror(runtime, workspace, actor=actor, alerts=[*taken.created, *taken.updated], incidents=incidents)
    return taken


def _notify(
    session: Any, tenant_id: str, taken: TakenIn, incidents: list[IncidentRead], started: datetime
) -> None:
    """Change notifications for what the intake created and updated, in its transaction (as for
    rule alerts): incidents made by this intake are created, those it added to are updated."""
    made = [i for i in incidents if i.created_at >= started]
    grown = [i for i in incidents if i.created_at < started]
    enqueue_changes(session, tenant_id=tenant_id, change_type="created", alerts=taken.created, incidents=made)
    enqueue_changes(
        session, tenant_id=tenant_id, change_type="updated", alerts=taken.updated, incidents=grown
    )


def _incidents(session: Any, tenant_id: str, alerts: list[AlertRead]) -> list[IncidentRead]:
    placed = sorted({a.incident_id for a in alerts if a.incident_id is not None})
    found = [find_incident(session, tenant_id=tenant_id, ref=i) for i in placed]
    return [i for i in found if i is not None]


def push_alert_change(runtime: Runtime, actor: Actor, alert: AlertRead) -> bool | None:
    """Send a change made here to the enabled provider ``alert`` came from, when it takes changes
    back (None: it came from none, a disabled one, or one that does not). Never raises: the outcome
    is kept on the alert (``properties.providerSync``: accepted or not, when, and the provider's
    error) and audited, so an analyst's change stands even when the provider refuses it."""
    with runtime.database.session() as session:
        provider = link_of(session, alert_id=alert.id)
    if provider is None or not provider.enabled:
        return None
    try:
        source = provider_of(runtime, provider)
        if not isinstance(source, StatusPusher):
            return None
        source.push_status(alert)
        error = None
    except Exception as exc:  # any refusal of the remote product is reported on the alert, not raised
        error = _error_text(exc)
    _record_sync(runtime, actor, alert, provider, error)
    return error is None


def _record_sync(
    runtime: Runtime, actor: Actor, alert: AlertRead, provider: ProviderRead, error: str | None
) -> None:
    with runtime.database.session() as session:
        found = session.get(AlertRecord, alert.id)
        if found is not None:
            sync = {
                "provider": provider.name,
                "accepted": error is None,
                "at": utc_now().isoformat(),
                "error": error,
            }
            found.properties = {**found.properties, "providerSync": sync}
        record(session, actor=actor, action="provider.push", outcome="success" if error is None else "failure",
               target=alert.id, tenant_id=alert.tenant_id, detail={"provider": provider.name, "error": error})  # fmt: skip


def _audit_failure(runtime: Runtime, actor: Actor, provider: ProviderRead, exc: Exception) -> None:
    with runtime.database.session() as session:
        record(session, actor=actor, action="provider.pull", outcome="failure", target=provider.id,
               tenant_id=provider.tenant_id, detail={"provider": provider.name, "error": _error_text(exc)})  # fmt: skip


def _error_text(exc: Exception) -> str:
    """An error as a run or an alert reports it: its kind and a bounded message (a provider's
    messages name hosts and status codes; secrets never enter them, see connectors.graph)."""
    return f"{type(exc).__name__}: {str(exc)[:500]}"
