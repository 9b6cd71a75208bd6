"""A subscription's ``$filter``, evaluated on the changed objects with the OData query module.

The filter is parsed and compiled as the collection's own listing does it (the same field map, bound
parameters, never string-built SQL) and run over the changed objects only, so a subscription sees
exactly what ``GET {resource}?$filter=...`` would list among them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.cases.models import AlertRecord, IncidentRecord
from watchkeeper.notifications.resources import Collection

__all__ = ["check_filter", "matching_ids"]

_TABLES: dict[str, Any] = {"alert": AlertRecord, "incident": IncidentRecord}
_CHUNK = 500


def _fields(collection: Collection) -> Mapping[str, Any]:
    # imported on first use: subscriptions without a filter never need the OData module
    from watchkeeper.cases.queries import ALERT_FIELDS, INCIDENT_FIELDS, LEGACY_ALERT_FIELDS

    maps = {"security/alerts_v2": ALERT_FIELDS, "security/alerts": LEGACY_ALERT_FIELDS,
            "security/incidents": INCIDENT_FIELDS}  # fmt: skip
    return maps[collection.path]


def check_filter(collection: Collection, text: str) -> None:
    """InvalidRequestError with the OData module's precise message when ``text`` is not a valid filter."""
    from watchkeeper.state.odata import parse_options

    parse_options({"$filter": text}, fields=_fields(collection))


def matching_ids(session: Session, collection: Collection, text: str, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` whose objects the filter selects."""
    from watchkeeper.state.odata import parse_options, select_page

    fields = _fields(collection)
    query = parse_options({"$filter": text}, fields=fields)
    table = _TABLES[collection.kind]
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        bounded = dataclasses.replace(query, top=len(chunk), skip=0, orderby=(), count=False, select=None)
        page = select_page(session, select(table).where(table.id.in_(chunk)), bounded, fields, key=table.id)
        found |= {row.id for row in page.rows}
    return found
