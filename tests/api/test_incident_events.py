"""The live incident feed over HTTP (``GET /api/incidents/events``, server-sent events) read with
httpx as a client would: a new incident and a change arrive within seconds, ``Last-Event-ID``
resumes after the last event seen, a tenant's stream never carries another tenant's incidents (live
or replayed), the stream ends with the console session, and the roles are checked."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.api.conftest import Platform
from tests.api.test_graph_alerts import RULES, _draft, _rule, headers
from watchkeeper.api.routes import incident_events
from watchkeeper.api.routes.incident_events import POLL_SECONDS
from watchkeeper.audit import Actor
from watchkeeper.cases import raise_alerts
from watchkeeper.console import SESSION_COOKIE
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.directory import create_user
from watchkeeper.state import utc_now

STREAM = "/api/incidents/events"
WAIT = 4 * POLL_SECONDS + 5  # the longest an event may take to arrive here
PASSWORD = "stream watcher password"


class Events:
    """A server-sent event stream parsed as the HTML standard says (fields up to a blank line)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()
        self.seen: list[dict[str, Any]] = []

    def next(self) -> dict[str, Any]:
        event: dict[str, Any] = {"data": []}
        for line in self.lines:
            if not line:
                if event["data"] or len(event) > 1:  # a block of only comments is no event
                    event["data"] = "\n".join(event["data"])
                    self.seen.append(event)
                    return event
                continue
            field, _, value = line.partition(":")
            if field:  # a line starting with ":" is a comment (the heartbeat)
                value = value.removeprefix(" ")
                event["data"].append(value) if field == "data" else event.__setitem__(field, value)
        raise AssertionError("the stream ended")

    def until(self, predicate: Any) -> dict[str, Any]:
        """Read events until one matches; fail after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            event = self.next()
            if predicate(event):
                return event
        raise AssertionError(f"no matching event within {WAIT} s; saw {self.seen}")


def incident_event(incident_id: str) -> Any:
    return lambda e: e.get("event") == "incident" and json.loads(e["data"])["id"] == incident_id


@contextmanager
def stream(client: httpx.Client, **request_headers: str) -> Iterator[Events]:
    with client.stream("GET", STREAM, headers=request_headers, timeout=WAIT + 20) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        events = Events(response)
        assert "retry" in events.next()  # the stream's first block: it is being watched from now on
        yield events


def new_incident(platform: Platform, tenant: str, rule_id: str, title: str) -> str:
    """Raise an alert of a new rule now (as a rule run does) in the tenant's main workspace; its incident."""
    rule = _rule(rule_id)
    with platform.runtime.database.session() as session:
        tenant_id, workspace_id = platform.tenants[tenant].id, platform.workspace(tenant)
        save_rules(session, tenant_id=tenant_id, workspace_id=workspace_id, rules=[rule], actor=RULES)
        stored = find_rule(session, tenant_id=tenant_id, workspace_id=workspace_id, ref=rule_id)
        assert stored is not None
        (alert,) = raise_alerts(session, tenant_id=tenant_id, workspace_id=workspace_id, rule_ref=stored.id,
                                drafts=[_draft(rule, title, "High")], actor=RULES, now=utc_now())  # fmt: skip
    assert alert.incident_id is not None
    return alert.incident_id


def test_a_new_incident_and_its_change_arrive_within_seconds(
    platform: Platform, client: httpx.Client
) -> None:
    auth = headers(platform, "a")
    with stream(client, **auth) as events:
        started = time.monotonic()
        created = new_incident(platform, "a", "live-1", "Live one")
        first = json.loads(events.until(incident_event(created))["data"])
        assert time.monotonic() - started < WAIT
        assert (first["change"], first["displayName"], first["status"], first["severity"]) == (
            "created", "Live one", "active", "high")  # fmt: skip
        patched = client.patch(
            f"/v1.0/security/incidents/{created}", json={"assignedTo": "bob"}, headers=auth
        )
        assert patched.status_code == 200
        second = json.loads(events.until(incident_event(created))["data"])
        assert (second["change"], second["assignedTo"]) == ("updated", "bob")


def test_a_tenants_stream_never_carries_another_tenants_incidents(
    platform: Platform, client: httpx.Client
) -> None:
    with stream(client, **headers(platform, "a")) as theirs, stream(client, **headers(platform, "b")) as mine:
        a_id = new_incident(platform, "a", "live-a", "Tenant a only")
        b_id = new_incident(platform, "b", "live-b", "Tenant b's own")
        theirs.until(incident_event(a_id))
        # tenant b's stream is live (its own incident arrives) and carried nothing of tenant a's before it
        mine.until(incident_event(b_id))
    ids = [json.loads(e["data"])["id"] for e in mine.seen if e.get("event") == "incident"]
    assert a_id not in ids
    assert b_id in ids
    assert b_id not in [json.loads(e["data"])["id"] for e in theirs.seen if e.get("event") == "incident"]


def test_last_event_id_resumes_after_the_last_event_seen(platform: Platform, client: httpx.Client) -> None:
    auth = headers(platform, "a")
    with stream(client, **auth) as events:
        seen = new_incident(platform, "a", "resume-1", "Seen before the break")
        last_id = events.until(incident_event(seen))["id"]
    missed = new_incident(platform, "a", "resume-2", "Raised while disconnected")
    with stream(client, **auth, **{"Last-Event-ID": last_id}) as resumed:
        got = json.loads(resumed.until(lambda e: e.get("event") == "incident")["data"])
    assert got["id"] == missed  # the first event after the break; the one seen is not sent again


def test_a_resumed_stream_replays_only_its_tenants_incidents(
    platform: Platform, client: httpx.Client
) -> None:
    """``Last-Event-ID`` replays what changed while the client was away: another tenant's incidents of
    that time are not among them (tenant a's is raised first, so it would come first)."""
    auth = headers(platform, "b")
    with stream(client, **auth) as events:
        seen = new_incident(platform, "b", "replay-b-seen", "Seen by b before the break")
        last_id = events.until(incident_event(seen))["id"]
    theirs = new_incident(platform, "a", "replay-a", "Tenant a's while b was away")
    missed = new_incident(platform, "b", "replay-b-missed", "Tenant b's while it was away")
    with stream(client, **auth, **{"Last-Event-ID": last_id}) as resumed:
        resumed.until(incident_event(missed))
    replayed = [json.loads(e["data"])["id"] for e in resumed.seen if e.get("event") == "incident"]
    assert theirs not in replayed
    assert replayed[-1] == missed


def _console_cookie(platform: Platform, client: httpx.Client) -> str:
    with platform.runtime.database.session() as session:
        create_user(session, tenant_id=platform.tenants["a"].id, username="watcher", password=PASSWORD,
                    roles=["SecurityIncident.Read.All"], actor=Actor("system", "tests"))  # fmt: skip
    form = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post("/console/login", data={"tenant": platform.tenants["a"].name, "username": "watcher",
                                                 "password": PASSWORD, "csrf": token.group(1)})  # fmt: skip
    assert signed.status_code == 303
    return signed.cookies[SESSION_COOKIE]


def test_the_stream_ends_with_the_console_session(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url) as browser:
        cookie = _console_cookie(platform, browser)
        page = browser.get("/console/incidents")
        csrf = re.search(r'name="wk-csrf" content="([^"]+)"', page.text)
        assert csrf is not None
        with stream(browser) as events:
            assert browser.post("/console/logout", data={"csrf": csrf.group(1)}).status_code == 303
            ended = events.until(lambda e: e.get("event") == "end")
            assert "expired" in ended["data"]
            with pytest.raises(AssertionError, match="the stream ended"):
                events.next()
        assert cookie  # the session the stream was opened with


def test_the_stream_needs_an_incident_role(platform: Platform, client: httpx.Client) -> None:
    assert client.get(STREAM).status_code == 401
    denied = client.get(STREAM, headers=headers(platform, "a", "reader"))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "accessDenied"


def test_a_quiet_stream_sends_heartbeat_comments(
    platform: Platform, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the server runs in this process: its heartbeat interval is shortened here (15 s otherwise)
    monkeypatch.setattr(incident_events, "HEARTBEAT_SECONDS", 0.1)
    with client.stream("GET", STREAM, headers=headers(platform, "a"), timeout=WAIT) as response:
        lines = response.iter_lines()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if next(lines) == ": heartbeat":
                break
        else:
            raise AssertionError("no heartbeat comment")
