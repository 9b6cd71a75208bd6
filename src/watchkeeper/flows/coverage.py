"""ATT&CK coverage of a workspace's enabled rules: which tactics and techniques they cover, and for
each rule whether the tables it reads receive data and whether its own tests pass, so a gap in
coverage (no rule) and a gap in data (a rule with nothing to read) both show."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchkeeper.detections.library import RuleRead, list_rules
from watchkeeper.detections.models import TACTICS
from watchkeeper.directory import WorkspaceRead
from watchkeeper.flows.rule_tests import run_rule_tests
from watchkeeper.runtime import Runtime
from watchkeeper.workspace import Workspace

__all__ = ["Coverage", "RuleCoverage", "coverage"]

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class RuleCoverage:
    rule: RuleRead
    tables_with_data: tuple[str, ...]
    tables_without_data: tuple[str, ...]
    tests: str  # passed, failed, none

    def to_json(self) -> dict[str, Any]:
        r = self.rule.rule
        return {"id": self.rule.rule_id, "name": self.rule.name, "tactics": list(r.tactics),
                "techniques": list(r.techniques), "tablesWithData": list(self.tables_with_data),
                "tablesWithoutData": list(self.tables_without_data), "tests": self.tests}  # fmt: skip


@dataclass
class Coverage:
    """Tactic -> technique -> ids of the enabled rules covering it, and each rule's readiness."""

    tactics: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    rules: list[RuleCoverage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "tactics": [{"tactic": tactic, "rules": len({r for ids in techniques.values() for r in ids}),
                         "techniques": [{"technique": t, "rules": ids} for t, ids in sorted(techniques.items())]}
                        for tactic, techniques in self.tactics.items()],
            "rules": [r.to_json() for r in self.rules],
        }  # fmt: skip


def coverage(runtime: Runtime, workspace: WorkspaceRead) -> Coverage:
    """The coverage of ``workspace``'s enabled rules (tactics in ATT&CK's order)."""
    with runtime.database.session() as session:
        rules = list_rules(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, enabled=True)
    ws = runtime.workspaces.get(workspace)
    stored = ws.store.stored_tables()
    found = Coverage(tactics={t: {} for t in TACTICS})
    for rule in rules:
        for tactic in rule.rule.tactics or ("Uncategorized",):
            techniques = found.tactics.setdefault(tactic, {})
            for technique in rule.rule.techniques or ("(none)",):
                techniques.setdefault(technique, []).append(rule.rule_id)
        with_data = tuple(t for t in rule.rule.tables if t in stored and _has_rows(ws, t))
        without = tuple(t for t in rule.rule.tables if t not in with_data)
        found.rules.append(RuleCoverage(rule, with_data, without, _tests(rule)))
    found.tactics = {t: techniques for t, techniques in found.tactics.items() if techniques}
    return found


def _has_rows(ws: Workspace, table: str) -> bool:
    if not _TABLE.fullmatch(table):  # a name from a rule file: only a plain identifier is queried
        return False
    return bool(ws.query(f"{table} | take 1").rows)


def _tests(rule: RuleRead) -> str:
    if not rule.rule.tests:
        return "none"
    outcomes = run_rule_tests(rule.rule, Path(rule.rule.origin).parent)
    return "passed" if all(o.passed for o in outcomes) else "failed"
