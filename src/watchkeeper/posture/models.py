"""Secure score state: a tenant's daily score snapshots and the states administrators set on
controls (``graph-security-api.md`` section 6, secureScore / secureScoreControlProfile)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = ["ControlStateRead", "ControlStateRecord", "ScoreSnapshotRecord", "SnapshotRead"]


class ScoreSnapshotRecord(Base):
    """One tenant's score on one day; ``id`` is Graph's ``{tenantId}_{yyyy-mm-dd}``."""

    __tablename__ = "secure_score_snapshots"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    day: Mapped[str] = mapped_column(String(10))  # yyyy-mm-dd (UTC)
    current_score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    control_scores: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled_services: Mapped[list[str]] = mapped_column(JSON, default=list)
    active_user_count: Mapped[int] = mapped_column(Integer, default=0)
    licensed_user_count: Mapped[int] = mapped_column(Integer, default=0)
    average_comparative_scores: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ControlStateRecord(Base):
    """One change of a control's state in a tenant (an entry of ``controlStateUpdates``); the
    newest is the control's current state."""

    __tablename__ = "control_profile_states"
    __table_args__ = (Index("ix_control_profile_states_tenant_control", "tenant_id", "control_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    control_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    assigned_to: Mapped[str | None] = mapped_column(String(256), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    updated_by: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class SnapshotRead(BaseModel):
    """A stored snapshot."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    tenant_id: str
    day: str
    current_score: float
    max_score: float
    control_scores: list[dict[str, Any]]
    enabled_services: list[str]
    active_user_count: int
    licensed_user_count: int
    average_comparative_scores: list[dict[str, Any]]
    created_at: datetime


class ControlStateRead(BaseModel):
    """One recorded state change of a control."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    control_id: str
    state: str
    assigned_to: str | None
    comment: str | None
    updated_by: str
    updated_at: datetime
