"""Binding of ``make-graph`` (Kusto's make-graph reference) into the relations a graph is made of.

A graph here is two relations: its edges (every input row, with hidden columns for the source and
target node ids, an edge id and the partition) and its nodes (the rows of the nodes table, plus a
node with empty properties for every edge end that table lacks, as Kusto creates them; or the
distinct edge ends when ``with_node_id`` or nothing describes the nodes). The graph operators
(:mod:`bind_graph_match`) compile to joins and unions over these two relations, so a graph runs on
both engines without recursion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.naming import SqlNames
from watchkeeper.kql.parse_graph import GraphMarkComponents, GraphMatch, GraphToTable, MakeGraph
from watchkeeper.kql.plan import (
    BColumn,
    BExpr,
    Column,
    Distinct,
    Join,
    Projection,
    Relation,
    Schema,
    UnionAll,
)
from watchkeeper.kql.plan_graph import GraphComponents
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["Graph", "make_graph"]

# hidden columns: KQL names a query cannot spell, so they never meet a user's property
SRC, DST, EID, NID, PART = "$src", "$dst", "$eid", "$id", "$part"
HIDDEN = frozenset({SRC, DST, EID, NID, PART})


@dataclass(frozen=True, slots=True)
class Graph:
    """The relations of a graph; each property list excludes the hidden columns."""

    edges: Relation
    nodes: Relation
    partitioned: bool
    oriented: dict[str, Relation] = field(default_factory=dict)  # by direction, built on first use

    def edge_properties(self) -> tuple[Column, ...]:
        return tuple(c for c in self.edges.schema.columns if c.name not in HIDDEN)

    def node_properties(self) -> tuple[Column, ...]:
        return tuple(c for c in self.nodes.schema.columns if c.name not in HIDDEN)


def make_graph(b: Binder, rel: Relation, op: MakeGraph, scope: Scope) -> Relation:
    """``make-graph`` and the graph operators after it: the rows the last one returns."""
    graph = _build(b, rel, op, scope)
    for step in op.steps:
        if isinstance(step, GraphMarkComponents):
            graph = _mark_components(b, graph, step, scope)
        if isinstance(step, GraphToTable):
            return _to_table(b, graph, step)
        if isinstance(step, GraphMatch):
            from watchkeeper.kql.bind_graph_match import graph_match

            return graph_match(b, graph, step, scope)
    raise b.error("make-graph must be followed by a graph operator that returns rows", op)


def _mark_components(b: Binder, graph: Graph, op: GraphMarkComponents, scope: Scope) -> Graph:
    """``graph-mark-components``: the nodes get the property ``op.column``, their component's
    number (weak: connected ignoring direction; strong: each node reaches every other)."""
    from watchkeeper.kql.bind_graph_match import FROM, TO, oriented

    if graph.nodes.schema.find(op.column) is not None:
        raise b.error(f"the nodes already have a property '{op.column}'", op)
    keys = [NID, *([PART] if graph.partitioned else [])]
    nodes = project(graph.nodes, [(k, _ref(_find(graph.nodes, k))) for k in keys])
    edges = oriented(b, graph, "out" if op.kind == "strong" else "any", scope, op.span)
    ends = [FROM, TO, *([PART] if graph.partitioned else [])]
    adjacency = project(edges, [(k, _ref(_find(edges, k))) for k in ends])
    names = SqlNames()
    columns = [names.column(_sql_safe(k), c.type) for k, c in zip(keys, nodes.schema.columns, strict=True)]
    number = Column(op.column, KqlType.LONG, names.column(_sql_safe(op.column), KqlType.LONG).sql)
    schema = Schema((*(Column(k, c.type, c.sql) for k, c in zip(keys, columns, strict=True)), number))
    marks = GraphComponents(schema, nodes, adjacency, op.kind == "strong", op.span)
    on = tuple((_find(graph.nodes, k), _find(marks, k)) for k in keys)
    joined = Join(Schema(graph.nodes.schema.columns + marks.schema.columns), graph.nodes, marks, "inner", on,
                  marks.schema.columns)  # fmt: skip
    items = [(c.name, _ref(c)) for c in graph.nodes.schema.columns] + [(op.column, _ref(number))]
    return Graph(graph.edges, project(joined, items), graph.partitioned)


def _find(rel: Relation, name: str) -> Column:
    found = rel.schema.find(name)
    assert found is not None, name
    return found


def _ref(column: Column) -> BColumn:
    return BColumn(column.type, column)


def _build(b: Binder, rel: Relation, op: MakeGraph, scope: Scope) -> Graph:
    src, dst = (_column(b, rel, name, op, "edges") for name in (op.source, op.target))
    if src.type is not dst.type:
        raise b.error(f"the source ({src.type}) and target ({dst.type}) node ids differ in type", op)
    part = _column(b, rel, op.partition, op, "edges") if op.partition else None
    edges = _edges(b, rel, src, dst, part, scope, op)
    ends = _edge_ends(edges)
    if len(op.nodes) > 1:
        raise b.unsupported("make-graph with several node tables (merge them with union first)", op)
    if op.nodes:
        nodes = _nodes_from_table(b, ends, op, scope)
    elif op.node_id:
        nodes = _named_ids(ends, op.node_id)
    else:
        nodes = ends
    return Graph(edges, nodes, part is not None)


def _column(b: Binder, rel: Relation, name: str, node: ast.Node, what: str) -> Column:
    found = rel.schema.find(name)
    if found is None:
        raise b.error(f"the {what} have no column '{name}'", node)
    return found


def _edges(
    b: Binder, rel: Relation, src: Column, dst: Column, part: Column | None, scope: Scope, op: MakeGraph
) -> Relation:
    """The input rows with the hidden edge columns: ``$src``, ``$dst``, ``$eid`` (a row number
    that tells two equal rows apart, for ``cycles=unique_edges``) and ``$part``."""
    # row_number() - 1: a signed number on ClickHouse too (its row_number is unsigned, and a padded
    # path's missing hops are signed nulls)
    number = ast.Call(op.span, "row_number", ())
    first = ast.Literal(op.span, 1, KqlType.LONG)
    eid = b.scalar(ast.Binary(op.span, "-", number, first), ExprContext(scope, rel.schema, window=True))
    items: list[tuple[str, BExpr]] = [(c.name, BColumn(c.type, c)) for c in rel.schema.columns]
    items += [(SRC, BColumn(src.type, src)), (DST, BColumn(dst.type, dst)), (EID, eid)]
    if part is not None:
        items.append((PART, BColumn(part.type, part)))
    return project(rel, items)


def project(rel: Relation, items: Sequence[tuple[str, BExpr]]) -> Projection:
    """``rel`` reduced to ``items`` (name, expression) in that order."""
    names = SqlNames()
    columns = tuple(names.column(_sql_safe(name), expr.type) for name, expr in items)
    columns = tuple(Column(name, c.type, c.sql) for (name, _), c in zip(items, columns, strict=True))
    return Projection(Schema(columns), rel, tuple(expr for _, expr in items))


def _sql_safe(name: str) -> str:
    return "g_" + name[1:] if name.startswith("$") else name


def _edge_ends(edges: Relation) -> Relation:
    """Every node id an edge starts or ends at, once (per partition)."""
    by = {c.name: c for c in edges.schema.columns}
    part = by.get(PART)
    names = SqlNames()
    columns = [names.column(_sql_safe(NID), by[SRC].type)]
    if part is not None:
        columns.append(names.column(_sql_safe(PART), part.type))
    schema = Schema(tuple(Column(n, c.type, c.sql) for n, c in zip((NID, PART), columns, strict=False)))
    extra: tuple[BExpr, ...] = (BColumn(part.type, part),) if part is not None else ()
    legs = tuple((edges, (BColumn(by[end].type, by[end]), *extra)) for end in (SRC, DST))
    return Distinct(schema, UnionAll(schema, legs))


def _named_ids(ends: Relation, name: str) -> Relation:
    """``with_node_id=Name``: the node id is also the property ``Name``."""
    items: list[tuple[str, BExpr]] = [(name, BColumn(ends.schema.columns[0].type, ends.schema.columns[0]))]
    items += [(c.name, BColumn(c.type, c)) for c in ends.schema.columns]
    return project(ends, items)


def _nodes_from_table(b: Binder, ends: Relation, op: MakeGraph, scope: Scope) -> Relation:
    """The nodes table's rows, then the edge ends it lacks with empty properties."""
    table_expr, key_name = op.nodes[0]
    table = b.tabular(table_expr, scope)
    key = _column(b, table, key_name, table_expr, "nodes")
    if key.type is not ends.schema.columns[0].type:
        raise b.error(f"the node id column '{key_name}' is {key.type}, the edges' ids are not", table_expr)
    items: list[tuple[str, BExpr]] = [(c.name, BColumn(c.type, c)) for c in table.schema.columns]
    items.append((NID, BColumn(key.type, key)))
    if op.partition:
        part = _column(b, table, op.partition, table_expr, "nodes")
        items.append((PART, BColumn(part.type, part)))
    rows = project(table, items)
    keys = tuple(zip(ends.schema.columns, rows.schema.columns[len(table.schema.columns) :], strict=True))
    missing = Join(ends.schema, ends, rows, "leftanti", keys, ())
    width = len(table.schema.columns)
    filler: tuple[BExpr | None, ...] = (*([None] * width), *(BColumn(c.type, c) for c in ends.schema.columns))
    present = tuple(BColumn(c.type, c) for c in rows.schema.columns)
    return UnionAll(rows.schema, ((rows, present), (missing, filler)))


def _to_table(b: Binder, graph: Graph, op: GraphToTable) -> Relation:
    """``graph-to-table nodes|edges``: the properties, and the node ids when asked."""
    options = dict(op.options)
    rel = graph.nodes if op.what == "nodes" else graph.edges
    props = graph.node_properties() if op.what == "nodes" else graph.edge_properties()
    items: list[tuple[str, BExpr]] = [(c.name, BColumn(c.type, c)) for c in props]
    hidden = {c.name: c for c in rel.schema.columns}
    wanted = {"with_node_id": NID, "with_source_id": SRC, "with_target_id": DST}
    for key, name in options.items():
        if key == "as":
            continue
        if key not in wanted or wanted[key] not in hidden:
            raise b.error(f"graph-to-table {op.what} has no option {key}", op)
        column = hidden[wanted[key]]
        items.append((name, BColumn(column.type, column)))
    if not items:
        raise b.error("the graph's nodes have no properties: add with_node_id=Name", op)
    return project(rel, items)
