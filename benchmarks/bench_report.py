"""What a benchmark run reports: per-query measurements, the table, the summary, the machine, JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

TARGET_RATIO, TARGET_COMPILE_MS = 1.15, 5.0
# issue #7 (scale-out): the geometric mean of the ratios, the worst ratio, the slowest compile
TARGET_GEOMEAN, TARGET_MAX_RATIO, TARGET_MAX_COMPILE_MS = 1.10, 1.25, 15.0
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measurement:
    """One query on one engine: median times (ms), ratios KQL/SQL (median over rounds), compile time,
    the answer check, and the timed samples."""

    name: str
    kql_ms: float | None = None
    sql_ms: float | None = None
    ratio: float | None = None
    kql_cpu_ms: float | None = None
    sql_cpu_ms: float | None = None
    cpu_ratio: float | None = None
    compile_ms: float | None = None
    compile_cpu_ms: float | None = None
    kql_rows: int | None = None
    sql_rows: int | None = None
    check: str = ""
    detail: str = ""
    error: str | None = None
    samples_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """False for an error or a different row count (a wrong answer); a slow one is fine."""
        return self.error is None and not self.check.startswith("!! ROW COUNT")


HEADER = (
    f"{'query':<30} {'KQL ms':>8} {'SQL ms':>8} {'KQL/SQL':>8} {'CPU K/S':>8} {'compile ms':>11} {'(CPU)':>6} "
    f"{'rows':>7}  check"
)


def table_row(m: Measurement) -> str:
    """One line of the results table (``*`` marks a ratio over the target)."""
    compiled = f"{m.compile_ms:>11.2f} {m.compile_cpu_ms:>6.2f}" if m.compile_ms is not None else f"{'-':>18}"
    if m.error is not None or m.ratio is None or m.cpu_ratio is None:
        return f"{m.name:<30} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {compiled} {'-':>7}  !! ERROR {m.error}"
    rows = f"{m.kql_rows}" if m.kql_rows == m.sql_rows else f"{m.kql_rows}/{m.sql_rows}"
    flag = "*" if m.ratio > TARGET_RATIO else " "
    detail = f" ({m.detail})" if m.detail else ""
    return (
        f"{m.name:<30} {m.kql_ms:>8.1f} {m.sql_ms:>8.1f} {m.ratio:>7.2f}{flag} {m.cpu_ratio:>8.2f} {compiled} "
        f"{rows:>7}  {m.check}{detail}"
    )


def summarize(results: list[Measurement]) -> dict[str, Any]:
    """Medians across the queries that ran, the queries over target, and the failures."""
    ratios = [m.ratio for m in results if m.ratio is not None]
    cpu_ratios = [m.cpu_ratio for m in results if m.cpu_ratio is not None]
    compiles = [m.compile_ms for m in results if m.compile_ms is not None]
    compile_cpus = [m.compile_cpu_ms for m in results if m.compile_cpu_ms is not None]
    return {
        "median_ratio": statistics.median(ratios) if ratios else None,
        "median_cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None,
        "geomean_ratio": statistics.geometric_mean(ratios) if ratios else None,
        "geomean_cpu_ratio": statistics.geometric_mean(cpu_ratios) if cpu_ratios else None,
        "max_ratio": max(ratios) if ratios else None,
        "median_compile_ms": statistics.median(compiles) if compiles else None,
        "max_compile_ms": max(compiles) if compiles else None,
        "median_compile_cpu_ms": statistics.median(compile_cpus) if compile_cpus else None,
        "queries_over_target": [m.name for m in results if m.ratio is not None and m.ratio > TARGET_RATIO],
        "errors": [m.name for m in results if not m.ok],
        "answers_differ": [m.name for m in results if m.check.startswith("!!")],
    }


def summary_lines(results: list[Measurement]) -> str:
    """The median line and the verdict on the targets."""
    s = summarize(results)
    if s["median_ratio"] is None:
        return "no query ran"
    ratio_met = "met" if s["median_ratio"] <= TARGET_RATIO else "NOT met"
    compile_met = "met" if s["median_compile_ms"] < TARGET_COMPILE_MS else "NOT met"
    lines = [
        f"{'median':<30} {'':>8} {'':>8} {s['median_ratio']:>7.2f}  {s['median_cpu_ratio']:>8.2f} "
        f"{s['median_compile_ms']:>11.2f} {s['median_compile_cpu_ms']:>6.2f}",
        f"targets: median KQL/SQL <= {TARGET_RATIO} ({ratio_met}), median compile < {TARGET_COMPILE_MS:g} ms "
        f"({compile_met}); * = ratio over {TARGET_RATIO}; CPU K/S = the ratio of CPU times",
        _scale_targets(s),
    ]
    if s["errors"] or s["answers_differ"]:
        lines.append(
            f"!! errors: {', '.join(s['errors']) or 'none'}; answers differ: {', '.join(s['answers_differ']) or 'none'}"
        )
    return "\n".join(lines)


def _scale_targets(s: dict[str, Any]) -> str:
    """Issue #7's stricter targets: geometric mean <= 1.10, no query over 1.25, compile median
    <= 5 ms and maximum <= 15 ms."""
    verdicts = [
        f"geomean KQL/SQL {s['geomean_ratio']:.3f} (CPU {s['geomean_cpu_ratio']:.3f}) <= {TARGET_GEOMEAN} "
        f"({_met(s['geomean_ratio'] <= TARGET_GEOMEAN)})",
        f"max {s['max_ratio']:.2f} <= {TARGET_MAX_RATIO} ({_met(s['max_ratio'] <= TARGET_MAX_RATIO)})",
        f"compile max {s['max_compile_ms']:.2f} ms <= {TARGET_MAX_COMPILE_MS:g} ms "
        f"({_met(s['max_compile_ms'] <= TARGET_MAX_COMPILE_MS)})",
    ]
    return "scale-out targets: " + ", ".join(verdicts)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(
    machine: dict[str, Any],
    dataset: dict[str, Any],
    settings: dict[str, Any],
    engines: dict[str, list[Measurement]],
) -> dict[str, Any]:
    """The whole run as a JSON-able document."""
    return {
        "benchmark": "kql_vs_sql",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "dataset": dataset,
        "settings": settings,
        "targets": {"median_ratio": TARGET_RATIO, "median_compile_ms": TARGET_COMPILE_MS},
        "engines": {
            name: {"summary": summarize(r), "queries": [asdict(m) for m in r]} for name, r in engines.items()
        },
        "ok": all(m.ok for r in engines.values() for m in r),
    }


def write_json(document: dict[str, Any], target: str) -> None:
    """Write ``document`` to the file ``target``, or to stdout for ``-``."""
    text = json.dumps(document, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text)


# ---------------------------------------------------------------- the machine


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: cores, CPU, memory, load, versions, commit."""
    return {
        "nproc": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": _proc_field("/proc/cpuinfo", "model name"),
        "memory": _proc_field("/proc/meminfo", "MemTotal"),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name) for name in ("watchkeeper", "duckdb", "chdb", "sqlglot", "pyarrow", "numpy")
        },
        "commit": _git_commit(),
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (other work competing for the cores)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine_line(m: dict[str, Any]) -> str:
    """The machine in one line."""
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    return (
        f"machine: {m['nproc']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['memory']}, "
        f"load {m['load_average']}; Python {m['python']}; {versions}; commit {m['commit']}"
    )


def _proc_field(path: str, field: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(field)), None)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head, dirty = (
            git("rev-parse", "--short", "HEAD"),
            git("status", "--porcelain", "--untracked-files=no"),
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


# ---------------------------------------------------------------- markdown for RESULTS.md


def markdown(document: dict[str, Any]) -> str:
    """The results tables of a JSON report, as Markdown (what RESULTS.md records)."""
    parts = []
    for engine, data in document["engines"].items():
        rows = [
            "| query | KQL ms | SQL ms | KQL/SQL | CPU KQL/SQL | compile ms (CPU) | rows | answers |",
            "|---|--:|--:|--:|--:|--:|--:|---|",
        ]
        rows += [_markdown_row(Measurement(**m)) for m in data["queries"]]
        s = data["summary"]
        rows.append(
            f"| **median** | | | **{s['median_ratio']:.2f}** | **{s['median_cpu_ratio']:.2f}** | "
            f"**{s['median_compile_ms']:.2f}** ({s['median_compile_cpu_ms']:.2f}) | | |"
        )
        parts.append(f"**{engine}**\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _markdown_row(m: Measurement) -> str:
    if m.error is not None or m.ratio is None or m.cpu_ratio is None:
        return f"| {m.name} | | | | | | | error: {m.error} |"
    flag = " *" if m.ratio > TARGET_RATIO else ""
    rows = f"{m.kql_rows}" if m.kql_rows == m.sql_rows else f"{m.kql_rows} / {m.sql_rows}"
    return (
        f"| {m.name} | {m.kql_ms:.1f} | {m.sql_ms:.1f} | {m.ratio:.2f}{flag} | {m.cpu_ratio:.2f} | "
        f"{m.compile_ms:.2f} ({m.compile_cpu_ms:.2f}) | {rows} | {m.check} |"
    )


if __name__ == "__main__":  # python benchmarks/bench_report.py REPORT.json
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
