"""Running the converted Sigma pack over recordings, as the recording tests need it: each recording
ingested alone into its own workspace and the rules run over a window covering its events as a
scheduled run would (``ws.query(rule.query, time_range=window, now=window.end)``).

Running every rule on every recording would cost minutes (compiling a rule takes ~10 ms), so a first
pass runs each rule once over all the recordings together and keeps the rules that raise anything;
only those run on each recording alone. A Sigma rule filters events (or counts them), so a rule that
raises nothing over all the recordings raises nothing over one of them either. Both passes split the
work over two processes (the machine's two cores)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

from watchkeeper import Workspace
from watchkeeper.detections.alerting import alert_drafts
from watchkeeper.detections.models import DetectionRule
from watchkeeper.detections.scheduler import Window
from watchkeeper.errors import WatchkeeperError
from watchkeeper.ingest import detect_parser
from watchkeeper.ingest.sources import sources_at

WORKERS = 2
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BOOKKEEPING = {"Usage"}  # what ingestion records about itself, not events of the recording


@dataclass
class Outcome:
    """What the rules raised on one recording (or on all of them, in the first pass)."""

    path: str
    labels: tuple[str, ...]  # the ATT&CK tactics the recording is labelled with, as rules name them
    rows: int = 0  # rows the recording stored (a Sysmon record lands in its Defender XDR table and in Event)
    alerting: list[DetectionRule] = field(default_factory=list)  # the rules that raised an alert
    alerts: int = 0
    off_target: int = 0  # alerts of rules none of whose tactics is one the recording is labelled with
    errors: list[str] = field(default_factory=list)


def tactic_key(name: str) -> str:
    """A tactic's name as rules and labels both spell it: ``Credential Access`` -> ``credentialaccess``."""
    return re.sub(r"[^a-z]", "", name.lower())


def ingest(ws: Workspace, paths: list[Path]) -> None:
    """Each recording through the parser detection picks, as ``wk ingest`` reads it."""
    for path in paths:
        for source in sources_at(path):
            parser = detect_parser(source.head(), source.filename)
            if parser is None:
                continue  # metadata beside the records
            with source.open() as stream:
                for batch in parser.parse(stream, source.name):
                    ws.ingest_parsed(batch, source=source.name, input_format=parser.name)


def _filled(ws: Workspace) -> dict[str, tuple[int, datetime, datetime]]:
    """Each table the recording filled: its row count and first and last TimeGenerated."""
    filled = {}
    for table in sorted(ws.store.stored_tables() - _BOOKKEEPING):
        if not _TABLE.fullmatch(table):  # a stored name is only queried when it is a plain identifier
            continue
        count, first, last = ws.query(
            f"{table} | summarize count(), min(TimeGenerated), max(TimeGenerated)"
        ).rows[0]
        if count:
            filled[table] = (count, first, last)
    return filled


def _run(ws: Workspace, rules: list[DetectionRule], outcome: Outcome) -> None:
    filled = _filled(ws)
    outcome.rows = sum(f[0] for f in filled.values())
    # the span of the recording's events, end exclusive as a rule's window is
    window = Window(
        min(f[1] for f in filled.values()), max(f[2] for f in filled.values()) + timedelta(seconds=1)
    )
    for rule in rules:
        if rule.tables[0] not in filled:
            continue
        try:
            result = ws.query(rule.query, time_range=(window.start, window.end), now=window.end)
        except WatchkeeperError as exc:
            outcome.errors.append(f"{rule.name}: {exc}")
            continue
        drafts = alert_drafts(rule, result, window)
        if drafts:
            outcome.alerting.append(rule)
            outcome.alerts += len(drafts)
            if outcome.labels and not {tactic_key(t) for t in rule.tactics} & set(outcome.labels):
                outcome.off_target += len(drafts)


@contextmanager
def _workspace() -> Iterator[Workspace]:
    ws = Workspace.open(None)
    try:
        yield ws
    finally:
        ws.close()


def _over_all(paths: list[Path], rules: list[DetectionRule]) -> Outcome:
    outcome = Outcome("all recordings", ())
    with _workspace() as ws:
        ingest(ws, paths)
        _run(ws, rules, outcome)
    return outcome


def _each_alone(recordings: list[tuple[Path, tuple[str, ...]]], rules: list[DetectionRule]) -> list[Outcome]:
    outcomes = []
    for path, labels in recordings:
        outcome = Outcome(str(path), labels)
        with _workspace() as ws:
            ingest(ws, [path])
            _run(ws, rules, outcome)
        outcomes.append(outcome)
    return outcomes


@contextmanager
def process_pool() -> Iterator[ProcessPoolExecutor]:
    """Two processes that import the project afresh (spawned: no copy of the caller's open databases)."""
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=get_context("spawn")) as executor:
        yield executor


def over_all(pool: ProcessPoolExecutor, paths: list[Path], rules: list[DetectionRule]) -> Outcome:
    """Every rule over all the recordings together: the rules that can raise anything on them."""
    parts = list(pool.map(_over_all, [paths] * WORKERS, [rules[i::WORKERS] for i in range(WORKERS)]))
    merged = Outcome("all recordings", (), parts[0].rows)
    for part in parts:
        merged.alerting += part.alerting
        merged.errors += part.errors
    return merged


def each_alone(
    pool: ProcessPoolExecutor, recordings: list[tuple[Path, tuple[str, ...]]], rules: list[DetectionRule]
) -> list[Outcome]:
    """Each recording alone in its workspace under ``rules``, in the order given."""
    shares = [recordings[i::WORKERS] for i in range(WORKERS)]
    found = {o.path: o for part in pool.map(_each_alone, shares, [rules] * WORKERS) for o in part}
    return [found[str(path)] for path, _ in recordings]
