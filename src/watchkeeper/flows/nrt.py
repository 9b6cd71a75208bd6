"""Near-real-time (NRT) rules: run on each write the ingestion writer commits.

An NRT rule reads one table (the loader refuses others). Each committed write's rows are shown to
a scratch workspace as they are (:class:`~watchkeeper.store.write_view.WriteViewStore`: views over
the write's Arrow batches, nothing copied) and the rule's query runs on exactly them, so every
event is seen once, however late it arrived by its own timestamp; the run's window is the span of
those events' times. The scratch workspace lives as long as the listener, so a rule compiles once,
not on every write. The work happens on one thread per workspace, off the writer's thread, so a
slow rule delays its alerts, never ingestion.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.audit import Actor
from watchkeeper.detections.alerting import columns_read
from watchkeeper.detections.library import RuleRead, list_rules
from watchkeeper.detections.models import RuleKind
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import WorkspaceRead
from watchkeeper.errors import WatchkeeperError
from watchkeeper.flows.detections import Assessment, RuleRunOutcome, assess, conclude, rule_query
from watchkeeper.kql import CompiledQuery
from watchkeeper.runtime import Runtime
from watchkeeper.schema.catalog import TableDef
from watchkeeper.store.write_view import WriteViewStore
from watchkeeper.workspace import Workspace

__all__ = ["NearRealTime", "attach_near_real_time", "columns_scanned"]

log = logging.getLogger(__name__)
# how long the list of a workspace's NRT rules is reused before it is read again
RULES_TTL = 10.0


class NearRealTime:
    """A workspace's NRT rules, run on each committed write (see the module docstring)."""

    def __init__(self, runtime: Runtime, workspace: WorkspaceRead) -> None:
        self.runtime, self.workspace = runtime, workspace
        self.actor = Actor("system", "nrt")
        self._rules: list[RuleRead] = []
        self._read_at = -RULES_TTL
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"wk-nrt-{workspace.name}")
        self.outcomes: list[RuleRunOutcome] = []  # the latest runs, for health checks and tests
        self._view = WriteViewStore()
        self._scratch = Workspace(self._view)  # only ever used on the worker thread

    def __call__(self, parts: list[tuple[TableDef, pa.Table]]) -> None:
        if self.rules():
            self._worker.submit(self._run, parts)

    def rules(self) -> list[RuleRead]:
        if time.monotonic() - self._read_at > RULES_TTL:
            with self.runtime.database.session() as session:
                enabled = list_rules(session, tenant_id=self.workspace.tenant_id, workspace_id=self.workspace.id,
                                     enabled=True)  # fmt: skip
            self._rules = [r for r in enabled if r.rule.kind is RuleKind.NRT]
            self._read_at = time.monotonic()
        return self._rules

    def wait(self) -> None:
        """Wait for the runs submitted so far (tests; shutting down)."""
        self._worker.submit(lambda: None).result()

    def _run(self, parts: list[tuple[TableDef, pa.Table]]) -> None:
        written = {definition.name: data for definition, data in parts}
        due = [(rule, [t for t in rule.rule.tables if t in written]) for rule in self.rules()]
        due = [(rule, tables) for rule, tables in due if tables]
        if not due:
            return
        read = {t for _, tables in due for t in tables}
        self._view.stage([(definition, data) for definition, data in parts if definition.name in read])
        self._scratch.tables_changed()
        runs = [(rule, _span([written[t] for t in tables])) for rule, tables in due]
        self._view.expose(self._columns_read(runs))
        assessed = [self._assess(rule, window) for rule, window in runs]
        try:
            outcomes = conclude(self.runtime, self.actor, self.workspace, assessed)
        except Exception:
            log.exception("NRT rules of workspace %s could not raise their alerts", self.workspace.id)
            return
        self.outcomes = [*self.outcomes, *outcomes][-100:]

    def _columns_read(self, runs: list[tuple[RuleRead, Window]]) -> dict[str, frozenset[str] | None] | None:
        """The stored columns the rules' queries read, per table (compiling them, which their
        runs then find done): the views of the write need no others. None (every column) when a
        query does not compile without the data (its run then reports why, or reads the data)."""
        try:
            return columns_scanned(self._scratch.prepare(rule.rule.query, now=window.end,
                                                         columns=columns_read(rule.rule))[0] for rule, window in runs)  # fmt: skip
        except WatchkeeperError:
            return None

    def _assess(self, rule: RuleRead, window: Window) -> Assessment:
        return assess(rule, window, kind="nrt", query=rule_query(self._scratch, rule, now=window.end))


def columns_scanned(compiled: Iterable[CompiledQuery]) -> dict[str, frozenset[str] | None]:
    """Per stored table, the columns (SQL names) any of the ``compiled`` queries reads; None when
    one may read any (an open schema)."""
    needed: dict[str, frozenset[str] | None] = {}
    for query in compiled:
        for table, columns in query.scanned:
            known = needed.get(table, frozenset())
            needed[table] = None if known is None or columns is None else known | columns
    return needed


def _span(tables: list[pa.Table]) -> Window:
    times = [t.column("TimeGenerated") for t in tables if "TimeGenerated" in t.column_names]
    now = datetime.now(UTC)
    if not times:
        return Window(now, now)
    column = pa.chunked_array([c for t in times for c in t.chunks], type=times[0].type)
    start, end = pc.min(column).as_py() or now, pc.max(column).as_py() or now
    return Window(start, end + timedelta(microseconds=1))


def attach_near_real_time(runtime: Runtime) -> None:
    """Run NRT rules on every workspace the runtime opens from now on (and those open already)."""

    def attach(record: WorkspaceRead, workspace: Workspace) -> None:
        workspace.on_commit(NearRealTime(runtime, record))

    runtime.workspaces.on_open.append(attach)
    for record, workspace in runtime.workspaces.opened():
        attach(record, workspace)
