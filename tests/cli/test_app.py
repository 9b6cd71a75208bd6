"""The ``wk`` application itself: help, version, and the demo/serve commands' guard rails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from watchkeeper import __version__

Wk = Callable[..., Result]


def test_version(wk: Wk) -> None:
    result = wk("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_help_lists_every_command(wk: Wk) -> None:
    result = wk("--help")
    assert result.exit_code == 0
    for command in ("query", "compile", "tables", "ingest", "demo", "serve"):
        assert command in result.stdout


def test_demo_builds_then_refuses_to_overwrite(wk: Wk, scratch: Path) -> None:
    target = scratch / "demo"
    built = wk("demo", "--workspace", str(target), "--scale", "0.05")
    assert built.exit_code == 0, built.output
    assert "Password spray" in built.stdout
    assert "Security audit log cleared" in built.stdout
    assert (target / "demo-manifest.json").is_file()
    again = wk("demo", "--workspace", str(target), "--scale", "0.05")
    assert again.exit_code == 1
    assert "--force" in again.stderr
    kept = wk("demo", "--workspace", str(target), "--if-missing")
    assert kept.exit_code == 0
    assert "keeping it" in kept.stderr
    replaced = wk("demo", "--workspace", str(target), "--scale", "0.05", "--force")
    assert replaced.exit_code == 0, replaced.output


def test_demo_defaults_to_the_settings_workspace(wk: Wk, scratch: Path) -> None:
    result = wk("demo", "--scale", "0.05")
    assert result.exit_code == 0, result.output
    assert (scratch / "var" / "workspaces" / "default" / "demo-manifest.json").is_file()
    hits = wk("query", "-f", "csv", "SecurityEvent | where EventID == 1102 | project Computer")
    assert hits.stdout.splitlines() == ["Computer", "SRV-APP01.corp.example.com"]


def test_serve_rejects_a_bad_port(wk: Wk) -> None:
    result = wk("serve", "--port", "70000")
    assert result.exit_code == 2
    assert "port" in result.output.lower()
