"""Which alerts share an incident: the grouping key of an alert under a rule's grouping
configuration (pure; the service finds the incident holding the same key).

With grouping enabled, an alert joins the most recent incident of the same rule created within
the lookback whose key equals its own:

- ``AnyAlert``: every alert of the rule has the same key;
- ``AllEntities``: the key is the alert's whole set of entities (type and identifiers);
- ``Selected``: the key is made of the entities of the types in ``groupByEntities``, the alert
  details in ``groupByAlertDetails`` (``DisplayName``, ``Severity``) and the values of the custom
  details in ``groupByCustomDetails``.
"""

from __future__ import annotations

import json
from typing import Any

from watchkeeper.detections.alerting import ENTITY_KINDS, AlertDraft, entity_key
from watchkeeper.detections.models import GroupingConfiguration

__all__ = ["grouping_key"]


def grouping_key(config: GroupingConfiguration, alert: AlertDraft) -> str:
    """The key alerts of one rule must share to be grouped (a canonical JSON text)."""
    if config.matching_method == "AnyAlert":
        return "any"
    if config.matching_method == "AllEntities":
        return _canonical({"entities": _entities(alert.entities, None)})
    kinds = {ENTITY_KINDS.get(t, t.lower()) for t in config.group_by_entities}
    details = {"DisplayName": alert.title, "Severity": alert.severity}
    return _canonical({
        "entities": _entities(alert.entities, kinds),
        "details": {name: details.get(name) for name in sorted(config.group_by_alert_details)},
        "custom": {key: sorted(map(str, alert.custom_details.get(key, []))) for key in sorted(config.group_by_custom_details)},
    })  # fmt: skip


def _entities(entities: tuple[dict[str, Any], ...], kinds: set[str] | None) -> list[list[list[str]]]:
    chosen = [e for e in entities if kinds is None or e.get("Type") in kinds]
    return sorted([list(map(list, entity_key(e))) for e in chosen])


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
