"""Smoke test of benchmarks/detections.py on a tiny configuration (20k events, 5 Sigma rules plus
the 12 reference queries, an NRT write of 1,000 events, one run): every rule runs over the window
through the real flows (state database, DuckDB workspace), the reference queries raise alerts over
the full window and nothing over the empty one, the 12 NRT rules all run on the write, and every
figure prints beside its goal. No timing is asserted: performance is reported, not tested."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from tests.conftest import SHARED

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SIGMA = SHARED / "datasets" / "sigma" / "sigma-rules.tar"
QUERIES = SHARED / "kql" / "perf_queries.yaml"

sys.path.insert(0, str(BENCHMARKS))
import detections  # noqa: E402

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not (SIGMA.exists() and QUERIES.exists()), reason=f"{SIGMA} or {QUERIES} is absent"),
]

NUMBER = r"([\d,]+)"
FIGURE = re.compile(
    r"^\s+(?P<name>\S.*?)\s+(?P<wall>-?[\d,.]+) ms wall\s+(?P<cpu>-?[\d,.]+) ms CPU(?P<note>.*)$"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    printed = io.StringIO()
    data_dir = tmp_path_factory.mktemp("perfdata")
    status = detections.main(
        ["--events", "20000", "--rules", "5", "--nrt-events", "1000", "--repeat", "1",
         "--data-dir", str(data_dir), "--sigma", str(SIGMA), "--queries", str(QUERIES)],
        out=printed,
    )  # fmt: skip
    return status, printed.getvalue()


def sections(printed: str) -> dict[str, dict[str, tuple[float, float, str]]]:
    """Section title -> figure name -> (wall ms, CPU ms, note)."""
    found: dict[str, dict[str, tuple[float, float, str]]] = {}
    title = ""
    for line in printed.splitlines():
        if line and not line.startswith(" ") and ":" in line:
            title = line.split(":", 1)[0]
            found.setdefault(title, {})
        elif matched := FIGURE.match(line):
            wall, cpu = (float(matched[k].replace(",", "")) for k in ("wall", "cpu"))
            found[title][matched["name"]] = (wall, cpu, matched["note"].strip())
    return found


def test_the_smoke_run_passes_its_checks(smoke: tuple[int, str]) -> None:
    status, printed = smoke
    assert status == 0, printed
    assert "FAILED" not in printed


def test_the_window_holds_the_asked_events_and_rules(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    line = re.search(
        rf"SecurityEvent {NUMBER}, SigninLogs {NUMBER}, DeviceProcessEvents {NUMBER} \({NUMBER}\); "
        r"rules: 5 Sigma \+ 12 reference queries; medians of 1 runs",
        printed,
    )
    assert line, printed
    security, signin, device, total = (number(v) for v in line.groups())
    assert (security, signin, device, total) == (12_000, 1_200, 6_800, 20_000)


def test_the_full_window_raises_alerts_and_the_empty_one_none(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    full = re.search(rf"^scheduled over .*?: 17 rules; {NUMBER} rows, {NUMBER} alerts", printed, re.M)
    empty = re.search(r"^empty window \(fixed cost\): 17 rules; 0 rows, 0 alerts", printed, re.M)
    assert full, printed
    assert empty, printed
    assert number(full[1]) > 0
    assert number(full[2]) > 0  # the reference queries return rows over the whole window


def test_every_part_prints_its_figures_beside_the_goals(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    found = sections(printed)
    scheduled = next(v for k, v in found.items() if k.startswith("scheduled over"))
    assert scheduled["flow (run_rules_over)"][2] == "goal <= 5 s on 2 cores"
    for part in ("compile (kql.translate)", "query (compile + execute)", "alert drafts"):
        assert scheduled[part][0] > 0, (part, printed)
    assert scheduled["compile (kql.translate)"][0] < scheduled["query (compile + execute)"][0]
    sigma, reference = (
        scheduled[f"queries of the {n} (last run)"] for n in ("5 sigma rules", "12 reference rules")
    )
    assert min(sigma[0], reference[0]) > 0
    empty = found["empty window (fixed cost)"]
    assert empty["flow (run_rules_over) per rule"][2] == "goal <= 2 ms per rule (with compilation cached)"
    assert empty["compile (kql.translate) per rule"][0] > 0
    nrt = found["nrt"]
    assert nrt["flow (NearRealTime)"][2] == "goal <= 100 ms for the 12 rules"
    assert (
        min(nrt[p][0] for p in ("flow (NearRealTime)", "showing the write (views over its batches)", "query"))
        > 0
    )


def test_the_nrt_rules_run_on_the_whole_write(smoke: tuple[int, str]) -> None:
    _, printed = smoke
    assert re.search(r"^nrt: 12 rules on one write of 1,000 events", printed, re.M), printed
