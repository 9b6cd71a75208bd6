"""API load: concurrent Log Analytics clients against a real watchkeeper server.

    python benchmarks/api_load.py                                   # 1M rows, 50 clients, 30 s
    python benchmarks/api_load.py --rows 20000 --clients 4 --seconds 3     # a smoke run
    python benchmarks/api_load.py --concurrency-limit 2 --queue-wait 0.5  # watch the 429s

What happens:

1. The SecurityEvent dataset of :mod:`perfdata` (cached under ``benchmarks/.data/``) is copied into
   a new workspace of a tenant in a temporary data directory, with an app holding ``Data.Read``.
2. ``python -m watchkeeper serve`` starts on a free port in its own process (its own GIL), with
   ``WK_TENANT_CONCURRENT_QUERIES`` / ``WK_QUERY_QUEUE_WAIT`` set from the options and every other
   setting at its default. The client gets a token from the server's token endpoint.
3. Literals for the queries (hosts, accounts, addresses, processes, the time span) are read from
   the data through the API; each query template then runs ``--baseline-rounds`` times with one
   client, one query at a time (it must answer 200: a broken mix stops the run here).
4. ``--clients`` httpx ``AsyncClient`` s (one connection each) send ``POST /v1/workspaces/{id}/query``
   back to back for ``--seconds``, drawing from a weighted mix of hunting queries with varied
   literals. Latency is measured in the client, from sending the request to having the whole body.
   A 429 is recorded and the client goes on with its next query (no retry).
5. The server stops; its audit log gives, per request id, the time spent inside ``run_query``
   (waiting for a tenant slot, compiling, DuckDB). Then ``--breakdown-reps`` requests per template
   are replayed in this process step by step (token check, workspace lookup, compile, DuckDB,
   audit write, JSON encoding), one at a time, to show what one request costs where.

Printed: requests completed, errors by status, throughput, latency p50/p90/p99/max, throttled
requests and the settings used, then per template, server/client CPU, the audit view and the
breakdown. ``--json PATH`` writes all of it. Exit status 1 when a request fails (any status other
than 200 and 429, or a transport error) or not every request was audited; never for speed
(performance is reported, not tested).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported by the tests

from fastapi.responses import JSONResponse

from api_load_queries import OK, TEMPLATES, Draw, Pools, Query, Template, load_pools
from bench_report import load_average, machine_info, machine_line, write_json
from perfdata.dataset import Dataset, ensure_dataset
from serve_process import ServerProcess, fetch_token, state_settings
from watchkeeper.api.protocols.intervals import parse_interval
from watchkeeper.api.protocols.log_analytics import tables_body
from watchkeeper.audit import Actor, list_entries, record
from watchkeeper.directory import create_app, create_tenant, create_workspace
from watchkeeper.flows import QueryRequest, effective_limits, resolve_workspace
from watchkeeper.identity import RESOURCES
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import Database
from watchkeeper.workspace import EVENTS_FILE

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
SCOPE = "https://api.loganalytics.io/.default"
THROTTLED = 429
BAD_BODY = "200 without a tables body"
_DEFAULTS = Settings.model_fields


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--rows", type=int, default=1_000_000, help="SecurityEvent rows (default 1M)")
    add("--clients", type=int, default=50, help="concurrent clients (default 50)")
    add("--seconds", type=float, default=30.0, help="how long clients send new queries (default 30)")
    limit, wait = _DEFAULTS["tenant_concurrent_queries"].default, _DEFAULTS["query_queue_wait"].default
    add("--concurrency-limit", type=int, default=limit, help=f"tenant_concurrent_queries (default {limit})")
    add("--queue-wait", type=float, default=wait, help=f"query_queue_wait, seconds (default {wait:g})")
    add("--baseline-rounds", type=int, default=3, help="unloaded runs of each template (default 3)")
    add("--breakdown-reps", type=int, default=10, help="in-process replays per template (default 10)")
    add("--request-timeout", type=float, default=120.0, help="client timeout per request, s (default 120)")
    add("--seed", type=int, default=1, help="seed of the query draws (default 1)")
    add("--data-dir", type=Path, default=DEFAULT_DATA, help="where generated datasets are cached")
    add("--keep", action="store_true", help="keep the server's temporary data directory and log")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH ('-' = stdout)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the server


@dataclass(frozen=True)
class Target:
    """The tenant, workspace and app the clients use."""

    tenant_id: str
    workspace_id: str
    client_id: str
    client_secret: str = field(repr=False)


def provision(data_dir: Path, dataset: Dataset) -> Target:
    """A tenant, a workspace holding a copy of the dataset's events, and an app with ``Data.Read``,
    registered through the directory as ``wk tenants|workspaces|apps create`` do."""
    actor = Actor("cli", "api-load-benchmark")
    with Runtime(state_settings(data_dir)) as runtime, runtime.database.session() as session:
        tenant = create_tenant(session, name="load", actor=actor)
        workspace = create_workspace(session, tenant_id=tenant.id, name="hunting", actor=actor)
        app = create_app(session, tenant_id=tenant.id, name="load-client", roles=["Data.Read"], actor=actor)
    folder = data_dir / workspace.folder
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dataset.database, folder / EVENTS_FILE)
    return Target(tenant.id, workspace.id, app.client_id, app.client_secret)


# ---------------------------------------------------------------- the load


@dataclass(slots=True)
class Sample:
    """One request as the client saw it."""

    template: str
    status: int | str  # the HTTP status, or the transport error's name
    started: float  # seconds since the load began
    latency: float  # seconds, request sent to body received
    request_id: str | None = None
    rows: int | None = None


@dataclass(frozen=True)
class LoadPlan:
    url: str
    path: str
    headers: dict[str, str] = field(repr=False)
    pools: Pools
    clients: int
    seconds: float
    timeout: float
    seed: int


def baseline(http: httpx.Client, plan: LoadPlan, rounds: int) -> list[Sample]:
    """Every template ``rounds`` times, one query at a time; a non-200 answer stops the run."""
    draw, samples = Draw(random.Random(plan.seed), plan.pools), []
    for _ in range(rounds):
        for template in TEMPLATES:
            query, began = template.build(draw), time.perf_counter()
            response = http.post(plan.path, json=query.body())
            if response.status_code != OK:
                raise RuntimeError(f"{template.name} answered {response.status_code}: {response.text[:500]}")
            samples.append(Sample(template.name, OK, 0.0, time.perf_counter() - began,
                                  response.headers.get("x-ms-request-id"), _row_count(response)))  # fmt: skip
    return samples


def run_load(plan: LoadPlan) -> tuple[list[Sample], float]:
    """All clients until ``plan.seconds`` have passed (answers in flight are awaited); the samples
    and the wall time from the first request to the last answer."""
    return asyncio.run(_all_clients(plan))


async def _all_clients(plan: LoadPlan) -> tuple[list[Sample], float]:
    # Clients are built before the clock starts, sharing one TLS context: httpx builds one per
    # client otherwise (~50 ms each), which stalled the first second of the load.
    context, limits = httpx.create_ssl_context(), httpx.Limits(max_connections=1)
    sessions = [httpx.AsyncClient(base_url=plan.url, headers=plan.headers, timeout=plan.timeout,
                                  limits=limits, verify=context) for _ in range(plan.clients)]  # fmt: skip
    samples: list[Sample] = []
    started = time.perf_counter()
    try:
        await asyncio.gather(*(_client(plan, http, i, started, samples) for i, http in enumerate(sessions)))
    finally:
        await asyncio.gather(*(http.aclose() for http in sessions))
    return samples, time.perf_counter() - started


async def _client(
    plan: LoadPlan, http: httpx.AsyncClient, index: int, started: float, samples: list[Sample]
) -> None:
    """One simulated analyst: its own connection, query after query, no pause."""
    rng = random.Random(plan.seed * 10_000 + index)
    draw, weights = Draw(rng, plan.pools), [t.weight for t in TEMPLATES]
    while time.perf_counter() - started < plan.seconds:
        template = rng.choices(TEMPLATES, weights=weights)[0]
        samples.append(await _send(http, plan.path, template, draw, started))


async def _send(http: httpx.AsyncClient, path: str, template: Template, draw: Draw, started: float) -> Sample:
    body = template.build(draw).body()
    began = time.perf_counter()
    try:
        response = await http.post(path, json=body)
    except httpx.HTTPError as exc:  # refused, reset or timed out: an error of the run, recorded
        return Sample(template.name, type(exc).__name__, began - started, time.perf_counter() - began)
    latency = time.perf_counter() - began
    request_id = response.headers.get("x-ms-request-id")
    rows = _row_count(response) if response.status_code == OK else None
    status = BAD_BODY if response.status_code == OK and rows is None else response.status_code
    return Sample(template.name, status, began - started, latency, request_id, rows)


def _row_count(response: httpx.Response) -> int | None:
    """Rows of a Log Analytics answer; None when the body is not one."""
    try:
        return len(response.json()["tables"][0]["rows"])
    except (ValueError, LookupError, TypeError):
        return None


# ---------------------------------------------------------------- figures


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..1) of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency_ms(seconds: list[float]) -> dict[str, float] | None:
    """p50/p90/p99/max (and the count) in milliseconds; None without values."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    marks = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
    figures = {name: round(percentile(ordered, q) * 1000, 1) for name, q in marks.items()}
    return figures | {"max": round(ordered[-1] * 1000, 1), "n": len(ordered)}


def load_figures(samples: list[Sample], elapsed: float, seconds: float) -> dict[str, Any]:
    """Counts by outcome, throughput, latency of the answers and of the refusals."""
    statuses = Counter(str(s.status) for s in samples)
    ok = [s for s in samples if s.status == OK]
    per_second = Counter(int(s.started + s.latency) for s in ok if s.started + s.latency < int(seconds))
    each_second = [per_second.get(second, 0) for second in range(int(seconds))]
    return {
        "requests": len(samples),
        "ok": len(ok),
        "throttled": statuses.get(str(THROTTLED), 0),
        "errors": {k: n for k, n in sorted(statuses.items()) if k not in (str(OK), str(THROTTLED))},
        "elapsed_seconds": round(elapsed, 2),
        "throughput_rps": round(len(ok) / elapsed, 1) if elapsed else None,
        "answers_per_second": _spread(each_second),
        "answers_each_second": each_second,
        "latency_ms": latency_ms([s.latency for s in ok]),
        "throttled_latency_ms": latency_ms([s.latency for s in samples if s.status == THROTTLED]),
        "by_template": template_figures(samples),
    }


def _spread(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def template_figures(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Per template: requests, answers, latency of the answers and the median rows returned."""
    figures = {}
    for template in TEMPLATES:
        mine = [s for s in samples if s.template == template.name]
        ok = [s for s in mine if s.status == OK]
        rows = [s.rows for s in ok if s.rows is not None]
        figures[template.name] = {"kind": template.kind, "requests": len(mine), "ok": len(ok),
                                  "latency_ms": latency_ms([s.latency for s in ok]),
                                  "median_rows": statistics.median(rows) if rows else None}  # fmt: skip
    return figures


def audited_seconds(data_dir: Path, tenant_id: str) -> dict[str, float]:
    """Request id -> seconds the server spent in ``run_query`` (slot wait, compile, DuckDB), from
    the ``query.run`` entries of the audit log."""
    database = Database(state_settings(data_dir).state_database_url())
    found: dict[str, float] = {}
    before: int | None = None
    try:
        while True:
            with database.session() as session:
                page = list_entries(
                    session, tenant_id=tenant_id, action="query.run", limit=2000, before=before
                )
            found |= {
                e.request_id: float(e.detail.get("seconds", "nan")) for e in page.entries if e.request_id
            }
            if page.next_before is None:
                return found
            before = page.next_before
    finally:
        database.close()


def server_figures(samples: list[Sample], audited: dict[str, float]) -> dict[str, Any]:
    """The audit view: how many requests were audited, and for the answers, the time inside
    ``run_query`` and the rest of the client's latency (HTTP, token check, thread pool, audit
    write, JSON encoding, transfer)."""
    reached = [s for s in samples if s.request_id is not None]
    matched = [s for s in reached if s.request_id in audited]
    ok = [s for s in matched if s.status == OK]
    inside = [audited[s.request_id] for s in ok if s.request_id is not None]
    outside = [s.latency - audited[s.request_id] for s in ok if s.request_id is not None]
    return {
        "requests_with_id": len(reached),
        "audited": len(matched),
        "run_query_ms": latency_ms(inside),
        "outside_run_query_ms": latency_ms(outside),
    }


# ---------------------------------------------------------------- where one request's time goes

STEPS = ("token check", "workspace lookup", "compile", "DuckDB + fetch", "audit write", "JSON encoding")


def breakdown(
    data_dir: Path, target: Target, token: str, pools: Pools, reps: int, seed: int
) -> dict[str, Any]:
    """Per template, the median milliseconds of each step of the route (as ``run_query`` and the
    Log Analytics route do them), replayed in this process one request at a time."""
    draw = Draw(random.Random(seed), pools)
    per_template: dict[str, dict[str, float]] = {}
    with Runtime(state_settings(data_dir)) as runtime:
        for template in TEMPLATES:
            _replay(runtime, target, token, template.build(draw))  # warm: opens the store, first compile
            runs = [_replay(runtime, target, token, template.build(draw)) for _ in range(reps)]
            per_template[template.name] = {step: round(statistics.median(r[step] for r in runs) * 1000, 2)
                                           for step in STEPS}  # fmt: skip
    totals = {step: round(statistics.median(t[step] for t in per_template.values()), 2) for step in STEPS}
    return {"reps": reps, "templates": per_template, "median_over_templates": totals}


def _replay(runtime: Runtime, target: Target, token: str, query: Query) -> dict[str, float]:
    """One request's server-side steps, each timed."""
    clock, times = _Clock(), dict[str, float]()
    with clock.step(times, "token check"):
        principal = runtime.tokens.verify(token, audiences=set(RESOURCES))
    actor = Actor(principal.kind, principal.client_id, principal.tenant_id, "breakdown")
    with clock.step(times, "workspace lookup"):
        workspace = resolve_workspace(runtime, actor, target.workspace_id)
        store = runtime.workspaces.get(workspace)
    span = parse_interval(query.timespan) if query.timespan else None
    limits = effective_limits(runtime, QueryRequest(text=query.text, workspace=target.workspace_id))
    with clock.step(times, "compile"):
        compiled = store.translate(query.text, time_range=span)[0]
    with clock.step(times, "DuckDB + fetch"):
        result = store.store.execute(compiled.sql, list(compiled.columns), limits)
    detail = {
        "query": query.text,
        "protocol": "log-analytics",
        "workspace": workspace.name,
        "rows": len(result.rows),
        "truncated": result.truncated,
        "seconds": 0.0,
    }  # as run_query writes it
    with clock.step(times, "audit write"), runtime.database.session() as session:
        record(session, actor=actor, action="query.run", outcome="success", target=workspace.id,
               tenant_id=workspace.tenant_id, detail=detail)  # fmt: skip
    with clock.step(times, "JSON encoding"):
        JSONResponse(tables_body(result))
    return times


class _Clock:
    @contextmanager
    def step(self, times: dict[str, float], name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        times[name] = time.perf_counter() - began


# ---------------------------------------------------------------- the report


def _ms(figures: dict[str, float] | None) -> str:
    if figures is None:
        return "-"
    return f"p50 {figures['p50']:.1f}, p90 {figures['p90']:.1f}, p99 {figures['p99']:.1f}, max {figures['max']:.1f} ms"


def print_load(document: dict[str, Any], out: TextIO) -> None:
    """The headline figures."""
    load, settings = document["load"], document["settings"]
    errors = ", ".join(f"{status}: {n}" for status, n in load["errors"].items()) or "none"
    spread = load["answers_per_second"] or {}
    lines = [
        f"\nload: {settings['clients']} clients for {settings['seconds']:g} s "
        f"(tenant_concurrent_queries={settings['tenant_concurrent_queries']}, "
        f"query_queue_wait={settings['query_queue_wait']:g} s)",
        f"requests completed: {load['requests']} ({load['ok']} answered 200)",
        f"errors by status: {errors}",
        f"throttled (429, tenant limit {settings['tenant_concurrent_queries']} queries at once, "
        f"{settings['query_queue_wait']:g} s queue wait): {load['throttled']}",
        f"throughput: {load['throughput_rps']} req/s answered over {load['elapsed_seconds']} s "
        f"(per second: median {spread.get('median')}, min {spread.get('min')}, max {spread.get('max')})",
        f"latency of answers: {_ms(load['latency_ms'])}",
    ]
    if load["throttled_latency_ms"]:
        lines.append(f"latency of 429s: {_ms(load['throttled_latency_ms'])}")
    print("\n".join(lines), file=out, flush=True)


def print_details(document: dict[str, Any], out: TextIO) -> None:
    """Per template, CPU, the audit view and the breakdown."""
    load, cpu, server = document["load"], document["cpu"], document["server"]
    print(
        f"\n{'template':<24} {'kind':<30} {'requests':>8} {'rows':>6}  latency (loaded) | unloaded p50",
        file=out,
    )
    for name, t in load["by_template"].items():
        alone = document["baseline"][name]
        print(f"{name:<24} {t['kind']:<30} {t['requests']:>8} {t['median_rows'] or 0:>6}  {_ms(t['latency_ms'])}"
              f" | {alone['p50'] if alone else '-'} ms", file=out)  # fmt: skip
    print(f"\nCPU: server {cpu['server_seconds']} s ({cpu['server_ms_per_answer']} ms per answer), "
          f"this client {cpu['client_seconds']} s, over {load['elapsed_seconds']} s on {cpu['cores']} cores",
          file=out)  # fmt: skip
    print(f"audit: {server['audited']} of {server['requests_with_id']} requests have a query.run entry; "
          f"inside run_query (tenant slot wait + compile + DuckDB): {_ms(server['run_query_ms'])}; "
          f"the rest of the latency: {_ms(server['outside_run_query_ms'])}", file=out)  # fmt: skip
    if document.get("breakdown"):
        print_breakdown(document["breakdown"], out)


def print_breakdown(data: dict[str, Any], out: TextIO) -> None:
    print(f"\none request at a time, in process, median ms of {data['reps']} per template:", file=out)
    print(f"{'template':<24} " + " ".join(f"{step:>16}" for step in STEPS), file=out)
    rows = [*data["templates"].items(), ("median", data["median_over_templates"])]
    for name, steps in rows:
        print(f"{name:<24} " + " ".join(f"{steps[step]:>16.2f}" for step in STEPS), file=out)
    out.flush()


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit status (see the module docstring)."""
    args = parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    machine = machine_info() | {"more_versions": _versions()}
    print(machine_line(machine), file=out)
    dataset = ensure_dataset(args.rows, args.data_dir, log=lambda line: print(line, file=out, flush=True))
    print(f"dataset: {dataset.folder} ({dataset.rows['SecurityEvent']:,} SecurityEvent rows)", file=out)
    scratch = Path(tempfile.mkdtemp(prefix="wk-api-load-"))
    try:
        document = _measure(args, dataset, scratch / "data", out)
    finally:
        if args.keep:
            print(f"kept: {scratch}", file=out)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    document["machine"] = machine | {"load_average_after": load_average()}
    if args.json:
        write_json(document, args.json)
    return 0 if document["ok"] else 1


def _measure(args: argparse.Namespace, dataset: Dataset, data_dir: Path, out: TextIO) -> dict[str, Any]:
    """Provision, serve, load, stop; then the audit view and the breakdown, and the verdict."""
    target = provision(data_dir, dataset)
    settings = {
        "tenant_concurrent_queries": str(args.concurrency_limit),
        "query_queue_wait": str(args.queue_wait),
    }
    server = ServerProcess(data_dir, settings, data_dir.parent / "server.log")
    try:
        server.wait_ready()
        print(f"server: python -m watchkeeper serve, pid {server.process.pid}, {server.url}", file=out)
        token = fetch_token(server.url, target, SCOPE)
        plan = _plan(args, server.url, target, token)
        document, samples = _drive(args, plan, server, out)
    finally:
        server.stop()
    document["server"] = audit = server_figures(samples, audited_seconds(data_dir, target.tenant_id))
    print_load(document, out)
    if args.breakdown_reps > 0:
        document["breakdown"] = breakdown(data_dir, target, token, plan.pools, args.breakdown_reps, args.seed)
    document["ok"] = not document["load"]["errors"] and audit["audited"] == audit["requests_with_id"]
    print_details(document, out)
    return document


def _plan(args: argparse.Namespace, url: str, target: Target, token: str) -> LoadPlan:
    path, headers = f"/v1/workspaces/{target.workspace_id}/query", {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=args.request_timeout) as http:
        pools = load_pools(http, path)
    return LoadPlan(url, path, headers, pools, args.clients, args.seconds, args.request_timeout, args.seed)


def _drive(
    args: argparse.Namespace, plan: LoadPlan, server: ServerProcess, out: TextIO
) -> tuple[dict[str, Any], list[Sample]]:
    """The unloaded baseline, then the load, with the CPU both processes used during it."""
    with httpx.Client(base_url=plan.url, headers=plan.headers, timeout=plan.timeout) as http:
        alone = baseline(http, plan, args.baseline_rounds)
    print(f"baseline: {len(alone)} queries one at a time, all 200; loading ...", file=out, flush=True)
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    samples, elapsed = run_load(plan)
    server_used = (server.cpu_seconds() or 0.0) - (server_cpu or 0.0)
    ok = sum(1 for s in samples if s.status == OK)
    cpu = {"server_seconds": round(server_used, 1), "client_seconds": round(time.process_time() - client_cpu, 1),
           "server_ms_per_answer": round(server_used * 1000 / ok, 2) if ok else None,
           "cores": len(_affinity())}  # fmt: skip
    document = {
        "benchmark": "api_load",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": _settings_used(args),
        "pools": {k: len(v) for k, v in vars(plan.pools).items() if isinstance(v, list)},
        "baseline": {name: latency_ms([s.latency for s in alone if s.template == name]) for name in _names()},
        "load": load_figures(samples, elapsed, args.seconds),
        "cpu": cpu,
    }
    return document, samples


def _settings_used(args: argparse.Namespace) -> dict[str, Any]:
    defaults = {
        name: _DEFAULTS[name].default for name in ("query_row_limit", "query_timeout", "query_timeout_max")
    }
    return {"rows": args.rows, "clients": args.clients, "seconds": args.seconds,
            "tenant_concurrent_queries": args.concurrency_limit, "query_queue_wait": args.queue_wait,
            "server_defaults": defaults, "mix": {t.name: t.weight for t in TEMPLATES},
            "seed": args.seed, "request_timeout": args.request_timeout}  # fmt: skip


def _names() -> list[str]:
    return [t.name for t in TEMPLATES]


def _affinity() -> set[int]:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("fastapi", "starlette", "uvicorn", "httpx", "pyjwt", "sqlalchemy", "uvloop", "httptools"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


if __name__ == "__main__":
    sys.exit(main())
