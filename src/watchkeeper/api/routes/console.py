"""The console's own routes: sign-in and sign-out, the page shells and their static files.

Pages hold no tenant data: their scripts read and change incidents through the public Graph routes
with the session cookie (``deps.RoleCheck`` accepts it in place of a Bearer token, with the user's
roles, and asks state-changing requests for the session's CSRF token). Without a live session a
page redirects to the sign-in form.

Cookies: the session's is ``HttpOnly``, ``SameSite=Strict``, ``Path=/`` and ``Secure`` when served
over TLS. The sign-in form is protected by a double-submit token (a cookie and a form field that
must match); sign-out by the session's CSRF token.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from watchkeeper.api.deps import RuntimeDep, request_origin
from watchkeeper.api.errors import protocol_router, request_ids
from watchkeeper.console import (
    ASSETS,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SessionUser,
    asset,
    csrf_matches,
    find_session,
    render_page,
    sign_in,
    sign_out,
)
from watchkeeper.console.service import refuse_switch, switch_tenant
from watchkeeper.directory import list_workspaces
from watchkeeper.errors import NotFoundError, WatchkeeperError
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now

__all__ = ["ConsoleErrors", "router", "shell", "signed_in", "to_login", "workspace_choices"]


class ConsoleErrors:
    """Failures of the console's own routes as a short HTML page (never a traceback)."""

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        page = render_page("error.html", title="Error", message=str(exc), request_id=request_ids(request)[0])
        return _html(page, status)


router = protocol_router(ConsoleErrors(), tags=["console"])

LOGIN_CSRF_COOKIE = "wk_console_login"
# pages run only our own scripts and styles, and are framed by no one
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
FormText = Annotated[str, Form()]
NextForm = Annotated[str, Form(alias="next")]
NextQuery = Annotated[str, Query(alias="next")]


def _html(page: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def _secure(request: Request, runtime: Runtime) -> bool:
    return request.url.scheme == "https" or runtime.settings.tls


def signed_in(request: Request, runtime: Runtime) -> SessionUser | None:
    """The user of the request's live console session, or None (no cookie, expired, signed out)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with runtime.database.session() as session:
        return find_session(session, token=token, now=utc_now())


def _local_next(target: str) -> str:
    """Where to go after signing in: only a console path of this server (no open redirect)."""
    return (
        target
        if target.startswith("/console/") and not target.startswith("/console//")
        else "/console/incidents"
    )


def to_login(request: Request) -> RedirectResponse:
    """To the sign-in form, coming back to this page after."""
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
    return RedirectResponse(f"/console/login?next={target}", status_code=303)


def shell(user: SessionUser, template: str, *, title: str, script: str, **values: str) -> HTMLResponse:
    """A page shell for a signed-in user: the template (values escaped), the nav (with the tenant
    switcher when the user may work in other tenants) and the page's module."""
    tenants = [(choice.id, choice.name) for choice in user.choices]
    return _html(render_page(template, title=title, user=user.caller, csrf=user.csrf_token, script=script,
                             tenant_choices=tenants, active_tenant=user.tenant_id, **values))  # fmt: skip


def workspace_choices(runtime: Runtime, user: SessionUser) -> str:
    """The active tenant's workspaces as JSON (``[{"id", "name"}]``) for a page's workspace picker."""
    with runtime.database.session() as session:
        found = list_workspaces(session, tenant_id=user.tenant_id)
    return json.dumps([{"id": w.id, "name": w.name} for w in found])


@router.get("/console", operation_id="console-home", response_class=RedirectResponse)
def console_home() -> RedirectResponse:
    """The console's start: the incidents queue."""
    return RedirectResponse("/console/incidents", status_code=303)


def _login_page(request: Request, runtime: Runtime, *, tenant: str, username: str, next_: str,
                error: str = "", status: int = 200) -> HTMLResponse:  # fmt: skip
    token = secrets.token_urlsafe(32)
    page = render_page("login.html", title="Sign in", error=error, login_csrf=token, next=_local_next(next_),
                       tenant=tenant, username=username)  # fmt: skip
    response = _html(page, status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/console", httponly=True,
                        samesite="strict", secure=_secure(request, runtime))  # fmt: skip
    return response


@router.get("/console/login", operation_id="console-login-page", response_class=HTMLResponse)
def login_page(
    request: Request, runtime: RuntimeDep, tenant: str = "", next_: NextQuery = ""
) -> HTMLResponse:
    """The sign-in form (``?tenant=`` fills in the tenant, ``?next=`` is the page to go to after)."""
    return _login_page(request, runtime, tenant=tenant[:128], username="", next_=next_)


@router.post("/console/login", operation_id="console-login", response_class=HTMLResponse)
def login(request: Request, runtime: RuntimeDep, tenant: FormText = "", username: FormText = "",
          password: FormText = "", csrf: FormText = "", next_: NextForm = "") -> Response:  # fmt: skip
    """Sign in: a session cookie and a redirect on success; the form again, with the reason, if not."""
    again = {"tenant": tenant[:128], "username": username[:256], "next_": next_}
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE) or "", csrf or None) or not csrf:
        return _login_page(request, runtime, **again, status=403,
                           error="The sign-in form expired or came from another site; please sign in again.")  # fmt: skip
    with runtime.database.session() as session:
        outcome = sign_in(session, tenant=tenant, username=username, password=password, now=utc_now(),
                          request_id=request_ids(request)[0])  # fmt: skip
    if outcome.token is None:
        return _login_page(request, runtime, **again, error=outcome.refusal or "", status=401)
    response = RedirectResponse(_local_next(next_), status_code=303)
    response.set_cookie(SESSION_COOKIE, outcome.token, max_age=int(SESSION_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=_secure(request, runtime))  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/console/logout", operation_id="console-logout", response_class=RedirectResponse)
def logout(request: Request, runtime: RuntimeDep, csrf: FormText = "") -> RedirectResponse:
    """Sign out (the session's CSRF token in the form); back to the sign-in form either way."""
    user = signed_in(request, runtime)
    token = request.cookies.get(SESSION_COOKIE)
    if user is not None and token and csrf_matches(user.csrf_token, csrf or None):
        with runtime.database.session() as session:
            sign_out(session, token=token, request_id=request_ids(request)[0])
    elif user is not None:
        return RedirectResponse("/console/incidents", status_code=303)  # a forged sign-out changes nothing
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/console/tenant", operation_id="console-switch-tenant", response_class=RedirectResponse)
def switch_tenant_route(
    request: Request, runtime: RuntimeDep, tenant: FormText = "", csrf: FormText = ""
) -> Response:
    """Work in another tenant: the user's own or a customer tenant the user holds a delegation into
    (checked here, and again on every request after). Needs the session's CSRF token; back to the
    page the switch was made on. Any other tenant is refused (403) and audited."""
    user = signed_in(request, runtime)
    token = request.cookies.get(SESSION_COOKIE)
    if user is None or not token:
        return to_login(request)
    if not csrf_matches(user.csrf_token, csrf or None):  # perhaps a forged request: refused and audited
        with runtime.database.session() as session:
            refuse_switch(session, user=user, tenant_id=tenant, reason="without the session's CSRF token",
                          request_id=request_ids(request)[0])  # fmt: skip
        return _refused(
            request, "The switch came without this session's token; reload the page and try again."
        )
    with runtime.database.session() as session:
        switched = switch_tenant(session, token=token, tenant_id=tenant[:64], now=utc_now(),
                                 request_id=request_ids(request)[0])  # fmt: skip
    if switched is None:
        return _refused(request, "You have no access to that tenant.")
    return RedirectResponse(_same_page(request), status_code=303)


def _refused(request: Request, message: str) -> HTMLResponse:
    page = render_page("error.html", title="Not allowed", message=message, request_id=request_ids(request)[0])
    return _html(page, 403)


def _same_page(request: Request) -> str:
    """The console page the request came from (its Referer, when it is this server's), to reload it."""
    referer = urlsplit(request.headers.get("referer", ""))
    same = f"{referer.scheme}://{referer.netloc}".lower() == request_origin(request)
    return (
        _local_next(referer.path + (f"?{referer.query}" if referer.query else ""))
        if same
        else _local_next("")
    )


@router.get("/console/incidents", operation_id="console-page-incidents", response_class=HTMLResponse)
def incidents_page(request: Request, runtime: RuntimeDep) -> Response:
    """The incidents queue (data from ``GET /v1.0/security/incidents``)."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "incidents.html", title="Incidents", script="incidents.js")


@router.get(
    "/console/incidents/{incident_id}", operation_id="console-page-incident", response_class=HTMLResponse
)
def incident_page(request: Request, runtime: RuntimeDep, incident_id: str) -> Response:
    """One incident (data from ``GET /v1.0/security/incidents/{id}?$expand=alerts``)."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "incident.html", title="Incident", script="incident.js", incident_id=incident_id[:128])


@router.get("/console/hunting", operation_id="console-page-hunting", response_class=HTMLResponse)
def hunting_page(request: Request, runtime: RuntimeDep) -> Response:
    """The hunting editor (queries through ``POST /v1/workspaces/{id}/query``, completion from
    ``GET /v1/workspaces/{id}/metadata``); the shell names the user's own tenant's workspaces."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "hunting.html", title="Hunting", script="hunting.js",
                 workspaces=workspace_choices(runtime, user))  # fmt: skip


@router.get("/console/static/{name}", operation_id="console-asset")
def static_file(name: str) -> Response:
    """A stylesheet or script of the console (public: no tenant data)."""
    body = asset(name)
    if body is None:
        raise NotFoundError("console file", name)
    return Response(
        body,
        media_type=ASSETS[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
