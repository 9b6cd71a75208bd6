"""Suricata EVE ``alert`` events (the ``Suricata_alert_CL`` table the EVE parser fills) as alerts.

Each alert row becomes one alert: title the signature (``alert_signature``), detector id the
signature id, severity from Suricata's priority (1 High, 2 Medium, 3 Low, anything else
Informational), category Suricata's classtype text, MITRE techniques and tactics from the rule's
``metadata`` when it has them (``mitre_technique_id``, ``mitre_tactic_name``), entities the two IP
addresses, evidence a ``networkConnectionEvidence`` (addresses, ports, protocol) and an
``ipEvidence`` per address with the role ``source`` or ``destination`` (Suricata does not say which
side attacked). Alerts of one signature between the same two
addresses group into one incident.

Checkpoint: rows are read in ``TimeGenerated`` order from the newest time already seen minus
``lateness`` (default 60 s), and the rows already taken within that overlap are remembered by id in
the checkpoint, so a row stored late (the same second, or up to ``lateness`` behind the newest)
is still taken, and a row is never taken twice. An alert's provider id is a digest of the fields
that identify an EVE event (sensor, timestamp to the microsecond, flow, packet, transaction,
signature, addresses, ports), so the same event ingested twice is one alert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.connectors.base import ProviderAlert, ProviderConfig, Pulled
from watchkeeper.errors import InvalidRequestError

__all__ = ["SURICATA_TABLE", "RowSource", "SuricataConnector", "SuricataProvider", "suricata_alert"]

SURICATA_TABLE = "Suricata_alert_CL"
# rows of SURICATA_TABLE with TimeGenerated >= since, oldest first, at most `limit`
RowSource = Callable[[datetime, int], list[dict[str, Any]]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEVERITIES = {1: "High", 2: "Medium", 3: "Low"}
_IDENTITY = ("host", "in_iface", "TimeGenerated", "flow_id", "pcap_cnt", "tx_id", "alert_gid",
             "alert_signature_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto")  # fmt: skip
# a page full of rows already taken (many alerts within `lateness`) is read again, wider, up to this
MAX_PAGE = 100_000


@dataclass
class SuricataProvider:
    """Suricata alerts of one workspace, read through ``rows``."""

    name: str
    rows: RowSource
    batch: int = 1000
    lateness: timedelta = timedelta(seconds=60)
    kind: str = "suricata"

    def pull(self, checkpoint: str | None) -> Pulled:
        newest, seen = _read_checkpoint(checkpoint)
        since = newest - self.lateness if newest > _EPOCH else _EPOCH
        limit = self.batch
        page = self.rows(since, limit)
        while len(page) >= limit and all(_id(row) in seen for row in page) and limit < MAX_PAGE:
            limit *= 4
            page = self.rows(since, limit)
        fresh = [row for row in page if _id(row) not in seen]
        newest = max([newest, *(_time(row) for row in page)])
        seen.update({_id(row): _time(row) for row in page})
        kept = {key: moment for key, moment in seen.items() if moment >= newest - self.lateness}
        alerts = [suricata_alert(row, provider_alert_id=_id(row)) for row in fresh]
        return Pulled(alerts, _write_checkpoint(newest, kept), more=len(page) >= limit and bool(fresh))


class SuricataConnector:
    """Builds Suricata providers. Settings: ``lateness`` (seconds, default 60), ``batch`` (rows per
    pull, default 1000)."""

    name = "suricata"

    def build(self, config: ProviderConfig) -> SuricataProvider:
        reader = config.read_table
        if reader is None:
            raise InvalidRequestError("a Suricata provider reads its workspace: no workspace to read")
        lateness, batch = config.settings.get("lateness", 60), config.settings.get("batch", 1000)
        if not isinstance(lateness, (int, float)) or not 0 <= lateness <= 86_400:
            raise InvalidRequestError(f"lateness: seconds from 0 to 86400, not {lateness!r}")
        if not isinstance(batch, int) or not 1 <= batch <= 10_000:
            raise InvalidRequestError(f"batch: rows from 1 to 10000, not {batch!r}")
        return SuricataProvider(config.name, lambda since, limit: reader(SURICATA_TABLE, since, limit),
                                batch=batch, lateness=timedelta(seconds=lateness))  # fmt: skip


def suricata_alert(row: Mapping[str, Any], *, provider_alert_id: str) -> ProviderAlert:
    """One ``Suricata_alert_CL`` row as an alert."""
    details = _details(row.get("alert"))
    found = details.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    moment = _time(row)
    signature = str(row.get("alert_signature") or details.get("signature") or "Suricata alert")
    return ProviderAlert(
        provider_alert_id=provider_alert_id, title=signature[:256], severity=_severity(row),
        created=moment, first_activity=moment, last_activity=moment,
        description=_description(row, signature), detector_id=str(row.get("alert_signature_id") or ""),
        category=str(row.get("alert_category") or ""), techniques=_listed(metadata, "mitre_technique_id"),
        tactics=tuple(t.title().replace("_", "") for t in _listed(metadata, "mitre_tactic_name")),
        entities=_entities(row), evidence=_evidence(row, moment), service_source="unknown",
        detection_source="unknown", product_name="Suricata",
        group_by=(str(row.get("alert_signature_id") or signature), str(row.get("src_ip")), str(row.get("dest_ip"))),
        extra={"flowId": row.get("flow_id"), "suricataAction": row.get("alert_action"),
               "signatureRevision": row.get("alert_rev"), "appProtocol": row.get("app_proto")},
    )  # fmt: skip


def _severity(row: Mapping[str, Any]) -> str:
    value = row.get("alert_severity")
    return _SEVERITIES.get(value, "Informational") if isinstance(value, int) else "Informational"


def _description(row: Mapping[str, Any], signature: str) -> str:
    where = f"{row.get('src_ip')}:{row.get('src_port')} -> {row.get('dest_ip')}:{row.get('dest_port')}"
    return (
        f"Suricata: {signature} ({row.get('proto')} {where}, action {row.get('alert_action') or 'unknown'})"
    )


def _entities(row: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    addresses = [row.get("src_ip"), row.get("dest_ip")]
    return tuple({"Type": "ip", "Address": a} for a in dict.fromkeys(addresses) if isinstance(a, str) and a)


def _evidence(row: Mapping[str, Any], moment: datetime) -> tuple[dict[str, Any], ...]:
    created = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    base = {"createdDateTime": created, "remediationStatus": "none", "verdict": "suspicious", "tags": []}

    def address(key: str, role: str) -> dict[str, Any]:
        return {"@odata.type": "#microsoft.graph.security.ipEvidence", **base, "roles": [role],
                "ipAddress": row.get(key), "countryLetterCode": None}  # fmt: skip

    connection = {
        "@odata.type": "#microsoft.graph.security.networkConnectionEvidence", **base, "roles": [],
        "sourceAddress": address("src_ip", "source"), "destinationAddress": address("dest_ip", "destination"),
        "sourcePort": row.get("src_port"), "destinationPort": row.get("dest_port"),
        "protocol": str(row.get("proto") or "").lower() if str(row.get("proto")).lower() in ("tcp", "udp") else None,
    }  # fmt: skip
    return connection, address("src_ip", "source"), address("dest_ip", "destination")


def _details(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _listed(metadata: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = metadata.get(key)
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _time(row: Mapping[str, Any]) -> datetime:
    moment = row.get("TimeGenerated")
    if not isinstance(moment, datetime):
        return _EPOCH
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _id(row: Mapping[str, Any]) -> str:
    identity = [_time(row).isoformat() if key == "TimeGenerated" else row.get(key) for key in _IDENTITY]
    digest = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()
    return f"suricata-{digest[:32]}"


def _read_checkpoint(text: str | None) -> tuple[datetime, dict[str, datetime]]:
    if not text:
        return _EPOCH, {}
    data = json.loads(text)
    seen = {key: datetime.fromisoformat(moment) for key, moment in data.get("seen", {}).items()}
    return datetime.fromisoformat(data["newest"]), seen


def _write_checkpoint(newest: datetime, seen: Mapping[str, datetime]) -> str:
    return json.dumps(
        {"newest": newest.isoformat(), "seen": {k: v.isoformat() for k, v in sorted(seen.items())}}
    )
