"""Detections over HTTP: ``GET /api/coverage?workspace=...`` (role ``SecurityAlert.Read.All``),
the ATT&CK coverage of a workspace's enabled rules as ``wk coverage --format json`` prints it:
tactics and techniques with the rules covering them, and for each rule whether its tables receive
data and whether its tests pass. The workspace is the caller's tenant's (id or name); another
tenant's is not found. Errors answer in Graph's shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.flows import resolve_workspace
from watchkeeper.flows.coverage import coverage
from watchkeeper.identity import Principal

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["detections"])
AlertReader = Annotated[Principal, Depends(RoleCheck("SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All",
                                                     api="graph"))]  # fmt: skip


@router.get("/api/coverage", operation_id="detections-coverage")
async def get_coverage(
    request: Request,
    runtime: RuntimeDep,
    principal: AlertReader,
    workspace: Annotated[str, Query(min_length=1, max_length=128, description="The workspace (id or name).")],
) -> dict[str, Any]:
    """ATT&CK coverage of the workspace's enabled rules."""
    found = resolve_workspace(runtime, actor_for(principal, request), workspace)
    result = await run_in_threadpool(coverage, runtime, found)
    return result.to_json()
