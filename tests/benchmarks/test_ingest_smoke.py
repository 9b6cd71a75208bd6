"""Smoke test of benchmarks/ingest.py in its smoke mode (20k NDJSON rows, three seconds per
receiver, one run per file measurement): every part runs against a real ``wk serve`` and prints
its figures in the documented shape, and the checks the benchmark makes hold — every acknowledged
HTTP record is queryable, every syslog datagram is stored, rejected or reported dropped. No timing
is asserted: performance is reported, not tested."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

sys.path.insert(0, str(BENCHMARKS))
import ingest  # noqa: E402

NUMBER = r"([\d,]+)"
RATE_LINE = re.compile(
    rf"^(?P<name>.+?)\s+{NUMBER} (?P<unit>rows|messages)\s+{NUMBER} (?P=unit)/s\s+(?:{NUMBER}|-) (?P=unit)/s per core"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def smoke() -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = ingest.main(["--rows", "20000", "--seconds", "3", "--repeat", "1"])
    return status, printed.getvalue()


def rates(printed: str) -> dict[str, tuple[int, int, int | None]]:
    """name -> (count, per second, per core) of every figure line."""
    found = {}
    for line in printed.splitlines():
        matched = RATE_LINE.match(line)
        if matched:
            count, rate, core = matched.group(2, 4, 5)
            found[matched["name"]] = (number(count), number(rate), number(core) if core else None)
    return found


def test_the_smoke_run_passes_its_checks(smoke: tuple[int, str]) -> None:
    status, printed = smoke
    assert status == 0, printed


def test_every_part_prints_its_figures(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    figures = rates(printed)
    expected = {
        "ndjson -> SecurityEvent",
        "ndjson -> Bench_CL",
        "http logs ingestion 10k",
        "syslog udp (rfc 3164)",
    }
    if "evtx: skipped" not in printed:
        expected |= {"evtx parse", "evtx -> workspace"}
    assert set(figures) == expected, printed
    assert figures["ndjson -> SecurityEvent"][0] == figures["ndjson -> Bench_CL"][0] == 20_000
    for name, (count, rate, core) in figures.items():
        assert min(count, rate, 1 if core is None else core) > 0, (name, printed)
    assert "goal 50,000 rows/s on 2 cores" in printed
    assert "goal 20,000 messages/s" in printed


def test_every_acknowledged_http_record_is_queryable(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    held = re.search(rf"0 failed; Bench_CL holds {NUMBER} of {NUMBER} acknowledged records", printed)
    assert held, printed
    assert number(held[1]) == number(held[2]) == rates(printed)["http logs ingestion 10k"][0]
    assert number(held[1]) % 10_000 == 0  # whole 10k-record calls


def test_every_syslog_datagram_is_accounted_for(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    line = re.search(
        rf"syslog: sent {NUMBER} .*?; stored {NUMBER}, dropped {NUMBER} .*?, rejected {NUMBER}, "
        rf"unaccounted (-?[\d,]+); receipt to queryable p50 ([\d.]+) s, p95 ([\d.]+) s",
        printed,
    )
    assert line, printed
    sent, stored, dropped, rejected, unaccounted = (number(v) for v in line.group(1, 2, 3, 4, 5))
    assert unaccounted == 0
    assert sent == stored + dropped + rejected
    assert stored > 0
    assert rejected == 0


def test_freshness_is_measured_while_sending_at_the_asked_rate(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    line = re.search(
        rf"^freshness\s+{NUMBER} events\s+{NUMBER} events/s \(asked 20,000\); lag p50 ([\d.]+) s, "
        r"p95 ([\d.]+) s, max ([\d.]+) s over (\d+) probes   goal p95 < 5 s",
        printed,
        re.MULTILINE,
    )
    assert line, printed
    assert number(line[1]) == 60_000  # 3 s at 20k events/s
    assert float(line[3]) <= float(line[4]) <= float(line[5])
    assert int(line[6]) > 0
    usage = re.search(r"Usage.AvgLatencyInSeconds p50 [\d.]+ s, p95 [\d.]+ s over (\d+) batches", printed)
    assert usage, printed
    # one Usage row per stored write: the 60 calls, fewer when a busy writer merges calls into one write
    assert 0 < int(usage[1]) <= 60, printed
    held = re.search(rf"Fresh_CL holds {NUMBER} of {NUMBER} acknowledged records", printed)
    assert held, printed
    assert number(held[1]) == number(held[2]) == 60_000
