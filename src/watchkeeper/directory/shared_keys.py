"""A workspace's shared keys: the primary and secondary key the HTTP Data Collector API signs with
(``../shared/specs/log-ingestion.md`` §A), 64 random bytes each, shown base64-encoded as Azure shows
them. Two keys so that one can be regenerated while senders still use the other.

The server must recompute signatures, so the keys are stored as they are (like the token signing
keys), never hashed; they are secrets: shown only when an operator asks (``wk workspaces keys``),
never logged or audited. A workspace gets its keys the first time they are asked for.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.audit import Actor, record
from watchkeeper.directory.models import WorkspaceRead, WorkspaceRecord
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import Base, utc_now

__all__ = ["KEY_NAMES", "SharedKey", "SharedKeys", "shared_keys", "verification_keys"]

KEY_NAMES = ("primary", "secondary")
_KEY_BYTES = 64


class SharedKey(Base):
    __tablename__ = "workspace_shared_keys"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))  # base64 of the key bytes
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class SharedKeys(BaseModel):
    """A workspace's keys as operators see them (``primarySharedKey`` / ``secondarySharedKey``)."""

    workspace_id: str
    primary: str
    secondary: str

    def to_json(self) -> dict[str, str]:
        return {"workspaceId": self.workspace_id, "primarySharedKey": self.primary,
                "secondarySharedKey": self.secondary}  # fmt: skip


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()


def shared_keys(
    session: Session, *, workspace: WorkspaceRecord | str, actor: Actor, regenerate: str | None = None
) -> SharedKeys:
    """The workspace's keys (made if it has none yet); ``regenerate`` (``primary`` or
    ``secondary``) replaces that key first. Showing and regenerating are audited (never the keys)."""
    if regenerate is not None and regenerate not in KEY_NAMES:
        raise InvalidRequestError(f"--regenerate takes {' or '.join(KEY_NAMES)}, not {regenerate!r}")
    workspace_id = workspace if isinstance(workspace, str) else workspace.id
    stored = {
        key.name: key
        for key in session.scalars(select(SharedKey).where(SharedKey.workspace_id == workspace_id))
    }
    for name in KEY_NAMES:
        if name not in stored:
            stored[name] = SharedKey(workspace_id=workspace_id, name=name, value=_new_key())
            session.add(stored[name])
    if regenerate is not None:
        stored[regenerate].value, stored[regenerate].created_at = _new_key(), utc_now()
    tenant_id = session.scalar(select(WorkspaceRecord.tenant_id).where(WorkspaceRecord.id == workspace_id))
    action = "workspace.keys.regenerate" if regenerate else "workspace.keys.show"
    record(session, actor=actor, action=action, outcome="success", target=workspace_id, tenant_id=tenant_id,
           detail={"key": regenerate} if regenerate else {})  # fmt: skip
    session.flush()
    return SharedKeys(
        workspace_id=workspace_id, primary=stored["primary"].value, secondary=stored["secondary"].value
    )


def verification_keys(session: Session, *, workspace_id: str) -> tuple[WorkspaceRead, list[bytes]] | None:
    """The workspace with this id and its keys' bytes, for checking a signature; None when there is
    no such workspace or it has no keys yet. (The Data Collector API routes by workspace id alone,
    as Azure does: the key is what proves the sender may write to it.)"""
    workspace = session.get(WorkspaceRecord, workspace_id.lower())
    if workspace is None:
        return None
    keys = session.scalars(select(SharedKey.value).where(SharedKey.workspace_id == workspace.id)).all()
    return (WorkspaceRead.model_validate(workspace), [base64.b64decode(k) for k in keys]) if keys else None
