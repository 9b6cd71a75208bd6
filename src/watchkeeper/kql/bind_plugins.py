"""Binding of ``evaluate`` plugins, ``mv-apply`` and ``parse-kv``.

Plugins whose output is ordinary relational work are written as the operators Kusto documents
them by (``pivot`` is a ``summarize`` of conditional aggregates, ``narrow`` an ``mv-expand`` of
packed columns), so they bind and lower like any query. Plugins whose output columns depend on
the data (``bag_unpack``, ``pivot``) ask the workspace's probe which names exist; compiling
without a workspace leaves their output open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.errors import SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.bind_analytics_plugins import ANALYTICS_PLUGINS
from watchkeeper.kql.bind_operators import bind_operator, passthrough, project_columns, row_context
from watchkeeper.kql.functions.conversions import CONVERT_TO
from watchkeeper.kql.functions.dynamic import DYNAMIC_GET, property_types
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.naming import SqlNames
from watchkeeper.kql.plan import Apply, ApplyRow, BColumn, BExpr, BLiteral, Relation, Schema
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["evaluate", "mv_apply", "parse_kv"]

_T = KqlType

# Plugins Kusto has that watchkeeper does not compile, with the reason given to the user.
_NOT_COMPILED = {
    "sequence_detect": "it matches event sequences per entity over time windows, which has no SQL form here",
    "basket": "frequent-pattern mining (Apriori) is not expressible as one SQL query",
    "autocluster": "it searches attribute combinations iteratively, which is not expressible as one SQL query",
    "diffpatterns": "it compares pattern sets of two splits iteratively, which is not expressible as one SQL query",
}


def evaluate(b: Binder, rel: Relation, op: ast.Evaluate, scope: Scope) -> Relation:
    plugin = op.call.name
    if op.schema is not None:
        if plugin != "bag_unpack":
            raise b.unsupported(
                f"an output schema for evaluate {plugin}() (only bag_unpack takes one)", op.call
            )
        return _bag_unpack_declared(b, rel, op, scope)
    handler = _PLUGINS.get(plugin) or ANALYTICS_PLUGINS.get(plugin)
    if handler is not None:
        return handler(b, rel, op.call, scope)
    reason = _NOT_COMPILED.get(plugin)
    if reason is not None:
        raise b.unsupported(f"evaluate {plugin}(): {reason}", op.call)
    raise b.unsupported(f"evaluate {plugin}()", op.call)


def _named(call: ast.Call, name: str) -> ast.Expr | None:
    for key, value in call.named:
        if key.lower() == name.lower():
            return value
    return None


# ---------------------------------------------------------------------------- bag_unpack


def _bag_unpack(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """One column per property of the bag. Which properties exist is a fact about the data: a
    workspace supplies a probe that looks; compiling without one leaves the output open.

    ``columnsConflict``: ``error`` (Kusto's default), ``replace_source`` or ``keep_source``;
    ``ignoredProperties``: property names not to unpack."""
    if not call.args:
        raise b.error("bag_unpack() needs the dynamic column to unpack", call)
    ctx = row_context(rel, scope)
    bag = b.scalar(call.args[0], ctx)
    prefix = ""
    if len(call.args) > 1:
        prefix = str(b.constant(call.args[1], ctx, "the bag_unpack column prefix") or "")
    conflict, ignored = _unpack_options(b, call, ctx)
    items = [(n, e) for n, e in passthrough(rel) if not (isinstance(bag, BColumn) and e == bag)]
    if b.probe is None:
        return project_columns(rel, items, open_schema=True)
    kinds = b.make_call(SCALARS["_bag_key_kinds"], [bag], call)
    for key, kql_type in sorted(property_types(b.probe(rel, kinds)).items()):
        if key in ignored:
            continue
        value: BExpr = b.make_call(DYNAMIC_GET, [bag], call, options=((key,),))
        if kql_type is not _T.DYNAMIC:  # Kusto types a column by the values it found
            value = b.make_call(CONVERT_TO[kql_type], [value], call)
        items = _add_unpacked(b, items, prefix + key, value, conflict, call)
    return project_columns(rel, items)


def _bag_unpack_declared(b: Binder, rel: Relation, op: ast.Evaluate, scope: Scope) -> Relation:
    """``bag_unpack(d) : (*, Name:string, ...)``: the declared columns, whatever the data holds; ``*``
    keeps the input's columns (but the bag). Properties not declared are dropped, missing ones are
    null (Kusto's documented "output schema" of a plugin call)."""
    call = op.call
    if not call.args:
        raise b.error("bag_unpack() needs the dynamic column to unpack", call)
    ctx = row_context(rel, scope)
    bag = b.scalar(call.args[0], ctx)
    prefix = (
        str(b.constant(call.args[1], ctx, "the bag_unpack column prefix") or "") if len(call.args) > 1 else ""
    )
    conflict, ignored = _unpack_options(b, call, ctx)
    items = [(n, e) for n, e in passthrough(rel) if not (isinstance(bag, BColumn) and e == bag)]
    items = items if op.keeps_input else []
    for name, kql_type in op.schema or ():
        key = name.removeprefix(prefix)
        if key in ignored:
            continue
        value: BExpr = b.make_call(DYNAMIC_GET, [bag], call, options=((key,),))
        if kql_type is not _T.DYNAMIC:
            value = b.make_call(CONVERT_TO[kql_type], [value], call)
        items = _add_unpacked(b, items, name, value, conflict, call)
    return project_columns(rel, items)


def _unpack_options(b: Binder, call: ast.Call, ctx: object) -> tuple[str, set[str]]:
    conflict_expr = _named(call, "columnsConflict")
    ignored_expr = _named(call, "ignoredProperties")
    conflict = str(b.constant(conflict_expr, ctx, "columnsConflict")) if conflict_expr else "error"  # type: ignore[arg-type]
    if conflict not in ("error", "replace_source", "keep_source"):
        raise b.error("columnsConflict must be 'error', 'replace_source' or 'keep_source'", conflict_expr)
    ignored = b.constant(ignored_expr, ctx, "ignoredProperties") if ignored_expr else []  # type: ignore[arg-type]
    return conflict, {str(x) for x in (ignored if isinstance(ignored, list) else [ignored])}


def _add_unpacked(
    b: Binder, items: list[tuple[str, BExpr]], name: str, value: BExpr, conflict: str, call: ast.Call
) -> list[tuple[str, BExpr]]:
    position = next((i for i, (n, _) in enumerate(items) if n == name), None)
    if position is None:
        return [*items, (name, value)]
    if conflict == "error":
        raise b.error(f"bag_unpack: the property '{name}' collides with an existing column; "
                      "use columnsConflict='replace_source' or 'keep_source'", call)  # fmt: skip
    if conflict == "replace_source":
        return [*items[:position], (name, value), *items[position + 1 :]]
    return items


# ---------------------------------------------------------------------------- pivot, narrow

# Each aggregation pivot accepts, and its conditional form (one per pivoted value).
_CONDITIONAL = {"count": "countif", "sum": "sumif", "avg": "avgif", "min": "minif", "max": "maxif",
                "dcount": "dcountif", "take_any": "take_anyif", "any": "take_anyif", "make_list": "make_list_if",
                "make_set": "make_set_if", "make_bag": "make_bag_if", "stdev": "stdevif", "variance": "varianceif"}  # fmt: skip


def _pivot(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``pivot(Column [, aggregation] [, by columns...])``: one output column per distinct value of
    ``Column``, holding the aggregation over the rows with that value (default ``count()``)."""
    if not call.args or not isinstance(call.args[0], ast.Name):
        raise b.error("pivot() needs the column to pivot on", call)
    pivot = call.args[0]
    rest = list(call.args[1:])
    first = rest.pop(0) if rest and isinstance(rest[0], ast.Call) else None
    agg = first if isinstance(first, ast.Call) else ast.Call(call.span, "count", ())
    if agg.name not in _CONDITIONAL:
        raise b.unsupported(f"pivot() with aggregation {agg.name}()", agg)
    by = [r for r in rest if isinstance(r, ast.Name)]
    if len(by) != len(rest):
        raise b.error("pivot() takes column names after the aggregation", call)
    if not by:
        used = {pivot.name} | {n.name for n in agg.args if isinstance(n, ast.Name)}
        by = [ast.Name(call.span, c.name) for c in rel.schema.columns if c.name not in used]
    values = _pivot_values(b, rel, pivot, call, scope)
    if values is None:
        return project_columns(rel, [(n.name, _column(b, rel, n)) for n in by], open_schema=True)
    aggregates = tuple(ast.Assign(call.span, (v,), _conditional(agg, pivot, v)) for v in values)
    summarize = ast.Summarize(call.span, aggregates, tuple(ast.Assign(n.span, (), n) for n in by))
    return bind_operator(b, rel, summarize, scope)


def _column(b: Binder, rel: Relation, name: ast.Name) -> BExpr:
    found = b.column_ref(name.name, row_context(rel, Scope()), name)
    if found is None:
        raise b.unknown_name(name.name, row_context(rel, Scope()), name)
    return found


def _pivot_values(
    b: Binder, rel: Relation, pivot: ast.Name, call: ast.Call, scope: Scope
) -> list[str] | None:
    """The distinct values of the pivot column as text (they become column names), via the probe."""
    column = _column(b, rel, pivot)
    if b.probe is None:
        return None
    text = b.make_call(CONVERT_TO[_T.STRING], [column], call)
    marker = b.make_call(SCALARS["bag_pack"], [text, BLiteral(_T.LONG, 1)], call)
    return [v for v in b.probe(rel, marker) if v != ""]


def _conditional(agg: ast.Call, pivot: ast.Name, value: str) -> ast.Call:
    span = agg.span
    cond = ast.Binary(span, "==", ast.Call(span, "tostring", (pivot,)), ast.Literal(span, value, _T.STRING))
    return ast.Call(span, _CONDITIONAL[agg.name], (*agg.args, cond))


def _narrow(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """One row per (row, column): ``Row`` (0-based row number), ``Column`` and ``Value`` as text."""
    span = call.span
    if rel.schema.open:
        raise b.unsupported("evaluate narrow() over a table whose columns are not known", call)
    pairs = []
    for c in rel.schema.columns:
        packed = (ast.Literal(span, "Column", _T.STRING), ast.Literal(span, c.name, _T.STRING),
                  ast.Literal(span, "Value", _T.STRING), ast.Call(span, "tostring", (ast.Name(span, c.name),)))  # fmt: skip
        pairs.append(ast.Call(span, "bag_pack", packed))
    cells = ast.Assign(span, ("__wk_cells",), ast.Call(span, "pack_array", tuple(pairs)))
    row = ast.Assign(span, ("__wk_row",), ast.Binary(span, "-", ast.Call(span, "row_number", ()),
                                                      ast.Literal(span, 1, _T.LONG)))  # fmt: skip
    steps: list[ast.Operator] = [
        ast.Extend(span, (row, cells)),
        ast.MvExpand(span, (ast.MvExpandItem(span, "__wk_cell", ast.Name(span, "__wk_cells"), None),),
                     item_index="__wk_col"),
        ast.Sort(span, (ast.SortKey(span, ast.Name(span, "__wk_row"), False, None),
                        ast.SortKey(span, ast.Name(span, "__wk_col"), False, None))),
        ast.Project(span, (ast.Assign(span, ("Row",), ast.Name(span, "__wk_row")),
                           _text(span, "Column"), _text(span, "Value"))),
    ]  # fmt: skip
    for step in steps:
        rel = bind_operator(b, rel, step, scope)
    return rel


def _text(span: object, key: str) -> ast.Assign:
    cell = ast.Member(span, ast.Name(span, "__wk_cell"), key)  # type: ignore[arg-type]
    return ast.Assign(span, (key,), ast.Call(span, "tostring", (cell,)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- ipv4/ipv6_lookup


def _ip_lookup(family: str) -> Callable[[Binder, Relation, ast.Call, Scope], Relation]:
    def plugin(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
        return _lookup_ranges(b, rel, call, scope, family)

    return plugin


def _lookup_ranges(b: Binder, rel: Relation, call: ast.Call, scope: Scope, family: str) -> Relation:
    """``ipvN_lookup(Table, SourceIp, TableRange [, extra keys...] [, return_unmatched])``: each
    row joined with the table rows whose range holds its address (and whose extra keys equal its);
    ``return_unmatched`` keeps rows matching none (the table's columns empty).

    A range is not an equality, so this is a join on a constant key filtered by
    ``ipvN_is_in_range``: fine for the small lookup tables the plugin is meant for."""
    span = call.span
    args = list(call.args)
    unmatched_expr = _named(call, "return_unmatched")
    if args and isinstance(args[-1], ast.Literal) and isinstance(args[-1].value, bool):
        unmatched_expr = args.pop()
    if len(args) < 3 or len(args) % 2 == 0 or not all(isinstance(a, ast.Name) for a in args[1:]):
        raise b.error(
            f"{call.name}() takes a table, the address column, the range column and pairs of key columns",
            call,
        )
    unmatched = (
        bool(b.constant(unmatched_expr, row_context(rel, scope), "return_unmatched"))
        if unmatched_expr
        else False
    )
    names = [a.name for a in args[1:] if isinstance(a, ast.Name)]
    cond, keys = _range_condition(span, family, names)
    rows = _numbered(b, rel, span, scope)
    table = ast.Pipe(span, args[0], ast.Extend(span, tuple(keys)))
    matched = rows
    for step in (
        ast.Extend(span, (keys[0],)),
        ast.Join(span, "inner", table, (ast.Name(span, "__wk_k"),)),
        ast.Where(span, cond),
    ):
        matched = bind_operator(b, matched, step, scope)
    if unmatched:
        matched = _with_unmatched(b, rows, matched, span, scope)
    drop = tuple(c.name for c in matched.schema.columns if c.name.startswith(("__wk_k", "__wk_row")))
    return bind_operator(b, matched, ast.ProjectAway(span, drop), scope)


def _range_condition(span: SourceSpan, family: str, names: list[str]) -> tuple[ast.Expr, list[ast.Assign]]:
    """The match condition, and the columns the table gets: a constant join key and its extra keys
    under names of their own (the join would rename a clash)."""
    cond: ast.Expr = ast.Call(
        span, f"{family}_is_in_range", (ast.Name(span, names[0]), ast.Name(span, names[1]))
    )
    keys = [ast.Assign(span, ("__wk_k",), ast.Literal(span, 1, _T.LONG))]
    for i, (left_key, right_key) in enumerate(zip(names[2::2], names[3::2], strict=True)):
        keys.append(ast.Assign(span, (f"__wk_k_{i}",), ast.Name(span, right_key)))
        same = ast.Binary(span, "==", ast.Name(span, left_key), ast.Name(span, f"__wk_k_{i}"))
        cond = ast.Binary(span, "and", cond, same)
    return cond, keys


def _numbered(b: Binder, rel: Relation, span: SourceSpan, scope: Scope) -> Relation:
    """``rel`` with ``__wk_row`` identifying its rows, the same way each time it is read.

    The lookups read these rows twice (the matches, and the anti-join for rows matching nothing).
    ClickHouse evaluates a relation read twice twice, and ``row_number()`` over rows in no order may
    number them differently each time. A digest of every column is the same each time; rows alike
    in every column share it, which is harmless: they match, or fail to, alike."""
    if rel.schema.open or not rel.schema.columns:
        identity: ast.Expr = ast.Call(span, "row_number", ())
    else:
        columns = tuple(ast.Name(span, c.name) for c in rel.schema.columns)
        packed = ast.Call(span, "tostring", (ast.Call(span, "pack_array", columns),))
        identity = ast.Call(span, "hash_sha256", (packed,))
    return bind_operator(b, rel, ast.Extend(span, (ast.Assign(span, ("__wk_row",), identity),)), scope)


def _with_unmatched(b: Binder, rows: Relation, matched: Relation, span: SourceSpan, scope: Scope) -> Relation:
    """``matched`` plus the input rows (numbered ``__wk_row``) that matched nothing."""
    inner = scope.child()
    inner.define("$wk_matched", matched)
    anti = ast.Join(span, "leftanti", ast.Name(span, "$wk_matched"), (ast.Name(span, "__wk_row"),))
    inner.define("$wk_rest", bind_operator(b, rows, anti, inner))
    return bind_operator(b, matched, ast.UnionOp(span, ast.Union(span, (ast.Name(span, "$wk_rest"),))), inner)


# ---------------------------------------------------------------------------- geo_polygon/line_lookup


def _geo_lookup(lines: bool) -> Callable[[Binder, Relation, ast.Call, Scope], Relation]:
    """``geo_polygon_lookup(Table, PolygonKey, Lng, Lat [, return_unmatched, lookup_area_radius,
    return_lookup_key])`` and ``geo_line_lookup(Table, LineKey, Lng, Lat, Radius [, ...])``: each row
    joined with the table rows whose polygon holds its point (whose line is within Radius meters);
    the key column is dropped unless ``return_lookup_key``. A join on a constant key, filtered."""

    def plugin(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
        span, required = call.span, 5 if lines else 4
        args, ctx = list(call.args), row_context(rel, scope)
        flags = dict(
            zip(
                ("return_unmatched", "lookup_area_radius", "return_lookup_key"), args[required:], strict=False
            )
        )
        if len(args) < required or not all(isinstance(a, ast.Name) for a in args[1:4]):
            raise b.error(f"{call.name}() takes a table, its shape column, the longitude and latitude columns"
                          + (" and a radius" if lines else ""), call)  # fmt: skip
        option = {k: b.constant(_named(call, k) or flags.get(k) or ast.Literal(span, False, _T.BOOL), ctx, k)
                  for k in ("return_unmatched", "return_lookup_key")}  # fmt: skip
        lng, lat, key = args[2], args[3], args[1]
        cond: ast.Expr = ast.Call(span, "geo_point_in_polygon", (lng, lat, key))
        if lines:
            cond = ast.Binary(
                span, "<=", ast.Call(span, "geo_distance_point_to_line", (lng, lat, key)), args[4]
            )
        rows = _numbered(b, rel, span, scope)
        const = ast.Assign(span, ("__wk_k",), ast.Literal(span, 1, _T.LONG))
        matched = rows
        for step in (ast.Extend(span, (const,)),
                     ast.Join(span, "inner", ast.Pipe(span, args[0], ast.Extend(span, (const,))), (ast.Name(span, "__wk_k"),)),
                     ast.Where(span, cond)):  # fmt: skip
            matched = bind_operator(b, matched, step, scope)
        if option["return_unmatched"]:
            matched = _with_unmatched(b, rows, matched, span, scope)
        drop = [c.name for c in matched.schema.columns if c.name.startswith(("__wk_k", "__wk_row"))]
        if not option["return_lookup_key"] and isinstance(key, ast.Name):
            drop.append(key.name)
        return bind_operator(b, matched, ast.ProjectAway(span, tuple(drop)), scope)

    return plugin


_PLUGINS: dict[str, Callable[[Binder, Relation, ast.Call, Scope], Relation]] = {
    "bag_unpack": _bag_unpack,
    "pivot": _pivot,
    "narrow": _narrow,
    "ipv4_lookup": _ip_lookup("ipv4"),
    "ipv6_lookup": _ip_lookup("ipv6"),
    "geo_polygon_lookup": _geo_lookup(lines=False),
    "geo_line_lookup": _geo_lookup(lines=True),
}


# ---------------------------------------------------------------------------- mv-apply


def mv_apply(b: Binder, rel: Relation, op: ast.MvApply, scope: Scope) -> Relation:
    """Per input row: expand the arrays into a table (``mv-expand`` of that row), run the
    subquery on it; the output is the union, each row led by the row's other columns."""
    if rel.schema.open:
        raise b.unsupported("mv-apply over a table whose columns are not known", op)
    row = ApplyRow(rel.schema)
    expand = ast.MvExpand(op.span, op.items, "bag", op.item_index, op.limit)
    expanded = bind_operator(b, row, expand, scope)
    inner = scope.child()
    inner.define("$mvapply", expanded)
    if op.context_name:
        inner.define(op.context_name, expanded)
    sub = b.tabular(op.subquery, inner)
    in_place = {c.name for c, _, _ in getattr(expanded, "expanded", ())}
    returned = {c.name for c in sub.schema.columns}
    context = tuple(c for c in rel.schema.columns if c.name not in in_place | returned)
    names = SqlNames()
    columns = [names.column(c.name, c.type) for c in context]
    columns += [names.column(c.name, c.type) for c in sub.schema.columns]
    return Apply(Schema(tuple(columns), sub.schema.open), rel, row, sub, context)


# ---------------------------------------------------------------------------- parse-kv


def parse_kv(b: Binder, rel: Relation, op: ast.ParseKv, scope: Scope) -> Relation:
    """Each listed key's value becomes a typed column (null, or "" for strings, when absent)."""
    ctx = row_context(rel, scope)
    source = b.coerce(b.scalar(op.source, ctx), _T.STRING, op.source)
    options = {k.lower(): b.constant(v, ctx, f"the parse-kv option {k}") for k, v in op.options}
    items = passthrough(rel)
    for key, kql_type in op.columns:
        value = _kv_value(b, source, key, options, op)
        if kql_type not in (_T.STRING, _T.UNKNOWN):
            value = b.make_call(CONVERT_TO[kql_type], [value], op)
        items = [(n, e) for n, e in items if n != key] + [(key, value)]
    return project_columns(rel, items)


def _kv_value(b: Binder, source: BExpr, key: str, options: dict[str, object], op: ast.ParseKv) -> BExpr:
    if "regex" in options:
        regex = BLiteral(_T.STRING, str(options["regex"]))
        return b.make_call(SCALARS["_kv_regex"], [source, regex, BLiteral(_T.STRING, key)], op)
    groups, pattern = _kv_pattern(key, options)
    parts = [b.make_call(SCALARS["extract"], [BLiteral(_T.STRING, pattern), BLiteral(_T.LONG, g), source], op)
             for g in groups]  # fmt: skip
    return parts[0] if len(parts) == 1 else b.make_call(SCALARS["strcat"], parts, op)


def _kv_pattern(key: str, options: dict[str, object]) -> tuple[list[int], str]:
    """A regex whose groups (one of which matches) capture the value of ``key``.

    Keys and values lose surrounding whitespace; a value may be quoted; ``greedy`` values run to
    the next ``key<kv_delimiter>``; without delimiters any non-alphanumeric text separates."""
    quotes = str(options.get("quote") or "")
    k = re.escape(key)
    opening, closing = (quotes[0], quotes[-1]) if quotes else ("", "")
    quoted_key = f"{re.escape(opening)}?{k}{re.escape(closing)}?" if quotes else k
    if "pair_delimiter" not in options or "kv_delimiter" not in options:
        head = rf"(?:^|[^0-9A-Za-z]){quoted_key}[^0-9A-Za-z{re.escape(quotes)}]+"
        return _with_quotes(head, r"([0-9A-Za-z]+)", opening, closing)
    pd, kd = re.escape(str(options["pair_delimiter"])), re.escape(str(options["kv_delimiter"]))
    head = rf"(?:^|{pd})\s*{quoted_key}\s*{kd}\s*"
    if options.get("greedy"):
        stops = re.escape(str(options["pair_delimiter"]) + str(options["kv_delimiter"]))
        plain = rf"(.*?)\s*(?:{pd}\s*[^{stops}]+\s*{kd}|$)"
    else:
        plain = rf"(.*?)\s*(?:{pd}|$)"
    return _with_quotes(head, plain, opening, closing)


def _with_quotes(head: str, plain: str, opening: str, closing: str) -> tuple[list[int], str]:
    if not opening:
        return [1], head + plain
    quoted = rf"{re.escape(opening)}([^{re.escape(closing)}]*){re.escape(closing)}"
    return [1, 2], f"{head}(?:{quoted}|{plain})"
