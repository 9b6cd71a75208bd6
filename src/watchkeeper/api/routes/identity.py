"""The token service's routes, as Entra ID serves them:

* ``POST /{tenant}/oauth2/v2.0/token``: client credentials (secret in the form or HTTP Basic);
* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and the JWKS it points at.

``{tenant}`` is the tenant's id or name. These routes are public by nature; every issuance and
every refusal is audited.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RuntimeDep, request_origin
from watchkeeper.api.middleware import identify_caller
from watchkeeper.api.protocols.oauth import OAuthFailure, openid_configuration, token_body
from watchkeeper.audit import Actor, record
from watchkeeper.directory import TenantRead, authenticate_app, find_tenant
from watchkeeper.identity import audience_for_scope
from watchkeeper.runtime import Runtime

__all__ = ["router"]

router = APIRouter(tags=["identity"])


# a client-credentials request is a few hundred bytes; anything near this is not one
_TOKEN_REQUEST_LIMIT = 64 * 1024
_FORM_FIELDS = ("grant_type", "scope", "client_id", "client_secret")


async def token_form(request: Request) -> dict[str, str]:
    """The token request's form fields. Entra ID reads the body as a form whatever its
    ``Content-Type`` says, and clients rely on it (msticpy's OData drivers send none)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=0, max_fields=len(_FORM_FIELDS) * 2)
        return {key: value for key, value in form.items() if isinstance(value, str)}
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _TOKEN_REQUEST_LIMIT:
            raise OAuthFailure(400, "invalid_request", 90014, "The token request is too large.")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise OAuthFailure(400, "invalid_request", 90014, "The token request is not a valid form.") from None


_FORM_DOC = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["grant_type", "client_id", "scope"],
    "properties": {name: {"type": "string"} for name in _FORM_FIELDS}}}}}}  # fmt: skip


@router.post("/{tenant}/oauth2/v2.0/token", operation_id="identity-token", openapi_extra=_FORM_DOC)
async def issue_token(tenant: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """An access token for an app (OAuth2 client credentials grant)."""
    request_id = getattr(request.state, "request_id", "")
    form: dict[str, str] = {}
    try:
        form = await token_form(request)
    except OAuthFailure as failure:
        await run_in_threadpool(_audit_refusal, runtime, request, tenant, None, failure)
        return failure.response(request_id)
    # checking a secret (argon2) and signing take real CPU: off the event loop
    return await run_in_threadpool(_answer_token_request, runtime, request, tenant, form)


def _answer_token_request(
    runtime: Runtime, request: Request, tenant: str, form: dict[str, str]
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "")
    client_id = form.get("client_id")
    try:
        found = _tenant(runtime, tenant)
        client_id, client_secret = _client_credentials(request, client_id, form.get("client_secret"))
        if form.get("grant_type", "") != "client_credentials":
            raise OAuthFailure(400, "unsupported_grant_type", 70003,
                               "The app requested an unsupported grant type; only client_credentials is supported.")  # fmt: skip
        scope = form.get("scope", "")
        audience = audience_for_scope(scope, {request_origin(request)})
        if audience is None:
            raise OAuthFailure(400, "invalid_scope", 1002012,
                               f"The provided value for scope {scope!r} is not valid. Client credential flows "
                               "must have a scope value with /.default suffixed to the resource identifier.")  # fmt: skip
        return _issue(runtime, request, found, client_id, client_secret, audience)
    except OAuthFailure as failure:
        _audit_refusal(runtime, request, tenant, client_id, failure)
        return failure.response(request_id)


def _tenant(runtime: Runtime, ref: str) -> TenantRead:
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise OAuthFailure(400, "invalid_request", 90002, f"Tenant '{ref}' not found.")
    return found


def _client_credentials(request: Request, client_id: str | None, secret: str | None) -> tuple[str, str]:
    """From the form (client_secret_post) or the Authorization header (client_secret_basic)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthFailure(
                401, "invalid_client", 7000215, "The client credentials are malformed."
            ) from None
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = unquote(basic_id), unquote(basic_secret)
    if not client_id:
        raise OAuthFailure(
            400, "invalid_request", 900144, "The request body must contain the parameter: 'client_id'."
        )
    if not secret:
        raise OAuthFailure(401, "invalid_client", 7000218,
                           "The request body must contain the parameter: 'client_assertion' or 'client_secret'.")  # fmt: skip
    return client_id, secret


def _issue(
    runtime: Runtime, request: Request, tenant: TenantRead, client_id: str, secret: str, audience: str
) -> JSONResponse:
    with runtime.database.session() as session:
        app = authenticate_app(session, tenant_id=tenant.id, client_id=client_id, secret=secret)
    if app is None:
        # the same answer for an unknown client and a wrong secret: nothing to enumerate
        raise OAuthFailure(401, "invalid_client", 7000215,
                           "Invalid client secret provided, or no such application in this tenant.")  # fmt: skip
    identify_caller(request, tenant_id=tenant.id, client_id=app.client_id)
    issuer = f"{request_origin(request)}/{tenant.id}/v2.0"
    token = runtime.tokens.issue(issuer=issuer, tenant_id=tenant.id, client_id=app.client_id, object_id=app.id,
                                 roles=app.roles, audience=audience)  # fmt: skip
    with runtime.database.session() as session:
        actor = Actor("app", app.client_id, tenant.id, getattr(request.state, "request_id", None))
        record(session, actor=actor, action="token.issue", outcome="success", target=audience,
               detail={"roles": app.roles})  # fmt: skip
    return token_body(token, runtime.tokens.lifetime)


def _audit_refusal(
    runtime: Runtime, request: Request, tenant_ref: str, client_id: str | None, failure: OAuthFailure
) -> None:
    with runtime.database.session() as session:
        tenant = find_tenant(session, ref=tenant_ref)
        actor = Actor("app", (client_id or "")[:64] or "(none)", tenant.id if tenant else None,
                      getattr(request.state, "request_id", None))  # fmt: skip
        record(session, actor=actor, action="token.issue", outcome="denied", target=None,
               detail={"error": failure.error, "aadsts": failure.aadsts})  # fmt: skip


@router.get("/{tenant}/v2.0/.well-known/openid-configuration", operation_id="identity-discovery")
def get_openid_configuration(tenant: str, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """OpenID Connect discovery for one tenant (404 for a tenant that does not exist)."""
    found = _tenant_or_404(runtime, tenant)
    return openid_configuration(request_origin(request), found.id)


@router.get("/{tenant}/discovery/v2.0/keys", operation_id="identity-keys")
def get_keys(tenant: str, runtime: RuntimeDep) -> dict[str, Any]:
    """The public signing keys (JWKS); the same for every tenant of this server."""
    if tenant != "common":
        _tenant_or_404(runtime, tenant)
    return runtime.keys.jwks()


def _tenant_or_404(runtime: Runtime, ref: str) -> TenantRead:
    from watchkeeper.errors import NotFoundError

    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise NotFoundError("tenant", ref)
    return found
