"""Signing keys: RSA 2048, identified by ``kid``, kept in the state database.

The newest key that is not retired signs; every key not retired verifies and is published in the
JWKS, so that tokens signed before a rotation stay valid until they expire. Keys sit in the state
database as PEM; protect the database as you would a key file. Every process re-reads the keys at
least every ``refresh`` seconds, so a rotation or retirement made by another process (``wk keys
rotate``) reaches a running server within that time.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.audit import Actor, record
from watchkeeper.state import Base, Database, utc_now

__all__ = ["KeyInfo", "KeyRing", "SigningKey"]


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True, slots=True)
class _LoadedKey:
    kid: str
    private: rsa.RSAPrivateKey
    created_at: datetime

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64(numbers.n), "e": _b64(numbers.e)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing key as operators see it (never its private part)."""

    kid: str
    created_at: datetime
    retired_at: datetime | None
    signing: bool  # the key new tokens are signed with

    @property
    def status(self) -> str:
        return "retired" if self.retired_at else "signing" if self.signing else "verifying"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    """The kid: a SHA-256 thumbprint of the public key (URL-safe base64, as Entra's look)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return base64.urlsafe_b64encode(digest.finalize()[:20]).rstrip(b"=").decode()


class KeyRing:
    """The server's signing keys, cached in memory; reloaded when an unknown ``kid`` shows up and
    every ``refresh`` seconds (another process may have rotated or retired keys)."""

    def __init__(self, database: Database, *, refresh: float = 30.0) -> None:
        self._db = database
        self._keys: dict[str, _LoadedKey] = {}
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self.refresh = refresh

    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """(kid, key) of the newest active key; the first call creates one."""
        with self._lock:
            if not self._keys or self._stale(self.refresh):
                self._load()
            if not self._keys:
                self._create(Actor("system", "key-ring"))
                self._load()
            newest = max(self._keys.values(), key=lambda k: k.created_at)
            return newest.kid, newest.private

    def verification_key(self, kid: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            # an unknown kid reloads at most once a second: made-up kids cannot flood the database;
            # a known one is re-checked every `refresh` seconds, as it may have been retired since
            if self._stale(1.0 if kid not in self._keys else self.refresh):
                self._load()
            found = self._keys.get(kid)
            return found.private.public_key() if found else None

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JSON Web Key Set."""
        self.signing_key()
        with self._lock:
            self._load()
            return {"keys": [k.jwk() for k in sorted(self._keys.values(), key=lambda k: k.created_at)]}

    def describe(self) -> list[KeyInfo]:
        """Every key, retired ones included, oldest first."""
        with self._db.session() as session:
            rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
            active = [row for row in rows if row.retired_at is None]
            signing = max(active, key=lambda row: row.created_at).kid if active else None
            return [KeyInfo(row.kid, row.created_at, row.retired_at, row.kid == signing) for row in rows]

    def rotate(self, *, actor: Actor, retire_previous: bool = False) -> str:
        """Create a new signing key (it signs from now on); optionally retire the older ones, which
        invalidates every token they signed. Returns the new kid."""
        with self._lock:
            kid = self._create(actor, retire_previous=retire_previous)
            self._load()
            return kid

    def _create(self, actor: Actor, *, retire_previous: bool = False) -> str:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()  # fmt: skip
        kid = _thumbprint(private)
        with self._db.session() as session:
            retired = []
            if retire_previous:
                for old in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
                    old.retired_at = utc_now()
                    retired.append(old.kid)
            session.add(SigningKey(kid=kid, private_pem=pem))
            record(session, actor=actor, action="signing_key.create", outcome="success", target=kid,
                   detail={"retired_previous": retire_previous, "retired": retired})  # fmt: skip
        return kid

    def _load(self) -> None:
        with self._db.session() as session:
            rows = session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))).all()
            loaded = {}
            for row in rows:
                cached = self._keys.get(row.kid)
                if cached is None:
                    private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
                    assert isinstance(private, rsa.RSAPrivateKey)
                    cached = _LoadedKey(row.kid, private, row.created_at)
                loaded[row.kid] = cached
        self._keys = loaded
        self._loaded_at = time.monotonic()

    def _stale(self, age: float) -> bool:
        return time.monotonic() - self._loaded_at > age
