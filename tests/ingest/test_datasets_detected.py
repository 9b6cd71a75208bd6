"""Every recording in the shared datasets is recognised as its format by detection alone (what
``wk ingest FOLDER`` relies on): no file falls through to a generic format or to none, and no
format claims another's files. The parsers' own tests check what each file then turns into."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED
from watchkeeper.ingest import detect_parser
from watchkeeper.ingest.sources import sources_at

DATASETS = SHARED / "datasets"

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason=f"the shared datasets are not at {DATASETS}")

# folder -> the format its recordings are in
EXPECTED = {
    "windows/evtx-attack-samples": "evtx",
    "windows/security-datasets": "windows-json",
    "network/zeek-wrccdc2018": "zeek",
    "network/suricata": "suricata-eve",
    "cloud/aws/stratus-red-team": "cloudtrail",
    "cloud/aws/security-datasets": "cloudtrail",
    "cloud/azure-m365": "la-export",
    "linux/security-datasets": "auditd",
    "linux/security-datasets-log4shell": "la-export",
}
# files that are no log records of their folder's format: metadata, a JSON schema, packet captures,
# and a CSV summary of API calls (generic CSV into a table the user names)
NOT_RECORDS = (
    ".yaml",
    ".md",
    ".txt",
    "labels.csv",
    "eve-schema.json",
    ".pcap",
    ".pcapng",
    "HoneyBucketLogs.csv",
)


def recordings(folder: str) -> list[tuple[str, str]]:
    """(name, detected format) of every recording under ``folder``."""
    found = []
    for source in sources_at(DATASETS / folder):
        if source.filename.endswith(NOT_RECORDS) or "/_metadata/" in source.name:
            continue
        parser = detect_parser(source.head(), source.filename)
        found.append((Path(source.name).name, parser.name if parser else "(none)"))
    return found


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_every_recording_is_detected_as_its_format(folder: str) -> None:
    found = recordings(folder)
    assert found, f"no recordings under {folder}"
    wrong = [(name, fmt) for name, fmt in found if fmt != EXPECTED[folder]]
    assert wrong == [], f"{folder}: expected {EXPECTED[folder]}"
