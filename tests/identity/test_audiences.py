"""Which ``scope`` a client may ask a token for: the Microsoft resources this server speaks, under
their own names, and the server's own origin (clients pointed at a custom endpoint ask for it)."""

from __future__ import annotations

import pytest

from watchkeeper.identity import RESOURCES, audience_for_scope

OWN = {"https://wk.example.com:8443"}


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_each_resource_of_this_server_is_its_own_audience(resource: str) -> None:
    assert audience_for_scope(f"{resource}/.default", OWN) == resource
    assert audience_for_scope(f"{resource}//.default", OWN) == resource


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        ("https://WK.example.com:8443/.default", "https://wk.example.com:8443"),
        ("https://wk.example.com:8443/v1/.default", "https://wk.example.com:8443"),
        ("openid https://graph.microsoft.com/.default", "https://graph.microsoft.com"),
    ],
)
def test_the_servers_own_origin_and_mixed_scopes(scope: str, audience: str) -> None:
    assert audience_for_scope(scope, OWN) == audience


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "User.Read",
        "https://graph.microsoft.com",  # no /.default: a delegated scope, not client credentials
        "https://vault.azure.net/.default",
        "https://wk.example.com:9443/.default",  # another port: another origin
        "api://watchkeeper/.default",
        "ftp://wk.example.com:8443/.default",
    ],
)
def test_other_scopes_name_no_audience(scope: str) -> None:
    assert audience_for_scope(scope, OWN) is None
