"""A workspace's rules as an analyst looks after them (the rules API and console page): each rule's
settings with how its runs went (the latest run, what runs found over the last 24 hours, its
failing streak), a rule's latest runs and query, switching a rule on or off, running it now over
its lookback window, and running the tests its file carries.

Runs go through the same flow as the scheduler's and ``wk rules run``'s (:func:`run_rule`), so a run
started here raises alerts and incidents as configured and is recorded (with its ``SentinelHealth``
row) like any other; it is also audited as ``rule.run``. Enabling and disabling are audited by the
library (``rule.enable``/``rule.disable``); a test run as ``rule.test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from watchkeeper.audit import Actor, record
from watchkeeper.detections.durations import iso_duration
from watchkeeper.detections.library import RuleRead, find_rule, list_rules, set_enabled
from watchkeeper.detections.run_summary import RunSummary, latest_runs, summarize_runs
from watchkeeper.detections.runs import RuleRun
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import WorkspaceRead
from watchkeeper.flows.detections import RuleRunOutcome, run_rule
from watchkeeper.flows.rule_tests import RuleTestOutcome, run_rule_tests
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now

__all__ = [
    "RECENT",
    "RuleStatus",
    "outcome_json",
    "rule_detail",
    "rule_statuses",
    "rule_tests",
    "run_json",
    "run_now",
    "switch_rule",
]

RECENT = timedelta(hours=24)  # the span a rule's "hits" add up over
LATEST_RUNS = 20  # runs a rule's detail lists


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def run_json(run: RuleRun) -> dict[str, Any]:
    """One run record as the API shows it."""
    return {"kind": run.kind, "status": "failed" if run.error else "succeeded",
            "startedDateTime": _iso(run.started_at), "windowStart": _iso(run.window_start),
            "windowEnd": _iso(run.window_end), "durationSeconds": round(run.seconds, 3), "hits": run.rows,
            "alerts": run.alerts, "error": run.error}  # fmt: skip


@dataclass(frozen=True)
class RuleStatus:
    """A library rule and how its runs went."""

    rule: RuleRead
    runs: RunSummary

    def to_json(self) -> dict[str, Any]:
        r = self.rule.rule
        return {"id": self.rule.id, "ruleId": self.rule.rule_id, "name": self.rule.name, "kind": r.kind.value.lower(),
                "format": self.rule.source_format, "severity": self.rule.severity.lower(), "enabled": self.rule.enabled,
                "tactics": list(r.tactics), "techniques": list(r.techniques), "tables": list(r.tables),
                "queryFrequency": iso_duration(r.query_frequency), "queryPeriod": iso_duration(r.query_period),
                "lastRun": run_json(self.runs.last) if self.runs.last is not None else None,
                "last24Hours": {"runs": self.runs.runs_since, "hits": self.runs.rows_since,
                                "alerts": self.runs.alerts_since},
                "failingStreak": self.runs.failing_streak, "tests": len(r.tests),
                "lastModifiedDateTime": _iso(self.rule.updated_at)}  # fmt: skip


def _statuses(runtime: Runtime, workspace: WorkspaceRead, rules: list[RuleRead]) -> list[RuleStatus]:
    with runtime.database.session() as session:
        summaries = summarize_runs(session, tenant_id=workspace.tenant_id, rule_refs=[r.id for r in rules],
                                   since=utc_now() - RECENT)  # fmt: skip
    return [RuleStatus(rule, summaries[rule.id]) for rule in rules]


def rule_statuses(runtime: Runtime, workspace: WorkspaceRead) -> list[RuleStatus]:
    """Every rule of the workspace (by name) with how its runs went."""
    with runtime.database.session() as session:
        rules = list_rules(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id)
    return _statuses(runtime, workspace, rules)


def _find(runtime: Runtime, workspace: WorkspaceRead, ref: str) -> RuleRead | None:
    with runtime.database.session() as session:
        return find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=ref)


def rule_detail(runtime: Runtime, workspace: WorkspaceRead, ref: str) -> dict[str, Any] | None:
    """One rule (library id or rule id) with its query, description and latest runs; None if the
    workspace has no such rule."""
    rule = _find(runtime, workspace, ref)
    if rule is None:
        return None
    (status,) = _statuses(runtime, workspace, [rule])
    with runtime.database.session() as session:
        latest = [run_json(run) for run in latest_runs(session, tenant_id=workspace.tenant_id, rule_ref=rule.id,
                                                       limit=LATEST_RUNS)]  # fmt: skip
    r = rule.rule
    return status.to_json() | {
        "query": r.query, "description": r.description, "triggerOperator": r.trigger_operator,
        "triggerThreshold": r.trigger_threshold, "latestRuns": latest,
    }  # fmt: skip


def switch_rule(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, ref: str, *, enabled: bool
) -> RuleStatus | None:
    """Enable or disable a rule (audited by the library); None if the workspace has no such rule."""
    with runtime.database.session() as session:
        changed = set_enabled(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=ref,
                              enabled=enabled, actor=actor)  # fmt: skip
    return _statuses(runtime, workspace, [changed])[0] if changed is not None else None


def run_now(runtime: Runtime, actor: Actor, workspace: WorkspaceRead, ref: str) -> RuleRunOutcome | None:
    """Run the rule once over its lookback window ending now (``queryPeriod``), raising what it
    finds as the scheduler would; the schedule itself is left as it is. None if no such rule."""
    rule = _find(runtime, workspace, ref)
    if rule is None:
        return None
    end = utc_now()
    outcome = run_rule(
        runtime, actor, workspace, rule, Window(end - rule.rule.query_period, end), kind="manual"
    )
    with runtime.database.session() as session:
        record(session, actor=actor, action="rule.run", outcome="failure" if outcome.error else "success",
               target=rule.id, tenant_id=workspace.tenant_id,
               detail={"ruleId": rule.rule_id, "hits": outcome.rows, "alerts": len(outcome.alerts)})  # fmt: skip
    return outcome


def outcome_json(outcome: RuleRunOutcome) -> dict[str, Any]:
    """What a run did, as the API answers ``run``."""
    return {"ruleId": outcome.rule.rule_id, "status": "failed" if outcome.error else "succeeded",
            "windowStart": _iso(outcome.window.start), "windowEnd": _iso(outcome.window.end), "hits": outcome.rows,
            "alerts": [{"id": a.id, "title": a.title, "incidentId": a.incident_id} for a in outcome.alerts],
            "suppressed": outcome.suppressed, "error": outcome.error}  # fmt: skip


def _test_json(outcome: RuleTestOutcome | None, name: str, expected: int | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": name,
        "expectedAlerts": expected,
        "passed": None,
        "alerts": None,
        "problem": None,
    }
    if outcome is not None:
        shown |= {"passed": outcome.passed, "alerts": outcome.alerts, "problem": outcome.problem}
    return shown


def rule_tests(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, ref: str, *, run: bool
) -> list[dict[str, Any]] | None:
    """The tests the rule's file carries; with ``run``, each run as ``wk rules test`` runs it (a
    fresh in-memory workspace per test) with its result. None if the workspace has no such rule."""
    rule = _find(runtime, workspace, ref)
    if rule is None:
        return None
    tests = rule.rule.tests
    if not run:
        return [_test_json(None, t.name, t.expect_alerts) for t in tests]
    outcomes = run_rule_tests(rule.rule, Path(rule.rule.origin).parent)
    with runtime.database.session() as session:
        record(session, actor=actor, action="rule.test", outcome="success", target=rule.id,
               tenant_id=workspace.tenant_id, detail={"ruleId": rule.rule_id, "tests": len(outcomes),
                                                      "passed": sum(o.passed for o in outcomes)})  # fmt: skip
    return [_test_json(o, o.test.name, o.test.expect_alerts) for o in outcomes]
