"""The demo's detections: analytics rules that find the attacks ``wk demo`` hides, imported into the
demo workspace and run once over its 30 days, so that a new install opens on alerts and incidents
to work (``make run``). The rules are ordinary Sentinel analytics rule files shipped with the
package (``watchkeeper/demo/rules``); the scheduler keeps running them on new data like any other."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import watchkeeper.demo
from watchkeeper.audit import Actor
from watchkeeper.directory import WorkspaceRead
from watchkeeper.flows.detections import RuleRunOutcome, import_rules, run_rules_over
from watchkeeper.runtime import Runtime

__all__ = ["DEMO_RULES", "enable_demo_detections"]

DEMO_RULES = Path(watchkeeper.demo.__file__).parent / "rules"


def enable_demo_detections(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, start: datetime, end: datetime
) -> list[RuleRunOutcome]:
    """Import the demo rules into ``workspace``; the first time, hunt ``[start, end)`` with them
    (later calls only refresh the rules, so an analyst's work on the incidents is never doubled)."""
    _, saved = import_rules(runtime, actor, workspace, "sentinel", DEMO_RULES)
    if not saved.created:
        return []
    return run_rules_over(runtime, actor, workspace, start, end)
