"""Access tokens: what the server signs verifies and says who the caller is; anything else (expired,
for another audience, signed by a foreign key, unsigned or HMAC-signed, altered) is refused with a
message that never repeats the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from watchkeeper.identity import InvalidToken, KeyRing, TokenIssuer
from watchkeeper.state import Database

TENANT = "6f1c2b7e-0d4a-4c1e-9a57-3f7d2e1b9c01"
CLIENT = "0b4d6a8e-2f1c-4e3b-8a9d-7c6e5f4a3b21"
OBJECT = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
AUDIENCE = "https://api.loganalytics.io"
ISSUER = f"http://127.0.0.1:8080/{TENANT}/v2.0"


@pytest.fixture
def issuer(database: Database) -> TokenIssuer:
    return TokenIssuer(KeyRing(database), lifetime=600)


def _issue(issuer: TokenIssuer, roles: list[str] | None = None) -> str:
    return issuer.issue(issuer=ISSUER, tenant_id=TENANT, client_id=CLIENT, object_id=OBJECT,
                        roles=roles or ["Data.Read"], audience=AUDIENCE)  # fmt: skip


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"aud": AUDIENCE, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 600, "tid": TENANT,
              "appid": CLIENT, "azp": CLIENT, "oid": OBJECT, "sub": OBJECT, "roles": ["Data.Read"]}  # fmt: skip
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return f"{head}.{_b64(signature)}"


def _refused(issuer: TokenIssuer, token: str, message: str) -> None:
    with pytest.raises(InvalidToken, match=message) as caught:
        issuer.verify(token, audiences={AUDIENCE})
    for part in token.split("."):
        assert len(part) < 8 or part not in str(caught.value)


def test_a_token_verifies_and_names_its_app_tenant_roles_and_audience(issuer: TokenIssuer) -> None:
    token = _issue(issuer, roles=["ThreatHunting.Read.All", "Data.Read"])
    principal = issuer.verify(token, audiences={AUDIENCE, "https://graph.microsoft.com"})
    assert (principal.tenant_id, principal.client_id, principal.object_id) == (TENANT, CLIENT, OBJECT)
    assert principal.roles == {"Data.Read", "ThreatHunting.Read.All"}
    assert (principal.audience, principal.kind) == (AUDIENCE, "app")


def test_a_token_carries_entra_ids_app_claims(issuer: TokenIssuer) -> None:
    token = _issue(issuer, roles=["ThreatHunting.Read.All", "Data.Read"])
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "RS256", "typ": "JWT", "kid": issuer.keys.signing_key()[0]}
    expected = {"aud": AUDIENCE, "iss": ISSUER, "tid": TENANT, "appid": CLIENT, "azp": CLIENT, "oid": OBJECT,
                "sub": OBJECT, "roles": ["Data.Read", "ThreatHunting.Read.All"], "idtyp": "app", "ver": "2.0"}  # fmt: skip
    assert {name: claims[name] for name in expected} == expected
    # iat and nbf lie five minutes in the past, as Entra ID dates them; the lifetime counts from now
    assert claims["exp"] - claims["iat"] == 600 + 300
    assert claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] + 300 - time.time()) < 5
    assert claims["uti"] != jwt.decode(_issue(issuer), options={"verify_signature": False})["uti"]


def test_the_published_jwks_verifies_a_token_as_a_client_would(issuer: TokenIssuer) -> None:
    token = _issue(issuer)
    key_set = jwt.PyJWKSet.from_dict(issuer.keys.jwks())
    key = key_set[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE)
    assert claims["tid"] == TENANT


def test_an_expired_token_is_refused(issuer: TokenIssuer) -> None:
    kid, key = issuer.keys.signing_key()
    past = int(time.time()) - 3600
    token = jwt.encode(_claims(iat=past - 600, nbf=past - 600, exp=past), key, algorithm="RS256",
                       headers={"kid": kid})  # fmt: skip
    _refused(issuer, token, "the access token has expired")


def test_a_token_not_valid_yet_is_refused(issuer: TokenIssuer) -> None:
    kid, key = issuer.keys.signing_key()
    later = int(time.time()) + 3600
    token = jwt.encode(_claims(nbf=later, exp=later + 600), key, algorithm="RS256", headers={"kid": kid})
    _refused(issuer, token, r"not valid \(ImmatureSignatureError\)")


def test_a_token_for_another_audience_is_refused(issuer: TokenIssuer) -> None:
    token = issuer.issue(issuer=ISSUER, tenant_id=TENANT, client_id=CLIENT, object_id=OBJECT,
                         roles=["Data.Read"], audience="https://graph.microsoft.com")  # fmt: skip
    _refused(issuer, token, "the access token is for another audience")


@pytest.mark.parametrize("missing", ["tid", "appid", "oid", "aud", "exp"])
def test_a_token_without_a_required_claim_is_refused(issuer: TokenIssuer, missing: str) -> None:
    kid, key = issuer.keys.signing_key()
    token = jwt.encode(_claims(**{missing: None}), key, algorithm="RS256", headers={"kid": kid})
    _refused(issuer, token, "MissingRequiredClaimError")


def test_a_token_signed_by_a_foreign_key_is_refused(issuer: TokenIssuer) -> None:
    kid, _ = issuer.keys.signing_key()
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    posing = jwt.encode(_claims(), foreign, algorithm="RS256", headers={"kid": kid})  # our kid, their key
    _refused(issuer, posing, r"not valid \(InvalidSignatureError\)")
    unknown = jwt.encode(_claims(), foreign, algorithm="RS256", headers={"kid": "attacker-key"})
    _refused(issuer, unknown, "not signed by a key of this server")


def test_an_altered_token_is_refused(issuer: TokenIssuer) -> None:
    header, _, signature = _issue(issuer).split(".")
    escalated = _b64(json.dumps(_claims(roles=["Data.Read", "AuditLog.Read.All"])).encode())
    _refused(issuer, f"{header}.{escalated}.{signature}", r"not valid \(InvalidSignatureError\)")


def test_an_unsigned_token_is_refused(issuer: TokenIssuer) -> None:
    kid, _ = issuer.keys.signing_key()
    _refused(issuer, _compact({"alg": "none", "typ": "JWT", "kid": kid}, _claims()), "not signed with RS256")
    _refused(issuer, _compact({"alg": "None", "kid": kid}, _claims()), "not signed with RS256")


def test_an_hmac_token_keyed_with_the_public_key_is_refused(issuer: TokenIssuer) -> None:
    """The algorithm-confusion attack: HS256 with the (published) public key as the shared secret."""
    kid, key = issuer.keys.signing_key()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = _compact({"alg": "HS256", "typ": "JWT", "kid": kid}, _claims()).rstrip(".")
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    _refused(issuer, f"{unsigned}.{_b64(mac)}", "not signed with RS256")


@pytest.mark.parametrize(
    "token", ["", "not-a-token", "a.b.c", "eyJhbGciOiJSUzI1NiJ9...", "eyJhbGciOiJSUzI1NiJ9.e30"]
)
def test_a_malformed_token_is_refused(issuer: TokenIssuer, token: str) -> None:
    _refused(issuer, token, "access token")
