"""The HTTP Data Collector API over HTTP: requests signed by azure-log-analytics-data-collector-api's
own signing code are accepted; wrong signatures, another workspace's key, stale dates and every
documented header mistake are refused with their codes; columns get Azure's type suffixes.

The package posts only to ``https://{workspaceId}.{endpoint}/api/logs``, a host name that cannot
resolve to this test server without changing the machine's DNS, so the tests take its
``Authorization`` header from its signing method (name-mangled private, called as is) and send the
request with httpx. ``sign`` below is a second implementation written from the spec (§A), and the
two must agree.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from datacollectorapi.client import DataCollectorAPIClient

from tests.api.conftest import Platform
from watchkeeper.audit import Actor, list_entries
from watchkeeper.directory import find_workspace
from watchkeeper.directory.shared_keys import SharedKeys, shared_keys
from watchkeeper.workspace import Workspace

NOW = datetime.now(UTC).replace(microsecond=0)


def rfc1123(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def sign(key: str, length: int, date: str) -> str:
    """The spec's algorithm (§A), independently of the server's code."""
    message = f"POST\n{length}\napplication/json\nx-ms-date:{date}\n/api/logs".encode()
    return base64.b64encode(hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()).decode()


@pytest.fixture(scope="module")
def keys(platform: Platform) -> dict[str, SharedKeys]:
    with platform.runtime.database.session() as session:
        return {
            name: shared_keys(
                session, workspace=platform.workspace(*name.split("/")), actor=Actor("system", "tests")
            )
            for name in ("a/main", "a/other", "b/main")
        }


def store(platform: Platform, tenant: str = "a", name: str = "main") -> Workspace:
    with platform.runtime.database.session() as session:
        found = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref=name)
    assert found is not None
    workspace = platform.runtime.workspaces.get(found)
    # an acknowledged batch is in the journal; the writer makes it queryable moments later
    assert workspace.flush(timeout=30)
    return workspace


def library_authorization(workspace_id: str, key: str, date: str, length: int) -> str:
    """The Authorization header azure-log-analytics-data-collector-api computes."""
    client = DataCollectorAPIClient(workspace_id, key)
    header: str = client._DataCollectorAPIClient__signature(date, length)  # type: ignore[attr-defined]
    return header


def send(
    client: httpx.Client,
    records: Any,
    *,
    workspace_id: str,
    key: str,
    log_type: str = "Collector",
    date: datetime | None = None,
    **headers: str,
) -> httpx.Response:
    body = json.dumps(records).encode()
    sent_date = rfc1123(date or datetime.now(UTC))
    authorization = library_authorization(workspace_id, key, sent_date, len(body))
    assert authorization == f"SharedKey {workspace_id}:{sign(key, len(body), sent_date)}"
    sent = {"Authorization": authorization, "Log-Type": log_type, "x-ms-date": sent_date,
            "Content-Type": "application/json"} | headers  # fmt: skip
    return client.post("/api/logs", params={"api-version": "2016-04-01"}, content=body, headers=sent)


def test_a_signed_post_is_stored_with_azures_column_suffixes(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    workspace_id = platform.workspace("a")
    records = [{"Computer": "dc-1", "Count": 3, "Ok": True, "Seen": "2026-01-02T03:04:05Z",
                "Id": "0F8FAD5BD9CB469FA16570867728950E", "Nested": {"a": [1]}, "Nothing": None,
                "Name_s": "kept as is", "When": (NOW - timedelta(hours=1)).isoformat()}]  # fmt: skip
    response = send(client, records, workspace_id=workspace_id, key=keys["a/main"].primary,
                    **{"time-generated-field": "When", "x-ms-AzureResourceId": "/subscriptions/s/rg/vm"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.content == b""
    table = store(platform).catalog.require("Collector_CL")
    types = {c.name: c.type.value for c in table.columns}
    assert {k: types[k] for k in ("Computer_s", "Count_d", "Ok_b", "Seen_t", "Id_g", "Nested_s", "Name_s")} == {
        "Computer_s": "string", "Count_d": "real", "Ok_b": "bool", "Seen_t": "datetime", "Id_g": "string",
        "Nested_s": "string", "Name_s": "string"}  # fmt: skip
    assert not any(name.startswith("Nothing") for name in types)
    rows = (
        store(platform)
        .query(
            "Collector_CL | project TimeGenerated, Computer_s, Count_d, Ok_b, Seen_t, Id_g, Nested_s, Name_s, "
            "TenantId, SourceSystem, Type, _ResourceId"
        )
        .rows
    )
    assert rows == [(NOW - timedelta(hours=1), "dc-1", 3.0, True, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                     "0f8fad5b-d9cb-469f-a165-70867728950e", '{"a":[1]}', "kept as is", workspace_id, "RestAPI",
                     "Collector_CL", "/subscriptions/s/rg/vm")]  # fmt: skip
    with platform.runtime.database.session() as session:
        [entry] = list_entries(session, tenant_id=platform.tenants["a"].id, action="ingest.batch",
                               limit=200).entries[:1]  # fmt: skip
    assert entry.detail["source"] == "data-collector:Collector"
    assert entry.detail["tables"] == {"Collector_CL": 1}


def test_a_value_of_another_type_goes_to_a_column_with_its_suffix(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    workspace_id, key = platform.workspace("a"), keys["a/main"].secondary  # the secondary key signs too
    for value in (True, 1, "text"):
        response = send(client, [{"Flag": value}], workspace_id=workspace_id, key=key, log_type="Flags")
        assert response.status_code == 200, response.text
    columns = {c.name for c in store(platform).catalog.require("Flags_CL").columns}
    # a number cannot be a bool: a new _d column; text converts to no existing column: a new _s one
    assert {"Flag_b", "Flag_d", "Flag_s"} <= columns
    # a number where a text column exists and no number column does goes to the text column
    send(client, [{"Label": "x"}], workspace_id=workspace_id, key=key, log_type="Labels")
    send(client, [{"Label": 7}], workspace_id=workspace_id, key=key, log_type="Labels")
    rows = store(platform).query("Labels_CL | project Label_s | order by Label_s asc").rows
    assert rows == [("7",), ("x",)]


def test_an_old_time_generated_value_falls_back_to_the_receipt_time(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    old = (NOW - timedelta(days=3)).isoformat()
    response = send(client, [{"When": old, "Tag": "old"}], workspace_id=platform.workspace("a"),
                    key=keys["a/main"].primary, log_type="Aged", **{"time-generated-field": "When"})  # fmt: skip
    assert response.status_code == 200, response.text
    [(generated,)] = store(platform).query("Aged_CL | project TimeGenerated").rows
    assert generated > NOW - timedelta(minutes=5)


def _refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"Error", "Message"}
    assert response.json()["Error"] == code
    message: str = response.json()["Message"]
    return message


def test_wrong_signatures_keys_and_workspaces_are_403(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    a_main, a_other, b_main = (platform.workspace(*n.split("/")) for n in ("a/main", "a/other", "b/main"))
    refusals = [
        send(client, [{"x": 1}], workspace_id=a_main, key=keys["a/other"].primary),  # another workspace's key
        send(client, [{"x": 1}], workspace_id=a_main, key=keys["b/main"].primary),  # another tenant's key
        send(client, [{"x": 1}], workspace_id=b_main, key=keys["a/main"].primary),
        send(
            client,
            [{"x": 1}],
            workspace_id="0" * 8 + "-0000-0000-0000-" + "0" * 12,
            key=keys["a/main"].primary,
        ),
        send(
            client, [{"x": 1}], workspace_id=a_main, key=keys["a/main"].primary, date=NOW - timedelta(hours=1)
        ),
        send(
            client, [{"x": 1}], workspace_id=a_main, key=keys["a/main"].primary, date=NOW + timedelta(hours=1)
        ),
    ]
    messages = [_refusal(r, 403, "InvalidAuthorization") for r in refusals]
    assert messages[0] == messages[1] == messages[2] == messages[3]  # nothing says which part was wrong
    assert "minutes" in messages[4]
    # a body whose length is not the signed one (the protocol signs the length, not the content)
    body, date = b'[{"x": 1}]', rfc1123(datetime.now(UTC))
    signed = library_authorization(a_main, keys["a/main"].primary, date, len(body))
    tampered = client.post("/api/logs", params={"api-version": "2016-04-01"}, content=b'[{"x": 10}]',
                           headers={"Authorization": signed, "Log-Type": "Tamper", "x-ms-date": date,
                                    "Content-Type": "application/json"})  # fmt: skip
    _refusal(tampered, 403, "InvalidAuthorization")
    assert store(platform).catalog.table("Tamper_CL") is None
    for ref in (a_other, b_main):
        assert (
            store(platform, *("a", "other") if ref == a_other else ("b", "main")).catalog.table(
                "Collector_CL"
            )
            is None
        )
    with platform.runtime.database.session() as session:
        denied = list_entries(session, tenant_id=platform.tenants["a"].id, action="ingest.denied").entries
    assert denied, "refused signatures for tenant a's workspaces are in its audit log"


def test_a_regenerated_key_stops_working(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    workspace_id = platform.workspace("a", "other")
    before = keys["a/other"].secondary
    assert (
        send(client, [{"x": 1}], workspace_id=workspace_id, key=before, log_type="Rotate").status_code == 200
    )
    with platform.runtime.database.session() as session:
        after = shared_keys(
            session, workspace=workspace_id, actor=Actor("system", "tests"), regenerate="secondary"
        )
    assert after.secondary != before
    assert after.primary == keys["a/other"].primary
    _refusal(send(client, [{"x": 1}], workspace_id=workspace_id, key=before, log_type="Rotate"), 403,
             "InvalidAuthorization")  # fmt: skip
    assert (
        send(
            client, [{"x": 1}], workspace_id=workspace_id, key=after.secondary, log_type="Rotate"
        ).status_code
        == 200
    )


def test_header_and_body_mistakes_get_their_codes(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    workspace_id, key = platform.workspace("a"), keys["a/main"].primary

    def raw(body: bytes, params: dict[str, str] | None = None, **headers: str) -> httpx.Response:
        date = rfc1123(datetime.now(UTC))
        sent = {"Authorization": f"SharedKey {workspace_id}:{sign(key, len(body), date)}", "Log-Type": "Mistakes",
                "x-ms-date": date, "Content-Type": "application/json"} | headers  # fmt: skip
        sent = {k: v for k, v in sent.items() if v != "-"}
        query = {"api-version": "2016-04-01"} if params is None else params
        return client.post("/api/logs", params=query, content=body, headers=sent)

    ok = b'[{"x": 1}]'
    expected = [
        (raw(ok, {}), 400, "MissingApiVersion"),
        (raw(ok, {"api-version": "2023-01-01"}), 400, "InvalidApiVersion"),
        (raw(ok, **{"Content-Type": "text/plain"}), 400, "UnsupportedContentType"),
        (raw(ok, **{"Log-Type": "-"}), 400, "MissingLogType"),
        (raw(ok, **{"Log-Type": "has-dash"}), 400, "InvalidLogType"),
        (raw(ok, **{"Log-Type": "x" * 101}), 400, "InvalidLogType"),
        (raw(ok, Authorization="SharedKey not-a-guid:c2ln"), 400, "InvalidCustomerId"),
        (raw(ok, Authorization="Bearer token"), 403, "InvalidAuthorization"),
        (raw(ok, **{"x-ms-date": "yesterday"}), 403, "InvalidAuthorization"),
        (raw(b"[{"), 400, "InvalidDataFormat"),
        (raw(b'[{"x": "\xff"}]'), 400, "InvalidDataFormat"),
        (raw(b'[{"TimeGenerated": "2026-01-01"}]'), 400, "InvalidDataFormat"),
        (raw(b'[{"RawData": "x"}]'), 400, "InvalidDataFormat"),
        (raw(b" " * (30 * 1024 * 1024 + 1)), 413, "RequestTooLarge"),
    ]
    for response, status, code in expected:
        assert _refusal(response, status, code)
    assert store(platform).catalog.table("Mistakes_CL") is None


def test_a_record_with_an_unusable_property_name_is_kept_with_the_reason(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    records = [{"good": "yes"}, {"bad name": "no"}, "not an object"]
    response = send(client, records, workspace_id=platform.workspace("a"), key=keys["a/main"].primary,
                    log_type="Partial")  # fmt: skip
    assert response.status_code == 200, response.text
    assert store(platform).query("Partial_CL | project good_s").rows == [("yes",)]
    reasons = (
        store(platform)
        .query(
            'IngestionErrors | where Source startswith "data-collector:Partial" | project Source, Reason | order by Source asc'
        )
        .rows
    )
    assert reasons == [
        (
            "data-collector:Partial:record 2",
            "property name 'bad name': only letters, digits and '_' are allowed",
        ),
        ("data-collector:Partial:record 3", "a record must be a JSON object"),
    ]


def test_a_workspace_with_a_full_ingestion_queue_answers_429_with_retry_after(
    client: httpx.Client, platform: Platform, keys: dict[str, SharedKeys]
) -> None:
    """The queue is filled from the test, standing in for a store slow to take batches."""
    workspace_id = platform.workspace("a")
    gate = platform.runtime.ingest_gate
    with contextlib.ExitStack() as full:
        for _ in range(gate.limit):
            full.enter_context(gate.admit(workspace_id))
        refused = send(
            client, [{"n": 1}], workspace_id=workspace_id, key=keys["a/main"].primary, log_type="Queued"
        )
        _refusal(refused, 429, "TooManyRequests")
        assert int(refused.headers["Retry-After"]) >= 1
    taken = send(client, [{"n": 1}], workspace_id=workspace_id, key=keys["a/main"].primary, log_type="Queued")
    assert taken.status_code == 200, taken.text
    assert store(platform).query("Queued_CL | count").rows == [(1,)]
