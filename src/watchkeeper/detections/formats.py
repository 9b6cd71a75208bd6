"""Rule formats as plugins, and reading rules from files, folders and archives.

A rule format (:class:`RuleFormat`) turns one file's text into :class:`DetectionRule`s. Formats
are entry points of the ``watchkeeper.rule_formats`` group (the project's own, ``sentinel`` and
``sigma``, in ``pyproject.toml``); threat-intelligence match rules and our own rule kinds plug in
the same way. :func:`read_rules` reads a file, a folder or a ``.tar``/``.zip`` of rule files
rule by rule: a file that cannot be loaded is reported with its reason and skipped, never
aborting the rest.
"""

from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from watchkeeper.detections.models import DetectionRule, RuleLoadError
from watchkeeper.errors import InvalidRequestError
from watchkeeper.ingest.sources import Source, sources_at
from watchkeeper.plugins import load_plugins

__all__ = [
    "ENTRY_POINT_GROUP",
    "AnyRules",
    "Imported",
    "RuleFormat",
    "SentinelRules",
    "SigmaRules",
    "format_named",
    "read_rules",
    "registered_formats",
]

ENTRY_POINT_GROUP = "watchkeeper.rule_formats"
# rule files bigger than this are refused (a rule is a few KiB; this is not a rule)
MAX_RULE_BYTES = 1 << 20
# files per task when an import is spread over processes (converting a Sigma rule takes ~10 ms)
_CHUNK = 100


@runtime_checkable
class RuleFormat(Protocol):
    """A rule file format: ``name`` is what ``wk rules import NAME PATH`` takes."""

    name: ClassVar[str]

    def accepts(self, filename: str) -> bool:
        """Whether a file of this name in a folder or archive is one of this format's rule files."""
        ...

    def load(self, text: str, source: str) -> list[DetectionRule]:
        """The rules in one file; raises :class:`RuleLoadError` (file, line, field, why)."""
        ...


def _yaml_file(filename: str) -> bool:
    return filename.lower().endswith((".yaml", ".yml"))


class SentinelRules:
    """Sentinel analytics rule YAML (``kind: Scheduled`` / ``NRT``), one rule per file."""

    name: ClassVar[str] = "sentinel"

    def accepts(self, filename: str) -> bool:
        return _yaml_file(filename)

    def load(self, text: str, source: str) -> list[DetectionRule]:
        from watchkeeper.detections.sentinel import load_sentinel

        return [load_sentinel(text, source)]


class SigmaRules:
    """Sigma rules, converted to KQL over our tables by pySigma's Kusto backend."""

    name: ClassVar[str] = "sigma"

    def accepts(self, filename: str) -> bool:
        return _yaml_file(filename)

    def load(self, text: str, source: str) -> list[DetectionRule]:
        from watchkeeper.detections.sigma import convert_sigma

        return [convert_sigma(text, source)]


class AnyRules:
    """Each file in the format it looks like: a Sigma rule has ``logsource`` and ``detection``
    sections; anything else is read as a Sentinel analytics rule (for ``wk rules test``, where a
    folder may hold both)."""

    name: ClassVar[str] = "auto"

    def accepts(self, filename: str) -> bool:
        return _yaml_file(filename)

    def load(self, text: str, source: str) -> list[DetectionRule]:
        sigma = re.search(r"^logsource\s*:", text, re.M) and re.search(r"^detection\s*:", text, re.M)
        return (SigmaRules() if sigma else SentinelRules()).load(text, source)


@cache
def registered_formats() -> dict[str, RuleFormat]:
    """Every registered rule format by name."""
    found: dict[str, RuleFormat] = load_plugins(ENTRY_POINT_GROUP, RuleFormat)
    return found


def format_named(name: str) -> RuleFormat:
    """The rule format called ``name`` (``auto``: each file as it looks); a clear error listing
    the known ones otherwise."""
    formats = {**registered_formats(), AnyRules.name: AnyRules()}
    if name not in formats:
        raise InvalidRequestError(f"unknown rule format {name!r}; known: {', '.join(sorted(formats))}")
    return formats[name]


@dataclass
class Imported:
    """What reading a path gave: the rules, and each file skipped with the reason."""

    rules: list[DetectionRule] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def read_rules(path: Path, rule_format: RuleFormat, *, workers: int = 1) -> Imported:
    """The rules in ``path`` (a rule file, a folder of them, or an archive), rule by rule. Files
    the format does not take (a README in the archive) are passed over; a rule whose id an
    earlier file in the same import already used is skipped, naming that file. ``workers`` > 1
    loads a large import (a rule pack of thousands of files) in that many processes."""
    texts: list[tuple[str, str]] = []
    outcome = Imported()
    for source in sources_at(path):
        if not rule_format.accepts(source.filename):
            continue
        try:
            texts.append((source.name, _text(source)))
        except RuleLoadError as exc:
            outcome.skipped.append((source.name, _reason(exc)))
    if workers > 1 and len(texts) > 2 * _CHUNK:
        chunks = [texts[i : i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
        # spawned, not forked: the caller may hold open databases and threads
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            loaded = [o for part in pool.map(_load_files, [rule_format] * len(chunks), chunks) for o in part]
    else:
        loaded = _load_files(rule_format, texts)
    seen: dict[str, str] = {}
    for name, rules in loaded:
        if isinstance(rules, str):
            outcome.skipped.append((name, rules))
            continue
        for rule in rules:
            if rule.rule_id in seen:
                outcome.skipped.append(
                    (name, f"rule id {rule.rule_id} is also the id of {seen[rule.rule_id]}")
                )
                continue
            seen[rule.rule_id] = name
            outcome.rules.append(rule)
    return outcome


def _load_files(
    rule_format: RuleFormat, texts: list[tuple[str, str]]
) -> list[tuple[str, list[DetectionRule] | str]]:
    """Each file's rules, or the reason it was skipped."""
    loaded: list[tuple[str, list[DetectionRule] | str]] = []
    for name, text in texts:
        try:
            loaded.append((name, rule_format.load(text, name)))
        except RuleLoadError as exc:
            loaded.append((name, _reason(exc)))
        except Exception as exc:  # a format plugin's own failure is this file's, not the import's
            loaded.append((name, f"{type(exc).__name__}: {exc}"))
    return loaded


def _reason(exc: RuleLoadError) -> str:
    """Why a file was skipped, without its name (the caller has it): ``line: field: message``."""
    where = [str(exc.line)] if exc.line is not None else []
    where += [exc.field_path] if exc.field_path else []
    return ": ".join([*where, exc.message])


def _text(source: Source) -> str:
    with source.open() as stream:
        data = stream.read(MAX_RULE_BYTES + 1)
    if len(data) > MAX_RULE_BYTES:
        raise RuleLoadError(source.name, f"larger than {MAX_RULE_BYTES // 1024} KiB: not a rule file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleLoadError(source.name, f"not UTF-8 text (byte {exc.start})") from None
