"""A workspace's rule library in the state database: the rules imported into it, enabled or not.

A rule is kept as its :mod:`document <watchkeeper.detections.documents>` (so reading it needs no
loader) beside the columns lookups and listings need. It is identified within its workspace by
its format's own id (``rule_id``: the Sentinel or Sigma GUID), so importing a rule again updates it
in place and keeps its enabled state unless the file says otherwise. Every lookup is scoped to a
tenant; every change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.audit import Actor, record
from watchkeeper.detections.documents import rule_document, rule_from_document
from watchkeeper.detections.models import DetectionRule
from watchkeeper.state import Base, new_id, utc_now

__all__ = [
    "AnalyticsRule",
    "ImportOutcome",
    "RuleRead",
    "find_rule",
    "list_rules",
    "save_rules",
    "set_enabled",
]


class AnalyticsRule(Base):
    """A rule of a workspace's library."""

    __tablename__ = "analytics_rules"
    __table_args__ = (UniqueConstraint("workspace_id", "rule_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class RuleRead(BaseModel):
    """A library rule as callers see it: the record's columns and the loaded rule."""

    model_config = ConfigDict(from_attributes=True, arbitrary_types_allowed=True)

    id: str
    tenant_id: str
    workspace_id: str
    rule_id: str
    source_format: str
    name: str
    severity: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    rule: DetectionRule

    @classmethod
    def of(cls, record: AnalyticsRule) -> RuleRead:
        rule = replace(rule_from_document(record.document), enabled=record.enabled)
        return cls(id=record.id, tenant_id=record.tenant_id, workspace_id=record.workspace_id,
                   rule_id=record.rule_id, source_format=record.source_format, name=record.name,
                   severity=record.severity, enabled=record.enabled, created_at=record.created_at,
                   updated_at=record.updated_at, rule=rule)  # fmt: skip


@dataclass
class ImportOutcome:
    """Rule ids an import created and updated."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def save_rules(
    session: Session, *, tenant_id: str, workspace_id: str, rules: Iterable[DetectionRule], actor: Actor
) -> ImportOutcome:
    """Add ``rules`` to the workspace's library, or update those it holds (by rule id); audited
    as one ``rule.import`` entry."""
    outcome = ImportOutcome()
    existing = {
        r.rule_id: r
        for r in session.scalars(
            select(AnalyticsRule).where(
                AnalyticsRule.tenant_id == tenant_id, AnalyticsRule.workspace_id == workspace_id
            )
        )
    }
    for rule in rules:
        document = rule_document(rule)
        found = existing.get(rule.rule_id)
        if found is None:
            found = AnalyticsRule(tenant_id=tenant_id, workspace_id=workspace_id, rule_id=rule.rule_id,
                                  enabled=rule.enabled)  # fmt: skip
            session.add(found)
            existing[rule.rule_id] = found
            outcome.created.append(rule.rule_id)
        else:
            found.updated_at = utc_now()
            outcome.updated.append(rule.rule_id)
        found.source_format, found.name, found.severity = rule.source_format, rule.name, rule.severity
        found.document, found.text = document, rule.text
    session.flush()
    record(session, actor=actor, action="rule.import", outcome="success", target=workspace_id, tenant_id=tenant_id,
           detail={"created": len(outcome.created), "updated": len(outcome.updated)})  # fmt: skip
    return outcome


def list_rules(
    session: Session, *, tenant_id: str, workspace_id: str, enabled: bool | None = None
) -> list[RuleRead]:
    """The workspace's rules by name (only enabled or disabled ones if ``enabled`` says)."""
    query = select(AnalyticsRule).where(
        AnalyticsRule.tenant_id == tenant_id, AnalyticsRule.workspace_id == workspace_id
    )
    if enabled is not None:
        query = query.where(AnalyticsRule.enabled == enabled)
    return [
        RuleRead.of(r) for r in session.scalars(query.order_by(AnalyticsRule.name, AnalyticsRule.rule_id))
    ]


def find_rule(session: Session, *, tenant_id: str, workspace_id: str, ref: str) -> RuleRead | None:
    """The workspace's rule whose library id or format rule id is ``ref``."""
    found = _record(session, tenant_id, workspace_id, ref)
    return RuleRead.of(found) if found is not None else None


def set_enabled(
    session: Session, *, tenant_id: str, workspace_id: str, ref: str, enabled: bool, actor: Actor
) -> RuleRead | None:
    """Enable or disable a rule (audited ``rule.enable`` / ``rule.disable``); None if not found."""
    found = _record(session, tenant_id, workspace_id, ref)
    if found is None:
        return None
    found.enabled, found.updated_at = enabled, utc_now()
    session.flush()
    record(session, actor=actor, action="rule.enable" if enabled else "rule.disable", outcome="success",
           target=found.id, tenant_id=tenant_id, detail={"ruleId": found.rule_id})  # fmt: skip
    return RuleRead.of(found)


def _record(session: Session, tenant_id: str, workspace_id: str, ref: str) -> AnalyticsRule | None:
    scoped = select(AnalyticsRule).where(
        AnalyticsRule.tenant_id == tenant_id, AnalyticsRule.workspace_id == workspace_id
    )
    return session.scalar(scoped.where(AnalyticsRule.id == ref)) or session.scalar(
        scoped.where(AnalyticsRule.rule_id == ref)
    )
