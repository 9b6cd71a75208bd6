"""Windows event normalisation: the XML it writes (``EventData``, the agent's ``DataItem`` and
``ParameterXml``) reads back, through an XML parser, to exactly the event data it came from, and
the shortcuts taken for speed give the answers of the plain rendering and the general time parser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.ingest.normalize import windows
from watchkeeper.ingest.normalize.windows import (
    EVENT_NS,
    WindowsRecord,
    event_data_xml,
    event_row,
    parse_time,
    security_event_row,
)
from watchkeeper.ingest.parsers.evtx import record_from_json

# text XML 1.0 can carry; a carriage return is left out because XML parsers read it as a line feed
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"))
xml_text_with_markup = st.one_of(
    xml_text, st.sampled_from(["a & b", "<script>", "x > y", "&amp;", '"q"', "{0}"])
)
scalars = st.one_of(xml_text_with_markup, st.integers(-(2**63), 2**63), st.booleans(), st.none())
field_names = st.one_of(xml_text.filter(bool), st.sampled_from(["TargetUserName", 'Na"me', "{}", "a'b\"c"]))
event_data = st.dictionaries(field_names.filter(lambda n: n != "Data"), scalars, max_size=12)
unnamed_items = st.lists(st.one_of(xml_text_with_markup, st.integers()), max_size=4)


def text_of(value: Any) -> str:
    """How a value reads back from the XML: booleans as ``true``/``false``, None as nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def read_event_data(xml: str) -> list[tuple[str | None, str]]:
    root = ET.fromstring(xml)
    assert root.tag == f"{{{EVENT_NS}}}EventData"
    return [(item.get("Name"), item.text or "") for item in root]


@given(event_data)
def test_event_data_xml_reads_back_to_the_event_data(data: dict[str, Any]) -> None:
    assert read_event_data(event_data_xml(data)) == [(name, text_of(v)) for name, v in data.items()]


@given(event_data, unnamed_items)
def test_unnamed_data_items_read_back_in_order(data: dict[str, Any], items: list[Any]) -> None:
    xml = event_data_xml({**data, "Data": items})
    expected = [(name, text_of(v)) for name, v in data.items()] + [(None, text_of(v)) for v in items]
    assert read_event_data(xml) == expected


@given(st.one_of(event_data, st.builds(lambda d, i: {**d, "Data": i}, event_data, unnamed_items)))
def test_records_sharing_field_names_render_as_the_field_by_field_rendering(data: dict[str, Any]) -> None:
    # the markup between values is cached per set of field names: a second record with the same names
    # and other values must not get the first one's values
    first = event_data_xml(data)
    other = {name: f"other {index} &" for index, name in enumerate(data)}
    assert first == windows._event_data_items_xml(data)
    assert event_data_xml(other) == windows._event_data_items_xml(other)


def record(data: dict[str, Any], channel: str = "Application") -> WindowsRecord:
    moment = datetime(2024, 5, 1, 12, 30, 1, 250000, tzinfo=UTC)
    return WindowsRecord(channel=channel, provider="Test", event_id=1, computer="h", time=moment, data=data)


@given(st.one_of(event_data, st.builds(lambda d, i: {**d, "Data": i}, event_data, unnamed_items)))
def test_event_rows_carry_the_data_as_the_agent_writes_it(data: dict[str, Any]) -> None:
    row = event_row(record(data))
    item = ET.fromstring(row["EventData"])
    assert item.tag == "DataItem"
    assert item.get("time") == "2024-05-01T12:30:01.250000+00:00"
    assert ET.tostring(item[0], encoding="unicode") == ET.tostring(
        ET.fromstring(event_data_xml(data)), encoding="unicode"
    )
    params = [p.text or "" for p in ET.fromstring(f"<ParameterXml>{row['ParameterXml']}</ParameterXml>")]
    flat = [v for value in data.values() for v in (value if isinstance(value, list) else [value])]
    assert params == [text_of(v) for v in flat]


def test_security_rows_type_event_data_by_column_and_keep_the_rest_in_xml() -> None:
    data = {
        "TargetUserName": "bob",
        "LogonType": "3",
        "KeyLength": "0x80",
        "ErrorCode": "%%1833",
        "ProcessId": 500,
        "Extra": "x",
    }
    row = security_event_row(record(data, channel="Security"))
    # int columns take decimal and hex text, string columns take numbers as text
    assert (row["TargetUserName"], row["LogonType"], row["KeyLength"], row["ProcessId"]) == (
        "bob",
        3,
        128,
        "500",
    )
    # an insertion string where a number belongs, and fields that are no column, stay in EventData only
    assert "ErrorCode" not in row
    assert "Extra" not in row
    assert row["LogonTypeName"] == "3 - Network"
    assert row["Account"] == "bob"
    assert read_event_data(row["EventData"]) == [(name, text_of(v)) for name, v in data.items()]


moments = st.datetimes(min_value=datetime(1601, 1, 1), max_value=datetime(2200, 1, 1))


@given(moments)
def test_system_times_read_as_the_general_parser_reads_them(moment: datetime) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # a leading space takes the general path
    assert parse_time(text) == parse_time(" " + text)
    expected = moment.replace(tzinfo=UTC)
    assert parse_time(text) == (expected if expected >= datetime(1970, 1, 2, tzinfo=UTC) else None)


@given(moments.filter(lambda m: m >= datetime(1970, 1, 2)), st.booleans())
def test_an_event_rows_time_attribute_is_its_time_in_iso_8601(moment: datetime, whole_second: bool) -> None:
    moment = moment.replace(microsecond=0) if whole_second else moment
    event = {
        "System": {
            "EventID": 7,
            "Channel": "System",
            "Computer": "h",
            "TimeCreated": {"#attributes": {"SystemTime": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
        },
        "EventData": {"A": "1"},
    }
    row = event_row(record_from_json(event))
    stamp = re.search(r'<DataItem type="System.XmlData" time="([^"]+)">', row["EventData"])
    assert stamp is not None
    assert stamp.group(1) == row["TimeGenerated"].isoformat()
    assert row["TimeGenerated"] == moment.replace(tzinfo=UTC)
