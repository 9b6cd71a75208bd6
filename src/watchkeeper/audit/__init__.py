"""The audit log: every write and every query (who, tenant, what, when, outcome), append-only in
the state database."""

from watchkeeper.audit.models import Actor, AuditEntry, AuditPage, AuditRead
from watchkeeper.audit.service import list_entries, record

__all__ = ["Actor", "AuditEntry", "AuditPage", "AuditRead", "list_entries", "record"]
