"""Suricata EVE alerts (the real recording in the shared datasets, ingested by the EVE parser) as
alerts: severity, title, detector id, network evidence, incidents per signature and address pair,
the same events never taken twice, and a row stored late within the same second still taken."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.connectors.conftest import OPERATOR, Place
from watchkeeper.cases import list_alerts, list_incidents
from watchkeeper.connectors.service import checkpoint_of, find_provider
from watchkeeper.flows.providers import add_provider, run_provider
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.suricata import SuricataEveParser

EVE = SHARED / "datasets" / "network" / "suricata" / "eve.json"
pytestmark = pytest.mark.skipif(not EVE.exists(), reason=f"the Suricata recording is not at {EVE}")


def ingest(place: Place, text: bytes, source: str) -> None:
    batch = Parsed()
    for parsed in SuricataEveParser().parse(io.BytesIO(text), source):
        batch = parsed
        place.runtime.workspaces.get(place.workspace).ingest_parsed(
            batch, source=source, input_format="suricata"
        )


def eve_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines(keepends=True) if b'"event_type":"alert"' in line]


def provider(place: Place, name: str = "ids"):  # type: ignore[no-untyped-def]
    add_provider(
        place.runtime, OPERATOR, place.workspace, name=name, kind="suricata", settings={}, secrets={}
    )
    with place.runtime.database.session() as session:
        found = find_provider(session, tenant_id=place.workspace.tenant_id, name=name)
    assert found is not None
    return found


def test_every_eve_alert_becomes_one_alert_with_network_evidence(place: Place) -> None:
    ingest(place, EVE.read_bytes(), "eve.json")
    configured = provider(place)
    run = run_provider(place.runtime, OPERATOR, configured)
    assert (run.created, run.error) == (68, None)
    with place.runtime.database.session() as session:
        alerts = list_alerts(session, tenant_id=place.workspace.tenant_id)
        incidents = list_incidents(session, tenant_id=place.workspace.tenant_id)
    assert len(alerts) == 68
    apt = next(a for a in alerts if a.rule_id == "2013504")
    assert apt.title == "ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management"
    assert apt.severity == "Low"  # Suricata severity 3
    props = apt.properties
    assert (props["productName"], props["detectorId"], props["category"]) == (
        "Suricata", "2013504", "Not Suspicious Traffic")  # fmt: skip
    kinds = [e["@odata.type"] for e in props["evidence"]]
    assert kinds == ["#microsoft.graph.security.networkConnectionEvidence",
                     "#microsoft.graph.security.ipEvidence", "#microsoft.graph.security.ipEvidence"]  # fmt: skip
    connection = props["evidence"][0]
    assert connection["sourceAddress"]["ipAddress"] == "172.17.0.2"
    assert (connection["destinationPort"], connection["protocol"]) == (80, "tcp")
    assert {"Type": "ip", "Address": "172.17.0.2"} in apt.entities
    # one incident per signature and address pair, not one per alert
    pairs = {(a.rule_id, *sorted(e["Address"] for e in a.entities)) for a in alerts}
    assert len(incidents) == len(pairs) < 68
    mirrored = place.runtime.workspaces.get(place.workspace).query("SecurityAlert | count")
    assert mirrored.rows[0][0] == 68


def test_running_again_takes_nothing_twice_and_a_late_row_of_the_same_second_is_taken(place: Place) -> None:
    lines = eve_lines(EVE)
    late, first = lines[10], lines[:10] + lines[11:]
    ingest(place, b"".join(first), "first")
    configured = provider(place, "late")
    assert run_provider(place.runtime, OPERATOR, configured).created == len(first)
    assert run_provider(place.runtime, OPERATOR, configured).created == 0
    # the late row is older than the newest seen (same second as its neighbours): still taken
    ingest(place, late, "late")
    again = run_provider(place.runtime, OPERATOR, configured)
    assert (again.created, again.duplicates) == (1, 0)
    with place.runtime.database.session() as session:
        assert len(list_alerts(session, tenant_id=place.workspace.tenant_id)) == len(lines)
    # the same events stored once more (a file read twice) are the same alerts
    ingest(place, b"".join(lines[:5]), "repeat")
    assert run_provider(place.runtime, OPERATOR, configured).created == 0


def test_pulls_in_small_batches_reach_every_row_and_the_checkpoint_is_kept(place: Place) -> None:
    ingest(place, b"".join(eve_lines(EVE)), "eve")
    add_provider(place.runtime, OPERATOR, place.workspace, name="small", kind="suricata",
                 settings={"batch": 7, "lateness": 1}, secrets={})  # fmt: skip
    with place.runtime.database.session() as session:
        configured = find_provider(session, tenant_id=place.workspace.tenant_id, name="small")
    assert configured is not None
    run = run_provider(place.runtime, OPERATOR, configured)
    assert (run.created, run.pulls >= 2, run.error) == (68, True, None)
    with place.runtime.database.session() as session:
        assert checkpoint_of(session, provider_id=configured.id) is not None


def test_a_provider_with_a_bad_setting_is_refused_naming_it(place: Place) -> None:
    from watchkeeper.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="lateness"):
        add_provider(place.runtime, OPERATOR, place.workspace, name="bad", kind="suricata",
                     settings={"lateness": -1}, secrets={})  # fmt: skip
