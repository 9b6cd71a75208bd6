"""Sigma rules as detection rules: each rule converted to KQL by pySigma's Kusto backend through our
pipeline (:mod:`watchkeeper.detections.sigma_pipeline`: which table and column each Sigma log source
and field is) and compiled against our catalog before it is accepted.

What a Sigma rule becomes (the rest takes :class:`DetectionRule`'s defaults):

- ``id`` -> ``rule_id``, ``title`` -> ``name``, ``description``, ``status``;
- ``level`` -> severity: informational, low, medium, high as themselves, critical as ``High`` (the
  highest severity an analytics rule has);
- ``tags``: ``attack.<tactic>`` -> Sentinel's tactic names (ATT&CK v18's ``stealth`` and
  ``defense-impairment``, split from Defense Evasion, both as ``DefenseEvasion``), ``attack.tNNNN[.NNN]``
  -> techniques; other tags (software, groups, CVEs) are not kept;
- a Scheduled rule run every 5 minutes over the last 5 minutes (:data:`SIGMA_FREQUENCY`,
  :data:`SIGMA_PERIOD`): a Sigma rule matches single events, so consecutive windows that meet without
  overlapping see each event once, and 5 minutes keeps alerts close to the events without a query a
  minute per rule; it alerts when the query returns any row;
- the entities of its table (:data:`ENTITIES`: host, acting account and process, what was acted on);
- the optional ``tests:`` section (the same format as in Sentinel rule files,
  :mod:`watchkeeper.detections.rule_tests`).

A rule that cannot be converted (a log source no table holds, a field its table cannot give, a
modifier the backend lacks, a query our compiler rejects) raises :class:`RuleLoadError` with the
reason; :func:`convert_collection` skips such rules, listing each with its reason.
"""

from __future__ import annotations

import copy
import multiprocessing
import re
import tarfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from watchkeeper.detections.models import DetectionRule, EntityMapping, RuleKind, RuleLoadError, RuleTest
from watchkeeper.detections.rule_tests import parse_rule_tests
from watchkeeper.detections.rule_yaml import load_rule_yaml
from watchkeeper.detections.sigma_pipeline import Route, SigmaKusto, UnmappedError, routes_for, sigma_catalog
from watchkeeper.errors import WatchkeeperError
from watchkeeper.kql import translate

__all__ = ["ENTITIES", "SIGMA_FREQUENCY", "SIGMA_PERIOD", "convert_collection", "convert_sigma"]

SIGMA_FREQUENCY = timedelta(minutes=5)
SIGMA_PERIOD = timedelta(minutes=5)
_MAX_RULE_BYTES = 1 << 20
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SEVERITY = {
    "informational": "Informational",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "High",
}
_TACTICS = {
    "reconnaissance": "Reconnaissance", "resource-development": "ResourceDevelopment",
    "initial-access": "InitialAccess", "execution": "Execution", "persistence": "Persistence",
    "privilege-escalation": "PrivilegeEscalation", "defense-evasion": "DefenseEvasion",
    "stealth": "DefenseEvasion", "defense-impairment": "DefenseEvasion", "credential-access": "CredentialAccess",
    "discovery": "Discovery", "lateral-movement": "LateralMovement", "collection": "Collection",
    "command-and-control": "CommandAndControl", "exfiltration": "Exfiltration", "impact": "Impact",
    "inhibit-response-function": "InhibitResponseFunction", "impair-process-control": "ImpairProcessControl",
}  # fmt: skip


def _entity(kind: str, *fields: tuple[str, str]) -> EntityMapping:
    return EntityMapping(kind, fields)


_HOST = _entity("Host", ("HostName", "DeviceName"))
_ACTOR = (
    _entity(
        "Account", ("Name", "InitiatingProcessAccountName"), ("NTDomain", "InitiatingProcessAccountDomain")
    ),
    _entity("Process", ("CommandLine", "InitiatingProcessCommandLine"), ("ProcessId", "InitiatingProcessId")),
)
_FILE = _entity("File", ("Name", "FileName"), ("Directory", "FolderPath"))
# Sigma rules map no entities: each table's own (the host, the acting account and process, what was
# acted on), so that alerts carry them and incidents group by them
ENTITIES: dict[str, tuple[EntityMapping, ...]] = {
    "DeviceProcessEvents": (
        _HOST,
        _entity("Account", ("Name", "AccountName"), ("NTDomain", "AccountDomain")),
        _entity("Process", ("CommandLine", "ProcessCommandLine"), ("ProcessId", "ProcessId")),
        _FILE,
    ),
    "DeviceNetworkEvents": (_HOST, *_ACTOR, _entity("IP", ("Address", "RemoteIP")), _entity("URL", ("Url", "RemoteUrl"))),
    "DeviceFileEvents": (_HOST, *_ACTOR, _FILE),
    "DeviceImageLoadEvents": (_HOST, *_ACTOR, _FILE),
    "DeviceRegistryEvents": (
        _HOST, *_ACTOR, _entity("RegistryKey", ("Key", "RegistryKey")),
        _entity("RegistryValue", ("Name", "RegistryValueName"), ("Value", "RegistryValueData")),
    ),
    "DeviceEvents": (_HOST, *_ACTOR, _FILE),
    "SecurityEvent": (_entity("Host", ("HostName", "Computer")), _entity("Account", ("FullName", "Account")),
                      _entity("IP", ("Address", "IpAddress"))),
    "Event": (_entity("Host", ("HostName", "Computer")),),
    "Syslog": (_entity("Host", ("HostName", "Computer")),),
    "AWSCloudTrail": (_entity("Account", ("Name", "UserIdentityUserName")), _entity("IP", ("Address", "SourceIpAddress"))),
    "SigninLogs": (_entity("Account", ("FullName", "UserPrincipalName")), _entity("IP", ("Address", "IPAddress")),
                   _entity("CloudApplication", ("AppId", "AppId"), ("Name", "AppDisplayName"))),
    "AzureActivity": (_entity("Account", ("FullName", "Caller")), _entity("IP", ("Address", "CallerIpAddress"))),
}  # fmt: skip


def convert_sigma(text: str, source: str) -> DetectionRule:
    """One Sigma rule (YAML text; ``source`` names it in errors) as a :class:`DetectionRule` whose
    query compiles against our catalog; :class:`RuleLoadError` with the reason otherwise."""
    documents = _documents(text, source)
    rule = _parse(documents, source)
    try:
        routes = routes_for(rule.logsource)
    except UnmappedError as exc:
        raise RuleLoadError(source, str(exc), field_path="logsource") from None
    route, query = _convert(rule, documents, routes, source)
    return DetectionRule(
        rule_id=str(rule.id) if rule.id else str(uuid.uuid5(uuid.NAMESPACE_URL, f"sigma:{source}")),
        name=rule.title,
        source_format="sigma",
        query=query,
        kind=RuleKind.SCHEDULED,
        description=(rule.description or "").strip(),
        severity=_SEVERITY.get(rule.level.name.lower(), "Medium") if rule.level else "Medium",
        query_frequency=SIGMA_FREQUENCY,
        query_period=SIGMA_PERIOD,
        tactics=_tactics(rule),
        techniques=_techniques(rule),
        status=rule.status.name.lower() if rule.status else "",
        tables=(route.table,),
        entity_mappings=ENTITIES.get(route.table, ()),
        tests=_tests(documents, text, source),
        origin=source,
        text=text,
    )


def _documents(text: str, source: str) -> list[Any]:
    """The YAML documents of a rule file, read once with libyaml (pySigma's own reading, in pure
    Python, took half of a collection's conversion time)."""
    if len(text) > _MAX_RULE_BYTES:
        raise RuleLoadError(source, f"larger than {_MAX_RULE_BYTES} bytes")
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise RuleLoadError(source, f"not YAML: {_first_line(exc)}") from None


def _parse(documents: list[Any], source: str) -> SigmaRule:
    """A fresh :class:`SigmaRule` from the documents (a pipeline rewrites the rule it converts)."""
    try:
        collection = SigmaCollection.from_dicts(copy.deepcopy(documents))
    except SigmaError as exc:
        raise RuleLoadError(source, f"not a Sigma rule: {_first_line(exc)}") from None
    if collection.errors:
        raise RuleLoadError(source, f"not a Sigma rule: {_first_line(collection.errors[0])}")
    rules = [r for r in collection.rules if isinstance(r, SigmaRule)]
    if len(rules) != 1 or len(collection.rules) != 1:
        raise RuleLoadError(source, "a file must hold exactly one Sigma detection rule (no correlations)")
    return rules[0]


def _convert(
    rule: SigmaRule, documents: list[Any], routes: tuple[Route, ...], source: str
) -> tuple[Route, str]:
    """The first route the rule converts on, and its query (compiled to check it). A route after
    the first gets the rule parsed afresh: a pipeline rewrites the rule it converts."""
    reason = ""
    for index, route in enumerate(routes):
        try:
            queries = SigmaKusto(route).convert_rule(rule if index == 0 else _parse(documents, source))
        except UnmappedError as exc:
            reason = _first_line(exc)
            continue
        except (SigmaError, NotImplementedError) as exc:
            raise RuleLoadError(source, f"cannot convert: {_first_line(exc)}") from None
        if len(queries) != 1 or not isinstance(queries[0], str):
            raise RuleLoadError(source, "the rule does not convert to one query")
        _compile(queries[0], source)
        return route, queries[0]
    raise RuleLoadError(source, reason, field_path="detection")


def _compile(query: str, source: str) -> None:
    try:
        translate(query, sigma_catalog(), "duckdb", open_tables=False)
    except WatchkeeperError as exc:
        raise RuleLoadError(source, f"the converted query does not compile: {_first_line(exc)}") from None


def _first_line(exc: object) -> str:
    """An error's message without pySigma's "(while converting rule None)" trailer."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"\s*\(while [^()]*\)$", "", first)


def _tactics(rule: SigmaRule) -> tuple[str, ...]:
    found = (_TACTICS.get(tag.name) for tag in rule.tags if tag.namespace == "attack")
    return tuple(dict.fromkeys(t for t in found if t))


def _techniques(rule: SigmaRule) -> tuple[str, ...]:
    names = (tag.name.upper() for tag in rule.tags if tag.namespace == "attack")
    return tuple(dict.fromkeys(n for n in names if n[:1] == "T" and n[1:5].isdigit()))


def _tests(documents: list[Any], text: str, source: str) -> tuple[RuleTest, ...]:
    """The rule's ``tests:`` section, when it has one (read again with line numbers only then)."""
    if not any(isinstance(d, dict) and "tests" in d for d in documents):
        return ()
    document = load_rule_yaml(text, source)
    return parse_rule_tests(document)


# ---------------------------------------------------------------- collections


def convert_collection(
    path: str | Path, *, workers: int = 1
) -> tuple[list[DetectionRule], list[tuple[str, str]]]:
    """Every Sigma rule in a folder (``*.yml``/``*.yaml``, recursively) or a ``.tar`` of them: the
    rules that convert, and ``(source, reason)`` for each that does not. One bad rule never stops
    the rest. ``workers`` > 1 converts in that many processes (a rule pack of thousands of rules
    takes about 10 ms a rule, most of it compiling the query)."""
    files = list(_rule_files(Path(path)))
    if workers > 1 and len(files) > _CHUNK:
        chunks = [files[i : i + _CHUNK] for i in range(0, len(files), _CHUNK)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcomes = [o for part in pool.map(_convert_files, chunks) for o in part]
    else:
        outcomes = _convert_files(files)
    rules = [o for o in outcomes if isinstance(o, DetectionRule)]
    return rules, [o for o in outcomes if not isinstance(o, DetectionRule)]


_CHUNK = 100


def _convert_files(files: list[tuple[str, str]]) -> list[DetectionRule | tuple[str, str]]:
    """Each file's rule, or (source, reason) when it does not convert."""
    outcomes: list[DetectionRule | tuple[str, str]] = []
    for source, text in files:
        try:
            outcomes.append(convert_sigma(text, source))
        except RuleLoadError as exc:
            outcomes.append((source, exc.message))
    return outcomes


def _rule_files(path: Path) -> Iterator[tuple[str, str]]:
    """(source, text) of each rule file; a file that is not UTF-8 text is given as undecodable text
    and then skipped by the parser with its reason."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix in (".yml", ".yaml"):
                yield str(file), file.read_bytes().decode("utf-8", errors="replace")
        return
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith((".yml", ".yaml")):
                data = archive.extractfile(member)
                if data is not None:
                    yield f"{path}:{member.name}", data.read().decode("utf-8", errors="replace")
