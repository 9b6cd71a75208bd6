"""The query mix of ``api_load.py``: hunting queries over SecurityEvent with literals drawn from
the data itself (hosts, accounts, addresses, processes, hours within its span), so that no two
requests are alike. Each template builds one Log Analytics request body from a :class:`Draw`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

OK = 200


@dataclass(frozen=True)
class Pools:
    """Literals the queries draw from, read from the data itself."""

    hosts: list[str]
    users: list[str]
    addresses: list[str]
    processes: list[str]
    first_day: datetime
    days: int


POOL_QUERIES = {
    "hosts": "SecurityEvent | summarize n = count() by Computer | top 300 by n | project Computer",
    "users": "SecurityEvent | where EventID == 4625 | summarize n = count() by TargetUserName "
    '| where TargetUserName !in ("", "-") | top 300 by n | project TargetUserName',
    "addresses": 'SecurityEvent | where IpAddress startswith "10." '
    "| summarize n = count() by IpAddress | top 300 by n | project IpAddress",
    "processes": "SecurityEvent | where EventID == 4688 | summarize n = count() by Process "
    "| top 40 by n | project Process",
}
SPAN_QUERY = "SecurityEvent | summarize first = min(TimeGenerated), last = max(TimeGenerated)"


@dataclass(frozen=True)
class Query:
    """One request body: KQL text and, as Log Analytics clients send it, an optional timespan."""

    text: str
    timespan: str | None = None

    def body(self) -> dict[str, str]:
        return {"query": self.text} | ({"timespan": self.timespan} if self.timespan else {})


@dataclass
class Draw:
    """Random choices for one client (its own seeded generator)."""

    rng: random.Random
    pools: Pools

    def pick(self, pool: str) -> str:
        values: list[str] = getattr(self.pools, pool)
        return self.rng.choice(values)

    def window(self, hours: int) -> tuple[datetime, datetime]:
        """A window of ``hours`` starting on an hour within the data's span."""
        last_start = max(0, self.pools.days * 24 - hours)
        start = self.pools.first_day + timedelta(hours=self.rng.randint(0, last_start))
        return start, start + timedelta(hours=hours)


def _text(value: str) -> str:
    """A KQL string literal (``\\`` and ``"`` escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _between(window: tuple[datetime, datetime]) -> str:
    start, end = (f"datetime({t:%Y-%m-%dT%H:%M:%SZ})" for t in window)
    return f"| where TimeGenerated between ({start} .. {end})"


def failed_logons_of_user(d: Draw) -> Query:
    window = d.window(24 * d.rng.choice((1, 3, 7)))
    return Query(f"SecurityEvent\n{_between(window)}\n"
                 f"| where EventID == 4625 and TargetUserName == {_text(d.pick('users'))}\n"
                 "| project TimeGenerated, Computer, IpAddress, LogonType, SubStatus\n"
                 "| order by TimeGenerated desc\n| take 100")  # fmt: skip


def activity_on_host(d: Draw) -> Query:
    window = d.window(d.rng.choice((1, 6, 24)))
    return Query(f"SecurityEvent\n{_between(window)}\n| where Computer == {_text(d.pick('hosts'))}\n"
                 "| project TimeGenerated, EventID, Account, Process, IpAddress, LogonType\n"
                 "| take 200")  # fmt: skip


def logons_from_address(d: Draw) -> Query:
    return Query(f"SecurityEvent\n| where IpAddress == {_text(d.pick('addresses'))}\n"
                 "| where EventID in (4624, 4625)\n"
                 "| summarize attempts = count(), failures = countif(EventID == 4625), "
                 "last_seen = max(TimeGenerated) by TargetUserName, Computer\n| take 50")  # fmt: skip


def failures_by_host(d: Draw) -> Query:
    window = d.window(24 * d.rng.choice((1, 2, 7)))
    return Query(f"SecurityEvent\n{_between(window)}\n| where EventID == 4625\n"
                 "| summarize failures = count(), accounts = dcount(TargetUserName) by Computer\n"
                 "| order by failures desc\n| take 20")  # fmt: skip


def logons_by_account(d: Draw) -> Query:
    window = d.window(d.rng.choice((6, 12, 24)))
    kind = d.rng.choice((2, 3, 10))
    return Query(f"SecurityEvent\n{_between(window)}\n| where EventID == 4624 and LogonType == {kind}\n"
                 "| summarize logons = count(), hosts = dcount(Computer) by Account\n"
                 "| top 20 by logons")  # fmt: skip


def top_processes(d: Draw) -> Query:
    window = d.window(24 * d.rng.choice((1, 3, 7)))
    n = d.rng.choice((5, 10, 25))
    return Query(f"SecurityEvent\n{_between(window)}\n| where EventID == 4688\n"
                 "| summarize runs = count(), hosts = dcount(Computer) by Process\n"
                 f"| top {n} by runs")  # fmt: skip


def events_in_timespan(d: Draw) -> Query:
    start, end = d.window(d.rng.choice((1, 4, 12, 24)))
    event = d.rng.choice((4624, 4625, 4688, 4672))
    span = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    return Query(f"SecurityEvent | where EventID == {event} | count", timespan=span)


@dataclass(frozen=True)
class Template:
    name: str
    kind: str
    weight: int
    build: Callable[[Draw], Query]


TEMPLATES = (
    Template("failed_logons_of_user", "selective filter", 20, failed_logons_of_user),
    Template("activity_on_host", "selective filter", 20, activity_on_host),
    Template("logons_from_address", "selective filter + summarize", 15, logons_from_address),
    Template("failures_by_host", "summarize by host", 15, failures_by_host),
    Template("logons_by_account", "summarize by account", 10, logons_by_account),
    Template("top_processes", "top-N", 10, top_processes),
    Template("events_in_timespan", "time-bounded count (timespan)", 10, events_in_timespan),
)
"""The mix: a few selective filters, summaries by host and by account, a top-N and a count over a
timespan; ``weight`` is the share in percent."""


def load_pools(http: httpx.Client, path: str) -> Pools:
    """The literal pools, from queries through the API (they must answer)."""
    values = {name: [str(row[0]) for row in _rows(http, path, text)] for name, text in POOL_QUERIES.items()}
    first, last = (
        datetime.fromisoformat(str(v)[:10]).replace(tzinfo=UTC) for v in _rows(http, path, SPAN_QUERY)[0]
    )
    empty = [name for name, found in values.items() if not found]
    if empty:
        raise RuntimeError(f"the data has no values for {', '.join(empty)}")
    return Pools(**values, first_day=first, days=(last - first).days + 1)


def _rows(http: httpx.Client, path: str, text: str) -> list[list[Any]]:
    response = http.post(path, json={"query": text})
    if response.status_code != OK:
        raise RuntimeError(f"{response.status_code} for {text!r}: {response.text[:500]}")
    rows: list[list[Any]] = response.json()["tables"][0]["rows"]
    return rows
