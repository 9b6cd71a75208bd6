"""Vectorised Arrow column builders for the demo generator.

Background tables hold tens of thousands of rows, so every column is built in one numpy or
pyarrow call: values are drawn as integer indices and mapped through small lookup lists.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BUSINESS_HOURS",
    "MICROS_PER_SECOND",
    "const",
    "event_times",
    "guids",
    "hex_ids",
    "micros",
    "pick",
    "text",
    "timestamps",
]

MICROS_PER_SECOND = 1_000_000
_MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
_MICROS_PER_DAY = 24 * _MICROS_PER_HOUR

# Relative activity per hour of the day (UTC): people work 08:00-18:00, machines never sleep.
BUSINESS_HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 9, 11, 12, 12, 10, 8, 5, 3, 2, 2, 1, 1], dtype=float
)


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return int(moment.timestamp()) * MICROS_PER_SECOND + moment.microsecond


def event_times(
    rng: np.random.Generator, n: int, start: datetime, days: int, hourly: np.ndarray = BUSINESS_HOURS
) -> np.ndarray:
    """``n`` event times (epoch microseconds) over ``days`` days from ``start``, shaped by ``hourly``."""
    day = rng.integers(0, days, n, dtype=np.int64)
    hour = rng.choice(24, size=n, p=hourly / hourly.sum()).astype(np.int64)
    within = rng.integers(0, _MICROS_PER_HOUR, n, dtype=np.int64)
    return micros(start) + day * _MICROS_PER_DAY + hour * _MICROS_PER_HOUR + within


def timestamps(values: np.ndarray) -> pa.Array:
    """Epoch microseconds as an Arrow ``timestamp[us, UTC]`` column (the store's datetime)."""
    return pa.array(values, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def const(value: str | int, n: int, kind: pa.DataType | None = None) -> pa.Array:
    """The same value ``n`` times."""
    return pa.repeat(pa.scalar(value, type=kind), n)


def pick(lookup: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """``lookup[index]`` for every index, as an Arrow string column."""
    values = lookup if isinstance(lookup, pa.Array) else pa.array(list(lookup), type=pa.string())
    return pc.take(values, pa.array(index))


def text(*parts: str | pa.Array | np.ndarray) -> pa.Array:
    """Element-wise concatenation of string columns, numbers and literal strings."""
    arrays = [pc.cast(pa.array(p), pa.string()) if isinstance(p, np.ndarray) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def guids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random (version 4) GUID strings drawn from ``rng``."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    return [str(uuid.UUID(bytes=row.tobytes(), version=4)) for row in raw]


def hex_ids(rng: np.random.Generator, n: int, digits: int) -> list[str]:
    """``n`` random lower-case hex strings of ``digits`` characters (device ids, hashes)."""
    raw = rng.integers(0, 256, size=(n, (digits + 1) // 2), dtype=np.uint8)
    return [row.tobytes().hex()[:digits] for row in raw]
