"""The dashboards shipped with the product (``builtin/*.yaml``, package data): offered to every
tenant, read-only (a tenant saves a copy to change one), never copied into the state database."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from watchkeeper.workbooks.models import DashboardDocument, DashboardRead

__all__ = ["BUILTIN_PREFIX", "builtin_dashboards", "find_builtin"]

BUILTIN_PREFIX = "builtin-"


@lru_cache(maxsize=1)
def _documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    folder = files("watchkeeper.workbooks").joinpath("builtin")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            # the shape is checked here; the queries by a test against the demo workspace
            document = DashboardDocument.model_validate(data)
            found.append(
                (BUILTIN_PREFIX + entry.name.removesuffix(".yaml"), document.model_dump(exclude_none=True))
            )
    return tuple(found)


def _read(dashboard_id: str, definition: dict[str, Any]) -> DashboardRead:
    return DashboardRead(id=dashboard_id, name=definition["name"], description=definition.get("description", ""),
                         owner=None, shared=True, builtin=True, editable=False, definition=definition)  # fmt: skip


def builtin_dashboards() -> list[DashboardRead]:
    """Every shipped dashboard."""
    return [_read(dashboard_id, definition) for dashboard_id, definition in _documents()]


def find_builtin(dashboard_id: str) -> DashboardRead | None:
    """The shipped dashboard with this id, or None."""
    return next((_read(i, d) for i, d in _documents() if i == dashboard_id), None)
