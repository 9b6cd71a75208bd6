"""``_GetWatchlist('alias')``: a workspace's watchlist items as a table, in Sentinel's shape.

Sentinel defines ``_GetWatchlist`` over the ``Watchlist`` table: the latest record of each item
(``arg_max(_DTTimestamp, ...) by _DTItemId``), deleted items dropped, then the item's bag unpacked
into columns. We do the same, except that the columns and their types come from the watchlist's
definition (what the CSV held when it was uploaded) rather than from probing the data, so a rule
binds the same way whether or not the items are there yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.plan import BLiteral, Relation, Schema
from watchkeeper.kql.scope import ExprContext, Scope, StoredFunction
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["ITEM_COLUMNS", "WATCHLIST_TABLE", "WatchlistFunction", "WatchlistSchema", "bind_watchlist"]

WATCHLIST_TABLE = "Watchlist"
# the columns _GetWatchlist adds to the CSV's own, in Sentinel's order
ITEM_COLUMNS = ("_DTItemId", "LastUpdatedTimeUTC", "SearchKey", "WatchlistItem")

# what converts an item's text value to its column's type
_CONVERSIONS = {
    KqlType.LONG: "tolong",
    KqlType.REAL: "toreal",
    KqlType.DATETIME: "todatetime",
    KqlType.BOOL: "tobool",
    KqlType.STRING: "tostring",
}

_ITEMS_QUERY = """__watchlist_rows
| where _DTItemType == 'watchlist-item' and WatchlistAlias == __watchlist_alias
| summarize arg_max(_DTTimestamp, _DTItemStatus, LastUpdatedTimeUTC, SearchKey, WatchlistItem) by _DTItemId
| where _DTItemStatus != 'Delete'
| project _DTItemId, LastUpdatedTimeUTC, SearchKey, WatchlistItem"""


@dataclass(frozen=True)
class WatchlistSchema:
    """What the binder knows of one watchlist: its alias, its columns (CSV order, inferred
    types) and the column whose value is each item's ``SearchKey``."""

    alias: str
    columns: tuple[tuple[str, KqlType], ...]
    search_key: str


@dataclass(frozen=True, eq=False)
class WatchlistFunction(StoredFunction):
    """A workspace's ``_GetWatchlist`` function (in Sentinel too it is a function of the
    workspace), carrying the definitions of the workspace's watchlists."""

    watchlists: Mapping[str, WatchlistSchema] = field(default_factory=dict)

    # one instance per state of the watchlists: queries compiled for another are not reused
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @classmethod
    def of(cls, watchlists: Mapping[str, WatchlistSchema]) -> WatchlistFunction:
        """The function over ``watchlists`` (alias -> definition)."""
        body = _ITEMS_QUERY.replace("__watchlist_rows", WATCHLIST_TABLE).replace("__watchlist_alias", "alias")
        return cls(
            "_GetWatchlist", body + "\n| evaluate bag_unpack(WatchlistItem)", "alias:string", watchlists
        )


def bind_watchlist(b: Binder, expr: ast.Call, scope: Scope) -> Relation:
    """The relation of ``_GetWatchlist(alias)`` for the workspace's watchlists (the
    :class:`WatchlistFunction` among the binder's functions). Without one no workspace is
    behind the compiler: with open tables the CSV columns are then unknown (an open schema);
    a ``_GetWatchlist`` the workspace stored itself is expanded like any stored function."""
    from watchkeeper.kql.bind_sources import expand_stored_function

    function = b.functions.get("_GetWatchlist")
    if function is not None and not isinstance(function, WatchlistFunction):
        return expand_stored_function(b, function, expr, expr)
    watchlists = function.watchlists if function is not None else None
    if len(expr.args) != 1 or expr.named:
        raise b.error("_GetWatchlist() takes one argument: the watchlist alias", expr)
    alias = b.constant(expr.args[0], ExprContext(scope), "a watchlist alias")
    if not isinstance(alias, str):
        raise b.error("_GetWatchlist() takes the watchlist alias as a string", expr.args[0])
    definition = (watchlists or {}).get(alias)
    if definition is None and watchlists is None and b.open_tables:
        items = _items(b, expr, alias)
        return replace(items, schema=Schema(items.schema.columns, open=True))
    if definition is None:
        raise b.error(_unknown(alias, watchlists or {}), expr.args[0])
    return _unpacked(b, expr, _items(b, expr, alias), definition)


def _unknown(alias: str, watchlists: Mapping[str, WatchlistSchema]) -> str:
    close = difflib.get_close_matches(alias, list(watchlists), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else " (create it with `wk watchlists create`)"
    return f"unknown watchlist '{alias}'{hint}"


def _items(b: Binder, expr: ast.Call, alias: str) -> Relation:
    """The live items of ``alias``: the latest record of each, deleted ones dropped."""
    from watchkeeper.kql.parser import parse

    # Watchlist items are uploaded once and stay valid: a rule's window (the request's time range)
    # does not apply to them, as Sentinel re-stamps its watchlist records so that it never does.
    window, b.time_range = b.time_range, None
    try:
        rows = b.table_scan(WATCHLIST_TABLE, expr)
    finally:
        b.time_range = window
    inner = b.root.child()
    inner.define("__watchlist_rows", rows)
    inner.define("__watchlist_alias", BLiteral(KqlType.STRING, alias))
    return b.tabular(_shifted(parse(_ITEMS_QUERY).results[0], expr), inner)


def _unpacked(b: Binder, expr: ast.Call, items: Relation, definition: WatchlistSchema) -> Relation:
    """``items`` with one typed column per CSV column, read from the item's bag."""
    from watchkeeper.kql.bind_operators import bind_operator

    span = expr.span
    bag = ast.Name(span, "WatchlistItem")
    assigns = tuple(
        ast.Assign(span, (name, ), ast.Call(span, _CONVERSIONS.get(kql_type, "tostring"),
                                           (ast.Index(span, bag, ast.Literal(span, name, KqlType.STRING)),)))
        for name, kql_type in definition.columns
    )  # fmt: skip
    if not assigns:
        return items
    return bind_operator(b, items, ast.Extend(span, assigns), b.root)


def _shifted(node: ast.Expr, call: ast.Call) -> ast.Expr:
    """The built-in query's tree, every error in it pointing at the ``_GetWatchlist`` call."""
    if isinstance(node, ast.Pipe):
        return ast.Pipe(call.span, _shifted(node.source, call), replace(node.operator, span=call.span))
    return replace(node, span=call.span)
