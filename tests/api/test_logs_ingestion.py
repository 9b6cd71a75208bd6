"""The Logs Ingestion API with data collection rules: the real azure-monitor-ingestion SDK uploads
over the https listener; every refusal the spec lists, with its status and code; transforms run
by our KQL engine on each batch; another tenant's rule is answered like a missing one."""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.monitor.ingestion import LogsIngestionClient

from tests.api.conftest import Platform
from watchkeeper.audit import Actor, list_entries
from watchkeeper.directory import find_workspace
from watchkeeper.ingest.rules import CollectionRuleRead, StreamColumn, StreamRoute, create_rule
from watchkeeper.workspace import Workspace

MONITOR = "https://monitor.azure.com/.default"
NOW = datetime.now(UTC).replace(microsecond=0)
APP_COLUMNS = [StreamColumn(name=n, type=t) for n, t in
               (("Time", "datetime"), ("Level", "string"), ("Msg", "string"), ("Count", "long"))]  # fmt: skip
APP_TRANSFORM = (
    'source | where Level != "debug" | extend TimeGenerated = Time | project TimeGenerated, Level, Msg, Count'
)


def _rule(platform: Platform, tenant: str, name: str, *routes: StreamRoute) -> CollectionRuleRead:
    with platform.runtime.database.session() as session:
        return create_rule(session, tenant_id=platform.tenants[tenant].id, workspace_id=platform.workspace(tenant),
                           name=name, streams=list(routes), actor=Actor("system", "tests"))  # fmt: skip


@pytest.fixture(scope="module")
def rules(platform: Platform) -> dict[str, CollectionRuleRead]:
    return {
        "app": _rule(platform, "a", "app-logs",
                     StreamRoute(stream="Custom-App", table="App_CL", transformKql=APP_TRANSFORM, columns=APP_COLUMNS),
                     StreamRoute(stream="Custom-Raw", table="Raw_CL")),
        "syslog": _rule(platform, "a", "syslog", StreamRoute(stream="Microsoft-Syslog", table="Syslog")),
        "theirs": _rule(platform, "b", "b-logs", StreamRoute(stream="Custom-App", table="App_CL")),
    }  # fmt: skip


def store(platform: Platform, tenant: str = "a") -> Workspace:
    with platform.runtime.database.session() as session:
        found = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref="main")
    assert found is not None
    workspace = platform.runtime.workspaces.get(found)
    # an acknowledged batch is in the journal; the writer makes it queryable moments later
    assert workspace.flush(timeout=30)
    return workspace


def post(
    client: httpx.Client, platform: Platform, rule: str, stream: str, body: bytes, **headers: str
) -> httpx.Response:
    sent = {"Content-Type": "application/json"} | platform.headers("a", "all", MONITOR) | headers
    path = f"/dataCollectionRules/{rule}/streams/{stream}"
    return client.post(path, params={"api-version": "2023-01-01"}, content=body, headers=sent)


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code
    message: str = response.json()["error"]["message"]
    return message


# ---------------------------------------------------------------------------- the real SDK


@pytest.fixture(scope="module")
def sdk(platform: Platform) -> Iterator[LogsIngestionClient]:
    registered = platform.tenants["a"].apps["all"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(platform.ca_cert))
        patch.setenv("SSL_CERT_FILE", str(platform.ca_cert))
        credential = ClientSecretCredential(platform.tenants["a"].id, registered.client_id,
                                            registered.client_secret, authority=platform.https_url,
                                            disable_instance_discovery=True)  # fmt: skip
        with LogsIngestionClient(endpoint=platform.https_url, credential=credential, retry_total=0) as client:
            yield client
        credential.close()
    gc.collect()  # a raised HttpResponseError holds its TLS socket until collected


def test_the_sdk_uploads_through_the_transform(
    sdk: LogsIngestionClient, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    logs = [{"Time": (NOW - timedelta(minutes=i)).isoformat(), "Level": "debug" if i % 3 == 0 else "info",
             "Msg": f"sdk-{i}", "Count": i, "Dropped": "not declared"} for i in range(30)]  # fmt: skip
    sdk.upload(rule_id=rules["app"].immutable_id, stream_name="Custom-App", logs=logs)
    rows = (
        store(platform)
        .query('App_CL | where Msg startswith "sdk-" | summarize n = count(), s = sum(Count)')
        .rows
    )
    kept = [i for i in range(30) if i % 3]
    assert rows == [(len(kept), sum(kept))]
    oldest = store(platform).query('App_CL | where Msg == "sdk-29" | project TimeGenerated').rows
    assert oldest == [(NOW - timedelta(minutes=29),)]
    assert "Dropped" not in {c.name for c in store(platform).catalog.require("App_CL").columns}


def test_the_sdk_splits_a_large_upload_into_gzipped_calls_under_the_limit(
    sdk: LogsIngestionClient, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    """~3 MB of records: the SDK sends several calls of at most 1 MB; every record lands."""
    logs = [
        {"TimeGenerated": NOW.isoformat(), "Batch": "big", "N": i, "Pad": "x" * 1000} for i in range(3000)
    ]
    sdk.upload(rule_id=rules["app"].immutable_id, stream_name="Custom-Raw", logs=logs)
    rows = store(platform).query('Raw_CL | where Batch == "big" | summarize count(), dcount(N)').rows
    assert rows == [(3000, 3000)]


def test_the_sdk_reports_an_unknown_rule(sdk: LogsIngestionClient, platform: Platform) -> None:
    with pytest.raises(HttpResponseError) as raised:
        sdk.upload(rule_id="dcr-" + "0" * 32, stream_name="Custom-App", logs=[{"Msg": "x"}])
    assert raised.value.status_code == 404


# ---------------------------------------------------------------------------- over plain HTTP


def test_a_builtin_stream_lands_in_its_table_and_the_batch_is_audited(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    record = {"TimeGenerated": NOW.isoformat(), "Computer": "dcr-host", "SyslogMessage": "via dcr",
              "ProcessID": 42, "Facility": "auth"}  # fmt: skip
    body = gzip.compress(json.dumps([record]).encode())
    response = post(
        client,
        platform,
        rules["syslog"].immutable_id,
        "Microsoft-Syslog",
        body,
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    rows = (
        store(platform)
        .query('Syslog | where Computer == "dcr-host" | project ProcessID, Facility, TimeGenerated')
        .rows
    )
    assert rows == [(42, "auth", NOW)]
    with platform.runtime.database.session() as session:
        entries = list_entries(
            session, tenant_id=platform.tenants["a"].id, action="ingest.batch", limit=50
        ).entries
    mine = [
        e for e in entries if e.detail.get("source") == f"dcr:{rules['syslog'].immutable_id}/Microsoft-Syslog"
    ]
    assert mine
    assert mine[0].outcome == "success"
    assert mine[0].detail["tables"] == {"Syslog": 1}
    assert mine[0].actor == platform.tenants["a"].apps["all"].client_id


def test_records_that_do_not_fit_the_declaration_are_kept_with_the_reason(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    records = [{"Time": NOW.isoformat(), "Level": "info", "Msg": "fits", "Count": 1},
               {"Time": NOW.isoformat(), "Level": "info", "Msg": "misfit", "Count": "many"}]  # fmt: skip
    response = post(client, platform, rules["app"].immutable_id, "custom-app", json.dumps(records).encode())
    assert response.status_code == 204, response.text
    assert store(platform).query('App_CL | where Msg in ("fits", "misfit") | project Msg').rows == [("fits",)]
    errors = (
        store(platform).query('IngestionErrors | where RawRecord has "misfit" | project Reason, Source').rows
    )
    assert len(errors) == 1
    reason, source = errors[0]
    assert "Count" in reason
    assert "many" in reason
    assert source == f"dcr:{rules['app'].immutable_id}/Custom-App:record 2"


def test_malformed_bodies_are_refused_with_their_codes(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    rule = rules["app"].immutable_id
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (b"[{", {}, 400, "InvalidContent"),
        (b'{"Msg": "an object, not an array"}', {}, 400, "InvalidContent"),
        (b"[1, 2]", {}, 400, "InvalidContent"),
        (b'[{"Msg": "\xff\xfe"}]', {}, 400, "InvalidContent"),
        (b"not gzip", {"Content-Encoding": "gzip"}, 400, "InvalidContent"),
        (gzip.compress(b"[{}]")[:-6], {"Content-Encoding": "gzip"}, 400, "InvalidContent"),
        (b"[]", {"Content-Type": "text/plain"}, 415, "UnsupportedMediaType"),
        (b"[]", {"Content-Encoding": "br"}, 415, "UnsupportedMediaType"),
        (json.dumps([{"Pad": "x" * 1_100_000}]).encode(), {}, 413, "ContentLengthLimitExceeded"),
        (gzip.compress(json.dumps([{"Pad": "x" * 2_200_000}]).encode()), {"Content-Encoding": "gzip"}, 413,
         "ContentLengthLimitExceeded"),
    ]  # fmt: skip
    for body, headers, status, code in cases:
        message = _error(post(client, platform, rule, "Custom-App", body, **headers), status, code)
        assert message
    assert "UTF-8" in _error(
        post(client, platform, rule, "Custom-App", b'[{"M": "\xff"}]'), 400, "InvalidContent"
    )


def test_an_unknown_stream_is_404_naming_it(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    message = _error(
        post(client, platform, rules["app"].immutable_id, "Custom-Nope", b"[]"), 404, "InvalidStream"
    )
    assert "Custom-Nope" in message


def test_another_tenants_rule_is_answered_like_a_missing_one(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    theirs = post(client, platform, rules["theirs"].immutable_id, "Custom-App", b'[{"Msg": "x"}]')
    missing = post(client, platform, "dcr-" + "f" * 32, "Custom-App", b'[{"Msg": "x"}]')
    assert _error(theirs, 404, "NotFound") == _error(missing, 404, "NotFound")
    assert rules["theirs"].immutable_id not in theirs.text
    assert store(platform, "b").catalog.table("App_CL") is None  # nothing reached tenant b's workspace


def test_tokens_are_checked_in_graph_shape(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    rule = rules["app"].immutable_id
    anonymous = post(client, platform, rule, "Custom-App", b"[]", Authorization="")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    reader = post(client, platform, rule, "Custom-App", b"[]", **platform.headers("a", "reader", MONITOR))
    assert reader.status_code == 403
    assert "Logs.Ingest" in reader.json()["error"]["message"]
    # a Log Analytics token does not open the ingestion API
    query_token = post(client, platform, rule, "Custom-App", b"[]", **platform.headers("a", "all"))
    assert query_token.status_code == 401


def test_a_workspace_with_a_full_ingestion_queue_answers_429_with_retry_after(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    """The queue is filled from the test (standing in for a store that is slow to take batches):
    a batch that finds no room within the wait is refused, and taken once there is room."""
    body = json.dumps(
        [{"TimeGenerated": NOW.isoformat(), "Computer": "queued", "SyslogMessage": "m"}]
    ).encode()
    gate = platform.runtime.ingest_gate
    with contextlib.ExitStack() as full:
        for _ in range(gate.limit):
            full.enter_context(gate.admit(platform.workspace("a")))
        refused = post(client, platform, rules["syslog"].immutable_id, "Microsoft-Syslog", body)
        _error(refused, 429, "TooManyRequests")
        assert int(refused.headers["Retry-After"]) >= 1
    taken = post(client, platform, rules["syslog"].immutable_id, "Microsoft-Syslog", body)
    assert taken.status_code == 204, taken.text
    assert store(platform).query('Syslog | where Computer == "queued" | count').rows == [(1,)]


def test_a_journal_the_store_has_fallen_behind_on_answers_429_and_keeps_what_it_took(
    client: httpx.Client, platform: Platform, rules: dict[str, CollectionRuleRead]
) -> None:
    """The store is held busy from the test (standing in for one too slow to keep up) while the
    journal's limit is tiny: the batch that finds the journal over its limit is refused with a
    retry time; what was acknowledged before is stored once the store catches up."""
    workspace = store(platform)
    limit, wait = workspace.journal_limit, workspace.journal_wait
    rule = rules["syslog"].immutable_id

    def body(computer: str) -> bytes:
        return json.dumps(
            [{"TimeGenerated": NOW.isoformat(), "Computer": computer, "SyslogMessage": "m"}]
        ).encode()

    workspace.journal_limit, workspace.journal_wait = 1, 0.2
    try:
        with workspace.store._lock:  # the writer cannot store anything meanwhile
            first = post(client, platform, rule, "Microsoft-Syslog", body("behind-1"))
            assert first.status_code == 204, first.text
            refused = post(client, platform, rule, "Microsoft-Syslog", body("behind-2"))
            assert "journal is full" in _error(refused, 429, "TooManyRequests")
            assert int(refused.headers["Retry-After"]) >= 1
    finally:
        workspace.journal_limit, workspace.journal_wait = limit, wait
    rows = store(platform).query('Syslog | where Computer startswith "behind-" | project Computer').rows
    assert rows == [("behind-1",)]
