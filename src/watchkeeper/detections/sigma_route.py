"""A Sigma log source's place in our tables (:class:`Route`), shared by the pipeline
(:mod:`watchkeeper.detections.sigma_pipeline`) and the routes of each family of log sources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sigma.processing.pipeline import ProcessingItem

__all__ = ["Route", "UnmappedError", "kql_literal", "kql_literals"]


class UnmappedError(ValueError):
    """A rule names a field (or value) its route cannot read: the next route is tried."""


@dataclass(frozen=True)
class Route:
    """One table a log source's events are in, and how Sigma's fields are read from it."""

    table: str
    where: str = ""  # KQL condition selecting the log source's events in the table
    columns: Mapping[str, str] = field(default_factory=dict)  # Sigma field -> column
    derived: Mapping[str, str] = field(default_factory=dict)  # Sigma field -> KQL expression
    # other fields: "additional" (AdditionalFields), "event_data" (EventData XML), "record" (the
    # auditd record :attr:`expand` gives), "" (none)
    raw: str = ""
    json_columns: Mapping[str, str] = field(default_factory=dict)  # dotted prefix -> JSON column
    keywords: str = "*"  # what a Sigma keyword (a value without a field) is searched in
    registry: bool = False  # Sysmon registry values rewritten as Defender writes them
    # whether a Sigma field named like a column is that column (SecurityEvent's columns are event-data
    # fields; Event's UserName, Source... are the agent's, not the event data's)
    own_columns: bool = True
    expand: str = ""  # a KQL stage after ``where``: one row per record of an event (auditd)
    # the log source's own value rewrites, made afresh for each pipeline (they keep per-rule state)
    items: Callable[[], list[ProcessingItem]] | None = None


def kql_literal(text: str) -> str:
    """A KQL string literal (JSON's escapes are KQL's)."""
    return json.dumps(text)


def kql_literals(texts: Iterable[str]) -> str:
    """Comma-separated KQL string literals."""
    return ", ".join(kql_literal(t) for t in texts)
