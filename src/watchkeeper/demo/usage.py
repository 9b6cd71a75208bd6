"""Ingestion health for the demo: the ``Usage`` rows its 30 days of telemetry would have left, and a
few malformed records a collector sent, kept in ``IngestionErrors`` with the reason.

The demo's tables are written in one go at build time, which measures nothing; real ingestion adds
one ``Usage`` row per table per stored batch (see ``ingest/usage.py``). Here each table gets one row
per hour of its events, as an hourly shipper's batches would: the hour's records, their size, their
first and last event, and a latency drawn from the seed (tens of seconds, with the odd slow hour).
The malformed records go through the real ingestion path, so their reasons are the ones a shipper
would get back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.usage import USAGE
from watchkeeper.workspace import Workspace

__all__ = ["MALFORMED_SOURCE", "record_usage", "send_malformed_records"]

MALFORMED_SOURCE = "syslog-collector:514"
_HOURLY = (
    "{table} | summarize Records = count(), StartTime = min(TimeGenerated), EndTime = max(TimeGenerated)"
    " by Hour = bin(TimeGenerated, 1h) | order by Hour asc"
)


def record_usage(ws: Workspace, tables: dict[str, int], *, seed: int) -> int:
    """One ``Usage`` row per table and hour of its events; the number of rows written."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for table in sorted(tables):
        size = _bytes_per_row(ws, table)
        for hour, records, start, end in ws.query(_HOURLY.format(table=table)).rows:
            rows.append(_usage_row(table, hour, records, start, end, size, rng))
    return ws.ingest(USAGE, rows) if rows else 0


def _bytes_per_row(ws: Workspace, table: str) -> float:
    """The table's average stored row size, from up to 2,000 of its rows as Arrow data."""
    sample = ws.query(f"{table} | take 2000").to_arrow()
    size: float = sample.nbytes
    rows: int = sample.num_rows
    return size / max(1, rows)


def _usage_row(table: str, hour: datetime, records: int, start: datetime, end: datetime, size: float,
               rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    # most batches are queryable within a minute or two of their events; one hour in fifty is slow
    latency = float(rng.gamma(2.0, 25.0)) + (float(rng.uniform(600, 1800)) if rng.random() < 0.02 else 0.0)
    stored = hour + timedelta(hours=1, seconds=latency)
    return {
        "TimeGenerated": stored, "DataType": table, "Records": records, "Quantity": records * size / 1_000_000,
        "QuantityUnit": "MBytes", "StartTime": start, "EndTime": end, "AvgLatencyInSeconds": latency,
        "TotalBatches": 1, "IsBillable": True, "Solution": "LogManagement", "SourceSystem": "demo",
    }  # fmt: skip


def send_malformed_records(ws: Workspace, end: datetime) -> int:
    """Three records a syslog collector could not deliver: a PID that is not a number, a time that
    is not a time, and a line that is not syslog at all. Returns how many were refused."""
    when = (end - timedelta(hours=3)).isoformat()
    parsed = Parsed()
    parsed.add("Syslog", {"TimeGenerated": when, "Computer": "web-03", "Facility": "auth", "ProcessID": "sshd[812]",
                          "SyslogMessage": "Accepted publickey for deploy from 10.0.4.17 port 51844 ssh2"})  # fmt: skip
    parsed.add("Syslog", {"TimeGenerated": "Dec 31 25:61:00", "Computer": "db-01", "Facility": "cron",
                          "SyslogMessage": "(root) CMD (/usr/local/bin/backup.sh >/dev/null 2>&1)"})  # fmt: skip
    parsed.reject(MALFORMED_SOURCE, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03<script>alert(1)</script>",
                  "not an RFC 5424 or RFC 3164 syslog message (a TLS handshake sent to the plain-text port?)")  # fmt: skip
    return ws.ingest_parsed(parsed, source=MALFORMED_SOURCE, input_format="syslog").rejected
