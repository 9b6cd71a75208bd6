"""Use cases that cross domains, as short functions: each takes the :class:`Runtime` and an
:class:`~watchkeeper.audit.Actor`, does one thing, and audits it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.directory import WorkspaceRead, find_workspace
from watchkeeper.directory.shared_keys import verification_keys
from watchkeeper.errors import NotFoundError, WatchkeeperError
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.receivers.data_collector import (
    CollectorError,
    CollectorPost,
    collector_batch,
    signature_matches,
)
from watchkeeper.ingest.rules import find_rule
from watchkeeper.runtime import Runtime
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.result import QueryResult
from watchkeeper.workspace import IngestTally, Workspace

__all__ = [
    "DemoAccess",
    "QueryOutcome",
    "QueryRequest",
    "collect_logs",
    "ingest_batch",
    "ingest_stream",
    "open_workspace",
    "provision_demo",
    "resolve_workspace",
    "run_query",
    "saved_demo_access",
]


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """A KQL query as a protocol received it. ``timeout``/``max_rows`` are what the caller asked
    for (None: the server's defaults); the timeout is capped by ``query_timeout_max``."""

    text: str
    workspace: str  # id or name, within the caller's tenant
    timeout: float | None = None
    max_rows: int | None = None
    time_range: tuple[datetime, datetime] | None = None
    protocol: str = "kql"


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    workspace: WorkspaceRead
    result: QueryResult
    seconds: float
    limits: QueryLimits


def resolve_workspace(runtime: Runtime, actor: Actor, ref: str) -> WorkspaceRead:
    """The actor's tenant's workspace called ``ref`` (id or name); NotFoundError otherwise, with
    the same message whether it does not exist or belongs to another tenant."""
    if actor.tenant_id is None:
        raise NotFoundError("workspace", ref)
    with runtime.database.session() as session:
        found = find_workspace(session, tenant_id=actor.tenant_id, ref=ref)
    if found is None:
        raise NotFoundError("workspace", ref)
    return found


def effective_limits(runtime: Runtime, request: QueryRequest) -> QueryLimits:
    settings = runtime.settings
    timeout = min(request.timeout or settings.query_timeout, settings.query_timeout_max)
    return QueryLimits(max_rows=request.max_rows or settings.query_row_limit, timeout=timeout)


def run_query(runtime: Runtime, actor: Actor, request: QueryRequest) -> QueryOutcome:
    """Run a query against one of the actor's tenant's workspaces within the tenant's concurrency
    limit, and audit it (text, workspace, rows, time, outcome) whatever happens: a workspace that
    cannot be found is audited too, under the workspace reference the caller gave, in the
    caller's tenant (so probing for other tenants' workspaces leaves a trace)."""
    started = time.perf_counter()
    detail: dict[str, object] = {"query": request.text, "protocol": request.protocol}
    target, tenant_id = request.workspace, actor.tenant_id
    try:
        workspace = resolve_workspace(runtime, actor, request.workspace)
        target, tenant_id = workspace.id, workspace.tenant_id
        detail["workspace"] = workspace.name
        limits = effective_limits(runtime, request)
        with runtime.gate.slot(workspace.tenant_id):
            store = runtime.workspaces.get(workspace)
            result = store.query(request.text, limits=limits, time_range=request.time_range)
    except WatchkeeperError as exc:
        detail |= {"error": type(exc).__name__, "message": str(exc)[:2000]}
        _audit_query(runtime, actor, (target, tenant_id), "failure", detail, started)
        raise
    detail |= {"rows": len(result.rows), "truncated": result.truncated}
    _audit_query(runtime, actor, (target, tenant_id), "success", detail, started)
    return QueryOutcome(workspace, result, time.perf_counter() - started, limits)


def _audit_query(
    runtime: Runtime,
    actor: Actor,
    where: tuple[str, str | None],
    outcome: str,
    detail: dict[str, object],
    started: float,
) -> None:
    target, tenant_id = where
    detail["seconds"] = round(time.perf_counter() - started, 6)
    with runtime.database.session() as session:
        record(session, actor=actor, action="query.run", outcome=outcome, target=target,
               tenant_id=tenant_id, detail=detail)  # fmt: skip


def open_workspace(
    runtime: Runtime, actor: Actor, ref: str, *, protocol: str
) -> tuple[WorkspaceRead, Workspace]:
    """One of the actor's tenant's workspaces with its store, for reading its schema; audited as
    ``query.metadata`` whether it is found or not."""
    detail: dict[str, object] = {"protocol": protocol}
    try:
        found = resolve_workspace(runtime, actor, ref)
    except NotFoundError:
        with runtime.database.session() as session:
            record(session, actor=actor, action="query.metadata", outcome="failure", target=ref,
                   detail=detail | {"error": "NotFoundError"})  # fmt: skip
        raise
    with runtime.database.session() as session:
        record(session, actor=actor, action="query.metadata", outcome="success", target=found.id,
               tenant_id=found.tenant_id, detail=detail | {"workspace": found.name})  # fmt: skip
    return found, runtime.workspaces.get(found)


# ---------------------------------------------------------------------------- ingestion


def ingest_batch(
    runtime: Runtime,
    actor: Actor,
    workspace: WorkspaceRead,
    batch: Parsed,
    *,
    source: str,
    input_format: str,
    destination: str | None = None,
    batch_id: str | None = None,
) -> IngestTally:
    """Accept one received batch for ``workspace`` and audit it (``ingest.batch``: rows per table,
    rejected records). It returns once the batch is in the workspace's journal on disk, so a
    receiver that acknowledges after it has acknowledged only what a crash cannot lose; the
    journal's writer makes it queryable moments later. ``batch_id`` (the client's request id)
    makes a redelivered batch a no-op. Records that cannot be stored go to ``IngestionErrors``;
    a batch that cannot be accepted at all raises and leaves nothing behind."""
    detail: dict[str, object] = {"source": source, "format": input_format}
    if batch_id is not None:
        detail["batch"] = batch_id
    try:
        tally = runtime.workspaces.get(workspace).submit(
            batch, source=source, input_format=input_format, destination=destination, batch_id=batch_id
        )
    except WatchkeeperError as exc:
        _audit_ingest(runtime, actor, workspace, "failure", detail | {"error": type(exc).__name__})
        raise
    detail |= {"tables": tally.tables, "rejected": tally.rejected}
    if tally.duplicate:
        detail["duplicate"] = True
    _audit_ingest(runtime, actor, workspace, "success", detail)
    return tally


def _audit_ingest(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, outcome: str, detail: dict[str, object]
) -> None:
    with runtime.database.session() as session:
        record(session, actor=actor, action="ingest.batch", outcome=outcome, target=workspace.id,
               tenant_id=workspace.tenant_id, detail=detail)  # fmt: skip


# ---------------------------------------------------------------------------- receivers


def ingest_stream(
    runtime: Runtime,
    actor: Actor,
    rule_id: str,
    stream: str,
    records: list[dict[str, Any]],
    *,
    request_id: str | None = None,
) -> IngestTally:
    """Logs Ingestion API: ``records`` sent to ``stream`` of data collection rule ``rule_id`` (the
    actor's tenant's; another tenant's is not found, like a missing one), through the stream's
    transform into its table. Audited (``ingest.batch``), a rule that cannot be found too.
    ``request_id`` (the client's ``x-ms-client-request-id``, which Azure SDKs keep when they retry)
    makes a request sent again after a lost answer a no-op instead of a second copy."""
    with runtime.database.session() as session:
        rule = (
            find_rule(session, tenant_id=actor.tenant_id, immutable_id=rule_id) if actor.tenant_id else None
        )
        workspace = find_workspace(session, tenant_id=rule.tenant_id, ref=rule.workspace_id) if rule else None
    if rule is None or workspace is None:
        with runtime.database.session() as session:
            record(session, actor=actor, action="ingest.batch", outcome="failure", target=rule_id,
                   detail={"source": f"dcr:{rule_id}/{stream}", "error": "NotFoundError"})  # fmt: skip
        raise NotFoundError("data collection rule", rule_id)
    route = rule.stream(stream)
    if route is None:
        raise NotFoundError(f"stream of data collection rule {rule.immutable_id}", stream)
    source = f"dcr:{rule.immutable_id}/{route.stream}"
    outcome = route.transformer().apply(records)
    batch = Parsed()
    for row in outcome.rows:
        batch.add(route.table, row)
    for index, reason in outcome.refused:
        batch.reject(f"{source}:record {index + 1}", _json(records[index]), reason)
    batch_id = f"{source}/{request_id}" if request_id else None
    with runtime.ingest_gate.admit(workspace.id):
        return ingest_batch(
            runtime, actor, workspace, batch, source=source, input_format="logs-ingestion", batch_id=batch_id
        )


def _json(value: object) -> str:
    import json

    return json.dumps(value, default=str)


# compared against when the workspace named in a signature does not exist, so that answering takes
# as long as for a wrong key (the answer is the same)
_DECOY_KEY = bytes(64)


def collect_logs(runtime: Runtime, post: CollectorPost, *, request_id: str | None = None) -> IngestTally:
    """HTTP Data Collector API: a signed post of records for table ``{Log-Type}_CL`` of the
    workspace its signature names. A wrong signature, key or workspace is refused alike
    (``InvalidAuthorization``) and audited in the workspace's tenant when there is one."""
    now = datetime.now(UTC)
    signer = post.check(now)
    with runtime.database.session() as session:
        found = verification_keys(session, workspace_id=signer.workspace_id)
    if not signature_matches(found[1] if found else [_DECOY_KEY], post, signer.signature) or found is None:
        with runtime.database.session() as session:
            record(session, actor=Actor("key", signer.workspace_id, request_id=request_id), action="ingest.denied",
                   outcome="denied", target=signer.workspace_id, tenant_id=found[0].tenant_id if found else None,
                   detail={"protocol": "data-collector"})  # fmt: skip
        raise CollectorError("InvalidAuthorization", "The signature, key or workspace is not valid.", 403)
    workspace = found[0]
    actor = Actor("key", workspace.id, workspace.tenant_id, request_id)
    existing = runtime.workspaces.get(workspace).table_for_writes(post.table)
    source = f"data-collector:{post.log_type}"
    batch = collector_batch(post, workspace_id=workspace.id, existing=existing, now=now, source=source)
    with runtime.ingest_gate.admit(workspace.id):
        return ingest_batch(runtime, actor, workspace, batch, source=source, input_format="data-collector")


# ---------------------------------------------------------------------------- the demo tenant

DEMO_TENANT = "demo"
DEMO_WORKSPACE = "default"
DEMO_APP = "demo-analyst"
DEMO_USER = "analyst"  # the demo's console user
DEMO_CREDENTIALS = "demo-credentials.json"


@dataclass(frozen=True, slots=True)
class DemoAccess:
    """What ``make run`` prints: the demo tenant, its workspace and an app that may do everything."""

    tenant_id: str
    workspace_id: str
    client_id: str
    client_secret: str
    console_user: str = ""  # a console user of the demo tenant with every role, and its password
    console_password: str = ""

    def to_json(self) -> dict[str, str]:
        return {"tenantId": self.tenant_id, "workspaceId": self.workspace_id, "clientId": self.client_id,
                "clientSecret": self.client_secret, "consoleUser": self.console_user,
                "consolePassword": self.console_password}  # fmt: skip


def provision_demo(runtime: Runtime, actor: Actor, folder: str) -> DemoAccess:
    """Register the demo workspace (events in ``folder``, relative to the data directory) under the
    ``demo`` tenant with an app holding every role. The app's secret is kept in
    ``<data dir>/demo-credentials.json`` (owner-only), so later runs can print it again; the demo
    is for trying things out on one machine, not for production credentials."""
    import json
    import os

    from watchkeeper.directory import ROLES, create_app, create_tenant, create_workspace, find_tenant

    path = runtime.settings.data_dir / DEMO_CREDENTIALS
    with runtime.database.session() as session:
        tenant = find_tenant(session, ref=DEMO_TENANT) or create_tenant(
            session, name=DEMO_TENANT, actor=actor
        )
        workspace = find_workspace(session, tenant_id=tenant.id, ref=DEMO_WORKSPACE) or create_workspace(
            session, tenant_id=tenant.id, name=DEMO_WORKSPACE, folder=folder, actor=actor
        )
        saved = _saved_demo_access(path)
        if saved is not None and saved.tenant_id == tenant.id and saved.workspace_id == workspace.id:
            return saved
        app = create_app(session, tenant_id=tenant.id, name=DEMO_APP, roles=sorted(ROLES), actor=actor)
        user, password = _demo_user(session, tenant.id, actor)
    access = DemoAccess(tenant.id, workspace.id, app.client_id, app.client_secret, user, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(access.to_json(), handle, indent=2)
    return access


def _demo_user(session: Session, tenant_id: str, actor: Actor) -> tuple[str, str]:
    """The demo's console user (every role) and its generated password; none when the user exists
    already (its password was only in a credentials file that is gone: ``wk users create``)."""
    import secrets

    from watchkeeper.directory import ROLES, DirectoryError, create_user

    password = secrets.token_urlsafe(18)
    try:
        with session.begin_nested():
            create_user(session, tenant_id=tenant_id, username=DEMO_USER, password=password, roles=sorted(ROLES),
                        actor=actor)  # fmt: skip
    except DirectoryError:
        return "", ""
    return DEMO_USER, password


def _saved_demo_access(path: Path) -> DemoAccess | None:
    import json

    try:
        data = json.loads(path.read_text())
        return DemoAccess(data["tenantId"], data["workspaceId"], data["clientId"], data["clientSecret"],
                          data.get("consoleUser", ""), data.get("consolePassword", ""))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def saved_demo_access(runtime: Runtime) -> DemoAccess | None:
    """The demo credentials ``provision_demo`` saved, if any."""
    return _saved_demo_access(runtime.settings.data_dir / DEMO_CREDENTIALS)
