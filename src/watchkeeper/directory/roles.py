"""Application roles, named as the Microsoft Graph / Defender / Azure Monitor permissions they stand
for, so a token minted here reads like one from Entra ID (``roles`` claim)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ADMIN_ROLES", "ROLES", "unknown_roles"]

ROLES: dict[str, str] = {
    "SecurityEvents.Read.All": "read security events and secure scores",
    "SecurityEvents.ReadWrite.All": "read and update security events and secure scores",
    "SecurityAlert.Read.All": "read alerts",
    "SecurityAlert.ReadWrite.All": "read and update alerts",
    "SecurityIncident.Read.All": "read incidents",
    "SecurityIncident.ReadWrite.All": "read and update incidents",
    "ThreatIndicators.ReadWrite.OwnedBy": "manage the threat indicators this app owns",
    "SecurityActions.Read.All": "read security actions (block or allow an IP, ...)",
    "SecurityActions.ReadWrite.All": "request and cancel security actions",
    "ThreatHunting.Read.All": "run hunting queries (Graph runHuntingQuery)",
    "AdvancedQuery.Read.All": "run advanced hunting queries (Defender API)",
    "Data.Read": "run KQL queries (Log Analytics and Kusto query APIs)",
    "Logs.Ingest": "send logs (Logs Ingestion and Data Collector APIs)",
    "AuditLog.Read.All": "read the tenant's audit log (tenant administrators)",
}

# roles of a tenant administrator
ADMIN_ROLES = frozenset({"AuditLog.Read.All"})


def unknown_roles(roles: Iterable[str]) -> list[str]:
    """The names in ``roles`` that are not roles of this server."""
    return [role for role in roles if role not in ROLES]
