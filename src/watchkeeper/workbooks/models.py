"""Dashboards and saved queries in the state database, and the dashboard document.

A dashboard is a document (YAML or JSON): a name, a description, parameters (a time range with
its default; the workspace the tiles query is picked on the page) and tiles, each a KQL query
drawn as a chart, a table or one big number. The document is kept as JSON text as it was
validated; who owns it and whether the tenant shares it are columns beside it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now

__all__ = [
    "MAX_TILES",
    "VISUALIZATIONS",
    "DashboardDocument",
    "DashboardRead",
    "DashboardRecord",
    "Parameter",
    "SavedQueryCreate",
    "SavedQueryRead",
    "SavedQueryRecord",
    "SavedQueryUpdate",
    "Tile",
]

VISUALIZATIONS = (
    "timechart",
    "barchart",
    "columnchart",
    "piechart",
    "areachart",
    "scatterchart",
    "table",
    "stat",
)
MAX_TILES = 40
MAX_QUERY = 10_000  # characters of one KQL text (a tile's or a saved query's)


class DashboardRecord(Base):
    """A tenant's dashboard: private to its owner unless ``shared`` with the whole tenant."""

    __tablename__ = "dashboards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    owner: Mapped[str] = mapped_column(String(256))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SavedQueryRecord(Base):
    """A KQL query saved for one workspace of a tenant, private or shared like a dashboard."""

    __tablename__ = "saved_queries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    query: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class _Document(BaseModel):
    # a misspelt field is an error, not silently ignored
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Parameter(_Document):
    """A dashboard parameter: ``timerange`` (an ISO 8601 duration back from now, e.g. ``P1D``) is the
    window every tile's query runs over; ``workspace`` names the workspace picked first."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["timerange", "workspace"]
    default: str | None = Field(default=None, max_length=128)
    label: str | None = Field(default=None, max_length=128)

    @field_validator("default")
    @classmethod
    def _duration(cls, value: str | None, info: Any) -> str | None:
        if value is not None and info.data.get("type") == "timerange":
            span = _iso_duration(value)
            if span <= timedelta(0) or span > timedelta(days=366):
                raise ValueError("a time range is an ISO 8601 duration from 1 second to 366 days, e.g. P1D")
        return value


class Tile(_Document):
    """One query drawn one way; ``width`` is in quarters of the grid, ``size`` the tile's height."""

    title: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=MAX_QUERY)
    visualization: Literal[
        "timechart", "barchart", "columnchart", "piechart", "areachart", "scatterchart", "table", "stat"
    ]
    width: int | None = Field(default=None, ge=1, le=4)
    size: Literal["small", "medium", "large"] | None = None
    description: str | None = Field(default=None, max_length=1000)


class DashboardDocument(_Document):
    """A dashboard as its author writes it."""

    name: str = Field(min_length=1, max_length=256)
    description: str = Field(default="", max_length=4000)
    parameters: list[Parameter] = Field(default_factory=list, max_length=10)
    tiles: list[Tile] = Field(min_length=1, max_length=MAX_TILES)

    @field_validator("parameters")
    @classmethod
    def _one_of_each(cls, value: list[Parameter]) -> list[Parameter]:
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be unique")
        if sum(p.type == "timerange" for p in value) > 1:
            raise ValueError("at most one timerange parameter (the window every tile runs over)")
        return value


class DashboardRead(BaseModel):
    """A dashboard as the API answers it (``builtin``: shipped with the product, read-only)."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: str
    name: str
    description: str
    owner: str | None
    shared: bool
    builtin: bool = False
    editable: bool = False
    created: datetime | None = Field(default=None, serialization_alias="createdDateTime")
    updated: datetime | None = Field(default=None, serialization_alias="lastModifiedDateTime")
    definition: dict[str, Any]


class SavedQueryCreate(_Document):
    """A query to save (in the workspace the request names)."""

    name: str = Field(min_length=1, max_length=256)
    query: str = Field(min_length=1, max_length=MAX_QUERY)
    description: str = Field(default="", max_length=4000)
    shared: bool = False


class SavedQueryUpdate(_Document):
    """Fields to change; those left out keep their values."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUERY)
    description: str | None = Field(default=None, max_length=4000)
    shared: bool | None = None


class SavedQueryRead(BaseModel):
    """A saved query as the API answers it."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: str
    workspace_id: str = Field(serialization_alias="workspaceId")
    name: str
    query: str
    description: str
    shared: bool
    owner: str
    editable: bool = False
    created: datetime = Field(serialization_alias="createdDateTime")
    updated: datetime = Field(serialization_alias="lastModifiedDateTime")


def _iso_duration(text: str) -> timedelta:
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(timedelta).validate_python(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 duration (e.g. PT1H, P1D, P7D)") from None
