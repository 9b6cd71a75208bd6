"""An incident's tasks (Sentinel's incident tasks; Graph has no tasks resource, so they live under
``/api``): ``GET /api/incidents/{id}/tasks`` (``{"value": [task, ...]}``, oldest first),
``POST /api/incidents/{id}/tasks`` (``{"title"}`` -> 201 with the task) and
``PATCH /api/incidents/{id}/tasks/{taskId}`` (``title``, ``status`` ``New``/``Completed`` -> 200
with the task). A task is ``{id, incidentId, title, status, createdBy, createdDateTime}``.

Roles as for Graph's incidents: ``SecurityIncident.Read.All`` or ``.ReadWrite.All`` to read,
``SecurityIncident.ReadWrite.All`` to change. The incident is the caller's tenant's, by id:
another tenant's is ``itemNotFound``, as a missing one. Errors in Graph's shape; every change is
audited and on the incident's timeline (:mod:`watchkeeper.cases.tasks`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Request
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.cases.tasks import change_task, create_task, list_tasks
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.identity import Principal

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["incident-tasks"])

TaskReader = Annotated[Principal, Depends(RoleCheck("SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All",
                                                    api="graph"))]  # fmt: skip
TaskWriter = Annotated[Principal, Depends(RoleCheck("SecurityIncident.ReadWrite.All", api="graph"))]
JsonObject = Annotated[Any, Body()]


def _ref(incident_id: str) -> str:
    # by id only, as Graph's incidents: a number names an incident only within one workspace
    if incident_id.isdigit():
        raise NotFoundError("incident", incident_id)
    return incident_id


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequestError(f"the body must be a JSON object: {what}")
    return body


@router.get("/api/incidents/{incident_id}/tasks", operation_id="incident-tasks-list")
def list_incident_tasks(runtime: RuntimeDep, principal: TaskReader, incident_id: str) -> dict[str, Any]:
    """The incident's tasks, oldest first."""
    with runtime.database.reading() as session:
        tasks = list_tasks(session, tenant_id=principal.tenant_id, ref=_ref(incident_id))
    if tasks is None:
        raise NotFoundError("incident", incident_id)
    return {"value": [t.to_json() for t in tasks]}


@router.post("/api/incidents/{incident_id}/tasks", operation_id="incident-tasks-create", status_code=201)
def add_incident_task(
    request: Request, runtime: RuntimeDep, principal: TaskWriter, incident_id: str, body: JsonObject
) -> JSONResponse:
    """Add a task (``{"title": "..."}``); 201 with it."""
    title = _object(body, '{"title": "..."}').get("title")
    with runtime.database.session() as session:
        task = create_task(session, tenant_id=principal.tenant_id, ref=_ref(incident_id), title=title,
                           actor=actor_for(principal, request))  # fmt: skip
    if task is None:
        raise NotFoundError("incident", incident_id)
    return JSONResponse(task.to_json(), status_code=201)


@router.patch("/api/incidents/{incident_id}/tasks/{task_id}", operation_id="incident-tasks-update")
def update_incident_task(
    request: Request,
    runtime: RuntimeDep,
    principal: TaskWriter,
    incident_id: str,
    task_id: str,
    body: JsonObject,
) -> dict[str, Any]:
    """Rename a task or complete/reopen it (``status`` ``Completed``/``New``); 200 with it."""
    changes = _object(body, "the task's title and/or status")
    with runtime.database.session() as session:
        task = change_task(session, tenant_id=principal.tenant_id, ref=_ref(incident_id), task_id=task_id,
                           changes=changes, actor=actor_for(principal, request))  # fmt: skip
    if task is None:
        raise NotFoundError("task", task_id)
    return task.to_json()
