"""Time and sampling helpers: the 30-day window, day sizes, office hours, Zipf draws, row batches.

Times are microseconds since the Unix epoch (int64), the unit of ``timestamp[us, UTC]``.
"""

from __future__ import annotations

from functools import cache

import numpy as np

START_US = 1_764_633_600_000_000  # 2025-12-02T00:00:00Z
DAYS = 30  # the data ends at 2026-01-01T00:00:00Z
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MINUTE_US = 60_000_000
# Office hours in UTC: quiet nights, a morning ramp, a busy day, an evening tail.
_HOURLY = np.array([0.25] * 6 + [0.5, 0.8] + [1.0] * 10 + [0.8, 0.6, 0.45, 0.35, 0.3, 0.25])
_WEEKEND = 0.4


def day_start(day: int) -> int:
    """Microseconds at 00:00 UTC of day ``day`` (0 = 2025-12-02)."""
    return START_US + day * DAY_US


def rows_per_day(total: int) -> list[int]:
    """Split ``total`` rows over the days, weekends quieter; the parts sum to ``total``."""
    weekday = [(1 + day) % 7 for day in range(DAYS)]  # day 0 is a Tuesday (0 = Monday)
    weights = np.array([_WEEKEND if w >= 5 else 1.0 for w in weekday])
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    remainder = total - int(parts.sum())
    parts[np.argsort(parts - exact)[:remainder]] += 1  # largest remainders first
    return [int(p) for p in parts]


def times_in_day(rng: np.random.Generator, n: int, day: int) -> np.ndarray:
    """``n`` event times during ``day``, following the office-hours curve."""
    hours = rng.choice(24, size=n, p=_HOURLY / _HOURLY.sum())
    return day_start(day) + hours * HOUR_US + rng.integers(0, HOUR_US, size=n)


def zipf(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """``n`` ranks in ``[0, size)`` with P(rank k) proportional to ``1 / (k + 1) ** exponent``."""
    return np.searchsorted(_zipf_cdf(size, exponent), rng.random(n), side="right").astype(np.int32)


@cache
def _zipf_cdf(size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return cdf


def pick(rng: np.random.Generator, n: int, probabilities: dict[int, float]) -> np.ndarray:
    """``n`` values drawn from ``{value: probability}`` (probabilities are normalised)."""
    values = np.array(list(probabilities), dtype=np.int32)
    weights = np.array(list(probabilities.values()), dtype=np.float64)
    return values[rng.choice(len(values), size=n, p=weights / weights.sum())]


Rows = dict[str, np.ndarray]  # one int array per base field, all the same length


def make_rows(n: int, fields: tuple[str, ...], **values: int | np.ndarray) -> Rows:
    """``n`` rows of ``fields``; a scalar value is repeated, a missing field is 0, ``t`` is int64."""
    rows = {}
    for name in fields:
        value = values.get(name, 0)
        dtype = np.int64 if name == "t" else np.int32
        rows[name] = np.full(n, value, dtype) if np.isscalar(value) else np.asarray(value, dtype)
    return rows


def concat_rows(parts: list[Rows], fields: tuple[str, ...]) -> Rows:
    """The rows of all ``parts`` (an empty list gives zero rows)."""
    if not parts:
        return make_rows(0, fields)
    return {name: np.concatenate([part[name] for part in parts]) for name in fields}


def select_rows(rows: Rows, mask: np.ndarray) -> Rows:
    """The rows where ``mask`` is true."""
    return {name: values[mask] for name, values in rows.items()}
