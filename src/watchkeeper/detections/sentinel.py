"""Sentinel analytics rules (the Azure-Sentinel repository's YAML, ``kind: Scheduled`` and ``NRT``)
loaded as :class:`~watchkeeper.detections.models.DetectionRule`.

Every key of ``../shared/specs/sentinel-content.md`` section 1 is read and checked against the
ranges that section gives; a file that breaks one gets a :class:`RuleLoadError` naming the file,
the line and the field (``rules/brute.yaml:23: entityMappings[1].fieldMappings[0].identifier: ...``).
Names the spec lists as values (severity, tactics, entity types, ...) are matched regardless of
case, as Sentinel's own template validator does, and come out spelled as the spec spells them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import NamedTuple

from watchkeeper.detections.durations import format_duration, parse_duration
from watchkeeper.detections.models import (
    AGGREGATION_KINDS,
    ENTITY_IDENTIFIERS,
    MATCHING_METHODS,
    SEVERITIES,
    TACTICS,
    AlertDetailsOverride,
    DetectionRule,
    EntityMapping,
    GroupingConfiguration,
    IncidentConfiguration,
    RuleKind,
    RuleLoadError,
)
from watchkeeper.detections.rule_tests import parse_rule_tests
from watchkeeper.detections.rule_yaml import NodePath, RuleDocument, did_you_mean, load_rule_yaml
from watchkeeper.kql import bind
from watchkeeper.kql.plan import tables_read
from watchkeeper.schema.catalog import Catalog

__all__ = ["load_sentinel", "load_sentinel_file"]

_SCHEDULE_KEYS = ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold")
_RULE_KEYS = (
    "id", "kind", "name", "description", "severity", "requiredDataConnectors", *_SCHEDULE_KEYS, "tactics",
    "relevantTechniques", "query", "entityMappings", "customDetails", "alertDetailsOverride",
    "eventGroupingSettings", "incidentConfiguration", "suppressionEnabled", "suppressionDuration", "enabled",
    "version", "status", "tests",
)  # fmt: skip
# content metadata the repository's files carry; not part of the rule's behaviour
_METADATA_KEYS = ("tags", "metadata", "sentinelEntitiesMappings")
_REQUIRED = ("id", "kind", "name", "description", "severity", "query")
_NOT_QUERY_RULES = (
    "MicrosoftSecurityIncidentCreation",
    "Fusion",
    "MLBehaviorAnalytics",
    "ThreatIntelligence",
)
_TRIGGERS = {"gt": "gt", "lt": "lt", "eq": "eq", "ne": "ne",
             "GreaterThan": "gt", "LessThan": "lt", "Equal": "eq", "NotEqual": "ne"}  # fmt: skip
_DYNAMIC_PROPERTIES = (
    "AlertLink", "ConfidenceLevel", "ConfidenceScore", "ExtendedLinks", "ProductComponentName", "ProductName",
    "ProviderName", "RemediationSteps", "Techniques", "SubTechniques",
)  # fmt: skip
_OVERRIDE_KEYS = ("alertDisplayNameFormat", "alertDescriptionFormat", "alertTacticsColumnName",
                  "alertSeverityColumnName", "alertDynamicProperties")  # fmt: skip
_GROUPING_KEYS = ("enabled", "reopenClosedIncident", "lookbackDuration", "matchingMethod", "groupByEntities",
                  "groupByAlertDetails", "groupByCustomDetails")  # fmt: skip
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # the spec's ^[a-zA-Z_]+\w*$ in ASCII
_DETAIL_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")
_SCHEDULE_RANGE = (timedelta(minutes=5), timedelta(days=14))
_LOOKBACK_RANGE = (timedelta(minutes=5), timedelta(days=7))
# the spec gives no range; Sentinel offers 5 minutes to 24 hours for "stop running query after alert"
_SUPPRESSION_RANGE = (timedelta(minutes=5), timedelta(hours=24))
_NRT_INTERVAL = timedelta(minutes=1)  # NRT rules run about every minute over new rows (spec section 1)
_MAX_FILE_BYTES = 1_000_000


class _Schedule(NamedTuple):
    frequency: timedelta
    period: timedelta
    operator: str
    threshold: int


def load_sentinel_file(path: str | Path) -> DetectionRule:
    """Load the analytics rule in the YAML file at ``path`` (see :func:`load_sentinel`)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RuleLoadError(source, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise RuleLoadError(
            source, f"the file is {len(data)} bytes; rule files are limited to {_MAX_FILE_BYTES}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleLoadError(source, f"not UTF-8 text (byte {exc.start})") from None
    return load_sentinel(text, source)


def load_sentinel(text: str, source: str) -> DetectionRule:
    """Load one Sentinel analytics rule (``kind: Scheduled`` or ``NRT``) from its YAML ``text``.

    ``source`` names the file in errors and becomes the rule's ``origin``. Raises
    :class:`RuleLoadError` with the line and field of the first problem found.
    """
    doc = load_rule_yaml(text, source)
    kind = _check_keys(doc)
    query = doc.text(("query",), max_len=10_000)
    schedule = _schedule(doc, kind)
    entities = _entity_mappings(doc)
    custom = _custom_details(doc)
    suppression_enabled, suppression = _suppression(doc)
    return DetectionRule(
        rule_id=_guid(doc), name=doc.text(("name",), max_len=256), source_format="sentinel", query=query,
        kind=kind, description=doc.text(("description",), max_len=5000, empty=True),
        severity=doc.choice(("severity",), SEVERITIES, what="severity"), query_frequency=schedule.frequency,
        query_period=schedule.period, trigger_operator=schedule.operator, trigger_threshold=schedule.threshold,
        tactics=_tactics(doc), techniques=_techniques(doc), entity_mappings=entities, custom_details=custom,
        alert_details_override=_override(doc), aggregation=_aggregation(doc),
        suppression_enabled=suppression_enabled, suppression_duration=suppression,
        incident=_incident(doc, entities, custom), enabled=doc.boolean(("enabled",), True),
        version=_version(doc), status=doc.text(("status",), max_len=64) if doc.has(("status",)) else "",
        tables=_tables(doc, query, kind), tests=parse_rule_tests(doc), origin=source, text=text,
    )  # fmt: skip


def _check_keys(doc: RuleDocument) -> RuleKind:
    """Every top-level key known, the common ones present; the keys the rule's kind needs or refuses."""
    if not isinstance(doc.data, dict):
        doc.fail((), "an analytics rule file is a YAML mapping of keys (id, name, kind, query, ...)")
    doc.mapping((), (*_RULE_KEYS, *_METADATA_KEYS), required=_REQUIRED)
    kind = _kind(doc)
    if kind is RuleKind.NRT:
        for key in _SCHEDULE_KEYS:
            if key in doc.data:
                doc.fail((key,), "an NRT rule runs about every minute over new rows and has no "
                         "queryFrequency, queryPeriod, triggerOperator or triggerThreshold")  # fmt: skip
    else:
        for key in ("requiredDataConnectors", *_SCHEDULE_KEYS):
            if key not in doc.data:
                doc.fail((key,), "is required for a Scheduled rule")
    _check_metadata(doc)
    return kind


def _kind(doc: RuleDocument) -> RuleKind:
    written = doc.text(("kind",)).strip()
    if written.lower() in (k.lower() for k in _NOT_QUERY_RULES):
        doc.fail(("kind",), f"a {written} rule is built into Sentinel and has no query of its own; "
                 "watchkeeper loads Scheduled and NRT rules")  # fmt: skip
    return RuleKind(doc.choice(("kind",), [k.value for k in RuleKind], what="rule kind"))


def _check_metadata(doc: RuleDocument) -> None:
    if doc.has(("requiredDataConnectors",)):
        for item in doc.items(("requiredDataConnectors",)):
            doc.mapping(item, ("connectorId", "dataTypes"), required=("connectorId", "dataTypes"))
            doc.text((*item, "connectorId"), max_len=256)
            for data_type in doc.items((*item, "dataTypes")):
                doc.text(data_type, max_len=256)
    for key in ("tags", "sentinelEntitiesMappings"):
        if doc.has((key,)):
            doc.items((key,))
    if doc.has(("metadata",)) and not isinstance(doc.get(("metadata",)), dict):
        doc.fail(("metadata",), "must be a mapping (source, author, support, categories)")


def _guid(doc: RuleDocument) -> str:
    value = doc.text(("id",)).strip()
    if not _GUID.match(value):
        doc.fail(("id",), f"'{value}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return value


def _duration(doc: RuleDocument, path: NodePath, bounds: tuple[timedelta, timedelta]) -> timedelta:
    try:
        value = parse_duration(doc.text(path))
    except ValueError as exc:
        doc.fail(path, str(exc))
    low, high = bounds
    if not low <= value <= high:
        doc.fail(
            path,
            f"{format_duration(value)} is out of range {format_duration(low)} to {format_duration(high)}",
        )
    return value


def _schedule(doc: RuleDocument, kind: RuleKind) -> _Schedule:
    if kind is RuleKind.NRT:
        return _Schedule(_NRT_INTERVAL, _NRT_INTERVAL, "gt", 0)
    frequency = _duration(doc, ("queryFrequency",), _SCHEDULE_RANGE)
    period = _duration(doc, ("queryPeriod",), _SCHEDULE_RANGE)
    if period < frequency:
        doc.fail(("queryPeriod",), f"{format_duration(period)} is shorter than queryFrequency "
                 f"{format_duration(frequency)}: runs would miss the rows between them")  # fmt: skip
    operator = _TRIGGERS[doc.choice(("triggerOperator",), _TRIGGERS, what="trigger operator")]
    return _Schedule(frequency, period, operator, doc.integer(("triggerThreshold",), 0, 10_000))


def _tactics(doc: RuleDocument) -> tuple[str, ...]:
    if not doc.has(("tactics",)):
        return ()
    names = (doc.choice(item, TACTICS, what="tactic") for item in doc.items(("tactics",)))
    return tuple(dict.fromkeys(names))


def _techniques(doc: RuleDocument) -> tuple[str, ...]:
    if not doc.has(("relevantTechniques",)):
        return ()
    found = []
    for item in doc.items(("relevantTechniques",)):
        value = doc.text(item).strip().upper()
        if not _TECHNIQUE.match(value):
            doc.fail(item, f"'{value}' is not a MITRE ATT&CK technique id (T1234 or T1234.001)")
        found.append(value)
    return tuple(dict.fromkeys(found))


def _column(doc: RuleDocument, path: NodePath) -> str:
    """A result column name as Log Analytics allows it."""
    value = doc.text(path, max_len=500).strip()
    if not _COLUMN.match(value):
        doc.fail(path, f"'{value}' is not a column name (a letter or _, then letters, digits or _)")
    return value


def _entity_mappings(doc: RuleDocument) -> tuple[EntityMapping, ...]:
    if not doc.has(("entityMappings",)):
        return ()
    return tuple(_entity_mapping(doc, item) for item in doc.items(("entityMappings",), lo=1, hi=5))


def _entity_mapping(doc: RuleDocument, path: NodePath) -> EntityMapping:
    doc.mapping(path, ("entityType", "fieldMappings"), required=("entityType", "fieldMappings"))
    entity = doc.choice((*path, "entityType"), ENTITY_IDENTIFIERS, what="entity type")
    identifiers, required_sets = ENTITY_IDENTIFIERS[entity]
    fields: dict[str, str] = {}
    for item in doc.items((*path, "fieldMappings"), lo=1, hi=3):
        doc.mapping(item, ("identifier", "columnName"), required=("identifier", "columnName"))
        identifier = doc.choice((*item, "identifier"), identifiers, what=f"{entity} identifier")
        if identifier in fields:
            doc.fail((*item, "identifier"), f"{identifier} is mapped twice in this entity")
        fields[identifier] = _column(doc, (*item, "columnName"))
    if not any(set(needed) <= fields.keys() for needed in required_sets):
        options = " or ".join(" + ".join(needed) for needed in required_sets)
        doc.fail((*path, "fieldMappings"), f"a {entity} entity needs {options} mapped")
    return EntityMapping(entity, tuple(fields.items()))


def _custom_details(doc: RuleDocument) -> tuple[tuple[str, str], ...]:
    path: NodePath = ("customDetails",)
    details = doc.get(path)
    if details is None:
        return ()
    if not isinstance(details, dict):
        doc.fail(path, "must be a mapping of detail name to result column")
    if len(details) > 20:
        doc.fail(path, f"holds {len(details)} details; at most 20 are allowed")
    for key in details:
        if not _DETAIL_KEY.match(key) or len(key) > 20:
            doc.fail((*path, key), "a detail name is a letter, then up to 19 letters, digits or _")
    return tuple((key, _column(doc, (*path, key))) for key in details)


def _format(doc: RuleDocument, path: NodePath, max_len: int) -> str | None:
    if not doc.has(path):
        return None
    value = doc.text(path, max_len=max_len)
    placeholders = _PLACEHOLDER.findall(value)
    if len(placeholders) > 3:
        doc.fail(path, f"uses {len(placeholders)} {{{{Column}}}} placeholders; at most 3 are allowed")
    for name in placeholders:
        if not _COLUMN.match(name.strip()):
            doc.fail(path, f"placeholder {{{{{name}}}}} does not name a result column")
    return value


def _override(doc: RuleDocument) -> AlertDetailsOverride | None:
    path: NodePath = ("alertDetailsOverride",)
    if not doc.has(path):
        return None
    doc.mapping(path, _OVERRIDE_KEYS)
    tactics, severity = ((*path, "alertTacticsColumnName"), (*path, "alertSeverityColumnName"))
    return AlertDetailsOverride(
        display_name_format=_format(doc, (*path, "alertDisplayNameFormat"), 256),
        description_format=_format(doc, (*path, "alertDescriptionFormat"), 5000),
        tactics_column=_column(doc, tactics) if doc.has(tactics) else None,
        severity_column=_column(doc, severity) if doc.has(severity) else None,
        dynamic_properties=_dynamic_properties(doc, (*path, "alertDynamicProperties")),
    )


def _dynamic_properties(doc: RuleDocument, path: NodePath) -> tuple[tuple[str, str], ...]:
    if not doc.has(path):
        return ()
    found: dict[str, str] = {}
    for item in doc.items(path, hi=len(_DYNAMIC_PROPERTIES)):
        doc.mapping(item, ("alertProperty", "value"), required=("alertProperty", "value"))
        prop = doc.choice((*item, "alertProperty"), _DYNAMIC_PROPERTIES, what="alert property")
        if prop in found:
            doc.fail((*item, "alertProperty"), f"{prop} is overridden twice")
        found[prop] = _column(doc, (*item, "value"))
    return tuple(found.items())


def _aggregation(doc: RuleDocument) -> str:
    path: NodePath = ("eventGroupingSettings",)
    if not doc.has(path):
        return "SingleAlert"
    doc.mapping(path, ("aggregationKind",), required=("aggregationKind",))
    return doc.choice((*path, "aggregationKind"), AGGREGATION_KINDS, what="aggregation kind")


def _suppression(doc: RuleDocument) -> tuple[bool, timedelta]:
    enabled = doc.boolean(("suppressionEnabled",), False)
    if not doc.has(("suppressionDuration",)):
        return enabled, timedelta(hours=5)
    return enabled, _duration(doc, ("suppressionDuration",), _SUPPRESSION_RANGE)


def _incident(
    doc: RuleDocument, entities: tuple[EntityMapping, ...], custom: tuple[tuple[str, str], ...]
) -> IncidentConfiguration:
    path: NodePath = ("incidentConfiguration",)
    if not doc.has(path):
        return IncidentConfiguration()
    doc.mapping(path, ("createIncident", "groupingConfiguration"))
    grouping = (*path, "groupingConfiguration")
    return IncidentConfiguration(
        create_incident=doc.boolean((*path, "createIncident"), True),
        grouping=_grouping(doc, grouping, entities, custom) if doc.has(grouping) else GroupingConfiguration(),
    )


def _grouping(
    doc: RuleDocument,
    path: NodePath,
    entities: tuple[EntityMapping, ...],
    custom: tuple[tuple[str, str], ...],
) -> GroupingConfiguration:
    doc.mapping(path, _GROUPING_KEYS)
    lookback = (*path, "lookbackDuration")
    matching = (*path, "matchingMethod")
    config = GroupingConfiguration(
        enabled=doc.boolean((*path, "enabled"), False),
        reopen_closed_incident=doc.boolean((*path, "reopenClosedIncident"), False),
        lookback=_duration(doc, lookback, _LOOKBACK_RANGE) if doc.has(lookback) else timedelta(hours=5),
        matching_method=doc.choice(matching, MATCHING_METHODS, what="matching method")
        if doc.has(matching)
        else "AllEntities",
        group_by_entities=_group_by(
            doc, (*path, "groupByEntities"), [m.entity_type for m in entities], "entity"
        ),
        group_by_alert_details=_group_by(
            doc, (*path, "groupByAlertDetails"), ["DisplayName", "Severity"], "detail"
        ),
        group_by_custom_details=_group_by(
            doc, (*path, "groupByCustomDetails"), [k for k, _ in custom], "custom"
        ),
    )
    if config.matching_method == "Selected" and not (
        config.group_by_entities or config.group_by_alert_details or config.group_by_custom_details
    ):
        doc.fail(
            matching,
            "Selected needs at least one of groupByEntities, groupByAlertDetails, groupByCustomDetails",
        )
    return config


def _group_by(doc: RuleDocument, path: NodePath, allowed: list[str], what: str) -> tuple[str, ...]:
    """A group-by list: entity types the rule maps, alert details, or keys of customDetails."""
    if not doc.has(path):
        return ()
    found = []
    for item in doc.items(path):
        value = doc.text(item).strip()
        match = [a for a in allowed if a.lower() == value.lower()]
        if not match:
            doc.fail(item, _group_by_problem(value, allowed, what))
        found.append(match[0])
    return tuple(dict.fromkeys(found))


def _group_by_problem(value: str, allowed: list[str], what: str) -> str:
    if what == "entity":
        if value.lower() not in (e.lower() for e in ENTITY_IDENTIFIERS):
            return f"unknown entity type '{value}'{did_you_mean(value, ENTITY_IDENTIFIERS)}"
        return f"{value} is not mapped in entityMappings; group by mapped entities only"
    if what == "custom":
        return f"'{value}' is not a key of customDetails{did_you_mean(value, allowed)}"
    return f"unknown alert detail '{value}'; one of {', '.join(allowed)}"


def _version(doc: RuleDocument) -> str:
    if not doc.has(("version",)):
        return ""
    value = doc.text(("version",), max_len=20).strip()
    if not _VERSION.match(value):
        doc.fail(("version",), f"'{value}' is not a version like 1.0.3")
    return value


def _tables(doc: RuleDocument, query: str, kind: RuleKind) -> tuple[str, ...]:
    """The connectors' dataTypes, then the tables (and functions) the query reads."""
    declared = [
        str(doc.get(data_type))
        for connector in (
            doc.items(("requiredDataConnectors",)) if doc.has(("requiredDataConnectors",)) else ()
        )
        for data_type in doc.items((*connector, "dataTypes"))
    ]
    read = _query_tables(query)
    if kind is RuleKind.NRT and len(read) > 1:
        doc.fail(("query",), f"an NRT rule reads one table; this query reads {', '.join(read)}")
    return tuple(dict.fromkeys([*declared, *read]))


def _query_tables(query: str) -> tuple[str, ...]:
    """What the query reads, as the KQL binder sees it; nothing when the compiler cannot read the
    query (the rule still loads: running it reports the compiler's message)."""
    try:
        bound = bind(query, _catalog(), open_tables=True)
    except Exception:  # a compiler gap or bug must not make a valid rule unloadable
        return ()
    return tuple(dict.fromkeys(name for relation in bound.relations for name in tables_read(relation)))


@cache
def _catalog() -> Catalog:
    return Catalog.sentinel()
