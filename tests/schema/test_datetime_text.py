"""Datetime text: the fast path for plain ISO 8601 reads every such text exactly as the general
parser does (a differential property test), and texts outside it still parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.schema.values import parse_datetime_forms, parse_datetime_text

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
zones = st.sampled_from(["", "Z", "+00:00", "-05:30", "+14:00"])
separators = st.sampled_from(["T", " "])
precisions = st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"])


@given(moments, zones, separators, precisions)
def test_plain_iso_reads_as_the_general_parser_reads_it(
    moment: datetime, zone: str, separator: str, precision: str
) -> None:
    text = moment.isoformat(sep=separator, timespec=precision) + zone
    assert parse_datetime_text(text) == parse_datetime_forms(text)
    assert parse_datetime_text(text).tzinfo is UTC


def test_forms_beyond_plain_iso_still_parse() -> None:
    assert parse_datetime_text("2026-01-01T10:11:12.1234567Z") == datetime(
        2026, 1, 1, 10, 11, 12, 123456, tzinfo=UTC
    )
    assert parse_datetime_text("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_datetime_text("Thu, 01 Jan 2026 10:00:00 GMT") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert parse_datetime_text("2026-01-01T10:00:00+02:00") == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert parse_datetime_text("2026-01-01 10:00") - parse_datetime_text("2026-01-01 09:00") == timedelta(
        hours=1
    )
