"""KQL literal text forms; the rules live in :mod:`watchkeeper.schema.values`."""

from watchkeeper.schema.values import (
    EPOCH,
    datetime_from_ticks,
    format_datetime_iso,
    format_timespan,
    parse_datetime_text,
    parse_guid_text,
    parse_timespan_text,
    ticks_from_datetime,
)

__all__ = [
    "EPOCH",
    "datetime_from_ticks",
    "format_datetime_iso",
    "format_timespan",
    "parse_datetime_text",
    "parse_guid_text",
    "parse_timespan_text",
    "ticks_from_datetime",
]
