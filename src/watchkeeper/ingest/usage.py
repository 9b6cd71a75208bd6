"""Ingestion health as data: for each batch, one ``Usage`` row per table it wrote (as Log Analytics
keeps ``Usage``): how many records (``Records``), how many megabytes (``Quantity``), the span of
their event times (``StartTime``..``EndTime``) and how long after its event each became queryable on
average (``AvgLatencyInSeconds``). ``wk ingest stats`` and any KQL query read them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["USAGE", "usage_rows"]

USAGE = "Usage"
# the tables whose writes are not themselves measured
_UNMEASURED = frozenset({USAGE})


def usage_rows(
    batches: Iterable[tuple[str, pa.Table]], *, now: datetime, source: str
) -> list[dict[str, Any]]:
    """``Usage`` rows for the Arrow batches just appended, one per table."""
    by_table: dict[str, list[pa.Table]] = {}
    for table, batch in batches:
        if table not in _UNMEASURED and batch.num_rows:
            by_table.setdefault(table, []).append(batch)
    return [_row(table, parts, now, source) for table, parts in by_table.items()]


def _row(table: str, parts: list[pa.Table], now: datetime, source: str) -> dict[str, Any]:
    records = sum(p.num_rows for p in parts)
    times = pa.chunked_array(
        [
            p.column("TimeGenerated")
            for p in parts
            if pa.types.is_timestamp(p.schema.field("TimeGenerated").type)
        ]
        if all("TimeGenerated" in p.column_names for p in parts)
        else [],
        type=pa.timestamp("us", tz="UTC"),
    )
    start, end = (pc.min(times).as_py(), pc.max(times).as_py()) if len(times) else (None, None)
    latency = None
    if len(times):
        ages = pc.subtract(pa.scalar(now, times.type), times)
        latency = pc.mean(pc.cast(ages, pa.int64())).as_py() / 1_000_000  # microseconds -> seconds
    return {
        "TimeGenerated": now, "DataType": table, "Records": records,
        "Quantity": sum(p.nbytes for p in parts) / 1_000_000, "QuantityUnit": "MBytes",
        "StartTime": start, "EndTime": end, "AvgLatencyInSeconds": latency, "TotalBatches": 1,
        "IsBillable": table != "IngestionErrors", "Solution": "LogManagement", "SourceSystem": source,
    }  # fmt: skip
