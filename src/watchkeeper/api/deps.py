"""Request dependencies as ``Annotated`` aliases: routes declare what they need, not how to get it.

Every route that touches tenant data declares the roles it needs with :func:`require` (or one of
the aliases below); a test walks the app and checks that none is left open by mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from watchkeeper.api.errors import AuthError
from watchkeeper.api.middleware import identify_caller
from watchkeeper.audit import Actor, record
from watchkeeper.console import CSRF_HEADER, SESSION_COOKIE, find_session
from watchkeeper.console import csrf_matches as console_csrf_matches
from watchkeeper.identity import API_AUDIENCES, InvalidToken, Principal
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import utc_now

__all__ = [
    "AuditReader",
    "KustoReader",
    "LogsReader",
    "RoleCheck",
    "RuntimeDep",
    "SettingsDep",
    "actor_for",
    "request_origin",
    "require",
]


def get_runtime(request: Request) -> Runtime:
    """The server's runtime (built by ``create_app``)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def request_origin(request: Request) -> str:
    """``scheme://host[:port]`` as the client addressed this server."""
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def actor_for(principal: Principal, request: Request) -> Actor:
    """The audit actor of a verified caller."""
    return Actor(
        principal.kind, principal.client_id, principal.tenant_id, getattr(request.state, "request_id", None)
    )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthError(401, "InvalidAuthenticationToken", "Access token is empty.")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "InvalidAuthenticationToken", "the Authorization header is not a Bearer token")
    return token.strip()


class RoleCheck:
    """A dependency: the request's verified principal, holding at least one of ``roles``, with a
    token issued for ``api`` (see :data:`~watchkeeper.identity.API_AUDIENCES`) or for this server."""

    def __init__(self, *roles: str, api: str) -> None:
        if not roles:
            raise ValueError("a route must name the roles it needs")
        if api not in API_AUDIENCES:
            raise ValueError(f"unknown API {api!r}; one of {sorted(API_AUDIENCES)}")
        self.roles = frozenset(roles)
        self.api = api
        self.audiences = API_AUDIENCES[api]

    def __call__(self, request: Request, runtime: RuntimeDep) -> Principal:
        principal = self._caller(request, runtime)
        identify_caller(request, tenant_id=principal.tenant_id, client_id=principal.client_id)
        if not principal.has_any(self.roles):
            self._audit_denial(runtime, principal, request)
            needed = " or ".join(sorted(self.roles))
            raise AuthError(
                403, "accessDenied", f"the caller's token lacks the role this operation needs: {needed}"
            )
        return principal

    def _caller(self, request: Request, runtime: Runtime) -> Principal:
        """The Bearer token's principal; without an Authorization header, a console session's."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and "authorization" not in request.headers:
            return self._console_user(request, runtime, cookie)
        audiences = set(self.audiences) | {request_origin(request)}
        try:
            return runtime.tokens.verify(_bearer_token(request), audiences=audiences)
        except InvalidToken as exc:
            raise AuthError(401, "InvalidAuthenticationToken", str(exc)) from None

    def _console_user(self, request: Request, runtime: Runtime, cookie: str) -> Principal:
        """A console session's user in the session's active tenant, with the roles held there (at
        home the user's own; in a customer tenant only the delegated ones, the delegation read
        again on every request); a request that may change something must carry the session's
        CSRF token (the cookie alone could be a forged request's)."""
        with runtime.database.session() as session:
            user = find_session(session, token=cookie, now=utc_now())
        if user is None:
            raise AuthError(401, "InvalidAuthenticationToken", "the console session has ended; sign in again")
        principal = user.principal()
        if request.method not in _SAFE_METHODS and not console_csrf_matches(
            user.csrf_token, request.headers.get(CSRF_HEADER)
        ):
            self._audit_denial(runtime, principal, request, reason="missing or wrong CSRF token")
            raise AuthError(403, "accessDenied", f"a console request that changes something needs the "
                                                 f"session's CSRF token in the {CSRF_HEADER} header")  # fmt: skip
        return principal

    def _audit_denial(
        self, runtime: Runtime, principal: Principal, request: Request, reason: str = "role"
    ) -> None:
        detail: dict[str, object] = {"needs": sorted(self.roles)} if reason == "role" else {"reason": reason}
        with runtime.database.session() as session:
            record(session, actor=actor_for(principal, request), action="request.denied", outcome="denied",
                   target=f"{request.method} {request.url.path}", detail=detail)  # fmt: skip


def require(*roles: str, api: str) -> Callable[..., Principal]:
    """A dependency demanding one of ``roles`` on ``api``; use as
    ``Annotated[Principal, Depends(require(..., api=...))]``."""
    return RoleCheck(*roles, api=api)


LogsReader = Annotated[Principal, Depends(RoleCheck("Data.Read", api="log-analytics"))]
KustoReader = Annotated[Principal, Depends(RoleCheck("Data.Read", api="kusto"))]
AuditReader = Annotated[Principal, Depends(RoleCheck("AuditLog.Read.All", api="graph"))]
