"""Ingestion throughput and freshness: files through the parsers, and a real ``wk serve``'s
receivers (HTTP Logs Ingestion, syslog over UDP), with the issue's goals printed beside each figure.

    python benchmarks/ingest.py                          # everything, full size (~1.5 min)
    python benchmarks/ingest.py --rows 20000 --seconds 3 # a smoke run (< 30 s)
    python benchmarks/ingest.py --only http              # one part: files, http, syslog or freshness

Parts, each a function below; figures are rows (records, messages) per second of wall time, and
per second of CPU time ("per core"): this process's for the files, the server process's
(``/proc/<pid>/stat`` utime + stime, all threads) for the receivers.

* **files** (medians of ``--repeat`` runs): ``ndjson -> SecurityEvent``, generated logon events
  through ``wk ingest``'s own code (parse, type, journal with fsync, the writer's append, and the
  wait for it) into a new workspace folder (230 columns); ``ndjson -> Bench_CL``, the same into a 7-column custom table; ``evtx parse``, the EVTX
  parser alone over every ``.evtx`` recording of the shared datasets, and ``evtx -> workspace``.
* **http**: ``--senders`` httpx clients post ``--batch-records`` records per call (gzipped JSON, as
  azure-monitor-ingestion sends them) to a data collection rule's ``Custom-Bench`` stream (table
  ``Bench_CL``) back to back for ``--seconds``. Rate = acknowledged (204) records / wall time from
  the first call to the last answer. The bodies are built before the clock starts, so the senders
  spend their CPU on HTTP only. A 429 is counted and the call sent again after ``Retry-After``, as
  the SDK does. Then ``Bench_CL | count`` over the Log Analytics API must equal the acknowledged
  records.
* **syslog**: RFC 3164 datagrams to the ``wk serve`` UDP listener, paced at ``--syslog-rate`` for
  ``--seconds`` (in 10 ms ticks); once ``Syslog | count`` stops growing, the rate = stored messages
  / the span of their receipt times (a received message's TimeGenerated), and per core = stored /
  server CPU until then. Then one more datagram: the kernel reports its socket-buffer drops only
  with the next datagram read (``SO_RXQ_OVFL``), and the receiver reports drops in
  ``IngestionErrors``. Every datagram must be stored, rejected or reported dropped. Also the
  p50/p95 of ``Usage.AvgLatencyInSeconds`` over the stored batches (receipt to queryable).
* **freshness**: records sent at ``--fresh-rate`` events/s in ``--fresh-batch``-record calls, paced:
  each record's TimeGenerated is the moment it is due, a call is sent when its last record is due.
  Every ``--probe-interval`` s a prober asks ``Fresh_CL | summarize max(TimeGenerated)``; lag = the
  time its answer arrives - the newest event it shows (so it includes the probe's own latency).
  Printed: p50/p95/max of the lag, and of ``Usage.AvgLatencyInSeconds`` over the stored batches.

One server serves the receiver parts: a temporary data directory with one tenant, workspaces
``http``, ``fresh`` and ``syslog``, an app with ``Logs.Ingest`` + ``Data.Read`` and two rules,
provisioned through the directory and rule services as ``wk`` does; ``python -m watchkeeper serve``
with every setting at its default plus the syslog listener. Performance is reported, never tested:
the exit status is 1 only when a run fails or a check (counts, accounted messages) does not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported by the tests

from serve_process import ServerProcess, fetch_token, state_settings
from watchkeeper import Workspace
from watchkeeper.api.protocols.logs_ingestion import CALL_LIMIT, INFLATED_LIMIT
from watchkeeper.audit import Actor
from watchkeeper.cli.ingest import ingest_sources
from watchkeeper.directory import create_app, create_tenant, create_workspace
from watchkeeper.ingest import parser_named
from watchkeeper.ingest.rules import StreamColumn, StreamRoute, create_rule
from watchkeeper.ingest.sources import sources_at
from watchkeeper.runtime import Runtime

SHARED = Path(__file__).resolve().parents[2] / "shared"
PARTS = ("files", "http", "syslog", "freshness")
GOALS = {"ndjson": 150_000, "evtx": 50_000, "http": 50_000, "syslog": 20_000}
FRESHNESS_GOAL = 5.0  # p95 seconds from event to queryable at 20k events/s
INGEST_SCOPE, QUERY_SCOPE = "https://monitor.azure.com/.default", "https://api.loganalytics.io/.default"
ACCEPTED, THROTTLED = 204, 429
COLUMNS = {"TimeGenerated": "datetime", "Computer": "string", "EventID": "int", "Account": "string",
           "IpAddress": "string", "LogonType": "int", "Seq": "long"}  # fmt: skip
DISTINCT_BODIES = 8  # bodies cycled by the HTTP senders
WARM_UP = "warm-up"  # the Computer of the record that creates a table before the clock starts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = options.add_argument
    add("--only", choices=PARTS, action="append", help="run this part only (repeatable; default: all)")
    add("--rows", type=int, default=200_000, help="NDJSON rows to generate (default 200k)")
    add("--repeat", type=int, default=3, help="runs per file measurement, medians printed (default 3)")
    add("--seconds", type=float, default=10.0, help="how long each receiver part sends (default 10)")
    add("--senders", type=int, default=4, help="concurrent HTTP senders (default 4)")
    add("--batch-records", type=int, default=10_000, help="records per HTTP call (default 10k)")
    add("--syslog-rate", type=int, default=20_000, help="UDP datagrams per second offered (default 20k)")
    add("--fresh-rate", type=int, default=20_000, help="events per second for freshness (default 20k)")
    add("--fresh-batch", type=int, default=1_000, help="records per call for freshness (default 1k)")
    add("--probe-interval", type=float, default=0.25, help="seconds between freshness probes (0.25)")
    add("--keep", action="store_true", help="keep the server's data directory and log")
    return options.parse_args(argv)


# ---------------------------------------------------------------------------- files


def make_ndjson(path: Path, rows: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    pick = random.Random(7)
    with path.open("wb") as out:
        for i in range(rows):
            out.write(orjson.dumps({
                "TimeGenerated": (start + timedelta(seconds=i)).isoformat(), "Computer": f"h{i % 300}",
                "EventID": pick.choice([4624, 4625, 4688]), "Account": f"CORP\\u{i % 3000}",
                "IpAddress": f"10.0.{i % 255}.{i % 7}", "LogonType": 3,
                "Activity": "4624 - An account was successfully logged on.",
            }) + b"\n")  # fmt: skip


def timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    return rows, time.perf_counter() - wall, time.process_time() - cpu


def ingest_files(paths: list[Path], table: str | None, fmt: str) -> Callable[[], int]:
    """What ``wk ingest`` does with the files (its own code: batches gathered into large writes)."""

    def run() -> int:
        with tempfile.TemporaryDirectory() as folder, Workspace.open(Path(folder) / "ws") as ws:
            sources = [source for path in paths for source in sources_at(path)]
            done = ingest_sources(ws, sources, parser_named(fmt), table)
            return sum(done.tally.tables.values())

    return run


def parse_only(paths: list[Path], fmt: str) -> Callable[[], int]:
    def run() -> int:
        parser, records = parser_named(fmt), 0
        for path in paths:
            for source in sources_at(path):
                with source.open() as stream:
                    records += sum(
                        batch.rows + len(batch.rejected) for batch in parser.parse(stream, source.name)
                    )
        return records

    return run


def rate_line(name: str, count: int, unit: str, wall: float, cpu: float | None, goal: str = "") -> None:
    """One figure: count, per second of wall time, per second of CPU time, and the goal."""
    per_core = f"{count / cpu:>10,.0f}" if cpu else f"{'-':>10}"
    print(f"{name:<28} {count:>9,} {unit}  {count / wall:>10,.0f} {unit}/s  {per_core} {unit}/s per core"
          f"{'   goal ' + goal if goal else ''}", flush=True)  # fmt: skip


def report(name: str, runs: list[tuple[int, float, float]], goal: int | None) -> None:
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    rate_line(name, runs[0][0], "rows", wall, cpu, f"{goal:,} rows/s per core" if goal else "")


def measure_files(args: argparse.Namespace) -> bool:
    """NDJSON into a wide and a narrow table, EVTX parsing and EVTX into a workspace."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "events.ndjson"
        make_ndjson(source, args.rows)
        print(f"files: {args.rows:,} NDJSON rows ({source.stat().st_size / 1e6:.0f} MB), "
              f"median of {args.repeat} runs", flush=True)  # fmt: skip
        for name, table in (("ndjson -> SecurityEvent", "SecurityEvent"), ("ndjson -> Bench_CL", "Bench_CL")):
            runs = [timed(ingest_files([source], table, "ndjson")) for _ in range(args.repeat)]
            report(name, runs, GOALS["ndjson"])
    recordings = sorted((SHARED / "datasets" / "windows" / "evtx-attack-samples").rglob("*.evtx"))
    if not recordings:
        print("evtx: skipped (no EVTX recordings under ../shared/datasets)")
        return True
    report("evtx parse", [timed(parse_only(recordings, "evtx")) for _ in range(args.repeat)], GOALS["evtx"])
    report(
        "evtx -> workspace", [timed(ingest_files(recordings, None, "evtx")) for _ in range(args.repeat)], None
    )
    return True


# ---------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class Bench:
    """What the receiver parts use: the app's credentials, the rules and workspaces, the server."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    workspaces: dict[str, str] = field(default_factory=dict)  # name -> id
    rules: dict[str, str] = field(default_factory=dict)  # workspace name -> rule immutable id


def provision(data_dir: Path) -> Bench:
    """One tenant; workspaces http, fresh and syslog; an app that may send and read; a rule per
    HTTP workspace routing ``Custom-<Name>`` to ``<Name>_CL`` with the declared columns."""
    actor = Actor("cli", "ingest-benchmark")
    columns = [StreamColumn(name=n, type=t) for n, t in COLUMNS.items()]
    with Runtime(state_settings(data_dir)) as runtime, runtime.database.session() as session:
        tenant = create_tenant(session, name="bench", actor=actor)
        app = create_app(session, tenant_id=tenant.id, name="shipper", roles=["Logs.Ingest", "Data.Read"],
                         actor=actor)  # fmt: skip
        workspaces, rules = {}, {}
        for name, stream in (("http", "Bench"), ("fresh", "Fresh"), ("syslog", None)):
            workspace = create_workspace(session, tenant_id=tenant.id, name=name, actor=actor)
            workspaces[name] = workspace.id
            if stream is not None:
                route = StreamRoute(stream=f"Custom-{stream}", table=f"{stream}_CL", columns=columns)
                rules[name] = create_rule(session, tenant_id=tenant.id, workspace_id=workspace.id, name=name,
                                          streams=[route], actor=actor).immutable_id  # fmt: skip
    return Bench(tenant.id, app.client_id, app.client_secret, workspaces, rules)


@contextmanager
def serving(args: argparse.Namespace, parts: list[str]) -> Iterator[tuple[ServerProcess, Bench]]:
    """A provisioned data directory and ``wk serve`` over it (with the UDP listener when the
    syslog part runs); stopped and removed afterwards (kept with ``--keep``)."""
    scratch = Path(tempfile.mkdtemp(prefix="wk-ingest-bench-"))
    data_dir = scratch / "data"
    bench = provision(data_dir)
    settings = {"syslog_udp_port": "0", "syslog_workspace": "bench/syslog"} if "syslog" in parts else {}
    server = ServerProcess(data_dir, settings, scratch / "server.log")
    try:
        server.wait_ready()
        print(f"server: python -m watchkeeper serve, pid {server.process.pid}, {server.url}", flush=True)
        yield server, bench
    finally:
        server.stop()
        if args.keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


class Kql:
    """Queries over the Log Analytics API, as the product's users ask them."""

    def __init__(self, server: ServerProcess, bench: Bench) -> None:
        self.url = server.url
        self.headers = {"Authorization": f"Bearer {fetch_token(server.url, bench, QUERY_SCOPE)}"}
        self.workspaces = bench.workspaces

    def rows(self, workspace: str, text: str) -> list[list[Any]]:
        """The rows of ``text`` over workspace ``workspace``; anything but 200 raises."""
        path = f"{self.url}/v1/workspaces/{self.workspaces[workspace]}/query"
        response = httpx.post(path, json={"query": text}, headers=self.headers, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"{text!r} answered {response.status_code}: {response.text[:500]}")
        rows: list[list[Any]] = response.json()["tables"][0]["rows"]
        return rows

    def number(self, workspace: str, text: str) -> float:
        """The first cell of the answer (0 for none)."""
        rows = self.rows(workspace, text)
        return float(rows[0][0] or 0) if rows else 0.0

    def usage_latency(self, workspace: str, table: str, since: float = 0.0) -> tuple[float, float, int]:
        """p50 and p95 of ``Usage.AvgLatencyInSeconds`` over the batches stored in ``table`` whose
        events start at ``since`` (a ``time.time()``) or later, and how many batches."""
        start = datetime.fromtimestamp(since, UTC).isoformat()
        rows = self.rows(workspace, f'Usage | where DataType == "{table}" and StartTime >= datetime({start}) '
                         "| summarize percentile(AvgLatencyInSeconds, 50), percentile(AvgLatencyInSeconds, 95), "
                         "count()")  # fmt: skip
        p50, p95, batches = rows[0] if rows else (None, None, 0)
        return float(p50 or 0), float(p95 or 0), int(batches or 0)


def server_cpu(server: ServerProcess) -> float:
    return server.cpu_seconds() or 0.0


# ---------------------------------------------------------------------------- HTTP Logs Ingestion


def records(first_seq: int, count: int, when: Callable[[int], datetime]) -> list[dict[str, object]]:
    """``count`` logon records numbered from ``first_seq``; ``when(seq)`` is record seq's time."""
    return [{"TimeGenerated": when(first_seq + i).isoformat(), "Computer": f"h{(first_seq + i) % 300}",
             "EventID": (4624, 4625, 4688)[(first_seq + i) % 3], "Account": f"CORP\\u{(first_seq + i) % 3000}",
             "IpAddress": f"10.0.{i % 255}.{i % 7}", "LogonType": 3, "Seq": first_seq + i}
            for i in range(count)]  # fmt: skip


def gzipped(batch: list[dict[str, object]]) -> bytes:
    """The body azure-monitor-ingestion sends: the JSON array, gzip-compressed with zlib's default
    level; refused here if it would pass the service's limits (1 MB sent, 2 MiB inflated)."""
    data = orjson.dumps(batch)
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    if len(data) > INFLATED_LIMIT or len(body) > CALL_LIMIT:
        raise SystemExit(f"a batch of {len(batch):,} records is {len(data):,} bytes: over the call limits")
    return body


@dataclass
class Calls:
    """What senders saw: records acknowledged, 429s, failures (status or transport error), and
    each acknowledged call's (time sent, seconds to its answer)."""

    acknowledged: int = 0
    throttled: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def post_until_stored(
    http: httpx.AsyncClient, path: str, body: bytes, count: int, calls: Calls
) -> None:
    """One call, sent again after ``Retry-After`` while it answers 429; counted in ``calls``."""
    while True:
        began = time.perf_counter()
        try:
            response = await http.post(path, content=body)
        except httpx.HTTPError as exc:
            calls.failures.append(type(exc).__name__)
            return
        if response.status_code == ACCEPTED:
            calls.acknowledged += count
            calls.latencies.append(time.perf_counter() - began)
            return
        if response.status_code != THROTTLED:
            calls.failures.append(f"{response.status_code} {response.text[:200]}")
            return
        calls.throttled += 1
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


def ingestion_client(server: ServerProcess, bench: Bench) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {fetch_token(server.url, bench, INGEST_SCOPE)}",
               "Content-Type": "application/json", "Content-Encoding": "gzip"}  # fmt: skip
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120,
                             limits=httpx.Limits(max_connections=1))  # fmt: skip


def stream_path(bench: Bench, workspace: str, stream: str) -> str:
    return f"/dataCollectionRules/{bench.rules[workspace]}/streams/{stream}?api-version=2023-01-01"


async def warm_senders(
    args: argparse.Namespace, server: ServerProcess, bench: Bench, workspace: str, stream: str
) -> list[httpx.AsyncClient]:
    """The senders' clients, built before the clock starts (a token and a TLS context each, ~0.1 s),
    and one call of one record (Computer ``warm-up``), so the table exists before the measurement:
    a new custom table's first call takes ~0.4 s."""
    clients = [ingestion_client(server, bench) for _ in range(args.senders)]
    warm, calls = records(0, 1, lambda seq: datetime.now(UTC)), Calls()
    warm[0]["Computer"] = WARM_UP
    await post_until_stored(clients[0], stream_path(bench, workspace, stream), gzipped(warm), 1, calls)
    if calls.failures:
        raise RuntimeError(f"the warm-up call failed: {calls.failures[0]}")
    return clients


async def http_load(args: argparse.Namespace, server: ServerProcess, bench: Bench) -> tuple[Calls, float]:
    """``--senders`` clients posting the prepared bodies back to back for ``--seconds``."""
    now = datetime.now(UTC)
    bodies = [gzipped(records(i * args.batch_records, args.batch_records, lambda seq: now))
              for i in range(DISTINCT_BODIES)]  # fmt: skip
    path, calls = stream_path(bench, "http", "Custom-Bench"), Calls()
    clients = await warm_senders(args, server, bench, "http", "Custom-Bench")
    started = time.perf_counter()

    async def sender(http: httpx.AsyncClient, index: int) -> None:
        for n in itertools.count(index):
            if time.perf_counter() - started >= args.seconds:
                return
            await post_until_stored(http, path, bodies[n % len(bodies)], args.batch_records, calls)

    try:
        await asyncio.gather(*(sender(http, i) for i, http in enumerate(clients)))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return calls, time.perf_counter() - started


def measure_http(args: argparse.Namespace, server: ServerProcess, bench: Bench, kql: Kql) -> bool:
    """HTTP Logs Ingestion throughput; every acknowledged record must be queryable."""
    cpu = server_cpu(server)
    calls, wall = asyncio.run(http_load(args, server, bench))
    used = server_cpu(server) - cpu
    name = f"http logs ingestion {args.batch_records // 1000}k"
    rate_line(name, calls.acknowledged, "rows", wall, used, f"{GOALS['http']:,} rows/s on 2 cores")
    stored = stored_count(
        kql, "http", f'Bench_CL | where Computer != "{WARM_UP}" | count', calls.acknowledged
    )
    p50, p95 = percentile(calls.latencies, 0.5), percentile(calls.latencies, 0.95)
    print(f"http: {args.senders} senders, {len(calls.latencies)} calls acknowledged (p50 {p50:.3f} s, "
          f"p95 {p95:.3f} s per call), {calls.throttled} answered 429, {len(calls.failures)} failed; "
          f"Bench_CL holds {stored:,} of {calls.acknowledged:,} acknowledged records", flush=True)  # fmt: skip
    for failure in sorted(set(calls.failures))[:5]:
        print(f"http: failed call: {failure}")
    return not calls.failures and stored == calls.acknowledged


def stored_count(kql: Kql, workspace: str, text: str, expected: int, timeout: float = 60.0) -> int:
    """The count ``text`` answers once it reaches ``expected`` (or after ``timeout`` seconds): an
    acknowledged batch is in the journal, and queryable a moment later, once the writer stored it."""
    deadline = time.monotonic() + timeout
    while True:
        count = int(kql.number(workspace, text))
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..1); NaN without values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ---------------------------------------------------------------------------- syslog over UDP

DROPPED = "UDP datagrams dropped"


def syslog_datagram(n: int, stamp: str) -> bytes:
    """An RFC 3164 message as a Linux host's sshd sends it (authpriv.info)."""
    return (f"<86>{stamp} bench-h{n % 300} sshd[{4000 + n % 1000}]: Accepted publickey for u{n % 3000} "
            f"from 10.0.{n % 255}.{n % 7} port {1024 + n % 60000} ssh2 seq={n}").encode()  # fmt: skip


def send_paced(port: int, rate: int, seconds: float) -> int:
    """Datagrams at ``rate`` per second for ``seconds``, sent in 10 ms ticks; how many were sent."""
    stamp = datetime.now(UTC).strftime("%b %e %H:%M:%S")
    sent, started = 0, time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        while (elapsed := time.perf_counter() - started) < seconds:
            due = min(int(elapsed * rate) + 1, int(seconds * rate))
            for n in range(sent, due):
                udp.sendto(syslog_datagram(n, stamp), ("127.0.0.1", port))
            sent = max(sent, due)
            time.sleep(0.01)
    return sent


def settled_count(kql: Kql, text: str, quiet: float, timeout: float = 120.0) -> tuple[int, float]:
    """Poll ``text`` (a count) until it has not changed for ``quiet`` seconds: the count and the
    ``perf_counter`` time it was first seen."""
    last, seen, deadline = -1, time.perf_counter(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = int(kql.number("syslog", text))
        if count != last:
            last, seen = count, time.perf_counter()
        elif time.perf_counter() - seen >= quiet:
            break
        time.sleep(0.1)
    return last, seen


def receipt_span(kql: Kql) -> tuple[int, float]:
    """Messages in ``Syslog`` and the seconds from the first one's receipt to the last one's
    (TimeGenerated is the receipt time of a received message)."""
    rows = kql.rows("syslog", "Syslog | summarize count(), min(TimeGenerated), max(TimeGenerated)")
    count, first, last = rows[0]
    span = datetime.fromisoformat(str(last)) - datetime.fromisoformat(str(first))
    return int(count), span.total_seconds()


def accounted(kql: Kql) -> tuple[int, int]:
    """Datagrams reported dropped (in ``IngestionErrors``, with their count in the reason), and
    messages rejected for another reason."""
    dropped = kql.number("syslog", f'IngestionErrors | where Reason has "{DROPPED}" '
                         '| summarize sum(toint(extract(@"^(\\d+) UDP", 1, Reason)))')  # fmt: skip
    rejected = kql.number("syslog", f'IngestionErrors | where Reason !has "{DROPPED}" | count')
    return int(dropped), int(rejected)


def measure_syslog(args: argparse.Namespace, server: ServerProcess, bench: Bench, kql: Kql) -> bool:
    """Messages per second stored from a paced UDP stream, and every datagram accounted for."""
    port, cpu = server.syslog_port("udp"), server_cpu(server)
    started = time.perf_counter()
    sent = send_paced(port, args.syslog_rate, args.seconds)
    ended = time.perf_counter()
    settled_count(kql, "Syslog | count", quiet=1.5)  # the receiver flushes every 0.5 s
    used = server_cpu(server) - cpu
    stored, span = receipt_span(kql)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # carries the kernel's drop count
        udp.sendto(syslog_datagram(sent, datetime.now(UTC).strftime("%b %e %H:%M:%S")), ("127.0.0.1", port))
    stored_all = settled_count(kql, "Syslog | count", quiet=1.0)[0]
    (dropped, rejected), (p50, p95, batches) = accounted(kql), kql.usage_latency("syslog", "Syslog")
    rate_line("syslog udp (rfc 3164)", stored, "messages", span, used, f"{GOALS['syslog']:,} messages/s")
    unaccounted = sent + 1 - stored_all - dropped - rejected
    print(f"syslog: sent {sent + 1:,} ({sent:,} at {sent / (ended - started):,.0f}/s, then one); stored "
          f"{stored_all:,}, dropped {dropped:,} (reported in IngestionErrors), rejected {rejected:,}, "
          f"unaccounted {unaccounted:,}; receipt to queryable p50 {p50:.2f} s, p95 {p95:.2f} s over "
          f"{batches} batches (Usage)", flush=True)  # fmt: skip
    return unaccounted == 0


# ---------------------------------------------------------------------------- freshness


@dataclass
class Freshness:
    """Lags seen by the prober (seconds) and the calls of the paced senders."""

    lags: list[float] = field(default_factory=list)
    calls: Calls = field(default_factory=Calls)
    late: list[float] = field(default_factory=list)  # seconds each call was sent after it was due
    origin: float = 0.0  # when the first record was due (time.time())


async def paced_senders(args: argparse.Namespace, server: ServerProcess, bench: Bench,
                        fresh: Freshness, first: asyncio.Event) -> float:  # fmt: skip
    """Calls of ``--fresh-batch`` records at ``--fresh-rate`` events/s for ``--seconds``: record k
    is due at ``origin + k / rate`` (its TimeGenerated); a call goes when its last record is due.
    Returns the wall seconds from the origin to the last answer."""
    rate, size, path = args.fresh_rate, args.fresh_batch, stream_path(bench, "fresh", "Custom-Fresh")
    calls_total, numbers = int(args.seconds * rate) // size, itertools.count()
    clients = await warm_senders(args, server, bench, "fresh", "Custom-Fresh")
    origin = fresh.origin = time.time()

    def stamp(seq: int) -> datetime:
        return datetime.fromtimestamp(origin + seq / rate, UTC)

    async def sender(http: httpx.AsyncClient) -> None:
        while (n := next(numbers)) < calls_total:
            due = origin + (n + 1) * size / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            fresh.late.append(max(0.0, time.time() - due))
            body = gzipped(records(n * size, size, stamp))
            await post_until_stored(http, path, body, size, fresh.calls)
            first.set()

    try:
        await asyncio.gather(*(sender(http) for http in clients))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
        first.set()
    return time.time() - origin


async def prober(
    kql: Kql, interval: float, fresh: Freshness, first: asyncio.Event, done: asyncio.Event
) -> None:
    """Every ``interval`` s, the newest stored event's age when the answer arrives."""
    await first.wait()
    path = f"{kql.url}/v1/workspaces/{kql.workspaces['fresh']}/query"
    body = {"query": "Fresh_CL | summarize max(TimeGenerated)"}
    async with httpx.AsyncClient(headers=kql.headers, timeout=60) as http:
        while not done.is_set():
            began = time.perf_counter()
            response = await http.post(path, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"the probe answered {response.status_code}: {response.text[:300]}")
            newest = response.json()["tables"][0]["rows"][0][0]
            if newest:
                fresh.lags.append(time.time() - datetime.fromisoformat(newest).timestamp())
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - began)))


async def freshness_run(
    args: argparse.Namespace, server: ServerProcess, bench: Bench, kql: Kql
) -> tuple[Freshness, float]:
    fresh, first, done = Freshness(), asyncio.Event(), asyncio.Event()
    probing = asyncio.create_task(prober(kql, args.probe_interval, fresh, first, done))
    try:
        wall = await paced_senders(args, server, bench, fresh, first)
    finally:
        done.set()
    await probing
    return fresh, wall


def measure_freshness(args: argparse.Namespace, server: ServerProcess, bench: Bench, kql: Kql) -> bool:
    """Event-to-queryable lag at a steady rate; every acknowledged record must be queryable."""
    fresh, wall = asyncio.run(freshness_run(args, server, bench, kql))
    lags, calls = fresh.lags, fresh.calls
    stored = stored_count(
        kql, "fresh", f'Fresh_CL | where Computer != "{WARM_UP}" | count', calls.acknowledged
    )
    p50, p95, batches = kql.usage_latency("fresh", "Fresh_CL", since=fresh.origin)
    print(f"{'freshness':<28} {calls.acknowledged:>9,} events  {calls.acknowledged / wall:>10,.0f} events/s "
          f"(asked {args.fresh_rate:,}); lag p50 {percentile(lags, 0.5):.2f} s, p95 {percentile(lags, 0.95):.2f} s, "
          f"max {max(lags, default=math.nan):.2f} s over {len(lags)} probes   goal p95 < {FRESHNESS_GOAL:g} s",
          flush=True)  # fmt: skip
    print(f"freshness: Usage.AvgLatencyInSeconds p50 {p50:.2f} s, p95 {p95:.2f} s over {batches} batches; "
          f"calls: p50 {percentile(calls.latencies, 0.5):.3f} s, p95 {percentile(calls.latencies, 0.95):.3f} s "
          f"to answer, sent late p95 {percentile(fresh.late, 0.95):.2f} s; {calls.throttled} answered 429, "
          f"{len(calls.failures)} failed; Fresh_CL holds {stored:,} of {calls.acknowledged:,} acknowledged "
          "records", flush=True)  # fmt: skip
    return not calls.failures and stored == calls.acknowledged and bool(lags)


# ---------------------------------------------------------------------------- main

RECEIVERS = {"http": measure_http, "syslog": measure_syslog, "freshness": measure_freshness}


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for; the exit status (see the module docstring)."""
    args = parse_args(argv)
    parts = args.only or list(PARTS)
    ok = measure_files(args) if "files" in parts else True
    wanted = [part for part in RECEIVERS if part in parts]
    if wanted:
        print(f"receivers: {args.seconds:g} s each", flush=True)
        with serving(args, wanted) as (server, bench):
            kql = Kql(server, bench)
            for part in wanted:
                ok = RECEIVERS[part](args, server, bench, kql) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
