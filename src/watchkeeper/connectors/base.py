"""The seam every alert provider plugs into (entry point group ``watchkeeper.connectors``).

A provider is another product's alerts, read into watchkeeper's alert schema (issue #6 part 4):
:meth:`AlertProvider.pull` returns the alerts that appeared since an opaque checkpoint (text the
provider alone reads, kept in ``provider_checkpoints``) and the checkpoint to resume from. The flow
stores the alerts and the new checkpoint in one transaction, so a crash between the two neither
loses nor duplicates an alert; it also skips an alert whose ``provider_alert_id`` it already holds,
so a provider may hand the same alert twice (at-least-once) and nothing doubles. A provider that can
take status changes back (as Graph does for its providers) also implements
:class:`StatusPusher`. :class:`MemoryProvider` is the in-memory twin for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from watchkeeper.cases import AlertRead

__all__ = [
    "SEVERITIES",
    "AlertProvider",
    "Connector",
    "MemoryProvider",
    "ProviderAlert",
    "ProviderConfig",
    "Pulled",
    "StatusPusher",
    "TableReader",
]

# watchkeeper stores Sentinel's spelling; providers map theirs onto it
SEVERITIES = ("Informational", "Low", "Medium", "High")


@dataclass(frozen=True)
class ProviderAlert:
    """One alert of another product, in watchkeeper's terms. ``entities`` are Sentinel-style entity
    dicts (``{"Type": "ip", "Address": ...}``); ``evidence`` are Graph evidence objects with their
    ``@odata.type``, rendered verbatim by the Graph API after the evidence derived from entities.
    ``status``/``classification``/``determination``/``assigned_to``, when set, are the provider's
    current values: a later pull of the same alert with other values updates the stored one."""

    provider_alert_id: str
    title: str
    severity: str
    created: datetime
    description: str = ""
    detector_id: str = ""
    category: str = ""
    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    entities: tuple[dict[str, Any], ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()
    first_activity: datetime | None = None
    last_activity: datetime | None = None
    web_url: str = ""
    service_source: str = ""
    detection_source: str = ""
    product_name: str = ""
    status: str | None = None
    classification: str | None = None
    determination: str | None = None
    assigned_to: str | None = None
    group_by: tuple[str, ...] = ()  # what alerts of one incident share (the provider's choice)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more alert properties, kept as they are

    def properties(self) -> dict[str, Any]:
        """The alert's ``properties``, with the keys the Graph API reads (``serviceSource``,
        ``detectionSource``, ``productName``, ``providerAlertId``, ``alertWebUrl``, ``category``,
        ``evidence``)."""
        agreed = {
            "serviceSource": self.service_source, "detectionSource": self.detection_source,
            "productName": self.product_name, "providerAlertId": self.provider_alert_id,
            "alertWebUrl": self.web_url, "category": self.category, "detectorId": self.detector_id,
            "evidence": [dict(item) for item in self.evidence],
        }  # fmt: skip
        return {**dict(self.extra), **{k: v for k, v in agreed.items() if v not in ("", None)}}


@dataclass(frozen=True)
class Pulled:
    """What one pull found, and the checkpoint to resume from (None: the same as before)."""

    alerts: Sequence[ProviderAlert]
    checkpoint: str | None
    more: bool = False  # the provider holds more than one pull hands over: pull again


@runtime_checkable
class AlertProvider(Protocol):
    """A source of alerts. ``name`` is its configured name; ``kind`` its implementation."""

    name: str
    kind: str

    def pull(self, checkpoint: str | None) -> Pulled:
        """Alerts since ``checkpoint`` (None: from the start) and the checkpoint after them."""
        ...


@runtime_checkable
class StatusPusher(Protocol):
    """A provider that takes status changes made here back (``PATCH`` on the provider's alert)."""

    def push_status(self, alert: AlertRead) -> None:
        """Send ``alert``'s status, classification, determination and assignee to the provider
        (its id there is ``alert.properties["providerAlertId"]``); raise on refusal."""
        ...


# rows of a workspace table with TimeGenerated >= since, oldest first, at most `limit` (table, since, limit)
TableReader = Callable[[str, datetime, int], list[dict[str, Any]]]


@dataclass(frozen=True)
class ProviderConfig:
    """What a connector builds a provider from: its configured name, settings and secrets, and a
    reader of its workspace's tables (for providers whose alerts are events already ingested)."""

    name: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    read_table: TableReader | None = None


@runtime_checkable
class Connector(Protocol):
    """A kind of provider (the entry point group ``watchkeeper.connectors`` lists them); ``name``
    is the kind (``suricata``, ``graph``, ``webhook``)."""

    name: str

    def build(self, config: ProviderConfig) -> AlertProvider:
        """The provider ``config`` describes; InvalidRequestError for a setting it cannot use."""
        ...


@dataclass
class MemoryProvider:
    """The in-memory twin: hands out ``alerts`` in order, ``batch`` per pull, the checkpoint being
    the count handed out; records what was pushed back (``refuse`` makes pushes fail)."""

    name: str
    alerts: list[ProviderAlert] = field(default_factory=list)
    batch: int = 100
    refuse: bool = False
    pushed: list[tuple[str, str]] = field(default_factory=list)  # (provider alert id, status)
    kind: str = "memory"

    def pull(self, checkpoint: str | None) -> Pulled:
        start = int(checkpoint or 0)
        taken = self.alerts[start : start + self.batch]
        end = start + len(taken)
        return Pulled(taken, str(end), more=end < len(self.alerts))

    def push_status(self, alert: AlertRead) -> None:
        if self.refuse:
            raise ConnectionError(f"{self.name} refused the change")
        self.pushed.append((str(alert.properties.get("providerAlertId")), alert.status))
