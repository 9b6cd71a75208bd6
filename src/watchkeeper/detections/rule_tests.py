"""The ``tests:`` section a rule file may carry (Sentinel analytics rule YAML and Sigma rules alike):
events to ingest and what the rule must then raise.

.. code-block:: yaml

    tests:
      - name: ten failures then a success fire once
        events:                      # inline rows per table ...
          SigninLogs:
            - {UserPrincipalName: alice@contoso.com, IPAddress: 10.0.0.5, ResultType: "50126"}
        expect:
          alerts: 1                  # exactly this many (absent: at least one)
          entities:
            - {type: Account, identifier: FullName, value: alice@contoso.com}
      - name: quiet day
        fixture: fixtures/quiet.ndjson   # ... or a file `wk ingest` reads, relative to the rule file
        expect: {alerts: 0}
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import PurePosixPath, PureWindowsPath

from watchkeeper.detections.models import ENTITY_IDENTIFIERS, RuleTest
from watchkeeper.detections.rule_yaml import NodePath, RuleDocument

__all__ = ["parse_rule_tests"]

_TEST_KEYS = ("name", "events", "fixture", "expect")
_EXPECT_KEYS = ("alerts", "entities")
_ENTITY_KEYS = ("type", "identifier", "value")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_TESTS = 100


def parse_rule_tests(document: RuleDocument, path: NodePath = ("tests",)) -> tuple[RuleTest, ...]:
    """The tests at ``path`` of ``document`` (none when the section is absent), each checked field by
    field; raises :class:`~watchkeeper.detections.models.RuleLoadError` naming the line and field."""
    if not document.has(path):
        return ()
    tests = tuple(_test(document, item) for item in document.items(path, hi=_MAX_TESTS))
    seen: set[str] = set()
    for index, test in enumerate(tests):
        if test.name in seen:
            document.fail((*path, index, "name"), f"another test is already named '{test.name}'")
        seen.add(test.name)
    return tests


def _test(document: RuleDocument, path: NodePath) -> RuleTest:
    item = document.mapping(path, _TEST_KEYS, required=("name",))
    if ("events" in item) == ("fixture" in item):
        document.fail(
            path, "give either 'events' (rows per table) or 'fixture' (a file), not both or neither"
        )
    expect = document.mapping((*path, "expect"), _EXPECT_KEYS) if document.has((*path, "expect")) else {}
    return RuleTest(
        name=document.text((*path, "name"), max_len=256),
        events=_events(document, (*path, "events")) if "events" in item else (),
        fixture=_fixture(document, (*path, "fixture")) if "fixture" in item else None,
        expect_alerts=document.integer((*path, "expect", "alerts"), 0, 10_000)
        if "alerts" in expect
        else None,
        expect_entities=_entities(document, (*path, "expect", "entities")) if "entities" in expect else (),
    )


def _events(document: RuleDocument, path: NodePath) -> tuple[tuple[str, tuple[dict[str, object], ...]], ...]:
    tables = document.get(path)
    if not isinstance(tables, dict) or not tables:
        document.fail(path, "must map table names to lists of rows")
    out = []
    for table in tables:
        if not _TABLE_NAME.match(table):
            document.fail((*path, table), "is not a table name")
        rows = []
        for row_path in document.items((*path, table), lo=1):
            row = document.get(row_path)
            if not isinstance(row, dict):
                document.fail(row_path, "a row must be a mapping of column to value")
            rows.append({column: _cell(value) for column, value in row.items()})
        out.append((table, tuple(rows)))
    return tuple(out)


def _cell(value: object) -> object:
    """A cell as ingestion takes it: dates and times (from a plain YAML parser) as ISO 8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {k: _cell(v) for k, v in value.items()}
    return value


def _fixture(document: RuleDocument, path: NodePath) -> str:
    name = document.text(path, max_len=1024)
    # relative to the rule file and inside its folder: a rule must not point a test at any file on the host
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts + windows.parts:
        document.fail(path, f"'{name}' must be a path relative to the rule file, inside its folder")
    return name


def _entities(document: RuleDocument, path: NodePath) -> tuple[tuple[str, str, str], ...]:
    out = []
    for item in document.items(path, lo=1):
        document.mapping(item, _ENTITY_KEYS, required=_ENTITY_KEYS)
        kind = document.choice((*item, "type"), ENTITY_IDENTIFIERS, what="entity type")
        identifier = document.choice(
            (*item, "identifier"), ENTITY_IDENTIFIERS[kind][0], what=f"{kind} identifier"
        )
        out.append((kind, identifier, document.text((*item, "value"), max_len=4096)))
    return tuple(out)
