"""Access tokens: minting (the token endpoint) and verification (every API request).

Claims follow Entra ID v2 app-only tokens: ``aud``, ``iss`` (``{base}/{tenant}/v2.0``), ``iat``,
``nbf``, ``exp``, ``tid``, ``appid`` and ``azp`` (the client id), ``oid`` and ``sub`` (the app's
object id), ``roles``, ``idtyp: app``, ``ver: 2.0``, plus a unique ``uti``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from watchkeeper.errors import WatchkeeperError
from watchkeeper.identity.keys import KeyRing

__all__ = ["InvalidToken", "Principal", "TokenIssuer"]

_LEEWAY = 60  # seconds of clock skew tolerated on nbf/exp
# Entra ID dates iat and nbf five minutes before issuance, so that a verifier whose clock lags
# accepts a new token; Kqlmagic, handed a token, refuses one whose nbf is less than a minute old
_BACKDATE = 300


class InvalidToken(WatchkeeperError):
    """A bearer token that is missing, malformed, expired, or not signed by this server."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    tenant_id: str
    client_id: str  # appid/azp
    object_id: str  # oid
    roles: frozenset[str]
    audience: str
    kind: str = "app"

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


class TokenIssuer:
    """Mints and verifies RS256 access tokens with the server's :class:`KeyRing`."""

    def __init__(self, keys: KeyRing, *, lifetime: int = 3599) -> None:
        self.keys = keys
        self.lifetime = lifetime

    def issue(
        self, *, issuer: str, tenant_id: str, client_id: str, object_id: str, roles: list[str], audience: str
    ) -> str:
        kid, key = self.keys.signing_key()
        now = int(time.time())
        issued = now - _BACKDATE
        claims: dict[str, Any] = {
            "aud": audience, "iss": issuer, "iat": issued, "nbf": issued, "exp": now + self.lifetime,
            "tid": tenant_id, "appid": client_id, "azp": client_id, "oid": object_id, "sub": object_id,
            "roles": sorted(roles), "idtyp": "app", "ver": "2.0", "uti": secrets.token_urlsafe(16),
        }  # fmt: skip
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})

    def verify(self, token: str, *, audiences: set[str]) -> Principal:
        """The principal of a token this server signed for one of ``audiences``; else InvalidToken
        (whose message is safe to show: it never echoes the token)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the access token is malformed") from None
        if header.get("alg") != "RS256":
            raise InvalidToken("the access token is not signed with RS256")
        public = self.keys.verification_key(str(header.get("kid", "")))
        if public is None:
            raise InvalidToken("the access token was not signed by a key of this server")
        try:
            claims = jwt.decode(
                token, public, algorithms=["RS256"], audience=sorted(audiences), leeway=_LEEWAY,
                options={"require": ["exp", "nbf", "aud", "tid", "appid", "oid"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the access token is for another audience") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the access token is not valid ({type(exc).__name__})") from None
        return Principal(
            tenant_id=str(claims["tid"]),
            client_id=str(claims["appid"]),
            object_id=str(claims["oid"]),
            roles=frozenset(str(r) for r in claims.get("roles", [])),
            audience=str(claims["aud"]),
            kind=str(claims.get("idtyp", "app")),
        )
