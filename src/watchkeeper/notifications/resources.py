"""The resources a subscription may watch, and how a changed object is named in a notification.

Graph spells a watched resource as a path with an optional OData filter
(``security/alerts?$filter=vendorInformation/provider eq 'ASC'``, ``graph-security-api.md`` section 7);
a notification names the changed object by its path and ``resourceData`` ({@odata.type, @odata.id, id}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from watchkeeper.errors import InvalidRequestError

__all__ = ["COLLECTIONS", "Collection", "WatchedResource", "parse_resource"]


@dataclass(frozen=True)
class Collection:
    """A collection that can be watched: its path, the type of its items and the roles that read it."""

    path: str
    odata_type: str
    kind: str  # "alert" | "incident": which changes it sees
    read_roles: frozenset[str]

    def resource_data(self, object_id: str) -> dict[str, Any]:
        """``resourceData`` of a notification about ``object_id``."""
        return {"@odata.type": self.odata_type, "@odata.id": f"{self.path}/{object_id}", "id": object_id}


COLLECTIONS: dict[str, Collection] = {
    c.path: c
    for c in (
        Collection("security/alerts_v2", "#microsoft.graph.security.alert", "alert",
                   frozenset({"SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"})),
        Collection("security/alerts", "#microsoft.graph.alert", "alert",
                   frozenset({"SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All"})),
        Collection("security/incidents", "#microsoft.graph.security.incident", "incident",
                   frozenset({"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"})),
    )
}  # fmt: skip


@dataclass(frozen=True)
class WatchedResource:
    """A subscription's ``resource``: the collection and the filter (OData ``$filter`` text) if any."""

    collection: Collection
    filter: str | None


def parse_resource(text: str) -> WatchedResource:
    """The collection and filter of a ``resource`` value; InvalidRequestError naming what is wrong."""
    path, _, query = text.strip().partition("?")
    collection = COLLECTIONS.get(path.strip("/").lower())
    if collection is None:
        known = ", ".join(sorted(COLLECTIONS))
        raise InvalidRequestError(f"resource {path!r} cannot be watched; watchable resources: {known}")
    # not parse_qsl: a '+' in a filter (a time zone offset) is a plus, not a space
    options = [
        (unquote(name), unquote(value))
        for name, _, value in (p.partition("=") for p in query.split("&") if p)
    ]
    unknown = sorted({name for name, _ in options if name != "$filter"})
    if unknown:
        raise InvalidRequestError(
            f"resource query option(s) {', '.join(unknown)} are not supported on a subscription; only $filter is"
        )
    filters = [value for name, value in options if name == "$filter"]
    if len(filters) > 1 or (filters and not filters[0].strip()):
        raise InvalidRequestError("the resource's $filter must be given once and not be empty")
    return WatchedResource(collection, filters[0].strip() if filters else None)
