"""Threat intelligence: indicators (Graph's ``tiIndicator``) submitted by apps, stored in the state
database and mirrored to each workspace's ``ThreatIntelligenceIndicator`` table."""

from watchkeeper.intel.models import DEFENDER, SENTINEL, IndicatorRead
from watchkeeper.intel.service import (
    DEFENDER_LIMIT,
    create_indicator,
    delete_by_external_id,
    delete_indicator,
    find_indicator,
    list_indicators,
    update_indicator,
)

__all__ = [
    "DEFENDER",
    "DEFENDER_LIMIT",
    "SENTINEL",
    "IndicatorRead",
    "create_indicator",
    "delete_by_external_id",
    "delete_indicator",
    "find_indicator",
    "list_indicators",
    "update_indicator",
]
