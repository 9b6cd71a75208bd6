"""Signing key rotation: a new key signs from then on, tokens signed before stay valid (their key is
still published) until the previous keys are retired; a server process sees a rotation or
retirement made by another process (``wk keys rotate``) within its refresh interval."""

from __future__ import annotations

import time

import pytest

from watchkeeper.audit import Actor, list_entries
from watchkeeper.identity import InvalidToken, KeyRing, TokenIssuer
from watchkeeper.state import Database

AUDIENCE = "https://graph.microsoft.com"
OPERATOR = Actor("cli", "operator")


def _issue(issuer: TokenIssuer) -> str:
    return issuer.issue(issuer="http://127.0.0.1/t/v2.0", tenant_id="t", client_id="c", object_id="o",
                        roles=["SecurityAlert.Read.All"], audience=AUDIENCE)  # fmt: skip


def _verifies(issuer: TokenIssuer, token: str) -> bool:
    try:
        issuer.verify(token, audiences={AUDIENCE})
    except InvalidToken:
        return False
    return True


def _published(ring: KeyRing) -> list[str]:
    return [key["kid"] for key in ring.jwks()["keys"]]


def test_old_tokens_stay_valid_after_a_rotation_until_the_previous_keys_are_retired(
    database: Database,
) -> None:
    issuer = TokenIssuer(KeyRing(database))
    first = _issue(issuer)
    first_kid = issuer.keys.signing_key()[0]

    second_kid = issuer.keys.rotate(actor=OPERATOR)
    second = _issue(issuer)
    assert issuer.keys.signing_key()[0] == second_kid != first_kid
    assert _verifies(issuer, first)
    assert _verifies(issuer, second)
    assert _published(issuer.keys)[-2:] == [first_kid, second_kid]

    third_kid = issuer.keys.rotate(actor=OPERATOR, retire_previous=True)
    third = _issue(issuer)
    assert not _verifies(issuer, first)
    assert not _verifies(issuer, second)
    assert _verifies(issuer, third)
    assert _published(issuer.keys) == [third_kid]
    with pytest.raises(InvalidToken, match="not signed by a key of this server"):
        issuer.verify(first, audiences={AUDIENCE})

    with database.session() as session:
        entries = list_entries(session, tenant_id=None, action="signing_key.create").entries
    latest = {entry.target: entry for entry in entries}
    assert latest[second_kid].detail == {"retired_previous": False, "retired": []}
    assert latest[third_kid].actor_kind == "cli"
    assert latest[third_kid].actor == "operator"
    assert set(latest[third_kid].detail["retired"]) >= {first_kid, second_kid}


def test_a_running_server_sees_another_process_retire_its_keys(database: Database) -> None:
    server = TokenIssuer(KeyRing(database, refresh=0.5))
    issued = _issue(server)
    assert _verifies(server, issued)
    operator = KeyRing(database)  # `wk keys rotate --retire-previous`, in its own process
    new_kid = operator.rotate(actor=OPERATOR, retire_previous=True)
    time.sleep(0.6)
    assert not _verifies(server, issued)
    assert server.keys.signing_key()[0] == new_kid
    assert _verifies(server, _issue(server))


def test_the_jwks_lists_the_active_public_keys_only(database: Database) -> None:
    ring = KeyRing(database)
    ring.rotate(actor=OPERATOR)
    active = [key.kid for key in ring.describe() if key.retired_at is None]
    published = ring.jwks()["keys"]
    assert [key["kid"] for key in published] == active
    assert len(active) >= 2
    for key in published:
        assert set(key) == {"kty", "use", "alg", "kid", "n", "e"}  # no private parts (d, p, q, ...)
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")


def test_describe_tells_which_key_signs(database: Database) -> None:
    ring = KeyRing(database)
    signing = ring.rotate(actor=OPERATOR)
    described = ring.describe()
    assert [key.kid for key in described if key.status == "signing"] == [signing]
    assert described[-1].kid == signing
    assert all(key.status == "retired" for key in described if key.retired_at is not None)
    assert [k.created_at for k in described] == sorted(k.created_at for k in described)
