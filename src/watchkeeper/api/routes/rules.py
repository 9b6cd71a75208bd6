"""A workspace's analytics rules over HTTP, for analysts and scripts (and the console's rules page):

* ``GET /api/rules?workspace=`` every rule with its settings, latest run, last 24 hours' hits and
  failing streak; ``GET /api/rules/{id}`` one rule with its query and latest runs;
* ``POST /api/rules/{id}/enable`` / ``disable``; ``POST /api/rules/{id}/run``: one run now over the
  rule's lookback window, through the scheduler's flow, answered with what it did;
* ``GET /api/rules/{id}/tests``: the tests the rule's file carries; ``POST /api/rules/{id}/tests/run``:
  their results as ``wk rules test`` computes them.

``{id}`` is the rule's library id or its format's id (Sentinel/Sigma GUID). Reading needs
``SecurityAlert.Read.All`` or ``SecurityAlert.ReadWrite.All``; changing and running,
``SecurityAlert.ReadWrite.All`` (Graph permissions, as for the alerts rules raise). The workspace
(``?workspace=``, id or name) is the caller's tenant's; another tenant's workspace or rule is not
found, as a missing one. Errors answer in Graph's shape. Every change and run is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.directory import WorkspaceRead
from watchkeeper.errors import NotFoundError
from watchkeeper.flows import resolve_workspace
from watchkeeper.flows.rule_status import (
    outcome_json,
    rule_detail,
    rule_statuses,
    rule_tests,
    run_now,
    switch_rule,
)
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["rules"])
RuleReader = Annotated[Principal, Depends(RoleCheck("SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All",
                                                    api="graph"))]  # fmt: skip
RuleWriter = Annotated[Principal, Depends(RoleCheck("SecurityAlert.ReadWrite.All", api="graph"))]
WorkspaceParam = Annotated[
    str, Query(min_length=1, max_length=128, description="The workspace (id or name).")
]
RuleParam = Annotated[str, Path(min_length=1, max_length=128, description="Library id or the rule's own id.")]


def _workspace(runtime: Runtime, principal: Principal, request: Request, ref: str) -> WorkspaceRead:
    return resolve_workspace(runtime, actor_for(principal, request), ref)


def _found(value: Any, rule: str) -> Any:
    if value is None:
        raise NotFoundError("rule", rule)
    return value


@router.get("/api/rules", operation_id="rules-list")
async def list_rules(
    request: Request, runtime: RuntimeDep, principal: RuleReader, workspace: WorkspaceParam
) -> dict[str, Any]:
    """The workspace's rules by name, with how their runs went."""
    found = _workspace(runtime, principal, request, workspace)
    statuses = await run_in_threadpool(rule_statuses, runtime, found)
    return {"workspace": found.id, "value": [s.to_json() for s in statuses]}


@router.get("/api/rules/{rule}", operation_id="rules-get")
async def get_rule(
    request: Request, runtime: RuntimeDep, principal: RuleReader, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """One rule, with its query and latest runs."""
    found = _workspace(runtime, principal, request, workspace)
    return dict(_found(await run_in_threadpool(rule_detail, runtime, found, rule), rule))


async def _switch(request: Request, runtime: Runtime, principal: Principal, workspace: str, rule: str,
                  enabled: bool) -> dict[str, Any]:  # fmt: skip
    found = _workspace(runtime, principal, request, workspace)
    actor = actor_for(principal, request)
    status = await run_in_threadpool(switch_rule, runtime, actor, found, rule, enabled=enabled)
    return dict(_found(status, rule).to_json())


@router.post("/api/rules/{rule}/enable", operation_id="rules-enable")
async def enable_rule(
    request: Request, runtime: RuntimeDep, principal: RuleWriter, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """Enable the rule: the scheduler (or the ingestion writer, for NRT rules) runs it."""
    return await _switch(request, runtime, principal, workspace, rule, True)


@router.post("/api/rules/{rule}/disable", operation_id="rules-disable")
async def disable_rule(
    request: Request, runtime: RuntimeDep, principal: RuleWriter, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """Disable the rule."""
    return await _switch(request, runtime, principal, workspace, rule, False)


@router.post("/api/rules/{rule}/run", operation_id="rules-run")
async def run_rule_now(
    request: Request, runtime: RuntimeDep, principal: RuleWriter, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """Run the rule now over its lookback window (disabled rules too): its hits, the alerts it raised,
    or why it failed (a failed run is still 200: the run happened and is recorded)."""
    found = _workspace(runtime, principal, request, workspace)
    outcome = await run_in_threadpool(run_now, runtime, actor_for(principal, request), found, rule)
    return outcome_json(_found(outcome, rule))


@router.get("/api/rules/{rule}/tests", operation_id="rules-tests")
async def list_rule_tests(
    request: Request, runtime: RuntimeDep, principal: RuleReader, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """The tests the rule's file carries (not run: ``passed`` is null)."""
    found = _workspace(runtime, principal, request, workspace)
    actor = actor_for(principal, request)
    tests = await run_in_threadpool(lambda: rule_tests(runtime, actor, found, rule, run=False))
    return {"value": _found(tests, rule)}


@router.post("/api/rules/{rule}/tests/run", operation_id="rules-tests-run")
async def run_rule_tests(
    request: Request, runtime: RuntimeDep, principal: RuleReader, workspace: WorkspaceParam, rule: RuleParam
) -> dict[str, Any]:
    """Run the rule's tests, each on a fresh in-memory workspace; each one's result."""
    found = _workspace(runtime, principal, request, workspace)
    actor = actor_for(principal, request)
    tests = await run_in_threadpool(lambda: rule_tests(runtime, actor, found, rule, run=True))
    return {"value": _found(tests, rule)}
