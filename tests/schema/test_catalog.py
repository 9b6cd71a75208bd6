"""The shipped table catalog against the spec's table schemas."""

from __future__ import annotations

import re

import pytest

from tests.conftest import SHARED
from watchkeeper import Catalog, KqlType
from watchkeeper.schema import parse_type_name

SPEC = SHARED / "specs" / "sentinel-table-schemas.md"
CORE = [
    "SecurityEvent", "SigninLogs", "AADNonInteractiveUserSignInLogs", "AuditLogs", "Syslog", "CommonSecurityLog",
    "OfficeActivity", "AzureActivity", "AWSCloudTrail", "Event", "WindowsEvent", "DeviceProcessEvents",
    "DeviceNetworkEvents", "DeviceLogonEvents", "DeviceFileEvents", "DeviceRegistryEvents", "DeviceEvents",
    "DeviceInfo", "EmailEvents", "ThreatIntelligenceIndicator", "SecurityAlert", "SecurityIncident", "Heartbeat",
]  # fmt: skip


def _spec_tables() -> dict[str, list[tuple[str, str]]]:
    text = SPEC.read_text(encoding="utf-8")
    tables = {}
    for m in re.finditer(r"^## (\w+) \((\d+) columns\)\n\n(.*?)\n", text, re.M | re.S):
        cols = [tuple(part.split(": ")) for part in m.group(3).split(", ")]
        assert len(cols) == int(m.group(2)), f"{m.group(1)}: the spec's own count"
        tables[m.group(1)] = cols  # type: ignore[assignment]
    return tables


def test_the_catalog_has_every_log_analytics_table() -> None:
    assert len(Catalog.sentinel()) >= 898


@pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} is not available in this checkout")
def test_every_spec_column_is_in_the_catalog_with_its_type() -> None:
    catalog = Catalog.sentinel()
    problems = []
    for table, columns in _spec_tables().items():
        for name, type_name in columns:
            col = catalog[table].column(name)
            if col is None or col.type is not parse_type_name(type_name):
                problems.append(f"{table}.{name}: spec {type_name}, catalog {col.type if col else 'missing'}")
    assert problems == []


@pytest.mark.parametrize("table", CORE)
def test_core_tables_exist_with_time_generated(table: str) -> None:
    definition = Catalog.sentinel()[table]
    assert definition.column("TimeGenerated").type is KqlType.DATETIME


def test_defender_tables_answer_to_timestamp_as_an_alias_of_time_generated() -> None:
    column = Catalog.sentinel()["DeviceProcessEvents"].column("Timestamp")
    assert column is not None
    assert column.alias_of == "TimeGenerated"
    assert Catalog.sentinel()["SecurityEvent"].column("Timestamp") is None


def test_columns_that_differ_only_in_case_get_distinct_storage_names() -> None:
    table = Catalog.sentinel()["AppServiceAppLogs"]
    names = table.physical_names
    assert len({v.lower() for v in names.values()}) == len(names)
