"""``wk rules``: a workspace's rule library (import Sentinel or Sigma rules, list, show, enable,
disable) and retro-hunts (``wk rules run --from --to``).

Every command takes ``--workspace DIR`` for an embedded workspace folder (its rules, alerts and
incidents are kept in ``DIR/state.db``); without it, the data directory's default workspace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail, load_settings, user_errors
from watchkeeper.cli.platform import Format, FormatOption, emit
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.detections.documents import rule_document
from watchkeeper.detections.library import RuleRead, find_rule, list_rules, set_enabled
from watchkeeper.directory import WorkspaceRead
from watchkeeper.runtime import Runtime

__all__ = ["Target", "open_target", "rules"]

rules = typer.Typer(
    help="Detection rules: import Sentinel and Sigma rules, list, enable, run.", no_args_is_help=True
)

RuleArgument = Annotated[
    str, typer.Argument(help="The rule's id (its Sentinel or Sigma id, or the library id).")
]


class Target:
    """The runtime and the workspace a command works on."""

    def __init__(self, runtime: Runtime, workspace: WorkspaceRead, actor: Actor) -> None:
        self.runtime, self.workspace, self.actor = runtime, workspace, actor

    def rule(self, ref: str) -> RuleRead:
        with self.runtime.database.session() as session:
            found = find_rule(
                session, tenant_id=self.workspace.tenant_id, workspace_id=self.workspace.id, ref=ref
            )
        if found is None:
            raise fail(f"error: no rule {ref!r} in this workspace (see `wk rules list`)")
        return found


@contextmanager
def open_target(workspace: Path | None) -> Iterator[Target]:
    """The embedded workspace ``workspace`` (its own state database), or the default one."""
    from watchkeeper.flows.detections import embedded_workspace

    settings = load_settings()
    folder = workspace or settings.workspace_path()
    if workspace is not None:
        settings = settings.model_copy(update={"data_dir": workspace})
    with user_errors(), Runtime(settings) as runtime:
        actor = Actor.cli()
        yield Target(runtime, embedded_workspace(runtime, actor, folder), actor)


def _summary(rule: RuleRead) -> dict[str, Any]:
    r = rule.rule
    return {"id": rule.rule_id, "name": rule.name, "format": rule.source_format, "kind": r.kind.value,
            "severity": rule.severity, "enabled": rule.enabled, "tactics": list(r.tactics),
            "techniques": list(r.techniques), "frequency": str(r.query_frequency), "tables": list(r.tables)}  # fmt: skip


@rules.command("import")
def import_command(
    rule_format: Annotated[str, typer.Argument(metavar="FORMAT", help="sigma or sentinel.")],
    path: Annotated[Path, typer.Argument(help="A rule file, a folder of them, or a .tar/.zip archive.")],
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Import rules into the workspace's library, rule by rule: a rule that cannot be loaded or
    converted is reported with the reason and skipped."""
    from watchkeeper.flows.detections import import_rules

    if not path.exists():
        raise fail(f"error: {path} does not exist")
    with open_target(workspace) as target:
        imported, saved = import_rules(target.runtime, target.actor, target.workspace, rule_format, path,
                                       workers=os.cpu_count() or 1)  # fmt: skip
    skipped = [{"file": name, "reason": reason} for name, reason in imported.skipped]
    if fmt is Format.json:
        emit({"imported": len(imported.rules), "created": len(saved.created), "updated": len(saved.updated),
              "skipped": skipped}, fmt)  # fmt: skip
        return
    for item in skipped:
        typer.echo(f"skipped {item['file']}: {item['reason']}", err=True)
    typer.echo(f"imported {len(imported.rules):,} {rule_format} rules ({len(saved.created):,} new, "
               f"{len(saved.updated):,} updated); skipped {len(skipped):,}")  # fmt: skip


@rules.command("list")
def list_command(workspace: WorkspaceOption = None, fmt: FormatOption = Format.table) -> None:
    """The workspace's rules."""
    with open_target(workspace) as target, target.runtime.database.session() as session:
        found = list_rules(session, tenant_id=target.workspace.tenant_id, workspace_id=target.workspace.id)
    emit(
        [_summary(r) for r in found],
        fmt,
        columns=["id", "name", "format", "kind", "severity", "enabled", "tactics"],
    )


def _health(target: Target, rule: RuleRead) -> dict[str, Any]:
    """Where the rule stands with the scheduler, and its latest runs."""
    from watchkeeper.detections.runs import recent_runs, schedule_of

    with target.runtime.database.session() as session:
        schedule = schedule_of(session, rule.id)
        runs = recent_runs(session, tenant_id=rule.tenant_id, rule_ref=rule.id, limit=5)
        return {
            "lastWindowEnd": schedule.last_window_end, "failures": schedule.failures,
            "lastError": schedule.last_error, "nextAttemptAt": schedule.next_attempt_at,
            "recentRuns": [{"kind": r.kind, "windowStart": r.window_start, "windowEnd": r.window_end,
                            "seconds": round(r.seconds, 3), "rows": r.rows, "alerts": r.alerts, "error": r.error}
                           for r in runs],
        }  # fmt: skip


@rules.command("show")
def show_command(
    rule: RuleArgument, workspace: WorkspaceOption = None, fmt: FormatOption = Format.table
) -> None:
    """One rule: its settings, query, and how its runs went (``--format json``: the whole rule)."""
    with open_target(workspace) as target:
        found = target.rule(rule)
        health = _health(target, found)
    if fmt is Format.json:
        emit(
            rule_document(found.rule) | {"libraryId": found.id, "enabled": found.enabled, "health": health},
            fmt,
        )
        return
    for key, value in _summary(found).items():
        typer.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    typer.echo(f"last window end: {health['lastWindowEnd'] or 'never run'}; consecutive failures: {health['failures']}"
               + (f"; last error: {health['lastError']}" if health["lastError"] else ""))  # fmt: skip
    typer.echo("query:\n" + found.rule.query.rstrip())


def _switch(rule: str, workspace: Path | None, enabled: bool) -> None:
    with open_target(workspace) as target:
        found = target.rule(rule)
        with target.runtime.database.session() as session:
            set_enabled(session, tenant_id=found.tenant_id, workspace_id=found.workspace_id, ref=found.id,
                        enabled=enabled, actor=target.actor)  # fmt: skip
    typer.echo(f"{'enabled' if enabled else 'disabled'} {found.rule_id} ({found.name})")


@rules.command("enable")
def enable_command(rule: RuleArgument, workspace: WorkspaceOption = None) -> None:
    """Enable a rule: the scheduler runs it."""
    _switch(rule, workspace, True)


@rules.command("disable")
def disable_command(rule: RuleArgument, workspace: WorkspaceOption = None) -> None:
    """Disable a rule."""
    _switch(rule, workspace, False)


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"error: {option} must be an ISO 8601 time (2026-11-30T06:00:00Z), not {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@rules.command("run")
def run_command(
    start: Annotated[str, typer.Option("--from", help="Start of the window (ISO 8601, UTC if no offset).")],
    end: Annotated[str, typer.Option("--to", help="End of the window (ISO 8601), not included.")],
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Run every enabled rule once over [--from, --to) whatever its schedule (a retro-hunt),
    raising alerts and incidents as the rules configure."""
    from watchkeeper.flows.detections import run_rules_over

    begin, finish = _moment(start, "--from"), _moment(end, "--to")
    if finish <= begin:
        raise fail("error: --to must be after --from")
    with open_target(workspace) as target:
        outcomes = run_rules_over(target.runtime, target.actor, target.workspace, begin, finish)
    rows = [{"id": o.rule.rule_id, "name": o.rule.name, "rows": o.rows, "alerts": len(o.alerts),
             "error": o.error or ""} for o in outcomes]  # fmt: skip
    emit(rows, fmt, columns=["id", "name", "rows", "alerts", "error"])
    if fmt is Format.table:
        typer.echo(f"{len(outcomes):,} rules run, {sum(len(o.alerts) for o in outcomes):,} alerts, "
                   f"{sum(1 for o in outcomes if o.error):,} failed", err=True)  # fmt: skip


@rules.command("test")
def rules_test_command(
    path: Annotated[Path, typer.Argument(help="A rule file, a folder of them, or an archive.")],
    rule_format: Annotated[
        str, typer.Option("--rule-format", help="sentinel, sigma, or auto (each file as it looks).")
    ] = "auto",
    fmt: FormatOption = Format.table,
) -> None:
    """Run the ``tests:`` the rule files carry, each on a fresh in-memory workspace; prints pass or
    fail per test and exits 1 if any failed (or a file could not be loaded)."""
    from watchkeeper.detections.formats import format_named, read_rules
    from watchkeeper.flows.rule_tests import run_rule_tests

    if not path.exists():
        raise fail(f"error: {path} does not exist")
    with user_errors():
        imported = read_rules(path, format_named(rule_format))
    base = path if path.is_dir() else path.parent
    results: list[dict[str, Any]] = []
    for rule in imported.rules:
        folder = (base / rule.origin).parent if path.is_dir() else base
        outcomes = run_rule_tests(rule, folder)
        results += [{"rule": rule.rule_id, "name": rule.name, "test": o.test.name, "passed": o.passed,
                     "alerts": o.alerts, "problem": o.problem} for o in outcomes]  # fmt: skip
        if not outcomes:
            results.append({"rule": rule.rule_id, "name": rule.name, "test": "", "passed": None, "alerts": 0,
                            "problem": "no tests"})  # fmt: skip
    results += [{"rule": "", "name": name, "test": "", "passed": False, "alerts": 0, "problem": reason}
                for name, reason in imported.skipped]  # fmt: skip
    emit(results, fmt, columns=["name", "test", "passed", "alerts", "problem"])
    failed = sum(1 for r in results if r["passed"] is False)
    if fmt is Format.table:
        passed = sum(1 for r in results if r["passed"])
        typer.echo(f"{passed:,} passed, {failed:,} failed", err=True)
    if failed:
        raise typer.Exit(code=1)


def coverage_command(workspace: WorkspaceOption = None, fmt: FormatOption = Format.table) -> None:
    """ATT&CK coverage of the enabled rules: tactics and techniques covered, and for each rule
    whether its tables receive data and whether its tests pass."""
    from watchkeeper.flows.coverage import coverage

    with open_target(workspace) as target:
        found = coverage(target.runtime, target.workspace)
    document = found.to_json()
    if fmt is Format.json:
        emit(document, fmt)
        return
    emit([{"tactic": t["tactic"], "rules": t["rules"], "techniques": [x["technique"] for x in t["techniques"]]}
          for t in document["tactics"]], fmt)  # fmt: skip
    idle = [r for r in document["rules"] if r["tablesWithoutData"] or r["tests"] == "failed"]
    for rule in idle:
        problems = ([f"no data in {', '.join(rule['tablesWithoutData'])}"] if rule["tablesWithoutData"] else []) + (
            ["its tests fail"] if rule["tests"] == "failed" else [])  # fmt: skip
        typer.echo(f"{rule['name']}: {'; '.join(problems)}", err=True)
