"""Data collection rules (DCRs): what routes a Logs Ingestion API stream to a workspace's table
(``../shared/specs/log-ingestion.md`` §B).

A rule belongs to one tenant and sends to one of its workspaces. Clients address it by its
immutable id (``dcr-`` and 32 hex digits, as Azure makes them); each of its streams
(``Custom-<Name>`` or ``Microsoft-<Table>``) names its output table, an optional ``transformKql``
over the virtual table ``source``, and its declared columns. Lookups are scoped to a tenant: another
tenant's rule is never found. Keyword-only functions taking a session; creating a rule is audited
in the same transaction.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.audit import Actor, record
from watchkeeper.errors import InvalidRequestError
from watchkeeper.ingest.transform import DECLARED_TYPES, StreamTransform
from watchkeeper.schema.catalog import Catalog, TableDef, is_custom_table_name
from watchkeeper.state import Base, new_id, utc_now

__all__ = [
    "CollectionRule",
    "CollectionRuleRead",
    "RuleError",
    "StreamColumn",
    "StreamRoute",
    "create_rule",
    "find_rule",
    "list_rules",
    "new_immutable_id",
]

_IMMUTABLE_ID = re.compile(r"^dcr-[0-9a-f]{32}$")
_STREAM = re.compile(r"^(Custom|Microsoft)-([A-Za-z][A-Za-z0-9_]{0,99})$")
_COLUMN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,44}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")


class RuleError(InvalidRequestError):
    """A data collection rule that cannot be created as given."""


class CollectionRule(Base):
    """A data collection rule; ``streams`` holds its :class:`StreamRoute` documents."""

    __tablename__ = "collection_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    immutable_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    streams: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class StreamColumn(BaseModel):
    """A declared column of a stream (``streamDeclarations``)."""

    name: str
    type: str


class StreamRoute(BaseModel):
    """One stream of a rule: where its records go and how they are transformed on the way."""

    model_config = ConfigDict(populate_by_name=True)

    stream: str
    table: str
    transform: str | None = Field(default=None, alias="transformKql")
    columns: list[StreamColumn] = Field(default_factory=list)

    def transformer(self) -> StreamTransform:
        """The stream's transform over its declared columns."""
        return StreamTransform(self.transform, tuple((c.name, DECLARED_TYPES[c.type]) for c in self.columns))


class CollectionRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    immutable_id: str
    tenant_id: str
    workspace_id: str
    name: str
    streams: list[StreamRoute]
    created_at: datetime

    def stream(self, name: str) -> StreamRoute | None:
        """The route of stream ``name`` (stream names compare without case, as Azure's do)."""
        return next((s for s in self.streams if s.stream.lower() == name.lower()), None)

    def to_json(self) -> dict[str, Any]:
        """The rule as ``wk dcr`` prints it, in the DCR document's vocabulary."""
        return {
            "immutableId": self.immutable_id,
            "name": self.name,
            "workspaceId": self.workspace_id,
            "streams": [s.model_dump(by_alias=True) for s in self.streams],
        }


def new_immutable_id() -> str:
    """An immutable id shaped as Azure's: ``dcr-`` and 32 lower-case hex digits."""
    return f"dcr-{secrets.token_hex(16)}"


def create_rule(
    session: Session,
    *,
    tenant_id: str,
    workspace_id: str,
    name: str,
    streams: list[StreamRoute],
    actor: Actor,
    immutable_id: str | None = None,
) -> CollectionRuleRead:
    """A new rule of the tenant sending to ``workspace_id`` (the caller has checked it is the
    tenant's). ``immutable_id`` keeps the id a rule has in Azure, so that shippers configured for it
    need no change; by default a new one is made."""
    _check(name, streams, immutable_id)
    rule = CollectionRule(
        immutable_id=immutable_id or new_immutable_id(), tenant_id=tenant_id, workspace_id=workspace_id,
        name=name, streams=[s.model_dump(by_alias=True) for s in streams],
    )  # fmt: skip
    session.add(rule)
    try:
        session.flush()
    except IntegrityError:
        raise RuleError(
            f"a data collection rule named {name!r} (or with this immutable id) already exists"
        ) from None
    record(session, actor=actor, action="dcr.create", outcome="success", target=rule.immutable_id,
           tenant_id=tenant_id, detail={"name": name, "workspace": workspace_id,
                                        "streams": {s.stream: s.table for s in streams}})  # fmt: skip
    return CollectionRuleRead.model_validate(rule)


def find_rule(session: Session, *, tenant_id: str, immutable_id: str) -> CollectionRuleRead | None:
    """The tenant's rule with this immutable id; another tenant's is never found."""
    query = select(CollectionRule).where(
        CollectionRule.tenant_id == tenant_id, CollectionRule.immutable_id == immutable_id.lower()
    )
    found = session.scalar(query) if _IMMUTABLE_ID.match(immutable_id.lower()) else None
    return CollectionRuleRead.model_validate(found) if found else None


def list_rules(session: Session, *, tenant_id: str) -> list[CollectionRuleRead]:
    query = select(CollectionRule).where(CollectionRule.tenant_id == tenant_id).order_by(CollectionRule.name)
    return [CollectionRuleRead.model_validate(r) for r in session.scalars(query)]


# ---------------------------------------------------------------------------- checks


def _check(name: str, streams: list[StreamRoute], immutable_id: str | None) -> None:
    if not _NAME.match(name):
        raise RuleError(f"rule name {name!r} is not valid: 1-128 letters, digits, spaces, '.', '_' or '-'")
    if immutable_id is not None and not _IMMUTABLE_ID.match(immutable_id):
        raise RuleError(f"immutable id {immutable_id!r} is not valid: 'dcr-' and 32 lower-case hex digits")
    if not streams:
        raise RuleError("a data collection rule needs at least one stream")
    if len({s.stream.lower() for s in streams}) != len(streams):
        raise RuleError("a stream is named twice")
    catalog = Catalog.sentinel()
    for stream in streams:
        _check_stream(stream, catalog)


def _check_stream(stream: StreamRoute, catalog: Catalog) -> None:
    matched = _STREAM.match(stream.stream)
    if matched is None:
        raise RuleError(
            f"stream {stream.stream!r} is not valid: 'Custom-<Name>' or 'Microsoft-<Table>' (letters, digits, '_')"
        )
    destination = _destination(stream.table, catalog)
    if matched.group(1) == "Microsoft" and catalog.table(matched.group(2)) is None:
        raise RuleError(f"stream {stream.stream!r}: {matched.group(2)} is not a table of the catalog")
    for column in stream.columns:
        if not _COLUMN.match(column.name):
            raise RuleError(
                f"column {column.name!r} is not valid: a letter, then letters, digits or '_' (<= 45)"
            )
        if column.type not in DECLARED_TYPES:
            raise RuleError(
                f"column {column.name!r}: type {column.type!r} is not one of {', '.join(DECLARED_TYPES)}"
            )
    stream.transformer().check(destination)


def _destination(table: str, catalog: Catalog) -> TableDef | None:
    """The catalog table ``table`` names, None for a custom table; RuleError for neither."""
    found = catalog.table(table)
    if found is None and not is_custom_table_name(table):
        raise RuleError(
            f"table {table!r} is neither a table of the catalog nor a custom table (ending in _CL)"
        )
    return found
