"""``wk dcr`` and ``wk workspaces keys``: rules are created with an Azure-shaped immutable id and
checked (stream names, tables, transforms that do not compile or do not fit the table); shared keys
are made on first request, regenerated one at a time, and never written to the audit log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from click.testing import Result

Wk = Callable[..., Result]
TRANSFORM = 'source | where Level != "debug" | extend TimeGenerated = Time'


def _setup(wk: Wk) -> None:
    assert wk("tenants", "create", "t1").exit_code == 0
    assert wk("workspaces", "create", "main", "-t", "t1").exit_code == 0


def test_dcr_create_and_list(wk: Wk) -> None:
    _setup(wk)
    made = wk("dcr", "create", "app", "-t", "t1", "-w", "main", "--stream", "Custom-App", "--table", "App_CL",
              "--transform", TRANSFORM, "--columns", "Time:datetime,Level:string", "-f", "json")  # fmt: skip
    assert made.exit_code == 0, made.output
    rule = json.loads(made.stdout)
    assert re.fullmatch(r"dcr-[0-9a-f]{32}", rule["immutableId"])
    assert rule["streams"] == [{"stream": "Custom-App", "table": "App_CL", "transformKql": TRANSFORM,
                                "columns": [{"name": "Time", "type": "datetime"},
                                            {"name": "Level", "type": "string"}]}]  # fmt: skip
    kept = "dcr-" + "ab" * 16
    builtin = wk("dcr", "create", "sys", "-t", "t1", "-w", "main", "--stream", "Microsoft-Syslog",
                 "--immutable-id", kept, "-f", "json")  # fmt: skip
    assert builtin.exit_code == 0, builtin.output
    assert json.loads(builtin.stdout)["streams"][0]["table"] == "Syslog"
    listed = json.loads(wk("dcr", "list", "-t", "t1", "-f", "json").stdout)
    assert [(r["name"], r["immutableId"]) for r in listed] == [("app", rule["immutableId"]), ("sys", kept)]
    audit = wk("audit", "-t", "t1", "--format", "json")
    assert audit.exit_code == 0, audit.output
    assert rule["immutableId"] in audit.stdout


def test_dcr_create_refuses_what_cannot_work(wk: Wk) -> None:
    _setup(wk)
    base = ["dcr", "create", "bad", "-t", "t1", "-w", "main"]
    refusals = {
        "not valid": [*base, "--stream", "App", "--table", "App_CL"],
        "needs --table": [*base, "--stream", "Custom-App"],
        "neither a table of the catalog": [*base, "--stream", "Custom-App", "--table", "App"],
        "'Nope' is neither": [*base, "--stream", "Microsoft-Nope"],
        "unknown column 'Missing'": [*base, "--stream", "Custom-App", "--table", "App_CL", "--columns",
                                     "Time:datetime", "--transform", "source | where Missing > 1"],
        "TimeGenerated column of type datetime": [*base, "--stream", "Custom-App", "--table", "App_CL",
                                                  "--columns", "Time:string"],
        "that table Syslog does not have": [*base, "--stream", "Microsoft-Syslog", "--columns",
                                            "TimeGenerated:datetime", "--transform", "source | extend Extra = 1"],
        "is not one of": [*base, "--stream", "Custom-App", "--table", "App_CL", "--columns", "Time:date"],
        "has no workspace": ["dcr", "create", "bad", "-t", "t1", "-w", "nowhere", "--stream", "Custom-A",
                             "--table", "A_CL"],
    }  # fmt: skip
    for expected, args in refusals.items():
        result = wk(*args)
        assert result.exit_code == 1, (expected, result.output)
        assert expected in result.stderr, (expected, result.stderr)
        assert "Traceback" not in result.output
    assert json.loads(wk("dcr", "list", "-t", "t1", "-f", "json").stdout) == []


def test_workspace_keys_are_made_once_regenerated_one_at_a_time_and_never_audited(wk: Wk) -> None:
    _setup(wk)
    first = json.loads(wk("workspaces", "keys", "main", "-t", "t1", "-f", "json").stdout)
    assert set(first) == {"workspaceId", "primarySharedKey", "secondarySharedKey"}
    assert first == json.loads(wk("workspaces", "keys", "main", "-t", "t1", "-f", "json").stdout)
    rotated = wk("workspaces", "keys", "main", "-t", "t1", "--regenerate", "primary", "-f", "json")
    assert rotated.exit_code == 0, rotated.output
    second = json.loads(rotated.stdout)
    assert second["primarySharedKey"] != first["primarySharedKey"]
    assert second["secondarySharedKey"] == first["secondarySharedKey"]
    wrong = wk("workspaces", "keys", "main", "-t", "t1", "--regenerate", "tertiary")
    assert wrong.exit_code == 1
    assert "primary or secondary" in wrong.stderr
    audit = wk("audit", "-t", "t1", "--format", "json").stdout
    assert "workspace.keys.regenerate" in audit
    assert "workspace.keys.show" in audit
    for key in (*first.values(), second["primarySharedKey"]):
        if key != first["workspaceId"]:
            assert key not in audit
