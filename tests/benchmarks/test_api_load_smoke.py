"""Smoke test of benchmarks/api_load.py on a tiny configuration: a real ``wk serve`` process over
20k SecurityEvent rows, four clients for three seconds. The run must complete with no failed
request, every request audited and the report's figures printed; then a second, shorter run with a
tenant limit of one query and no queue wait must report 429s. No timing is asserted."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
ROWS, CLIENTS = 20_000, 4

sys.path.insert(0, str(BENCHMARKS))
import api_load  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-load")


def run(data_dir: Path, name: str, *options: str) -> tuple[int, str, dict[str, Any]]:
    """The script's exit status, printout and JSON report."""
    report = data_dir / f"{name}.json"
    printed = io.StringIO()
    argv = ["--rows", str(ROWS), "--clients", str(CLIENTS), "--data-dir", str(data_dir),
            "--baseline-rounds", "1", "--json", str(report), *options]  # fmt: skip
    with contextlib.redirect_stdout(printed):
        status = api_load.main(argv)
    return status, printed.getvalue(), json.loads(report.read_text())


@pytest.fixture(scope="module")
def default_run(data_dir: Path) -> tuple[int, str, dict[str, Any]]:
    return run(data_dir, "default", "--seconds", "3", "--breakdown-reps", "1")


def test_the_load_completes_with_no_failed_request(default_run: tuple[int, str, dict[str, Any]]) -> None:
    status, _, report = default_run
    load = report["load"]
    assert status == 0
    assert load["errors"] == {}
    assert load["ok"] > 0
    # four clients under a limit of four queries at once are never queued, so never refused
    assert (load["throttled"], load["requests"]) == (0, load["ok"])
    assert report["settings"]["tenant_concurrent_queries"] == 4


def test_every_request_is_audited_with_its_request_id(default_run: tuple[int, str, dict[str, Any]]) -> None:
    _, _, report = default_run
    server = report["server"]
    assert server["requests_with_id"] == report["load"]["requests"]
    assert server["audited"] == server["requests_with_id"]
    assert server["run_query_ms"]["n"] == report["load"]["ok"]


def test_every_template_answers_and_the_report_carries_the_figures(
    default_run: tuple[int, str, dict[str, Any]],
) -> None:
    _, printed, report = default_run
    assert {name: figures["n"] for name, figures in report["baseline"].items()} == {
        template.name: 1 for template in api_load.TEMPLATES
    }
    assert set(report["load"]["latency_ms"]) == {"p50", "p90", "p99", "max", "n"}
    assert set(report["breakdown"]["median_over_templates"]) == set(api_load.STEPS)
    for needle in ("requests completed: ", "errors by status: none", "req/s", "p50 ", "p90 ", "p99 ",
                   "max ", "throttled (429", "tenant_concurrent_queries=4", "query_queue_wait=10 s"):  # fmt: skip
        assert needle in printed


def test_a_tight_tenant_limit_shows_as_429s(data_dir: Path) -> None:
    status, printed, report = run(data_dir, "tight", "--seconds", "1.5", "--breakdown-reps", "0",
                                  "--concurrency-limit", "1", "--queue-wait", "0")  # fmt: skip
    load = report["load"]
    assert status == 0, "a 429 is the limit working, not a failure"
    assert load["errors"] == {}
    assert load["throttled"] > 0
    assert load["ok"] + load["throttled"] == load["requests"]
    assert report["server"]["audited"] == load["requests"], "refused queries are audited too"
    assert "tenant_concurrent_queries=1, query_queue_wait=0 s" in printed
