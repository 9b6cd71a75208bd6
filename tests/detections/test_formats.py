"""Reading rules from files, folders and archives, rule by rule: a bad file is reported with its
reason and skipped, never the whole import; the project's formats are registered plugins."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from watchkeeper.detections.formats import format_named, read_rules, registered_formats
from watchkeeper.detections.models import DetectionRule, RuleLoadError
from watchkeeper.errors import InvalidRequestError


class TinyRules:
    """A minimal format for these tests: ``id``, ``name`` and ``query`` keys."""

    name: ClassVar[str] = "tiny"

    def accepts(self, filename: str) -> bool:
        return filename.endswith(".yml")

    def load(self, text: str, source: str) -> list[DetectionRule]:
        data = yaml.safe_load(text)
        if "query" not in data:
            raise RuleLoadError(source, "is required", line=1, field_path="query")
        return [
            DetectionRule(rule_id=data["id"], name=data["name"], source_format="tiny", query=data["query"])
        ]


def rule(n: int) -> bytes:
    return f"id: r{n}\nname: rule {n}\nquery: Syslog | take {n}\n".encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    (root / "sub").mkdir(parents=True)
    (root / "a.yml").write_bytes(rule(1))
    (root / "sub" / "b.yml").write_bytes(rule(2))
    (root / "README.md").write_text("not a rule")
    (root / "broken.yml").write_bytes(b"id: r9\nname: no query\n")
    (root / "latin1.yml").write_bytes("id: r8\nname: caf\xe9\n".encode("latin-1"))
    (root / "again.yml").write_bytes(rule(1))  # the id of a.yml
    (root / "huge.yml").write_bytes(b"#" * (2 << 20))
    return root


def test_a_folder_is_read_rule_by_rule_and_each_skip_says_why(folder: Path) -> None:
    imported = read_rules(folder, TinyRules())
    assert sorted(r.rule_id for r in imported.rules) == ["r1", "r2"]
    reasons = {Path(name).name: why for name, why in imported.skipped}
    # a folder is read in name order: a.yml comes before again.yml and keeps the id
    assert set(reasons) == {"broken.yml", "latin1.yml", "huge.yml", "again.yml"}
    assert reasons["broken.yml"] == "1: query: is required"
    assert "UTF-8" in reasons["latin1.yml"]
    assert "KiB" in reasons["huge.yml"]
    assert reasons["again.yml"].startswith("rule id r1 is also the id of")
    assert reasons["again.yml"].endswith("a.yml")


def test_an_archive_is_read_like_a_folder(tmp_path: Path) -> None:
    archive = tmp_path / "rules.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in [("rules/x.yml", rule(1)), ("rules/y.yml", rule(2)), ("LICENSE", b"text")]:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    imported = read_rules(archive, TinyRules())
    assert sorted(r.name for r in imported.rules) == ["rule 1", "rule 2"]
    assert imported.skipped == []


def test_the_projects_formats_are_registered_and_unknown_ones_named() -> None:
    assert {"sentinel", "sigma"} <= set(registered_formats())
    with pytest.raises(InvalidRequestError, match=r"known: .*sentinel"):
        format_named("splunk")
