"""Alert providers: other products' alerts in watchkeeper's alert schema (issue #6 part 4).

Built in: ``suricata`` (EVE alert events already ingested into ``Suricata_alert_CL``), ``graph``
(a Microsoft Graph Security tenant's ``alerts_v2`` and ``incidents``, status changes pushed back)
and ``webhook`` (alerts posted to ``/api/providers/{name}/alerts``). More kinds come from installed
packages through the entry point group ``watchkeeper.connectors`` (a :class:`Connector` class).
"""

from __future__ import annotations

from watchkeeper.connectors.base import (
    AlertProvider,
    Connector,
    MemoryProvider,
    ProviderAlert,
    ProviderConfig,
    Pulled,
    StatusPusher,
)
from watchkeeper.connectors.models import ProviderRead
from watchkeeper.errors import InvalidRequestError
from watchkeeper.plugins import load_plugins

__all__ = [
    "AlertProvider",
    "Connector",
    "MemoryProvider",
    "ProviderAlert",
    "ProviderConfig",
    "ProviderRead",
    "Pulled",
    "StatusPusher",
    "connector_named",
    "connectors",
]


def connectors() -> dict[str, Connector]:
    """Every kind of provider by name: the built-ins, and those installed packages declare (which
    may not replace a built-in)."""
    from watchkeeper.connectors.graph import GraphConnector
    from watchkeeper.connectors.suricata import SuricataConnector
    from watchkeeper.connectors.webhook import WebhookConnector

    found: dict[str, Connector] = {
        c.name: c for c in (SuricataConnector(), GraphConnector(), WebhookConnector())
    }
    for name, plugin in load_plugins("watchkeeper.connectors", Connector).items():
        found.setdefault(name, plugin)
    return found


def connector_named(kind: str) -> Connector:
    """The connector of ``kind``; InvalidRequestError naming the kinds there are."""
    found = connectors()
    if kind not in found:
        raise InvalidRequestError(f"unknown provider kind {kind!r}; one of {', '.join(sorted(found))}")
    return found[kind]
