"""The HTTP server: a FastAPI application on a :class:`~watchkeeper.runtime.Runtime`.

Routes are grouped by protocol (``routes/``); each protocol's wire shapes live in ``protocols/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from watchkeeper import __version__
from watchkeeper.api.errors import install_error_handlers
from watchkeeper.api.middleware import RequestIdMiddleware
from watchkeeper.api.routes import (
    audit,
    cloud,
    console,
    console_alerts,
    console_dashboards,
    console_ingestion,
    console_rules,
    data_collector,
    detections,
    graph_alerts,
    graph_incidents,
    health,
    home,
    hunting,
    identity,
    incident_events,
    incident_tasks,
    kusto,
    log_analytics,
    logs_ingestion,
    providers,
    rules,
    secure_score,
    security_actions,
    subscriptions,
    ti_indicators,
    workbooks,
)
from watchkeeper.flows.nrt import attach_near_real_time
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

__all__ = ["create_app"]

ROUTERS = (
    home,
    health,
    identity,
    cloud,
    log_analytics,
    hunting,
    audit,
    kusto,
    logs_ingestion,
    data_collector,
    detections,
    graph_alerts,
    graph_incidents,
    providers,
    subscriptions,
    ti_indicators,
    secure_score,
    security_actions,
    console,
    workbooks,
    console_dashboards,
    console_ingestion,
    console_alerts,
    rules,
    console_rules,
    incident_tasks,
    incident_events,
)


async def _schedule_rules(runtime: Runtime) -> None:
    """The detection scheduler: a tick every ``detection_tick`` seconds runs the rules that are due
    (each on one node: leases in the state database). A failing tick is logged, never fatal."""
    import logging
    import os
    import socket
    from datetime import UTC, datetime

    from watchkeeper.flows.detections import run_due_rules

    node = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        await asyncio.sleep(runtime.settings.detection_tick)
        try:
            await asyncio.to_thread(run_due_rules, runtime, node=node, now=datetime.now(UTC))
        except Exception:
            logging.getLogger(__name__).exception("detection scheduler: the tick failed")


async def _deliver_notifications(runtime: Runtime) -> None:
    """The change-notification sender: every ``notification_tick`` seconds, one delivery pass of the
    outbox (``flows.notifications.deliver_due``). A failing pass is logged, never fatal."""
    import logging

    from watchkeeper.flows.notifications import deliver_due

    while True:
        await asyncio.sleep(runtime.settings.notification_tick)
        try:
            await asyncio.to_thread(deliver_due, runtime)
        except Exception:
            logging.getLogger(__name__).exception("change notifications: the delivery pass failed")


async def _run_providers(runtime: Runtime) -> None:
    """The alert providers' timer: every ``provider_tick`` seconds, each enabled provider is pulled
    (``flows.providers.run_enabled_providers``; a provider's own failure is reported on its run and
    audited). A failing pass is logged, never fatal."""
    import logging

    from watchkeeper.flows.providers import run_enabled_providers

    while True:
        await asyncio.sleep(runtime.settings.provider_tick)
        try:
            await asyncio.to_thread(run_enabled_providers, runtime)
        except Exception:
            logging.getLogger(__name__).exception("alert providers: the run failed")


async def _snapshot_scores(runtime: Runtime) -> None:
    """The daily secure score: every hour, each tenant without a snapshot for today gets one
    (``flows.posture.take_missing_snapshots``). A failing pass is logged, never fatal."""
    import logging

    from watchkeeper.flows.posture import take_missing_snapshots

    while True:
        await asyncio.sleep(3600)
        try:
            await asyncio.to_thread(take_missing_snapshots, runtime)
        except Exception:
            logging.getLogger(__name__).exception("secure score: the daily snapshot pass failed")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The application. It owns (and closes) a runtime built from ``settings`` unless one is given."""
    owned = runtime is None
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        attach_near_real_time(runtime)  # NRT rules run on each write the ingestion writers commit
        # batches acknowledged before a restart are stored (and seen by NRT rules) before anything is answered
        await asyncio.to_thread(runtime.recover_journals)
        scheduler = (
            asyncio.create_task(_schedule_rules(runtime)) if runtime.settings.detection_tick > 0 else None
        )
        sender = (
            asyncio.create_task(_deliver_notifications(runtime))
            if runtime.settings.notification_tick > 0
            else None
        )
        scorer = asyncio.create_task(_snapshot_scores(runtime))
        puller = asyncio.create_task(_run_providers(runtime)) if runtime.settings.provider_tick > 0 else None
        yield
        scorer.cancel()
        if puller is not None:
            puller.cancel()
        if scheduler is not None:
            scheduler.cancel()
        if sender is not None:
            sender.cancel()
        if owned:
            runtime.close()

    app = FastAPI(
        title="watchkeeper",
        version=__version__,
        summary="Self-hosted security operations platform: KQL query APIs, OAuth2 tokens, audit.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    return app
