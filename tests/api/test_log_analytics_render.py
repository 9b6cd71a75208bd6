"""``Prefer: include-render=true`` on the Log Analytics query route: the query's ``render``
visualization in the answer's ``render``, as azure-monitor-query's ``include_visualization`` asks
for it and returns it as ``visualization``; without the preference the answer is unchanged."""

from __future__ import annotations

import httpx
from azure.monitor.query import LogsQueryClient

from tests.api.conftest import Platform
from tests.api.test_azure_clients import credential, logs, trusted  # noqa: F401 (fixtures)

CHART = "SecurityEvent | summarize n = count() by Computer | render piechart with (title='Logons')"


def post(client: httpx.Client, platform: Platform, text: str, prefer: str | None) -> httpx.Response:
    headers = {**platform.headers("a", "reader"), **({"Prefer": prefer} if prefer else {})}
    return client.post(
        f"/v1/workspaces/{platform.workspace('a')}/query", json={"query": text}, headers=headers
    )


def test_the_render_visualization_is_in_the_answer_when_asked_for(
    client: httpx.Client, platform: Platform
) -> None:
    asked = post(client, platform, CHART, "wait=30,include-render=true")
    assert asked.status_code == 200
    assert asked.json()["render"] == {"visualization": "piechart", "title": "Logons"}
    assert len(asked.json()["tables"][0]["rows"]) == 3  # the data passes through unchanged
    assert "render" not in post(client, platform, CHART, None).json()
    assert "render" not in post(client, platform, "SecurityEvent | count", "include-render=true").json()


def test_logs_query_client_returns_the_visualization(logs: LogsQueryClient, platform: Platform) -> None:  # noqa: F811
    result = logs.query_workspace(platform.workspace("a"), CHART, timespan=None, include_visualization=True)
    assert result.visualization == {"visualization": "piechart", "title": "Logons"}
    plain = logs.query_workspace(platform.workspace("a"), CHART, timespan=None)
    assert plain.visualization is None


def test_render_options_are_returned_by_name(client: httpx.Client, platform: Platform) -> None:
    text = (
        "SecurityEvent | summarize n = count(), m = dcount(EventID) by bin(TimeGenerated, 1h), Computer"
        ' | render timechart with (ycolumns=n, m, series=Computer, legend=hidden, xtitle="Hour", kind=stacked)'
    )
    render = post(client, platform, text, "include-render=true").json()["render"]
    assert render == {"visualization": "timechart", "ycolumns": ["n", "m"], "series": ["Computer"],
                      "legend": "hidden", "xtitle": "Hour", "kind": "stacked"}  # fmt: skip
    broken = post(client, platform, "SecurityEvent | render timechart with (42)", "include-render=true")
    assert broken.status_code == 400
    assert "expected a render property" in broken.json()["error"]["message"]
