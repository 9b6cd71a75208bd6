"""Change-notification subscriptions over HTTP (``graph-security-api.md`` section 7):
``POST/GET /v1.0/subscriptions``, ``GET/PATCH/DELETE /v1.0/subscriptions/{id}``, and the delivery
history ``GET /api/subscriptions/{id}/deliveries``.

The permission is the watched resource's: a token with one of the read roles of any watchable
collection passes the route's check, and the subscription's own collection then decides (403 for a
caller that cannot read it). A subscription belongs to the app that created it: another app's or
another tenant's is not found, as a missing one. Errors answer in Graph's shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for, request_origin
from watchkeeper.api.errors import AuthError, GraphErrors, protocol_router
from watchkeeper.errors import NotFoundError
from watchkeeper.flows.notifications import subscribe
from watchkeeper.identity import Principal
from watchkeeper.notifications import (
    COLLECTIONS,
    Owner,
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionRenewal,
    delete_subscription,
    find_subscription,
    list_deliveries,
    list_subscriptions,
    parse_resource,
    renew_subscription,
)
from watchkeeper.runtime import Runtime

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["subscriptions"])
_WATCH_ROLES = sorted({role for c in COLLECTIONS.values() for role in c.read_roles})
Watcher = Annotated[Principal, Depends(RoleCheck(*_WATCH_ROLES, api="graph"))]
SubscriptionId = Annotated[str, "the subscription's id"]


def _owner(principal: Principal) -> Owner:
    return Owner(principal.tenant_id, principal.client_id, principal.object_id)


def _may_watch(principal: Principal, collection_path: str) -> None:
    needed = COLLECTIONS[collection_path].read_roles
    if not principal.has_any(needed):
        raise AuthError(
            403, "accessDenied", f"watching {collection_path} needs the role {' or '.join(sorted(needed))}"
        )


def _owned(runtime: Runtime, principal: Principal, subscription_id: str) -> SubscriptionRead:
    with runtime.database.session() as session:
        found = find_subscription(session, owner=_owner(principal), subscription_id=subscription_id)
    if found is None:
        raise NotFoundError("subscription", subscription_id)
    _may_watch(principal, found.collection)
    return found


@router.post("/v1.0/subscriptions", operation_id="subscriptions-create", status_code=201)
async def create(
    request: Request, runtime: RuntimeDep, principal: Watcher, body: SubscriptionCreate
) -> dict[str, Any]:
    """Subscribe to changes of alerts or incidents; the notification URL must pass the handshake first."""
    _may_watch(principal, parse_resource(body.resource).collection.path)
    made = await run_in_threadpool(subscribe, runtime, actor_for(principal, request), _owner(principal), body)
    return {
        "@odata.context": f"{request_origin(request)}/v1.0/$metadata#subscriptions/$entity",
        **made.to_json(),
    }


@router.get("/v1.0/subscriptions", operation_id="subscriptions-list")
async def list_all(request: Request, runtime: RuntimeDep, principal: Watcher) -> dict[str, Any]:
    """The calling app's subscriptions in its tenant."""
    with runtime.database.session() as session:
        found = list_subscriptions(session, owner=_owner(principal))
    return {"@odata.context": f"{request_origin(request)}/v1.0/$metadata#subscriptions",
            "value": [s.to_json() for s in found]}  # fmt: skip


@router.get("/v1.0/subscriptions/{subscription_id}", operation_id="subscriptions-get")
async def get_one(
    request: Request, runtime: RuntimeDep, principal: Watcher, subscription_id: SubscriptionId
) -> dict[str, Any]:
    """One of the calling app's subscriptions."""
    found = _owned(runtime, principal, subscription_id)
    return {
        "@odata.context": f"{request_origin(request)}/v1.0/$metadata#subscriptions/$entity",
        **found.to_json(),
    }


@router.patch("/v1.0/subscriptions/{subscription_id}", operation_id="subscriptions-renew")
async def renew(
    request: Request, runtime: RuntimeDep, principal: Watcher, subscription_id: SubscriptionId,
    body: SubscriptionRenewal,
) -> dict[str, Any]:  # fmt: skip
    """Renew a subscription: a new ``expirationDateTime`` (at most 43200 minutes ahead)."""
    _owned(runtime, principal, subscription_id)
    with runtime.database.session() as session:
        renewed = renew_subscription(session, owner=_owner(principal), subscription_id=subscription_id,
                                     expiration=body.expiration, actor=actor_for(principal, request))  # fmt: skip
    if renewed is None:
        raise NotFoundError("subscription", subscription_id)
    return {
        "@odata.context": f"{request_origin(request)}/v1.0/$metadata#subscriptions/$entity",
        **renewed.to_json(),
    }


@router.delete("/v1.0/subscriptions/{subscription_id}", operation_id="subscriptions-delete", status_code=204)
async def remove(
    request: Request, runtime: RuntimeDep, principal: Watcher, subscription_id: SubscriptionId
) -> Response:
    """Delete a subscription; its pending notifications are not sent."""
    _owned(runtime, principal, subscription_id)
    with runtime.database.session() as session:
        delete_subscription(session, owner=_owner(principal), subscription_id=subscription_id,
                            actor=actor_for(principal, request))  # fmt: skip
    return Response(status_code=204)


@router.get("/api/subscriptions/{subscription_id}/deliveries", operation_id="subscriptions-deliveries")
async def deliveries(
    runtime: RuntimeDep, principal: Watcher, subscription_id: SubscriptionId,
    top: Annotated[int, Query(alias="$top", ge=1, le=1000)] = 100,
) -> dict[str, Any]:  # fmt: skip
    """The subscription's notifications, newest first: state, attempts and each attempt's outcome."""
    _owned(runtime, principal, subscription_id)
    with runtime.database.session() as session:
        found = list_deliveries(session, owner=_owner(principal), subscription_id=subscription_id, limit=top)
    return {"value": [d.to_json() for d in found or []]}
