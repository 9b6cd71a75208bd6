"""The token service over real HTTP, as OAuth2 clients and Entra ID-minded libraries use it: the
client-credentials grant with its errors, the claims of the tokens it issues, OpenID discovery and
the key set that verifies them (checked with PyJWT, as a resource server would)."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.api.conftest import LOG_ANALYTICS, Platform

GRAPH = "https://graph.microsoft.com/.default"


def token_url(platform: Platform, tenant: str = "a", *, by: str = "id") -> str:
    ref = platform.tenants[tenant].id if by == "id" else platform.tenants[tenant].name
    return f"{platform.url}/{ref}/oauth2/v2.0/token"


def credentials(platform: Platform, tenant: str = "a", app: str = "reader", **fields: str) -> dict[str, str]:
    registered = platform.tenants[tenant].apps[app]
    return {"grant_type": "client_credentials", "client_id": registered.client_id,
            "client_secret": registered.client_secret, "scope": LOG_ANALYTICS} | fields  # fmt: skip


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_token_carries_the_claims_resource_servers_read(platform: Platform) -> None:
    answer = httpx.post(token_url(platform), data=credentials(platform, app="hunter", scope=GRAPH))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", body["ext_expires_in"])
    assert answer.headers["cache-control"] == "no-store"
    claims = claims_of(body["access_token"])
    app = platform.tenants["a"].apps["hunter"]
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == platform.tenants["a"].id
    assert claims["appid"] == claims["azp"] == app.client_id
    assert claims["roles"] == sorted(["ThreatHunting.Read.All", "AdvancedQuery.Read.All"])
    assert claims["iss"] == f"{platform.url}/{platform.tenants['a'].id}/v2.0"
    assert claims["exp"] - time.time() == pytest.approx(body["expires_in"], abs=30)
    assert claims["nbf"] <= time.time()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        (LOG_ANALYTICS, "https://api.loganalytics.io"),
        ("https://api.loganalytics.azure.com/.default", "https://api.loganalytics.azure.com"),
        ("https://api.securitycenter.microsoft.com/.default", "https://api.securitycenter.microsoft.com"),
        ("openid https://graph.microsoft.com/.default", "https://graph.microsoft.com"),
        ("{origin}/.default", "{origin}"),
        ("{origin}/v1/.default", "{origin}"),
    ],
)
def test_each_resource_scope_gives_its_audience(platform: Platform, scope: str, audience: str) -> None:
    form = credentials(platform, scope=scope.format(origin=platform.url))
    token = httpx.post(token_url(platform), data=form).json()["access_token"]
    assert claims_of(token)["aud"] == audience.format(origin=platform.url)


@pytest.mark.parametrize(
    ("fields", "status", "error", "aadsts"),
    [
        ({"scope": "https://example.org/.default"}, 400, "invalid_scope", 1002012),
        ({"scope": "User.Read"}, 400, "invalid_scope", 1002012),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_secret": "not-the-secret"}, 401, "invalid_client", 7000215),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 401, "invalid_client", 7000215),
        ({"client_id": ""}, 400, "invalid_request", 900144),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
    ],
)
def test_refusals_answer_as_entra_id_does(
    platform: Platform, fields: dict[str, str], status: int, error: str, aadsts: int
) -> None:
    answer = httpx.post(token_url(platform), data=credentials(platform, **fields))
    assert answer.status_code == status
    body = answer.json()
    assert (body["error"], body["error_codes"]) == (error, [aadsts])
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")
    assert "access_token" not in body
    assert platform.tenants["a"].apps["reader"].client_secret not in answer.text


def test_a_wrong_secret_and_an_unknown_client_read_alike(platform: Platform) -> None:
    wrong = httpx.post(token_url(platform), data=credentials(platform, client_secret="guess")).json()
    unknown = httpx.post(token_url(platform), data=credentials(platform, client_id="nobody-here")).json()
    assert (
        wrong["error_description"].split(" Trace ID")[0] == unknown["error_description"].split(" Trace ID")[0]
    )


def test_an_apps_secret_works_only_in_its_own_tenant(platform: Platform) -> None:
    answer = httpx.post(token_url(platform, "b"), data=credentials(platform, "a"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_tenant_by_name_and_secret_in_http_basic(platform: Platform) -> None:
    registered = platform.tenants["a"].apps["reader"]
    basic = base64.b64encode(f"{registered.client_id}:{registered.client_secret}".encode()).decode()
    answer = httpx.post(token_url(platform, by="name"), headers={"Authorization": f"Basic {basic}"},
                        data={"grant_type": "client_credentials", "scope": LOG_ANALYTICS})  # fmt: skip
    assert answer.status_code == 200
    assert claims_of(answer.json()["access_token"])["tid"] == platform.tenants["a"].id


def test_an_unknown_tenant_is_an_oauth_error(platform: Platform) -> None:
    answer = httpx.post(f"{platform.url}/no-such-tenant/oauth2/v2.0/token", data=credentials(platform))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_a_form_without_content_type_is_read_as_a_form(platform: Platform) -> None:
    """Entra ID reads the body as a form whatever the header says; msticpy's OData drivers
    (MDE, M365D, Security Graph) post their form with no Content-Type at all."""
    from urllib.parse import urlencode

    answer = httpx.post(token_url(platform), content=urlencode(credentials(platform)).encode())
    assert answer.status_code == 200
    assert claims_of(answer.json()["access_token"])["roles"] == ["Data.Read"]


def test_multipart_forms_are_read_too(platform: Platform) -> None:
    answer = httpx.post(token_url(platform), files={k: (None, v) for k, v in credentials(platform).items()})
    assert answer.status_code == 200


def test_an_oversized_token_request_is_refused(platform: Platform) -> None:
    answer = httpx.post(token_url(platform), data=credentials(platform, scope="x" * 100_000))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_discovery_points_at_the_token_endpoint_and_keys_that_verify_its_tokens(platform: Platform) -> None:
    tenant = platform.tenants["a"].id
    discovery = httpx.get(f"{platform.url}/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{platform.url}/{tenant}/v2.0"
    assert discovery["token_endpoint"] == f"{platform.url}/{tenant}/oauth2/v2.0/token"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    token = httpx.post(discovery["token_endpoint"], data=credentials(platform)).json()["access_token"]
    keys = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False)
    signing = keys.get_signing_key_from_jwt(token)
    verified = jwt.decode(token, signing.key, algorithms=["RS256"], audience="https://api.loganalytics.io",
                          issuer=discovery["issuer"])  # fmt: skip
    assert verified["tid"] == tenant
    published = httpx.get(discovery["jwks_uri"]).json()["keys"]
    assert all(set(key) >= {"kty", "kid", "n", "e", "use"} for key in published)
    assert not any("d" in key or "p" in key for key in published), "a private part is published"


def test_discovery_of_an_unknown_tenant_is_404(platform: Platform) -> None:
    answer = httpx.get(f"{platform.url}/no-such-tenant/v2.0/.well-known/openid-configuration")
    assert answer.status_code == 404
    assert "issuer" not in answer.json()
