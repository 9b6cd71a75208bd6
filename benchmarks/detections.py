"""Detection performance: scheduled rules over a window, the fixed cost of a rule, NRT rules on a write.

    python benchmarks/detections.py                         # 1M events, 100 Sigma rules + 12 reference queries
    python benchmarks/detections.py --events 30000 --rules 10 --nrt-events 2000 --repeat 1   # a smoke run
    taskset -c 0,1 python benchmarks/detections.py          # on 2 cores, as the goals are stated

What is measured (medians of ``--repeat`` runs, wall and CPU time of the whole process, which
counts every DuckDB thread):

1. ``scheduled``: the first ``--rules`` Sigma rules of the public pack that convert and read a
   table the dataset fills (DeviceProcessEvents, SecurityEvent, SigninLogs), plus the 12 queries of
   ``perf_queries.yaml`` as rules, run once over a window holding ``--events`` events with
   ``run_rules_over`` (the retro-hunt flow: query, alerts, incidents, mirror, run records in the
   state database). Beside it, the same rules' parts alone: compiling each query
   (``Workspace.translate``, i.e. ``kql.translate`` against the workspace), running it
   (``Workspace.query``: compile + execute) and drafting its alerts (``alert_drafts``); what the
   flow costs beyond those is alert raising and the state database. Goal: <= 5 s on 2 cores.
2. ``empty window``: the same rules over a window without rows, per rule: the fixed cost of a
   rule, of which compiling. Goal: <= 2 ms a rule (with compilation cached; it is not, so the
   compile column says how much of the figure that is).
3. ``nrt``: 12 single-table NRT rules (filters over SecurityEvent and DeviceProcessEvents) on one
   committed write of ``--nrt-events`` events, run as the ingestion writer runs them
   (``NearRealTime``: the write's tables the rules read shown to a scratch workspace as views,
   then the rule's query, alerts and run record). Goal: <= 100 ms for the 12 rules.

Events: SecurityEvent (60 %) and SigninLogs (a tenth of that) from the cached benchmark dataset
(:mod:`perfdata`), DeviceProcessEvents (the rest) generated here from the same vocabulary. The
dataset is copied into a temporary data directory, so runs never change the cache.

Exit status 1 when a rule fails to run (an error in any pass) or the NRT rules fail; never for a
slow figure (performance is reported, not tested).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported by the tests

from bench_report import machine_info, machine_line
from perfdata import vocabulary as vocab
from perfdata.dataset import SEED, ensure_dataset
from perfdata.timeline import DAY_US, DAYS, START_US, zipf
from side_by_side import load_queries
from watchkeeper.audit import Actor
from watchkeeper.detections.alerting import alert_drafts, columns_read
from watchkeeper.detections.library import RuleRead, list_rules, save_rules
from watchkeeper.detections.models import DetectionRule, RuleKind, RuleLoadError
from watchkeeper.detections.scheduler import Window
from watchkeeper.detections.sigma import convert_sigma
from watchkeeper.directory import WorkspaceRead
from watchkeeper.errors import WatchkeeperError
from watchkeeper.flows.detections import RuleRunOutcome, embedded_workspace, rule_query, run_rules_over
from watchkeeper.flows.nrt import NearRealTime, columns_scanned
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.store.result import QueryResult, QueryTally
from watchkeeper.store.write_view import WriteViewStore
from watchkeeper.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_SIGMA = SHARED / "datasets" / "sigma" / "sigma-rules.tar"
DEFAULT_QUERIES = SHARED / "kql" / "perf_queries.yaml"
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
ACTOR = Actor("cli", "benchmark")
FILLED = frozenset({"DeviceProcessEvents", "SecurityEvent", "SigninLogs"})
FULL = Window(datetime.fromtimestamp(START_US / 1e6, UTC), datetime(2026, 1, 1, tzinfo=UTC))
EMPTY = Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
REFERENCE_PREFIX = "perf-"  # the rule id of a reference query as a rule
SLOWEST = 5  # rules listed with their query time
SECURITY_SHARE = 0.6  # of --events; SigninLogs gets a tenth of that, DeviceProcessEvents the rest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--events", type=int, default=1_000_000, help="events in the window (default 1M)")
    add("--rules", type=int, default=100, help="Sigma rules (default 100; plus the 12 reference queries)")
    add("--nrt-events", type=int, default=100_000, help="events in the NRT write (default 100k)")
    add("--repeat", type=int, default=5, help="timed runs of each measurement (default 5)")
    add("--sigma", type=Path, default=DEFAULT_SIGMA, help="the Sigma rule pack (.tar or folder)")
    add("--queries", type=Path, default=DEFAULT_QUERIES, help="the reference query file")
    add("--data-dir", type=Path, default=DEFAULT_DATA, help="where generated datasets are cached")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- rules


def sigma_rules(path: Path, count: int) -> list[DetectionRule]:
    """The first ``count`` rules of the pack that convert and read only tables the dataset fills."""
    rules: list[DetectionRule] = []
    for source, text in _rule_texts(path):
        try:
            rule = convert_sigma(text, source)
        except RuleLoadError:
            continue
        if rule.tables and set(rule.tables) <= FILLED:
            rules.append(rule)
            if len(rules) == count:
                break
    return rules


def _rule_texts(path: Path) -> Iterator[tuple[str, str]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.yml")):
            yield str(file), file.read_text(errors="replace")
        return
    with tarfile.open(path) as archive:
        for member in archive:
            data = archive.extractfile(member) if member.name.endswith((".yml", ".yaml")) else None
            if data is not None:
                yield member.name, data.read().decode("utf-8", errors="replace")


def reference_rules(path: Path) -> list[DetectionRule]:
    """The reference hunting queries as scheduled rules (one alert per run when they return rows)."""
    return [
        DetectionRule(
            rule_id=f"{REFERENCE_PREFIX}{q.name}",
            name=q.description or q.name,
            source_format="sentinel",
            query=q.kql,
            tables=("SecurityEvent",),
        )
        for q in load_queries(path)
    ]


NRT_QUERIES = {
    "SecurityEvent": [
        "SecurityEvent | where EventID == 1102",
        "SecurityEvent | where EventID == 4625 and LogonType == 10",
        "SecurityEvent | where EventID == 4688 and CommandLine has '-enc'",
        "SecurityEvent | where EventID == 4672 and Account startswith 'CONTOSO\\\\adm'",
        "SecurityEvent | where EventID in (4720, 4726, 4728, 4732)",
        "SecurityEvent | where EventID == 4688 and Process =~ 'rundll32.exe' and CommandLine contains 'MiniDump'",
    ],
    "DeviceProcessEvents": [
        "DeviceProcessEvents | where FileName =~ 'powershell.exe' and ProcessCommandLine has_any ('-enc', '-ec')",
        "DeviceProcessEvents | where ProcessCommandLine contains 'comsvcs.dll'",
        "DeviceProcessEvents | where FileName =~ 'wevtutil.exe' and ProcessCommandLine has ' cl '",
        "DeviceProcessEvents | where InitiatingProcessFileName =~ 'winword.exe' and FileName in~ ('cmd.exe', "
        "'powershell.exe')",
        "DeviceProcessEvents | where FolderPath startswith 'C:\\\\Users\\\\Public\\\\'",
        "DeviceProcessEvents | where ProcessCommandLine matches regex @'(?i)invoke-(mimikatz|expression)'",
    ],
}


def nrt_rules() -> list[DetectionRule]:
    """12 NRT rules: simple filters over one table each."""
    return [
        DetectionRule(
            rule_id=f"nrt-{table}-{k}",
            name=f"NRT {table} {k}",
            source_format="sentinel",
            query=query,
            kind=RuleKind.NRT,
            tables=(table,),
        )
        for table, queries in NRT_QUERIES.items()
        for k, query in enumerate(queries)
    ]


# ---------------------------------------------------------------- events


def process_events(n: int, seed: int) -> pa.Table:
    """``n`` DeviceProcessEvents over the dataset's 30 days, processes and command lines drawn from
    the SecurityEvent vocabulary (Zipf-skewed), one in 2,000 an attack command line."""
    rng, v = np.random.default_rng([seed, 77]), vocab.build_vocabulary(seed)
    times = np.sort(START_US + rng.integers(0, DAYS * DAY_US, n))
    proc = vocab.PROC_FIRST_PROGRAM + zipf(rng, n, len(v.processes) - vocab.PROC_FIRST_PROGRAM, 1.1)
    cmd = v.cmd_offset[proc] + (rng.random(n) * v.cmd_size[proc]).astype(np.int64)
    attacks = rng.random(n) < 1 / 2000
    cmd[attacks] = rng.integers(min(v.attack_commands.values()), len(v.command_lines), int(attacks.sum()))
    parent = zipf(rng, n, len(_PARENTS), 1.0)
    device = zipf(rng, n, len(v.computers), 0.8)
    account = zipf(rng, n, vocab.N_USERS, 1.0)
    stamps = pa.array(times, pa.timestamp("us", "UTC"))
    files, parents = v.processes.take(proc), pa.array(_PARENTS).take(parent)
    return pa.table({
        "TimeGenerated": stamps, "Timestamp": stamps, "ActionType": pa.array(["ProcessCreated"] * n),
        "DeviceName": v.computers.take(device), "DeviceId": pa.array([f"{d:040x}" for d in device]),
        "FileName": files, "FolderPath": v.process_paths.take(proc), "ProcessCommandLine": v.command_lines.take(cmd),
        "ProcessId": pa.array(rng.integers(1000, 65000, n)), "ProcessVersionInfoOriginalFileName": files,
        "ProcessIntegrityLevel": pa.array(np.where(rng.random(n) < 0.1, "High", "Medium")),
        "AccountName": v.principals.take(account), "AccountDomain": pa.array(["CONTOSO"] * n),
        "InitiatingProcessFileName": parents, "InitiatingProcessCommandLine": parents,
        "InitiatingProcessFolderPath": pa.array([f"C:\\Windows\\System32\\{p}" for p in _PARENTS]).take(parent),
        "InitiatingProcessId": pa.array(rng.integers(1000, 65000, n)),
        "InitiatingProcessParentFileName": pa.array(["explorer.exe"] * n),
    })  # fmt: skip


_PARENTS = ("explorer.exe", "svchost.exe", "cmd.exe", "services.exe", "powershell.exe", "winword.exe")


def security_rows(database: Path, n: int) -> pa.Table:
    """``n`` SecurityEvent rows of the cached dataset, as stored (the NRT write's SecurityEvent part)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        # a sample size must be a literal; ``n`` is an int
        sample = f"SELECT * FROM SecurityEvent USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE (7)"
        return connection.sql(sample).to_arrow_table()


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Timing:
    """One timed call: wall and process CPU seconds (every thread)."""

    wall: float
    cpu: float


def timed(call: Callable[[], Any]) -> tuple[Timing, Any]:
    """Run ``call`` once; its timing and result."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), value


def median(timings: list[Timing]) -> Timing:
    """The median wall and the median CPU time of several runs."""
    return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))


@dataclass
class Bench:
    """The prepared platform: a runtime, the event workspace with its rules, the NRT workspace."""

    runtime: Runtime
    events: WorkspaceRead
    nrt: WorkspaceRead
    rules: list[RuleRead]
    nrt_parts: list[tuple[Any, pa.Table]]
    rows: dict[str, int]


def prepare(args: argparse.Namespace, root: Path, out: TextIO) -> Bench:
    """The dataset copied under ``root``, DeviceProcessEvents added, rules imported."""
    security = max(10_000, int(args.events * SECURITY_SHARE))
    dataset = ensure_dataset(security, args.data_dir, log=lambda line: print(line, file=out, flush=True))
    nrt_security = security_rows(dataset.database, args.nrt_events // 2)
    data = root / "data"
    shutil.copytree(dataset.folder, data / "events")
    (data / "nrt").mkdir()
    runtime = Runtime(Settings(data_dir=data))
    events = embedded_workspace(runtime, ACTOR, data / "events")
    device = max(0, args.events - sum(dataset.rows.values()))
    rows = {**dataset.rows, "DeviceProcessEvents": device}
    if device:
        runtime.workspaces.get(events).ingest("DeviceProcessEvents", process_events(device, SEED))
    nrt = embedded_workspace(runtime, ACTOR, data / "nrt")
    rules = sigma_rules(args.sigma, args.rules) + reference_rules(args.queries)
    _save(runtime, events, rules)
    _save(runtime, nrt, nrt_rules())
    catalog = runtime.workspaces.get(nrt).catalog
    parts = [(catalog.table("SecurityEvent"), nrt_security),
             (catalog.table("DeviceProcessEvents"), process_events(args.nrt_events - nrt_security.num_rows, SEED + 1))]  # fmt: skip
    with runtime.database.session() as session:
        saved = list_rules(session, tenant_id=events.tenant_id, workspace_id=events.id, enabled=True)
    return Bench(runtime, events, nrt, saved, parts, rows)


def _save(runtime: Runtime, workspace: WorkspaceRead, rules: list[DetectionRule]) -> None:
    with runtime.database.session() as session:
        save_rules(
            session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rules=rules, actor=ACTOR
        )


@dataclass
class Passes:
    """One window's medians: the whole flow and its parts, with what the runs returned."""

    flow: Timing
    compile: Timing
    query: Timing
    drafts: Timing
    errors: list[str]
    rows: int
    alerts: int
    truncated: int
    uncached: Timing  # compiling every rule again (kql.translate), as each window did before the cache
    slowest: list[tuple[str, Timing]]  # the rules whose query took longest in the last run
    by_format: dict[str, tuple[int, Timing]]  # rule format -> rules, their queries' total (last run)


def measure_window(bench: Bench, window: Window, repeat: int) -> Passes:
    """Every rule over ``window``: the flow (``run_rules_over``), then compile, query, draft alone."""
    runs = [_window_run(bench, window) for _ in range(repeat)]
    errors = sorted({error for run in runs for error in run.errors})
    outcomes, results = runs[-1].outcomes, [res for _, res in runs[-1].results if res is not None]
    flow, compiled, queried, drafted, uncached = (median([run.timings[k] for run in runs]) for k in range(5))
    return Passes(
        flow,
        compiled,
        queried,
        drafted,
        uncached=uncached,
        errors=errors,
        rows=sum(o.rows for o in outcomes),
        alerts=sum(len(o.alerts) for o in outcomes),
        truncated=sum(1 for res in results if isinstance(res, QueryResult) and res.truncated),
        slowest=sorted(runs[-1].each, key=lambda pair: -pair[1].wall)[:SLOWEST],
        by_format=_by_format(runs[-1].each),
    )


def _origin(rule: DetectionRule) -> str:
    return "reference" if rule.rule_id.startswith(REFERENCE_PREFIX) else rule.source_format


def _by_format(each: list[tuple[str, Timing]]) -> dict[str, tuple[int, Timing]]:
    """Rule format (the name's prefix) -> how many rules and their queries' summed time."""
    formats = sorted({name.split(":", 1)[0] for name, _ in each})
    return {
        f: (len(part), _total(part))
        for f in formats
        for part in [[t for name, t in each if name.split(":", 1)[0] == f]]
    }


@dataclass
class _WindowRun:
    timings: list[Timing]  # flow, compile (cached), query, drafts, compile (uncached)
    errors: list[str]
    outcomes: list[RuleRunOutcome]
    results: list[tuple[DetectionRule, QueryResult | QueryTally | None]]
    each: list[tuple[str, Timing]]  # each rule's query


def _window_run(bench: Bench, window: Window) -> _WindowRun:
    ws = bench.runtime.workspaces.get(bench.events)
    span = (window.start, window.end)
    flow, outcomes = timed(lambda: run_rules_over(bench.runtime, ACTOR, bench.events, *span))
    errors = [f"{o.rule.rule.name}: {o.error}" for o in outcomes if o.error]
    compiled, _ = timed(
        lambda: [ws.prepare(r.rule.query, now=window.end, time_range=span) for r in bench.rules]
    )
    uncached, _ = timed(
        lambda: [ws.translate(r.rule.query, now=window.end, time_range=span) for r in bench.rules]
    )
    queried, timed_results = timed(
        lambda: [timed(partial(_query, ws, r, window, errors)) for r in bench.rules]
    )
    results = [result for _, result in timed_results]
    drafted, _ = timed(lambda: [alert_drafts(rule, res, window) for rule, res in results if res is not None])
    each = [(f"{_origin(rule.rule)}: {rule.rule.name}", timing)
            for rule, (timing, _) in zip(bench.rules, timed_results, strict=True)]  # fmt: skip
    return _WindowRun([flow, compiled, queried, drafted, uncached], errors, outcomes, results, each)


def _query(
    ws: Workspace, rule: RuleRead, window: Window, errors: list[str]
) -> tuple[DetectionRule, QueryResult | QueryTally | None]:
    try:
        return rule.rule, rule_query(ws, rule, now=window.end, time_range=(window.start, window.end))()
    except WatchkeeperError as exc:
        errors.append(f"{rule.rule.name}: {type(exc).__name__}: {exc}")
        return rule.rule, None


@dataclass
class NrtPasses:
    """The NRT rules on one write: the flow, and per part (showing the write, query, drafts)."""

    flow: Timing
    scratch: Timing
    query: Timing
    drafts: Timing
    errors: list[str]
    alerts: int


def measure_nrt(bench: Bench, repeat: int) -> NrtPasses:
    """The NRT rules on the write, as the writer's listener runs them, then their steps alone."""
    nrt = NearRealTime(bench.runtime, bench.nrt)
    flows, scratches, queries, drafts = [], [], [], []
    errors: list[str] = []
    view = WriteViewStore()
    scratch = Workspace(view)
    for _ in range(repeat):
        nrt.outcomes = []
        flows.append(timed(partial(_on_write, nrt, bench.nrt_parts))[0])
        errors += [f"{o.rule.rule.name}: {o.error}" for o in nrt.outcomes if o.error]
        shown, steps = _nrt_steps(scratch, view, nrt.rules(), bench.nrt_parts)
        scratches.append(shown)
        queries.append(_total(s[0] for s in steps))
        drafts.append(_total(s[1] for s in steps))
    scratch.close()
    if len(nrt.outcomes) != len(nrt.rules()):
        errors.append(f"{len(nrt.outcomes)} of {len(nrt.rules())} NRT rules ran on the write")
    return NrtPasses(median(flows), median(scratches), median(queries), median(drafts), sorted(set(errors)),
                     sum(len(o.alerts) for o in nrt.outcomes))  # fmt: skip


def _on_write(nrt: NearRealTime, parts: list[tuple[Any, pa.Table]]) -> None:
    """What the writer does on a commit (hand the rows over), then waiting for the rules' runs."""
    nrt(parts)
    nrt.wait()


def _nrt_steps(
    scratch: Workspace, view: WriteViewStore, rules: list[RuleRead], parts: list[tuple[Any, pa.Table]]
) -> tuple[Timing, list[tuple[Timing, Timing]]]:
    """What ``NearRealTime._run`` does with a write, each step timed: showing the write's tables
    the rules read to the scratch workspace (views of the columns their queries read, which
    compiles them), then each rule's query and alert drafts on it."""
    read = {t for rule in rules for t in rule.rule.tables}
    end = datetime.now(UTC)

    def show() -> None:
        view.stage([(definition, data) for definition, data in parts if definition.name in read])
        scratch.tables_changed()
        view.expose(columns_scanned(scratch.prepare(rule.rule.query, now=end, columns=columns_read(rule.rule))[0]
                                    for rule in rules))  # fmt: skip

    shown, _ = timed(show)
    steps = []
    window = Window(end - timedelta(minutes=5), end)
    for rule in rules:
        query_timing, result = timed(rule_query(scratch, rule, now=end))
        draft_timing, _ = timed(partial(alert_drafts, rule.rule, result, window))
        steps.append((query_timing, draft_timing))
    return shown, steps


def _total(timings: Iterable[Timing]) -> Timing:
    listed = list(timings)
    return Timing(sum(t.wall for t in listed), sum(t.cpu for t in listed))


# ---------------------------------------------------------------- printing


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _line(name: str, timing: Timing, note: str = "") -> str:
    return f"  {name:<66}{_ms(timing.wall):>14} wall{_ms(timing.cpu):>14} CPU   {note}".rstrip()


def print_window(title: str, passes: Passes, rules: int, out: TextIO, *, per_rule: bool) -> None:
    """One window's figures: the flow, its parts, and what is left for alerts and the state DB."""
    scale = rules if per_rule else 1
    unit = " per rule" if per_rule else ""
    rest = Timing(passes.flow.wall - passes.query.wall - passes.drafts.wall,
                  passes.flow.cpu - passes.query.cpu - passes.drafts.cpu)  # fmt: skip
    goal = "goal <= 2 ms per rule (with compilation cached)" if per_rule else "goal <= 5 s on 2 cores"
    print(f"\n{title}: {rules} rules; {passes.rows:,} rows, {passes.alerts:,} alerts in the last run; "
          f"{passes.truncated} results cut at the row limit", file=out)  # fmt: skip
    parts = [
        (f"flow (run_rules_over){unit}", passes.flow, goal),
        (f"  compile (kql.translate){unit}", passes.uncached, "without the cache; not part of the flow"),
        (f"  compile cached (Workspace.prepare){unit}", passes.compile, ""),
        (f"  query (compile + execute){unit}", passes.query, ""),
        (f"  execute (query - compile){unit}", Timing(passes.query.wall - passes.compile.wall,
                                                      passes.query.cpu - passes.compile.cpu), ""),
        (f"  alert drafts{unit}", passes.drafts, ""),
        (f"  alerts + state DB (the rest){unit}", rest, ""),
    ]  # fmt: skip
    for name, timing, note in parts:
        print(_line(name, Timing(timing.wall / scale, timing.cpu / scale), note), file=out)
    if not per_rule:
        for rule_format, (count, timing) in passes.by_format.items():
            print(_line(f"  queries of the {count} {rule_format} rules (last run)", timing), file=out)
        print(f"  the {len(passes.slowest)} slowest queries (last run):", file=out)
        for name, timing in passes.slowest:
            print(_line(f"    {name[:60]}", timing), file=out)


def print_nrt(passes: NrtPasses, rules: int, events: int, out: TextIO) -> None:
    """The NRT figures: the flow and its steps summed over the rules."""
    rest = Timing(passes.flow.wall - passes.scratch.wall - passes.query.wall - passes.drafts.wall,
                  passes.flow.cpu - passes.scratch.cpu - passes.query.cpu - passes.drafts.cpu)  # fmt: skip
    print(f"\nnrt: {rules} rules on one write of {events:,} events; {passes.alerts} alerts in the last run",
          file=out)  # fmt: skip
    print(_line("flow (NearRealTime)", passes.flow, "goal <= 100 ms for the 12 rules"), file=out)
    print(_line("  showing the write (views over its batches)", passes.scratch), file=out)
    print(_line("  query", passes.query), file=out)
    print(_line("  alert drafts", passes.drafts), file=out)
    print(_line("  alerts + state DB (the rest)", rest), file=out)


def print_errors(errors: list[str], out: TextIO) -> None:
    """Rules that failed, one line each."""
    for error in errors:
        print(f"  FAILED {error}", file=out)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the benchmark; the exit status (see the module docstring)."""
    args = parse_args(argv)
    out = out or sys.stdout
    print(machine_line(machine_info()), file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="wk-bench-detections-") as root:
        bench = prepare(args, Path(root), out)
        try:
            return _run(bench, args, out)
        finally:
            bench.runtime.close()


def _run(bench: Bench, args: argparse.Namespace, out: TextIO) -> int:
    sigma = sum(1 for r in bench.rules if r.rule.source_format == "sigma")
    print(f"events: {', '.join(f'{t} {n:,}' for t, n in bench.rows.items())} ({sum(bench.rows.values()):,}); "
          f"rules: {sigma} Sigma + {len(bench.rules) - sigma} reference queries; medians of {args.repeat} runs",
          file=out, flush=True)  # fmt: skip
    full = measure_window(bench, FULL, args.repeat)
    print_window(f"scheduled over {FULL.start:%Y-%m-%d}..{FULL.end:%Y-%m-%d}", full, len(bench.rules), out,
                 per_rule=False)  # fmt: skip
    empty = measure_window(bench, EMPTY, args.repeat)
    print_window("empty window (fixed cost)", empty, len(bench.rules), out, per_rule=True)
    nrt = measure_nrt(bench, args.repeat)
    print_nrt(nrt, len(nrt_rules()), sum(t.num_rows for _, t in bench.nrt_parts), out)
    errors = full.errors + empty.errors + nrt.errors
    print_errors(errors, out)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
