"""Rule files as YAML that remembers where every value was written, so that a loader can say
"rules/x.yaml:14: entityMappings[1].fieldMappings[0].identifier: ..." instead of "invalid rule".

:func:`load_rule_yaml` reads the text with PyYAML's safe composer (no Python objects, no custom
tags), keeps each node's line, and hands out plain values through :class:`RuleDocument`, whose
readers check one field each and raise :class:`~watchkeeper.detections.models.RuleLoadError`
with the file, the line and the field.

Two YAML 1.1 surprises are switched off because rule files trip on them: ``01:00:00`` is not the
base-60 integer 3600 (Sentinel writes durations that way) and ``2025-12-01`` stays text (dates in
test events are ingested as written).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

import yaml

from watchkeeper.detections.models import RuleLoadError

__all__ = ["NodePath", "RuleDocument", "did_you_mean", "field_path", "load_rule_yaml"]

NodePath = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
# a rule file is small; these stop an alias bomb or a recursive alias from running away
_MAX_NODES = 200_000
_MAX_DEPTH = 64


# libyaml's parser when PyYAML was built with it (5x faster; the same events and marks)
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _RuleLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader without sexagesimal numbers and implicit timestamps."""


_RuleLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RuleLoader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_RuleLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def field_path(path: NodePath) -> str:
    """``("entityMappings", 1, "identifier")`` -> ``entityMappings[1].identifier``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``choices`` (case-insensitive), or ``""``."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.7)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


@dataclass
class RuleDocument:
    """A rule file's values with the line of each: ``data`` is plain YAML data (dicts, lists,
    text, numbers, booleans, None); the readers below check and fetch one field at a time."""

    source: str
    data: object
    value_lines: dict[NodePath, int] = field(default_factory=dict)
    key_lines: dict[NodePath, int] = field(default_factory=dict)
    raw_text: dict[NodePath, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: object, source: str) -> RuleDocument:
        """A document for data that was parsed elsewhere (errors then carry no line)."""
        return cls(source, data)

    def line(self, path: NodePath) -> int | None:
        """The line of the field at ``path``: its key's line (a list or mapping value starts below
        it), an item's own line, else the nearest parent's (for a field that is missing)."""
        for end in range(len(path), -1, -1):
            where = self.key_lines.get(path[:end]) or self.value_lines.get(path[:end])
            if where is not None:
                return where
        return None

    def fail(self, path: NodePath, message: str) -> NoReturn:
        """Raise the error for the field at ``path``."""
        raise RuleLoadError(self.source, message, line=self.line(path), field_path=field_path(path) or None)

    def get(self, path: NodePath) -> object:
        """The value at ``path`` (None when absent)."""
        value = self.data
        for part in path:
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
        return value

    def has(self, path: NodePath) -> bool:
        """Whether ``path`` is written in the file (an explicit ``null`` counts as absent)."""
        return self.get(path) is not None

    def raw(self, path: NodePath) -> str | None:
        """The scalar at ``path`` exactly as written (``1.0`` stays ``1.0``, not a float)."""
        return self.raw_text.get(path)

    def mapping(
        self, path: NodePath, known: Collection[str], *, required: Iterable[str] = (), what: str = "key"
    ) -> dict[str, object]:
        """The mapping at ``path``: every key known (a typo gets a suggestion), required keys present."""
        value = self.get(path)
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, not {_kind(value)}")
        for name in value:
            if name not in known:
                self.fail((*path, name), f"unknown {what}{did_you_mean(name, known)}")
        for name in required:
            if value.get(name) is None:
                self.fail((*path, name), "is required")
        return value

    def items(self, path: NodePath, *, lo: int = 0, hi: int | None = None) -> Iterator[NodePath]:
        """The paths of the items of the list at ``path``, which holds ``lo`` to ``hi`` items."""
        value = self.get(path)
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {_kind(value)}")
        if len(value) < lo or (hi is not None and len(value) > hi):
            limit = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
            self.fail(path, f"holds {len(value)} items; {limit} are allowed")
        return ((*path, i) for i in range(len(value)))

    def text(self, path: NodePath, *, max_len: int | None = None, empty: bool = False) -> str:
        """The text at ``path`` (numbers written bare count as their text)."""
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(path, f"must be text, not {_kind(value)}")
        text = value if isinstance(value, str) else (self.raw(path) or str(value))
        if not empty and not text.strip():
            self.fail(path, "must not be empty")
        if max_len is not None and len(text) > max_len:
            self.fail(path, f"is {len(text)} characters long; at most {max_len} are allowed")
        return text

    def boolean(self, path: NodePath, default: bool) -> bool:
        """The true/false at ``path``, ``default`` when absent."""
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {value!r}")
        return value

    def integer(self, path: NodePath, lo: int, hi: int) -> int:
        """The whole number at ``path``, between ``lo`` and ``hi``."""
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be a whole number, not {value!r}")
        if not lo <= value <= hi:
            self.fail(path, f"{value} is out of range {lo} to {hi}")
        return value

    def choice(self, path: NodePath, allowed: Iterable[str], *, what: str = "value") -> str:
        """One of ``allowed`` at ``path`` (matched regardless of case, returned as spelled in ``allowed``)."""
        value = self.text(path)
        canonical = {a.lower(): a for a in allowed}
        if value.strip().lower() not in canonical:
            hint = did_you_mean(value, canonical.values()) or f"; one of {', '.join(canonical.values())}"
            self.fail(path, f"unknown {what} '{value}'{hint}")
        return canonical[value.strip().lower()]


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def load_rule_yaml(text: str, source: str) -> RuleDocument:
    """Parse one YAML document, keeping the line of every key and value.

    Raises :class:`RuleLoadError` for YAML that does not parse (with the line PyYAML points at),
    several documents in one file, keys that are not text or are written twice.
    """
    loader = _RuleLoader(text)
    try:
        node = loader.get_single_node()
        document = RuleDocument(source, None)
        if node is not None:
            document.data = _Walk(loader, document).value(node, (), 0)
        return document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleLoadError(source, f"not valid YAML: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise RuleLoadError(source, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


class _Walk:
    """Turns composed nodes into plain values, recording lines as it goes."""

    def __init__(self, loader: _RuleLoader, document: RuleDocument) -> None:
        self.loader = loader
        self.document = document
        self.count = 0
        self.written: dict[int, set[int]] = {}

    def value(self, node: yaml.Node, path: NodePath, depth: int) -> object:
        self.count += 1
        if self.count > _MAX_NODES or depth > _MAX_DEPTH:
            self.document.fail(path, "the document is too large or nested too deeply (recursive alias?)")
        self.document.value_lines[path] = node.start_mark.line + 1
        if node.tag not in _PLAIN_TAGS:
            self.document.fail(path, f"not valid YAML for a rule: the tag {node.tag} is not allowed")
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        assert isinstance(node, yaml.ScalarNode)
        self.document.raw_text[path] = node.value
        return self.loader.construct_object(node)

    def mapping(self, node: yaml.MappingNode, path: NodePath, depth: int) -> dict[str, object]:
        own = self.own_keys(node)
        written: set[str] = set()
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            where = (*path, str(key))
            self.document.key_lines[where] = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.document.fail(where, "keys must be text")
            if id(key_node) in own:  # a written key overrides a merged one; written twice is a mistake
                if key in written:
                    self.document.fail(where, "is written twice")
                written.add(key)
            out[key] = self.value(value_node, where, depth + 1)
        return out

    def own_keys(self, node: yaml.MappingNode) -> set[int]:
        """The key nodes written in ``node`` itself, before YAML merge keys (``<<: *anchor``) add
        theirs in front (remembered: an aliased mapping is walked again, already merged)."""
        if id(node) not in self.written:
            self.written[id(node)] = {id(key) for key, _ in node.value}
            self.loader.flatten_mapping(node)
        return self.written[id(node)]
