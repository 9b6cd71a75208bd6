"""The syslog listeners ``wk serve`` starts beside the HTTP server: UDP, TCP and TLS ports from the
settings (``syslog_udp_port``, ``syslog_tcp_port``, ``syslog_tls_port``; each off unless set), every
message stored in ``syslog_workspace`` (``tenant/workspace``) through ``flows.ingest_batch``, so each
batch is committed and audited (``ingest.batch``, actor ``system/syslog``) like any other write.
TLS uses the server certificate under ``<data dir>/tls/``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from watchkeeper.cli.console import fail

if TYPE_CHECKING:
    import ssl

    from watchkeeper.directory import WorkspaceRead
    from watchkeeper.ingest.receivers.syslog import SyslogReceiver
    from watchkeeper.runtime import Runtime

__all__ = ["start_syslog", "syslog_workspace"]

log = logging.getLogger("watchkeeper.server")


def syslog_workspace(runtime: Runtime) -> WorkspaceRead:
    """The workspace ``syslog_workspace`` names (``tenant/workspace``); a clear error otherwise."""
    from watchkeeper.directory import find_tenant, find_workspace

    target = runtime.settings.syslog_workspace or ""
    tenant_ref, _, workspace_ref = target.partition("/")
    if not tenant_ref or not workspace_ref:
        raise fail(f"error: syslog_workspace must be tenant/workspace (WK_SYSLOG_WORKSPACE), not {target!r}")
    with runtime.database.session() as session:
        tenant = find_tenant(session, ref=tenant_ref)
        found = find_workspace(session, tenant_id=tenant.id, ref=workspace_ref) if tenant else None
    if found is None:
        raise fail(f"error: syslog_workspace {target!r}: no such tenant and workspace")
    return found


async def start_syslog(runtime: Runtime) -> SyslogReceiver | None:
    """Start the configured syslog listeners on the running loop; None when none is configured."""
    settings = runtime.settings
    ports = {
        "udp": settings.syslog_udp_port,
        "tcp": settings.syslog_tcp_port,
        "tls": settings.syslog_tls_port,
    }
    if all(port is None for port in ports.values()):
        return None
    from watchkeeper.audit import Actor
    from watchkeeper.flows import ingest_batch
    from watchkeeper.ingest.parsers.base import Parsed
    from watchkeeper.ingest.receivers.syslog import SyslogReceiver

    workspace = syslog_workspace(runtime)
    actor = Actor("system", "syslog", workspace.tenant_id)

    def deliver(batch: Parsed, source: str) -> None:
        ingest_batch(runtime, actor, workspace, batch, source=source, input_format="syslog")

    receiver = SyslogReceiver(deliver)
    await receiver.start()
    try:
        await _listen(runtime, receiver, ports)
    except OSError as exc:
        await receiver.close()
        raise fail(f"error: cannot listen for syslog: {exc.strerror or exc}") from None
    return receiver


async def _listen(runtime: Runtime, receiver: SyslogReceiver, ports: dict[str, int | None]) -> None:
    settings = runtime.settings
    host = settings.syslog_host or settings.host
    for transport, port in ports.items():
        if port is None:
            continue
        if transport == "udp":
            bound = await receiver.listen_udp(host, port)
        else:
            bound = await receiver.listen_tcp(host, port, tls=_tls(runtime) if transport == "tls" else None)
        url = f"syslog+{transport}://{host}:{bound}"
        log.info("listening on %s for %s", url, settings.syslog_workspace, extra={"url": url})


def _tls(runtime: Runtime) -> ssl.SSLContext:
    from watchkeeper.api.tls import ensure_certificates
    from watchkeeper.ingest.receivers.syslog import tls_context

    files = ensure_certificates(runtime.settings.data_dir, host=runtime.settings.host)
    return tls_context(files.cert, files.key)
