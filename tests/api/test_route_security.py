"""Every route of the API declares the roles it needs and the API whose tokens it accepts, except
the few that are public by nature (the landing page, health, the token service and its discovery
documents, the API description)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tests.api.conftest import Platform
from watchkeeper.api.app import ROUTERS
from watchkeeper.api.deps import RoleCheck

# routes whose credential is a workspace's shared key (an HMAC signature of the request), not a
# token: the HTTP Data Collector API; its signature checks are tested in test_data_collector.py
SHARED_KEY = {"data-collector-post"}
# operation ids of the routes that need no token: they serve no tenant data, or are signed with a key
PUBLIC = SHARED_KEY | {
    "home-get",
    "health-get",
    "health-ready",
    "identity-token",
    "identity-discovery",
    "identity-keys",
    "kusto-auth-metadata",
    "cloud-endpoints",
    # the console's sign-in, sign-out, page shells and static files: no tenant data (the pages'
    # scripts read it from the routes above with the session; tests/console checks them)
    "console-home",
    "console-login-page",
    "console-login",
    "console-logout",
    # the tenant switch acts on the session only (its CSRF token, the user's delegations checked)
    "console-switch-tenant",
    "console-asset",
}


# every other console route is a page shell (operation id ``console-page-...``): HTML that names its
# script and carries no tenant data; without a session it redirects to the sign-in form
CONSOLE_SHELL = "console-page-"


def _role_checks(dependant: Dependant) -> list[RoleCheck]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, RoleCheck)]
    for sub in dependant.dependencies:
        found += _role_checks(sub)
    return found


def _routes_of(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, within included routers too (a router that includes another holds it as
    one route whose ``original_router`` has the routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _routes_of(included.routes)


def api_routes() -> list[APIRoute]:
    """Every route the application serves (each route module's router is included in the app)."""
    return [route for module in ROUTERS for route in _routes_of(module.router.routes)]


def test_every_route_declares_its_roles_or_is_public() -> None:
    routes = api_routes()
    assert len(routes) >= 8
    open_routes = []
    for route in routes:
        checks = _role_checks(route.dependant)
        if route.operation_id in PUBLIC:
            assert not checks, f"{route.operation_id} is listed as public but checks roles"
        elif route.operation_id.startswith(CONSOLE_SHELL):
            assert route.methods == {"GET"}, route.operation_id
            assert route.path.startswith("/console/"), route.operation_id
            assert route.response_class is HTMLResponse, f"{route.operation_id} is not an HTML shell"
        elif not checks or any(not check.roles or not check.audiences for check in checks):
            open_routes.append(f"{sorted(route.methods)} {route.path} ({route.operation_id})")
    assert open_routes == []


def test_operation_ids_are_tag_dash_name_and_unique(platform: Platform) -> None:
    seen = set()
    for route in api_routes():
        assert route.operation_id, route.path
        assert route.tags, route.path
        assert route.operation_id.startswith(f"{route.tags[0]}-"), route.operation_id
        assert route.operation_id not in seen, route.operation_id
        seen.add(route.operation_id)
    spec = httpx.get(f"{platform.url}/openapi.json").json()
    served = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert seen - {"home-get"} <= served
