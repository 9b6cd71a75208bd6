"""A workspace's watchlists: named CSV tables that rules read with ``_GetWatchlist('alias')``.

As in Sentinel, the items live in the workspace's ``Watchlist`` table, one record per change:
``_DTItemType`` is ``watchlist`` for the watchlist itself and ``watchlist-item`` for an item,
``_DTItemStatus`` says ``Create`` or ``Delete``, and the latest record of an ``_DTItemId`` wins.
Replacing a watchlist deletes its items and creates the new ones; deleting it deletes both. The
store stays append-only (DuckDB and ClickHouse alike) and KQL over ``Watchlist`` sees the history.

Each column's type is inferred from the CSV (long, real, datetime, bool, else string). An item's
``WatchlistItem`` bag holds its values with those types; the watchlist record's ``WatchlistItem``
holds the definition (``Columns`` as name/type pairs, ``SearchKey`` column), which is how a
workspace opened again knows its watchlists.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.kql.watchlists import ITEM_COLUMNS, WATCHLIST_TABLE, WatchlistFunction, WatchlistSchema
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.result import QueryResult

__all__ = ["MAX_WATCHLIST_ITEMS", "Watchlist", "WorkspaceWatchlists", "read_watchlist_csv"]

# the most items one watchlist holds (Sentinel's local upload is limited to a few MB as well)
MAX_WATCHLIST_ITEMS = 100_000
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}")
_LONG = re.compile(r"[+-]?\d{1,18}")
_REAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOLS = {"true": True, "false": False}

# the latest record of each watchlist (and item), deleted ones dropped
_LIVE_RECORDS = """Watchlist
| summarize arg_max(_DTTimestamp, _DTItemStatus, _DTItemType, WatchlistAlias, SearchKey, WatchlistItem,
    CreatedTimeUTC, LastUpdatedTimeUTC, Source) by _DTItemId
| where _DTItemStatus != 'Delete'"""
_DEFINITIONS = _LIVE_RECORDS + "\n| where _DTItemType == 'watchlist'"
_COUNTS = (
    _LIVE_RECORDS + "\n| where _DTItemType == 'watchlist-item' | summarize Items = count() by WatchlistAlias"
)
# every read is exact: a watchlist's items are never cut at a row limit
_EXACT = QueryLimits(max_rows=MAX_WATCHLIST_ITEMS, strict_rows=True)


class _Host(Protocol):
    """What watchlists need of their workspace."""

    def ingest(self, table: str, rows: list[dict[str, Any]], *, now: datetime | None = None) -> int: ...

    def query(self, text: str, *, limits: QueryLimits | None = None) -> QueryResult: ...


@dataclass(frozen=True)
class Watchlist:
    """One watchlist: its definition and, when read with :meth:`WorkspaceWatchlists.items`, rows."""

    schema: WatchlistSchema
    watchlist_id: str
    source: str
    created: datetime | None
    updated: datetime | None
    item_count: int = 0

    @property
    def alias(self) -> str:
        return self.schema.alias


def read_watchlist_csv(
    text: str, search_key: str | None = None
) -> tuple[tuple[tuple[str, KqlType], ...], str, list[dict[str, Any]]]:
    """Parse a watchlist's CSV: its columns with inferred types, the search key column (the
    first column unless named) and the rows as typed values (an empty cell is null).

    Raises :class:`InvalidRequestError` naming the line for a CSV that cannot be a watchlist."""
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
    if not records:
        raise InvalidRequestError("the watchlist CSV is empty: it needs a header line naming the columns")
    header = [name.strip() for name in records[0]]
    _check_header(header)
    key = header[0] if search_key is None else search_key
    if key not in header:
        raise InvalidRequestError(
            f"the search key column '{key}' is not a column of the CSV ({', '.join(header)})"
        )
    body = _cells(records[1:], len(header))
    types = tuple(_column_type(column) for column in zip(*body, strict=True)) if body else ()
    columns = tuple(zip(header, types or [KqlType.STRING] * len(header), strict=True))
    rows = [{name: _typed(cell, kql_type) for (name, kql_type), cell in zip(columns, row, strict=True)}
            for row in body]  # fmt: skip
    return columns, key, rows


def _check_header(header: list[str]) -> None:
    if any(not name for name in header):
        raise InvalidRequestError("line 1: every column of the watchlist CSV needs a name")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InvalidRequestError(f"line 1: the column '{repeated[0]}' appears twice")
    reserved = [name for name in header if name in ITEM_COLUMNS]
    if reserved:
        raise InvalidRequestError(
            f"line 1: '{reserved[0]}' is a column _GetWatchlist adds itself; rename that CSV column"
        )


def _cells(records: list[list[str]], width: int) -> list[list[str]]:
    body: list[list[str]] = []
    for line, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            raise InvalidRequestError(f"line {line}: {len(record)} values for {width} columns")
        body.append([cell.strip() for cell in record])
    if len(body) > MAX_WATCHLIST_ITEMS:
        raise InvalidRequestError(
            f"the CSV has {len(body)} items; a watchlist holds at most {MAX_WATCHLIST_ITEMS}"
        )
    return body


def _column_type(cells: Iterable[str]) -> KqlType:
    """The narrowest type every non-empty cell of a column fits (an empty column is a string)."""
    values = [cell for cell in cells if cell]
    if not values:
        return KqlType.STRING
    for kql_type, fits in (
        (KqlType.LONG, _LONG.fullmatch),
        (KqlType.REAL, _REAL.fullmatch),
        (KqlType.BOOL, lambda v: v.lower() in _BOOLS),
        (KqlType.DATETIME, _DATETIME.fullmatch),
    ):
        if all(fits(v) for v in values):
            return kql_type
    return KqlType.STRING


def _typed(cell: str, kql_type: KqlType) -> Any:
    """A cell's value as stored in the item's bag (JSON): datetimes as ISO 8601 text."""
    if not cell:
        return None
    if kql_type is KqlType.LONG:
        return int(cell)
    if kql_type is KqlType.REAL:
        return float(cell)
    if kql_type is KqlType.BOOL:
        return _BOOLS[cell.lower()]
    if kql_type is KqlType.DATETIME:
        moment = datetime.fromisoformat(cell.replace(" ", "T"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return cell


class WorkspaceWatchlists:
    """The watchlists of one workspace, kept in its ``Watchlist`` table. Definitions are read
    from the table when a query first needs them and then kept (only this process writes to the
    workspace). The workspace's ``_GetWatchlist`` sits among its stored functions (``functions``),
    renewed on every change so that compiled queries kept for the old definitions are not reused.
    """

    def __init__(self, host: _Host, functions: dict[str, StoredFunction]) -> None:
        self._host = host
        self._lock = threading.RLock()
        self._known: dict[str, Watchlist] | None = None
        self._functions = functions
        self._view = _Schemas(self._definitions)
        self._renew()

    def _renew(self) -> None:
        if isinstance(self._functions.get("_GetWatchlist"), WatchlistFunction | None):
            self._functions["_GetWatchlist"] = WatchlistFunction.of(self._view)

    def list_all(self) -> list[Watchlist]:
        """Every watchlist with its item count, by alias."""
        counts = {row["WatchlistAlias"]: row["Items"] for row in self._rows(_COUNTS)}
        found = self._definitions().values()
        return sorted((_counted(w, counts.get(w.alias, 0)) for w in found), key=lambda w: w.alias)

    def get(self, alias: str) -> Watchlist:
        """One watchlist (with its item count); :class:`NotFoundError` when there is none."""
        for watchlist in self.list_all():
            if watchlist.alias == alias:
                return watchlist
        raise NotFoundError("watchlist", alias)

    def create(
        self, alias: str, text: str, *, search_key: str | None = None, source: str = "", replace: bool = False
    ) -> Watchlist:
        """Create watchlist ``alias`` from CSV ``text`` (or, with ``replace``, put these items in
        place of those it has). Returns it with its item count."""
        if not _ALIAS.fullmatch(alias):
            raise InvalidRequestError(
                f"'{alias}' is not a watchlist alias: up to 64 letters, digits, spaces, '_', '-' or '.'"
            )
        columns, key, rows = read_watchlist_csv(text, search_key)
        with self._lock:
            existing = self._definitions().get(alias)
            if existing is not None and not replace:
                raise InvalidRequestError(f"the watchlist '{alias}' exists; replace it to change its items")
            now = datetime.now(UTC)
            schema = WatchlistSchema(alias, columns, key)
            watchlist_id = existing.watchlist_id if existing is not None else str(uuid.uuid4())
            created = existing.created if existing is not None else now
            record = Watchlist(schema, watchlist_id, source, created, now, len(rows))
            retired = self._retired(alias, now) if existing is not None else []
            self._host.ingest(WATCHLIST_TABLE, [*retired, _record(record, now, "Create"),
                                                *_items(record, rows, now)], now=now)  # fmt: skip
            self._definitions()[alias] = record
            self._renew()
        return record

    def delete(self, alias: str) -> None:
        """Delete watchlist ``alias`` and its items; :class:`NotFoundError` when there is none."""
        with self._lock:
            existing = self._definitions().get(alias)
            if existing is None:
                raise NotFoundError("watchlist", alias)
            now = datetime.now(UTC)
            rows = [*self._retired(alias, now), _record(existing, now, "Delete")]
            self._host.ingest(WATCHLIST_TABLE, rows, now=now)
            del self._definitions()[alias]
            self._renew()

    def _retired(self, alias: str, now: datetime) -> list[dict[str, Any]]:
        """Delete records for the live items of ``alias``."""
        # the alias is safe in a string literal: an alias has no quotes or backslashes
        if not _ALIAS.fullmatch(alias):
            raise InvalidRequestError(f"'{alias}' is not a watchlist alias")
        live = self._rows(f"_GetWatchlist('{alias}') | project _DTItemId")
        return [_deleted_item(alias, row["_DTItemId"], now) for row in live]

    def _definitions(self) -> dict[str, Watchlist]:
        with self._lock:
            if self._known is None:
                self._known = {}  # reading the table compiles a query, which asks for _GetWatchlist
                self._known = {w.alias: w for w in self._read_definitions()}
            return self._known

    def _read_definitions(self) -> list[Watchlist]:
        return [_definition(row) for row in self._rows(_DEFINITIONS)]

    def _rows(self, text: str) -> list[dict[str, Any]]:
        result = self._host.query(text, limits=_EXACT)
        names = [name for name, _ in result.columns]
        return [dict(zip(names, row, strict=True)) for row in result.rows]


class _Schemas(Mapping[str, WatchlistSchema]):
    """The workspace's watchlist definitions as the binder reads them, read on first use."""

    def __init__(self, definitions: Callable[[], dict[str, Watchlist]]) -> None:
        self._definitions = definitions

    def __getitem__(self, alias: str) -> WatchlistSchema:
        return self._definitions()[alias].schema

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._definitions()))

    def __len__(self) -> int:
        return len(self._definitions())


def _counted(watchlist: Watchlist, count: int) -> Watchlist:
    return Watchlist(watchlist.schema, watchlist.watchlist_id, watchlist.source, watchlist.created,
                     watchlist.updated, count)  # fmt: skip


def _definition(row: Mapping[str, Any]) -> Watchlist:
    """A watchlist as its (latest) watchlist record describes it."""
    bag = row["WatchlistItem"] if isinstance(row["WatchlistItem"], dict) else {}
    columns = tuple((str(name), KqlType(kind)) for name, kind in bag.get("Columns", []))
    schema = WatchlistSchema(str(row["WatchlistAlias"]), columns, str(bag.get("SearchKey", row["SearchKey"])))
    return Watchlist(schema, str(row["_DTItemId"]), str(row["Source"] or ""), row["CreatedTimeUTC"],
                     row["LastUpdatedTimeUTC"])  # fmt: skip


def _common(watchlist: Watchlist, now: datetime) -> dict[str, Any]:
    return {
        "TimeGenerated": now,
        "_DTTimestamp": now,
        "WatchlistId": watchlist.watchlist_id,
        "WatchlistAlias": watchlist.alias,
        "WatchlistName": watchlist.alias,
        "Source": watchlist.source,
        "Provider": "Custom",
        "CreatedTimeUTC": watchlist.created,
        "LastUpdatedTimeUTC": now,
        "Type": WATCHLIST_TABLE,
    }


def _record(watchlist: Watchlist, now: datetime, status: str) -> dict[str, Any]:
    definition = {"Columns": [[name, t.value] for name, t in watchlist.schema.columns],
                  "SearchKey": watchlist.schema.search_key}  # fmt: skip
    return {**_common(watchlist, now), "_DTItemId": watchlist.watchlist_id, "_DTItemType": "watchlist",
            "_DTItemStatus": status, "SearchKey": watchlist.schema.search_key,
            "WatchlistItem": definition}  # fmt: skip


def _items(watchlist: Watchlist, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    key = watchlist.schema.search_key
    out = []
    for row in rows:
        item_id = str(uuid.uuid4())
        search = row[key]
        out.append({**_common(watchlist, now), "_DTItemId": item_id, "WatchlistItemId": item_id,
                    "_DTItemType": "watchlist-item", "_DTItemStatus": "Create",
                    "SearchKey": None if search is None else _search_text(search), "WatchlistItem": row})  # fmt: skip
    return out


def _search_text(value: Any) -> str:
    """The search key as text, as the CSV spelled it (``true`` for a bool)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _deleted_item(alias: str, item_id: str, now: datetime) -> dict[str, Any]:
    return {"TimeGenerated": now, "_DTTimestamp": now, "_DTItemId": item_id, "WatchlistItemId": item_id,
            "_DTItemType": "watchlist-item", "_DTItemStatus": "Delete", "WatchlistAlias": alias,
            "LastUpdatedTimeUTC": now, "Type": WATCHLIST_TABLE}  # fmt: skip
