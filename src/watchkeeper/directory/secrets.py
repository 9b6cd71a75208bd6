"""Client secrets and passwords: generated with the OS's CSPRNG, stored only as argon2id hashes."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_secret", "new_client_secret", "verify_secret"]

_HASHER = PasswordHasher()
# hashed once, so that a lookup of an unknown client id costs as much as a wrong secret
_DUMMY = _HASHER.hash("watchkeeper: no such client")


def new_client_secret() -> str:
    """A client secret as Entra ID shapes them: 40 URL-safe characters."""
    return secrets.token_urlsafe(30)


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash``; ``None`` (no such account) takes as long, and fails."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
