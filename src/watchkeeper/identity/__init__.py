"""Identity: the token service. OAuth2 client credentials in Entra ID's v2 shape, RS256 access
tokens with ``tid``, ``appid``/``azp``, ``roles``, ``aud`` and ``exp``, signing keys rotated by
``kid`` and published as a JWKS."""

from watchkeeper.identity.audiences import API_AUDIENCES, RESOURCES, audience_for_scope
from watchkeeper.identity.keys import KeyInfo, KeyRing, SigningKey
from watchkeeper.identity.tokens import InvalidToken, Principal, TokenIssuer

__all__ = [
    "API_AUDIENCES",
    "RESOURCES",
    "InvalidToken",
    "KeyInfo",
    "KeyRing",
    "Principal",
    "SigningKey",
    "TokenIssuer",
    "audience_for_scope",
]
