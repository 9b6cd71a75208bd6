"""The token endpoint's wire shapes, as Entra ID v2 answers (``graph-security-api.md`` "Auth")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["OAuthFailure", "openid_configuration", "token_body"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthFailure(Exception):
    """An OAuth2 error answer: ``error`` (RFC 6749 code), an AADSTS number and a description."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description

    def response(self, request_id: str) -> JSONResponse:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {request_id} Timestamp: {now}",
            "error_codes": [self.aadsts],
            "timestamp": now,
            "trace_id": request_id,
            "correlation_id": str(uuid.uuid4()),
        }
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="watchkeeper"'
        return JSONResponse(body, status_code=self.status, headers=headers)


def token_body(access_token: str, expires_in: int) -> JSONResponse:
    body = {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": access_token}  # fmt: skip
    return JSONResponse(body, headers=_NO_STORE)


def openid_configuration(origin: str, tenant: str) -> dict[str, Any]:
    """The discovery document MSAL (azure-identity) reads before asking for a token."""
    base = f"{origin}/{tenant}"
    return {
        "issuer": f"{base}/v2.0",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles", "appid", "azp"],
        "tenant_region_scope": None,
        "cloud_instance_name": "watchkeeper",
    }
