"""Running the ``tests:`` a rule file carries: each test's events (inline rows, or a fixture file
read by the ingestion parsers) go into a fresh in-memory workspace, the rule runs over a window
holding all of them (``now`` at its end), and what it raises is compared with the expectation:
the alert count (exactly, or at least one when none is given) and entities that must appear."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watchkeeper.detections.alerting import ENTITY_KINDS, alert_drafts
from watchkeeper.detections.models import DetectionRule, RuleTest
from watchkeeper.detections.scheduler import Window
from watchkeeper.errors import WatchkeeperError
from watchkeeper.ingest.parsers.registry import detect_parser
from watchkeeper.ingest.sources import sources_at
from watchkeeper.schema.values import parse_datetime_forms
from watchkeeper.workspace import Workspace

__all__ = ["RuleTestOutcome", "run_rule_tests"]


@dataclass(frozen=True)
class RuleTestOutcome:
    """One test of one rule: passed or not, and why not."""

    rule: DetectionRule
    test: RuleTest
    passed: bool
    alerts: int
    problem: str = ""


def run_rule_tests(rule: DetectionRule, base: Path) -> list[RuleTestOutcome]:
    """Run every test of ``rule``; fixtures are found relative to ``base`` (the rule file's folder)."""
    return [_run(rule, test, base) for test in rule.tests]


def _run(rule: DetectionRule, test: RuleTest, base: Path) -> RuleTestOutcome:
    with Workspace.open(None) as ws:
        try:
            times = _load(ws, test, base)
            window = _window(rule, times)
            result = ws.query(rule.query, time_range=(window.start, window.end), now=window.end)
        except (WatchkeeperError, OSError) as exc:
            return RuleTestOutcome(rule, test, False, 0, f"{type(exc).__name__}: {exc}")
    drafts = alert_drafts(rule, result, window)
    problem = _compare(test, len(drafts), [e for d in drafts for e in d.entities])
    return RuleTestOutcome(rule, test, not problem, len(drafts), problem)


def _load(ws: Workspace, test: RuleTest, base: Path) -> list[datetime]:
    """Ingest the test's events; the event times it holds."""
    now = datetime.now(UTC)
    times: list[datetime] = []
    for table, rows in test.events:
        typed = [_timed(dict(row), now) for row in rows]
        times += [row["TimeGenerated"] for row in typed]
        ws.ingest(table, typed)
    if test.fixture is not None:
        for source in sources_at(base / test.fixture):
            parser = detect_parser(source.head(), source.filename)
            if parser is None:
                raise WatchkeeperError(f"fixture {source.name}: no known format")
            with source.open() as stream:
                for batch in parser.parse(stream, source.name):
                    times += [r["TimeGenerated"] for rows in batch.tables.values() for r in rows
                              if isinstance(r.get("TimeGenerated"), datetime)]  # fmt: skip
                    ws.ingest_parsed(batch, source=source.name, input_format=parser.name)
    return times


def _timed(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    value = row.get("TimeGenerated")
    if isinstance(value, str):
        row["TimeGenerated"] = parse_datetime_forms(value)
    elif not isinstance(value, datetime):
        row["TimeGenerated"] = now
    return row


def _window(rule: DetectionRule, times: list[datetime]) -> Window:
    """A window holding every event: from the earliest to just after the latest, at least the rule's period."""
    if not times:
        end = datetime.now(UTC)
        return Window(end - rule.query_period, end)
    end = max(times) + timedelta(seconds=1)
    return Window(min(min(times), end - rule.query_period), end)


def _compare(test: RuleTest, alerts: int, entities: list[dict[str, Any]]) -> str:
    if test.expect_alerts is None and alerts == 0:
        return "expected at least one alert, got none"
    if test.expect_alerts is not None and alerts != test.expect_alerts:
        return f"expected {test.expect_alerts} alerts, got {alerts}"
    for kind, identifier, value in test.expect_entities:
        wanted = ENTITY_KINDS.get(kind, kind.lower())
        if not any(e.get("Type") == wanted and str(e.get(identifier)) == value for e in entities):
            return f"expected a {kind} entity with {identifier} {value!r}, not among the alerts' entities"
    return ""
