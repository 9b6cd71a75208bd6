"""From a rule's result rows to the alerts it raises (drafts; storing them is the cases layer's).

- ``SingleAlert`` (the default): one alert per run holding every row, its entities and custom
  details gathered from all rows; ``AlertPerResult``: one alert per row, at most
  :data:`MAX_ALERTS_PER_RUN` per run as Sentinel caps it.
- Entities come from the rule's entity mappings: one entity per mapping and row, with the
  identifiers whose columns hold a value (an entity with none is left out), typed as Sentinel's
  ``SecurityAlert.Entities`` types them (``account``, ``host``, ``ip``, ...), duplicates merged.
- Custom details: for each key, the distinct values of its column (up to
  :data:`MAX_DETAIL_VALUES`), as Sentinel shows them.
- ``alertDetailsOverride``: ``{{Column}}`` placeholders in the name and description are filled
  from the alert's (first) row; a severity or tactics column overrides the rule's when it holds
  a valid value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchkeeper.detections.models import SEVERITIES, TACTICS, DetectionRule
from watchkeeper.detections.scheduler import Window
from watchkeeper.store.result import QueryResult, QueryTally

__all__ = [
    "ENTITY_KINDS",
    "MAX_ALERTS_PER_RUN",
    "AlertDraft",
    "alert_drafts",
    "columns_read",
    "entity_key",
    "tally_suffices",
]

MAX_ALERTS_PER_RUN = 150
MAX_DETAIL_VALUES = 10
# Sentinel's SecurityAlert.Entities "Type" for each mapped entity type
ENTITY_KINDS = {
    "Account": "account", "Host": "host", "IP": "ip", "URL": "url", "FileHash": "filehash", "File": "file",
    "Process": "process", "CloudApplication": "cloud-application", "DNS": "dns", "AzureResource": "azure-resource",
    "Mailbox": "mailbox", "MailMessage": "mail-message", "MailCluster": "mail-cluster",
    "SubmissionMail": "submission-mail", "Malware": "malware", "RegistryKey": "registry-key",
    "RegistryValue": "registry-value", "SecurityGroup": "security-group", "IoTDevice": "iotdevice",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class AlertDraft:
    """An alert a run raises, before it is stored: what it says, about which entities, from which rows."""

    rule: DetectionRule
    window: Window
    title: str
    description: str
    severity: str
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    entities: tuple[dict[str, Any], ...]
    custom_details: dict[str, list[Any]] = field(default_factory=dict)
    dynamic_properties: dict[str, Any] = field(default_factory=dict)
    rows: int = 0  # result rows the alert stands for
    first_event: datetime | None = None
    last_event: datetime | None = None


def alert_drafts(rule: DetectionRule, result: QueryResult | QueryTally, window: Window) -> list[AlertDraft]:
    """The alerts ``result`` raises for ``rule`` over ``window`` (none unless the rule triggers);
    a :class:`QueryTally` is enough for a rule whose alerts carry no row values
    (:func:`tally_suffices`)."""
    if isinstance(result, QueryTally):
        return [_tallied(rule, result, window)] if rule.triggered(result.rows) else []
    if not rule.triggered(len(result.rows)):
        return []
    names = [name for name, _ in result.columns]
    records = [dict(zip(names, row, strict=True)) for row in result.rows]
    if rule.aggregation == "AlertPerResult":
        return [_draft(rule, [record], window) for record in records[:MAX_ALERTS_PER_RUN]]
    return [_draft(rule, records, window)]


def tally_suffices(rule: DetectionRule) -> bool:
    """Whether the count and time span of a run's rows make its alerts: one alert per run, and no
    entity mapping, custom detail or override reads a row."""
    return rule.aggregation != "AlertPerResult" and columns_read(rule) == {"TimeGenerated"}


def columns_read(rule: DetectionRule) -> frozenset[str]:
    """The result columns the alerts of ``rule`` are made from (entity mappings, custom details,
    the alert details override, the event times): a run needs no other of a wide result."""
    read = {"TimeGenerated"}
    read.update(column for mapping in rule.entity_mappings for _, column in mapping.fields)
    read.update(column for _, column in rule.custom_details)
    override = rule.alert_details_override
    if override is not None:
        for template in (override.display_name_format, override.description_format):
            read.update(_PLACEHOLDER.findall(template or ""))
        read.update(c for c in (override.severity_column, override.tactics_column) if c)
        read.update(column for _, column in override.dynamic_properties)
    return frozenset(read)


def entity_key(entity: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """What makes two entities the same: their type and identifiers."""
    return tuple(sorted((k, str(v)) for k, v in entity.items()))


def _draft(rule: DetectionRule, records: list[dict[str, Any]], window: Window) -> AlertDraft:
    first = records[0] if records else {}
    override = rule.alert_details_override
    title, description, severity, tactics = rule.name, rule.description, rule.severity, rule.tactics
    dynamic: dict[str, Any] = {}
    if override is not None:
        title = _filled(override.display_name_format, first) or title
        description = _filled(override.description_format, first) or description
        severity = _severity(first.get(override.severity_column or ""), severity)
        tactics = _tactics(first.get(override.tactics_column or ""), tactics)
        dynamic = {prop: first.get(column) for prop, column in override.dynamic_properties}
    times = [r["TimeGenerated"] for r in records if isinstance(r.get("TimeGenerated"), datetime)]
    return AlertDraft(
        rule=rule, window=window, title=title, description=description, severity=severity, tactics=tactics,
        techniques=rule.techniques, entities=_entities(rule, records), custom_details=_details(rule, records),
        dynamic_properties=dynamic, rows=len(records), first_event=min(times, default=None),
        last_event=max(times, default=None),
    )  # fmt: skip


def _tallied(rule: DetectionRule, tally: QueryTally, window: Window) -> AlertDraft:
    return AlertDraft(rule=rule, window=window, title=rule.name, description=rule.description, severity=rule.severity,
                      tactics=rule.tactics, techniques=rule.techniques, entities=(), rows=tally.rows,
                      first_event=tally.first, last_event=tally.last)  # fmt: skip


def _entities(rule: DetectionRule, records: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    found: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for record in records:
        for mapping in rule.entity_mappings:
            entity: dict[str, Any] = {
                identifier: record[column]
                for identifier, column in mapping.fields
                if record.get(column) not in (None, "")
            }
            if entity:
                entity["Type"] = ENTITY_KINDS.get(mapping.entity_type, mapping.entity_type.lower())
                found.setdefault(entity_key(entity), entity)
    return tuple(found.values())


def _details(rule: DetectionRule, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    details: dict[str, list[Any]] = {}
    for key, column in rule.custom_details:
        values: list[Any] = []
        for record in records:
            value = record.get(column)
            if value not in (None, "") and value not in values:
                values.append(value)
            if len(values) >= MAX_DETAIL_VALUES:
                break
        details[key] = values
    return details


def _filled(template: str | None, record: dict[str, Any]) -> str | None:
    if not template:
        return None
    return _PLACEHOLDER.sub(
        lambda m: "" if record.get(m.group(1)) is None else str(record[m.group(1)]), template
    )


def _severity(value: object, default: str) -> str:
    if isinstance(value, str):
        for severity in SEVERITIES:
            if value.strip().lower() == severity.lower():
                return severity
    return default


def _tactics(value: object, default: tuple[str, ...]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else []
    known = {t.lower(): t for t in TACTICS}
    chosen = tuple(known[str(i).strip().lower()] for i in items if str(i).strip().lower() in known)
    return chosen or default
