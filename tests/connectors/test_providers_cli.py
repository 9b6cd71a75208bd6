"""``wk providers add|list|run`` over a data directory: a secret is prompted for and never shown."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.connectors.conftest import OPERATOR
from watchkeeper.cli.app import app
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings


def test_add_list_and_run_a_provider(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path))
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="contoso", actor=OPERATOR)
        create_workspace(session, tenant_id=tenant.id, name="main", actor=OPERATOR)
    runtime.close()
    cli, where = CliRunner(), ["--data-dir", str(tmp_path)]
    added = cli.invoke(app, ["providers", "add", "hook", "-t", "contoso", "-w", "main", "-k", "webhook",
                             "--setting", "note=edr", "--secret", "token", *where], input="s3cret-value\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = cli.invoke(app, ["providers", "list", "-t", "contoso", "--format", "json", *where])
    assert listed.exit_code == 0, listed.output
    assert '"secrets": "token"' in listed.output
    assert "s3cret-value" not in listed.output
    ran = cli.invoke(app, ["providers", "run", "hook", "-t", "contoso", "--format", "json", *where])
    assert (ran.exit_code, '"created": 0' in ran.output) == (0, True), ran.output
    unknown = cli.invoke(app, ["providers", "add", "x", "-t", "contoso", "-w", "main", "-k", "nope", *where])
    assert unknown.exit_code == 1
    assert "unknown provider kind 'nope'" in unknown.output
