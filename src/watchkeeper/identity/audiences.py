"""Which token audiences this server answers for.

Clients ask for a token with ``scope=<resource>/.default``. The resources of the Microsoft APIs
this server speaks are accepted under their own names (so the ``aud`` claim reads as Entra ID's
would), and so is the server's own origin (``https://host:port``), which azure-monitor-query and
azure-kusto-data use when pointed at a custom endpoint.

A token is good for the API it was issued for, as with Entra ID: each route names its API
(:data:`API_AUDIENCES`), and a Graph token does not open the Log Analytics API. A token for the
server's own origin is good for every API it serves.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["API_AUDIENCES", "RESOURCES", "audience_for_scope"]

RESOURCES: dict[str, str] = {
    "https://graph.microsoft.com": "Microsoft Graph (security API)",
    "https://api.loganalytics.io": "Log Analytics query API",
    "https://api.loganalytics.azure.com": "Log Analytics query API",
    "https://monitor.azure.com": "Azure Monitor Logs Ingestion API",
    "https://api.securitycenter.microsoft.com": "Defender for Endpoint API",
    "https://api.security.microsoft.com": "Defender XDR API",
    "https://management.azure.com": "Azure Resource Manager (Sentinel API)",
    "https://help.kusto.windows.net": "Kusto query API",
}

_LOG_ANALYTICS = frozenset({"https://api.loganalytics.io", "https://api.loganalytics.azure.com"})

# API -> the resources whose tokens it accepts (besides the server's own origin). Kusto clients
# pointed at a Log Analytics workspace (the ADX proxy) hold Log Analytics tokens.
API_AUDIENCES: dict[str, frozenset[str]] = {
    "log-analytics": _LOG_ANALYTICS,
    "kusto": _LOG_ANALYTICS | {"https://help.kusto.windows.net"},
    "graph": frozenset({"https://graph.microsoft.com"}),
    "defender": frozenset({"https://api.securitycenter.microsoft.com", "https://api.security.microsoft.com"}),
    "ingestion": frozenset({"https://monitor.azure.com"}),
    "resource-manager": frozenset({"https://management.azure.com"}),
}


def audience_for_scope(scope: str, own_origins: set[str]) -> str | None:
    """The ``aud`` for a requested ``scope`` (space-separated; the first ``/.default`` one counts),
    or None when it names no resource of this server."""
    for item in scope.split():
        resource = item.removesuffix("/.default").rstrip("/")
        if item == resource:  # delegated scopes (`User.Read`) are not for client credentials
            continue
        origin = _origin(resource)
        if resource in RESOURCES or (origin is not None and origin in own_origins):
            return resource if resource in RESOURCES else origin
        if resource.startswith("api://"):
            return None
    return None


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()
