"""SigmaHQ rules for Zeek logs (``product: zeek``), Linux audit events (``service: auditd``) and
Linux process creation, converted onto the tables the Zeek and auditd parsers fill and run over real
recordings: the WRCCDC 2018 Zeek logs (a red team's service creation and scheduled tasks over DCE/RPC)
and the OTRF Security-Datasets auditd recordings of ``arp -a`` and ``dd if=/dev/zero`` padding.
Every rule of these sources is either converted or skipped with the reason an analyst can act on.
The per-source figures are printed (``pytest -s``)."""

from __future__ import annotations

import gzip
import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED
from tests.detections.pack_runs import ingest
from watchkeeper import Workspace
from watchkeeper.detections.models import DetectionRule

PACK = SHARED / "datasets" / "sigma" / "sigma-rules.tar"
ZEEK = SHARED / "datasets" / "network" / "zeek-wrccdc2018"
AUDIT = SHARED / "datasets" / "linux" / "security-datasets"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not PACK.exists(), reason=f"the Sigma rule pack is not at {PACK}"),
]


def _source(document: object) -> str | None:
    """Which of the three log sources a rule reads, if one of them."""
    logsource = document.get("logsource", {}) if isinstance(document, dict) else {}
    if logsource.get("product") == "zeek":
        return "zeek"
    if logsource.get("product") == "linux" and logsource.get("service") == "auditd":
        return "auditd"
    if logsource.get("product") == "linux" and logsource.get("category") == "process_creation":
        return "linux process_creation"
    return None


@pytest.fixture(scope="module")
def pack_rules() -> dict[str, tuple[str, str, str]]:
    """The pack's rules of these sources: file name -> (source, member, text)."""
    rules = {}
    with tarfile.open(PACK) as archive:
        for member in archive:
            if not member.name.endswith(".yml") or member.name.startswith("deprecated"):
                continue
            data = archive.extractfile(member)
            text = data.read().decode() if data is not None else ""
            if "zeek" not in text and "linux" not in text:
                continue
            source = _source(yaml.safe_load(text))
            if source is not None:
                rules[Path(member.name).name] = (source, member.name, text)
    return rules


@pytest.fixture(scope="module")
def outcomes(
    pack_rules: dict[str, tuple[str, str, str]], sigma_pack: tuple[list[DetectionRule], list[tuple[str, str]]]
) -> dict[str, DetectionRule | str]:
    """Each rule of these sources converted, or the reason it was skipped (from the whole pack's
    conversion, which the session shares)."""
    names = {f"{PACK}:{member}": name for name, (_, member, _) in pack_rules.items()}
    done: dict[str, DetectionRule | str] = {names[r.origin]: r for r in sigma_pack[0] if r.origin in names}
    done.update((names[source], reason) for source, reason in sigma_pack[1] if source in names)
    assert len(done) == len(pack_rules)
    return done


def _rules(outcomes: dict[str, DetectionRule | str], *names: str) -> list[DetectionRule]:
    rules = [outcomes[name] for name in names]
    assert all(isinstance(r, DetectionRule) for r in rules), rules
    return [r for r in rules if isinstance(r, DetectionRule)]


def _fired(ws: Workspace, rules: list[DetectionRule]) -> dict[str, list[dict[str, object]]]:
    """The rules whose query returns rows over everything stored, with the rows."""
    fired = {}
    for rule in rules:
        result = ws.query(rule.query)
        if result.rows:
            fired[Path(rule.origin).name] = result.to_dicts()
    return fired


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace.open(None)
    try:
        yield ws
    finally:
        ws.close()


# ---------------------------------------------------------------- what converts


def test_every_rule_of_these_sources_converts_or_says_why(
    pack_rules: dict[str, tuple[str, str, str]], outcomes: dict[str, DetectionRule | str]
) -> None:
    tally: Counter[tuple[str, str]] = Counter()
    for name, outcome in outcomes.items():
        tally[pack_rules[name][0], "converted" if isinstance(outcome, DetectionRule) else "skipped"] += 1
    print(
        "\n"
        + "\n".join(
            f"  {source}: {tally[source, 'converted']} converted, {tally[source, 'skipped']} skipped"
            for source in ("zeek", "auditd", "linux process_creation")
        )
    )
    # before these routes every one of them was skipped ("no table holds log source")
    for source in ("zeek", "auditd", "linux process_creation"):
        assert tally[source, "converted"] > 3 * tally[source, "skipped"], tally
    tables = {r.tables[0] for r in outcomes.values() if isinstance(r, DetectionRule)}
    assert "LinuxAudit_CL" in tables
    assert {"Zeek_dce_rpc_CL", "Zeek_smb_files_CL", "Zeek_dns_CL"} <= tables


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        # the auditd events do not say what the parent process ran
        ("proc_creation_lnx_susp_java_children.yml", "field 'ParentImage' has no column in LinuxAudit_CL"),
        # the parser names the usually watched syscalls only: on a RAW log the rule would never match
        ("lnx_auditd_susp_discovery_sysinfo_syscall.yml",
         "syscall 'sysinfo' is not one the auditd parser names in RAW logs"),
        # a field of a Zeek policy script, not of the default http log
        ("zeek_http_exploit_cve_2021_38647_omigod_no_auth_rce.yml",
         "field 'client_header_names' has no column in Zeek_http_CL"),
        ("zeek_rdp_public_listener.yml", "the fields of Zeek's rdp log are not known (no table holds it)"),
    ],
)  # fmt: skip
def test_a_rule_whose_field_has_no_column_is_skipped_with_the_reason(
    outcomes: dict[str, DetectionRule | str], rule: str, reason: str
) -> None:
    assert outcomes[rule] == reason


# ---------------------------------------------------------------- Zeek


ZEEK_RULES = (
    "zeek_dce_rpc_mitre_bzar_execution.yml",
    "zeek_dce_rpc_mitre_bzar_persistence.yml",
    "zeek_dce_rpc_potential_petit_potam_efs_rpc_call.yml",
    "zeek_smb_converted_win_impacket_secretdump.yml",
    "zeek_smb_converted_win_susp_psexec.yml",
    "zeek_susp_kerberos_rc4.yml",
    "zeek_default_cobalt_strike_certificate.yml",
)


def _zeek_operations(log: Path, wanted: set[tuple[str, str]]) -> int:
    """The dce_rpc records of ``log`` (Zeek TSV) whose (endpoint, operation) is one of ``wanted``."""
    with gzip.open(log, "rt") as lines:
        fields: list[str] = []
        count = 0
        for line in lines:
            values = line.rstrip("\n").split("\t")
            if values[0] == "#fields":
                fields = values[1:]
            elif not line.startswith("#") and fields:
                record = dict(zip(fields, values, strict=True))
                count += (record["endpoint"], record["operation"]) in wanted
        return count


@pytest.mark.skipif(not ZEEK.exists(), reason=f"the WRCCDC 2018 Zeek logs are not at {ZEEK}")
@pytest.mark.parametrize("copy", ["zeek-default", "zeek-json"])
def test_zeek_rules_on_the_wrccdc_recording(
    outcomes: dict[str, DetectionRule | str], workspace: Workspace, copy: str
) -> None:
    logs = [ZEEK / copy / f"{log}.{'log' if copy == 'zeek-default' else 'json'}.gz"
            for log in ("dce_rpc", "smb_files", "kerberos", "x509")]  # fmt: skip
    ingest(workspace, logs)
    fired = _fired(workspace, _rules(outcomes, *ZEEK_RULES))
    # the red team created and started services over svcctl and registered and ran scheduled tasks
    assert set(fired) == {"zeek_dce_rpc_mitre_bzar_execution.yml"}
    execution = fired["zeek_dce_rpc_mitre_bzar_execution.yml"]
    wanted = {("svcctl", "CreateServiceW"), ("svcctl", "StartServiceW"),
              ("ITaskSchedulerService", "SchRpcRegisterTask"), ("ITaskSchedulerService", "SchRpcRun")}  # fmt: skip
    assert len(execution) == _zeek_operations(ZEEK / "zeek-default" / "dce_rpc.log.gz", wanted) > 0
    assert {(row["endpoint"], row["operation"]) for row in execution} == wanted


def _write_json_log(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


def test_a_list_field_matches_when_one_item_does_and_backslashes_are_literal(
    outcomes: dict[str, DetectionRule | str], workspace: Workspace, tmp_path: Path
) -> None:
    """Zeek JSON logs written here: what the recording lacks (DNS answers, a secretsdump file name)."""
    conn = {
        "uid": "C1",
        "id.orig_h": "10.0.0.5",
        "id.orig_p": 50000,
        "id.resp_h": "10.0.0.53",
        "id.resp_p": 53,
    }
    dns = [
        {"ts": 1521911720.5 + i, **conn, "query": query, "answers": answers, "rejected": rejected, "Z": 0}
        for i, (query, answers, rejected) in enumerate([
            ("pool.supportxmr.com", ["198.51.100.7", "127.0.0.1"], False),  # sinkholed: an item is 127.0.0.1
            ("eu.minexmr.com", ["198.51.100.8"], False),  # resolved: alerts
            ("nanopool.org", [], True),  # refused
            ("xmr.nanopool.org", ["10.127.0.0.1"], False),  # no item *is* 127.0.0.1: alerts
        ])
    ]  # fmt: skip
    smb = [
        {"ts": 1521911721.0, **conn, "id.resp_p": 445, "action": "SMB::FILE_OPEN",
         "path": "\\\\10.47.21.82\\ADMIN$", "name": name}
        for name in ("SYSTEM32\\wdszAPrV.tmp", "Temp\\wdszAPrV.tmp", "SYSTEM32/x.tmp")
    ]  # fmt: skip
    ingest(
        workspace,
        [_write_json_log(tmp_path / "dns.json", dns), _write_json_log(tmp_path / "smb_files.json", smb)],
    )
    fired = _fired(workspace, _rules(outcomes, "zeek_dns_mining_pools.yml",
                                     "zeek_smb_converted_win_impacket_secretdump.yml"))  # fmt: skip
    assert sorted(row["query"] for row in fired["zeek_dns_mining_pools.yml"]) == [
        "eu.minexmr.com",
        "xmr.nanopool.org",
    ]
    assert [row["name"] for row in fired["zeek_smb_converted_win_impacket_secretdump.yml"]] == [
        "SYSTEM32\\wdszAPrV.tmp"
    ]


# ---------------------------------------------------------------- auditd


AUDIT_RULES = (
    "lnx_auditd_dd_delete_file.yml",
    "lnx_auditd_binary_padding.yml",
    "lnx_auditd_user_discovery.yml",
    "lnx_auditd_find_cred_in_files.yml",
    "lnx_auditd_web_rce.yml",
    "lnx_auditd_system_info_discovery.yml",
    "proc_creation_lnx_remote_system_discovery.yml",
    "proc_creation_lnx_dd_file_overwrite.yml",
    "proc_creation_lnx_susp_history_delete.yml",
)


@pytest.mark.skipif(
    not (AUDIT / "labels.csv").exists(), reason=f"the Linux Security-Datasets are not at {AUDIT}"
)
def test_auditd_and_process_creation_rules_on_the_security_datasets(
    outcomes: dict[str, DetectionRule | str], workspace: Workspace
) -> None:
    ingest(workspace, sorted(AUDIT.glob("*.zip")))
    fired = _fired(workspace, _rules(outcomes, *AUDIT_RULES))
    events = {name: {row["AuditEventId"] for row in rows} for name, rows in fired.items()}
    arp, dd = "1604994496.155:92733", "1604996384.965:93777"  # `arp -a` and `dd if=/dev/zero bs=1 count=1`
    assert events == {
        "proc_creation_lnx_remote_system_discovery.yml": {arp},  # Image /usr/sbin/arp, CommandLine "arp -a"
        "lnx_auditd_dd_delete_file.yml": {dd},  # EXECVE a0 "dd", a1 "if=/dev/zero"
        "lnx_auditd_binary_padding.yml": {dd},  # keywords "dd" and "if=" in the EXECVE record, no "of="
    }
    # one row per matching record: the EXECVE record, not the event's SYSCALL or PATH records
    assert [row["Sigma_Record"]["type"] for row in fired["lnx_auditd_dd_delete_file.yml"]] == ["EXECVE"]
