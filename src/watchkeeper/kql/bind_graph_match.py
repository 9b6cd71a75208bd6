"""Binding of ``graph-match`` and ``graph-shortest-paths`` (Kusto's references) into joins and unions.

A pattern with fixed-length edges is a chain of inner joins: each edge occurrence is a copy of the
edge relation joined on the previous node's id, each node a variable needs is a copy of the node
relation. A variable-length edge ``-[e*1..3]->`` expands into one such chain per length, and the
pattern into the union of every combination of lengths, so the engines never recurse and every
path is bounded: an edge's upper bound may be at most :data:`MAX_HOPS` and a pattern at most
:data:`MAX_EXPANSIONS` combinations (both reported when exceeded).

Names follow the expansion: the property ``name`` of node variable ``a`` is the column ``a.name``;
hop ``i`` of ``e`` is ``e#i`` and its inner node ``e#ni``. ``where`` and ``project`` are rewritten
for each expansion before binding: ``all(e, P)`` is ``P`` of every hop joined with ``and``,
``any`` with ``or``, ``map(e, X)`` and a property of a variable-length edge are ``pack_array`` of
the hops' values, and ``inner_nodes(e)`` gives the same over the inner nodes.

``cycles`` (Kusto: ``unique_edges`` by default) is checked over the whole match: no edge twice;
``none`` also keeps a variable-length edge's path from visiting a node twice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from watchkeeper.errors import SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.bind_graph import DST, EID, HIDDEN, NID, PART, SRC, Graph, project
from watchkeeper.kql.naming import expression_name
from watchkeeper.kql.parse_graph import GraphEdge, GraphMatch, GraphNode
from watchkeeper.kql.plan import BColumn, BExpr, Column, Filter, Join, Projection, Relation, Schema, UnionAll
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["MAX_EXPANSIONS", "MAX_HOPS", "graph_match"]

MAX_HOPS = 10
"""Largest upper bound of one variable-length edge."""
MAX_EXPANSIONS = 256
"""Most fixed-length patterns one pattern may expand into (the product of its edges' ranges)."""

FROM, TO = "$from", "$to"
START, END, LENGTH = "$start", "$end", "$length"
_SEQUENCE_FUNCTIONS = ("all", "any", "map")


@dataclass
class _Var:
    """What a pattern variable is in one expansion: its slot (node or single edge), or its hops
    and inner nodes (variable-length edge)."""

    kind: str  # "node" | "edge"
    slots: list[str]
    inner: list[str] = field(default_factory=list)
    variable: bool = False


def graph_match(b: Binder, graph: Graph, op: GraphMatch, scope: Scope) -> Relation:
    """The rows of every match of the pattern (the shortest ones for ``graph-shortest-paths``)."""
    edges = [e for e in op.elements if isinstance(e, GraphEdge)]
    _check_names(b, op)
    ranges = [range(e.hops[0], e.hops[1] + 1) if e.hops else range(1, 2) for e in edges]
    for edge in edges:
        if edge.hops and (edge.hops[0] < 1 or edge.hops[1] > MAX_HOPS):
            raise b.unsupported(f"a variable-length edge's length must lie within 1..{MAX_HOPS}", edge)
    total = 1
    for hops in ranges:
        total *= len(hops)
    if total > MAX_EXPANSIONS:
        raise b.unsupported(
            f"this pattern expands into {total} fixed-length paths; the limit is {MAX_EXPANSIONS}", op
        )
    used = _names_used(op)
    legs = [_Expansion(b, graph, op, scope, used).bind(lengths) for lengths in itertools.product(*ranges)]
    union = _union(b, legs, op)
    if op.shortest:
        union = _shortest(b, union, op, scope, graph.partitioned)
    visible = [(c.name, BColumn(c.type, c)) for c in union.schema.columns if not c.name.startswith("$")]
    return project(union, visible)


def _check_names(b: Binder, op: GraphMatch) -> None:
    kinds: dict[str, str] = {}
    for element in op.elements:
        if element.name is None:
            continue
        kind = "node" if isinstance(element, GraphNode) else "edge"
        if kinds.get(element.name, kind) != kind or (kind == "edge" and element.name in kinds):
            raise b.error(f"the pattern uses the name '{element.name}' twice", element)
        kinds[element.name] = kind


def _names_used(op: GraphMatch) -> set[str]:
    """Names the where and project clauses mention: variables (a node copy is joined only for
    those) and properties (a copy carries only those); ``inner_nodes(e)`` is recorded as
    ``e#inner``."""
    found: set[str] = set()
    stack: list[Any] = [op.where, *op.project]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Name, ast.Member)):
            found.add(node.name)
        elif _inner_nodes_of(node) is not None:
            found.add(f"{_inner_nodes_of(node)}#inner")
        if isinstance(node, ast.Node):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
        elif isinstance(node, tuple):
            stack.extend(node)
    return found


class _Expansion:
    """One fixed-length expansion of a pattern: its join chain, then where and project."""

    def __init__(self, b: Binder, graph: Graph, op: GraphMatch, scope: Scope, used: set[str]) -> None:
        self.b, self.graph, self.op, self.scope, self.used = b, graph, op, scope, used
        self.rel: Relation | None = None
        self.cols: dict[str, dict[str, Column]] = {}
        self.key: str | None = None  # the column (KQL name) holding the current node's id
        self.part: str | None = None
        self.env: dict[str, _Var] = {}
        self.node_keys: list[str | None] = []
        self.edge_ids: list[str] = []
        self.paths: list[list[str]] = []  # node id columns along each variable-length edge
        self.checks: list[ast.Expr] = []
        self.hops = 0

    def bind(self, lengths: tuple[int, ...]) -> Relation:
        edge_lengths = iter(lengths)
        for element in self.op.elements:
            if isinstance(element, GraphNode):
                self.node(element)
            else:
                self.edge(element, next(edge_lengths))
        assert self.rel is not None
        rel = self.filtered(self.rel)
        return self.projected(rel)

    # ------------------------------------------------------------ the join chain

    def copy(self, base: Relation, slot: str) -> dict[str, Column]:
        """A copy of ``base`` whose columns are named ``slot.column``, joined to the chain on the
        current node id (and partition)."""
        n = len(self.cols)
        # only the properties some clause names: a long chain carries no other column
        kept = [c for c in base.schema.columns if c.name.startswith("$") or c.name in self.used]
        cols = tuple(Column(f"{slot}.{c.name}", c.type, f"s{n}_{j}") for j, c in enumerate(kept))
        copy = Projection(Schema(cols), base, tuple(BColumn(c.type, c) for c in kept))
        by_name = {c.name.split(".", 1)[1]: c for c in cols}
        self.cols[slot] = by_name
        if self.rel is None:
            self.rel = copy
            return by_name
        start = by_name[NID] if NID in by_name else by_name[FROM]
        on = [(self.column(self.key), start)]
        if self.part is not None:
            on.append((self.column(self.part), by_name[PART]))
        left = self.rel
        schema = Schema(left.schema.columns + cols)
        self.rel = Join(schema, left, copy, "inner", tuple(on), cols)
        return by_name

    def column(self, name: str | None) -> Column:
        assert name is not None
        assert self.rel is not None
        found = self.rel.schema.find(name)
        assert found is not None
        return found

    def node(self, element: GraphNode) -> None:
        name = element.name
        if name is not None and name in self.env:  # the pattern comes back to a node it named
            self.checks.append(_same(element.span, f"{name}.{NID}", self.key))
            self.node_keys.append(self.key)
            return
        if name is not None and (name in self.used or _repeated(self.op, name)):
            self.copy(self.graph.nodes, name)
            self.key = f"{name}.{NID}"
            self.part = f"{name}.{PART}" if self.graph.partitioned else None
            self.env[name] = _Var("node", [name])
        elif name is not None:
            self.env[name] = _Var("node", [])  # nothing reads it: known through its edges only
        self.node_keys.append(self.key)

    def edge(self, element: GraphEdge, length: int) -> None:
        oriented = _oriented(self.b, self.graph, element.direction, self.scope)
        name = element.name or f"_e{len(self.edge_ids)}"
        var = _Var("edge", [], variable=element.hops is not None)
        path: list[str] = []
        for hop in range(1, length + 1):
            if hop > 1 and f"{name}#inner" in self.used:
                inner = f"{name}#n{hop - 1}"
                self.copy(self.graph.nodes, inner)
                self.key = f"{inner}.{NID}"
                self.part = f"{inner}.{PART}" if self.graph.partitioned else None
                var.inner.append(inner)
            slot = f"{name}#{hop}" if var.variable else name
            cols = self.copy(oriented, slot)
            if self.key is None:  # the node before this edge was not joined: this edge starts it
                self.node_keys[-1] = cols[FROM].name
            if hop == 1:
                path.append(cols[FROM].name)
            self.key, self.part = cols[TO].name, cols[PART].name if self.graph.partitioned else None
            path.append(self.key)
            self.edge_ids.append(cols[EID].name)
            var.slots.append(slot)
            self.hops += 1
        if var.variable:
            self.paths.append(path)
        self.env[name] = var

    # ------------------------------------------------------------ where and project

    def filtered(self, rel: Relation) -> Relation:
        conditions = list(self.checks) + self.cycle_checks()
        if self.op.where is not None:
            conditions.append(self.rewrite(self.op.where, None))
        if not conditions:
            return rel
        predicate = conditions[0]
        for more in conditions[1:]:
            predicate = ast.Binary(self.op.span, "and", predicate, more)
        bound = self.b.scalar(predicate, ExprContext(self.scope, rel.schema))
        if bound.type not in (KqlType.BOOL, KqlType.UNKNOWN):
            raise self.b.error(f"where needs a boolean condition, not a {bound.type}", self.op.where)
        return Filter(rel.schema, rel, bound)

    def cycle_checks(self) -> list[ast.Expr]:
        checks: list[ast.Expr] = []
        if self.op.cycles != "all":
            checks += [_differ(self.op.span, x, y) for x, y in itertools.combinations(self.edge_ids, 2)]
        if self.op.cycles == "none":
            for path in self.paths:
                checks += [_differ(self.op.span, x, y) for x, y in itertools.combinations(path, 2)]
        return checks

    def projected(self, rel: Relation) -> Relation:
        items: list[tuple[str, BExpr]] = []
        ctx = ExprContext(self.scope, rel.schema)
        for i, item in enumerate(self.op.project, start=1):
            if len(item.names) > 1:
                raise self.b.error("graph-match project gives one column per expression", item)
            name = item.names[0] if item.names else expression_name(item.expr) or f"Column{i}"
            if any(name == n for n, _ in items):
                raise self.b.error(f"project produces the column '{name}' twice", item)
            items.append((name, self.b.scalar(self.rewrite(item.expr, None), ctx)))
        if self.op.shortest:
            items += self.shortest_keys(rel)
        return project(rel, items)

    def shortest_keys(self, rel: Relation) -> list[tuple[str, BExpr]]:
        keys = [(START, self.node_keys[0]), (END, self.node_keys[-1])]
        if self.graph.partitioned:
            keys.append((PART, self.part))
        out: list[tuple[str, BExpr]] = []
        for name, column_name in keys:
            column = rel.schema.find(column_name or "")
            assert column is not None
            out.append((name, BColumn(column.type, column)))
        ctx = ExprContext(self.scope, rel.schema)
        out.append((LENGTH, self.b.scalar(ast.Literal(self.op.span, self.hops, KqlType.LONG), ctx)))
        return out

    # ------------------------------------------------------------ rewriting variables to columns

    def rewrite(self, node: Any, element: str | None) -> Any:
        """``node`` with variables replaced by this expansion's columns; bare names inside
        ``map/any/all`` are properties of ``element``."""
        if isinstance(node, tuple):
            return tuple(self.rewrite(n, element) for n in node)
        if not isinstance(node, ast.Node):
            return node
        if isinstance(node, ast.Name):
            return self.name(node, element)
        if (
            isinstance(node, ast.Member)
            and isinstance(node.target, ast.Name)
            and node.target.name in self.env
        ):
            return self.property(node.target.name, node.name, node)
        if isinstance(node, ast.Call) and node.name in _SEQUENCE_FUNCTIONS and len(node.args) == 2:
            slots = self.sequence(node.args[0])
            if slots is not None:
                return self.over(node, slots, element)
        if isinstance(node, ast.Call) and node.name == "inner_nodes":
            raise self.b.error("inner_nodes() is read through map(), any() or all()", node)
        changes = {
            f: self.rewrite(getattr(node, f), element) for f in node.__dataclass_fields__ if f != "span"
        }
        return replace(node, **changes)

    def name(self, node: ast.Name, element: str | None) -> ast.Expr:
        if element is not None and node.name in self.cols[element]:
            return ast.Name(node.span, f"{element}.{node.name}")
        if node.name in self.env:
            raise self.b.error(
                f"'{node.name}' is a pattern variable: read its properties as {node.name}.name", node
            )
        return node

    def property(self, var_name: str, prop: str, node: ast.Node) -> ast.Expr:
        var = self.env[var_name]
        known = self.graph.node_properties() if var.kind == "node" else self.graph.edge_properties()
        if prop in HIDDEN or not any(c.name == prop for c in known):
            raise self.b.error(f"the {var.kind} '{var_name}' has no property '{prop}'", node)
        if not var.variable:
            return ast.Name(node.span, f"{var.slots[0]}.{prop}")
        return _array(node.span, [ast.Name(node.span, f"{slot}.{prop}") for slot in var.slots])

    def sequence(self, arg: ast.Expr) -> list[str] | None:
        """The slots ``map/any/all`` run over: an edge variable's hops or ``inner_nodes(e)``."""
        if isinstance(arg, ast.Name) and arg.name in self.env and self.env[arg.name].kind == "edge":
            return self.env[arg.name].slots
        if isinstance(arg, ast.Call) and arg.name == "inner_nodes" and len(arg.args) == 1:
            target = arg.args[0]
            if isinstance(target, ast.Name) and target.name in self.env and self.env[target.name].variable:
                return self.env[target.name].inner
            raise self.b.error("inner_nodes() takes a variable-length edge of the pattern", arg)
        return None

    def over(self, call: ast.Call, slots: list[str], element: str | None) -> ast.Expr:
        values = [self.rewrite(call.args[1], slot) for slot in slots]
        if call.name == "map":
            return _array(call.span, values)
        joiner = "and" if call.name == "all" else "or"
        if not values:
            return ast.Literal(call.span, joiner == "and", KqlType.BOOL)
        out: ast.Expr = values[0]
        for value in values[1:]:
            out = ast.Binary(call.span, joiner, out, value)
        return out


def _inner_nodes_of(node: Any) -> str | None:
    """``e`` for ``inner_nodes(e)``, else None."""
    if isinstance(node, ast.Call) and node.name == "inner_nodes" and node.args:
        target = node.args[0]
        return target.name if isinstance(target, ast.Name) else None
    return None


def _repeated(op: GraphMatch, name: str | None) -> bool:
    return name is not None and sum(1 for e in op.elements if isinstance(e, GraphNode) and e.name == name) > 1


def _same(span: SourceSpan, left: str, right: str | None) -> ast.Expr:
    return ast.Binary(span, "==", ast.Name(span, left), ast.Name(span, right or ""))


def _differ(span: SourceSpan, left: str, right: str) -> ast.Expr:
    return ast.Binary(span, "!=", ast.Name(span, left), ast.Name(span, right))


def _array(span: Any, values: list[ast.Expr]) -> ast.Expr:
    if not values:
        return ast.Literal(span, [], KqlType.DYNAMIC)
    return ast.Call(span, "pack_array", tuple(values))


def _oriented(b: Binder, graph: Graph, direction: str, scope: Scope) -> Relation:
    """The edges with ``$from``/``$to`` in the pattern's direction (both ways for ``-[e]-``, a
    self-loop once); one relation per graph and direction, so the SQL computes it once."""
    if direction in graph.oriented:
        return graph.oriented[direction]
    edges = graph.edges
    columns = {c.name: c for c in edges.schema.columns}
    ends = (SRC, DST) if direction != "in" else (DST, SRC)
    items = [(c.name, BColumn(c.type, c)) for c in edges.schema.columns]
    rel: Relation = project(
        edges,
        [*items, *((k, BColumn(columns[e].type, columns[e])) for k, e in zip((FROM, TO), ends, strict=True))],
    )
    if direction == "any":
        loop = ast.Binary(scope_span(), "!=", ast.Name(scope_span(), SRC), ast.Name(scope_span(), DST))
        others = Filter(edges.schema, edges, b.scalar(loop, ExprContext(scope, edges.schema)))
        back = (
            *(e for _, e in items),
            BColumn(columns[DST].type, columns[DST]),
            BColumn(columns[SRC].type, columns[SRC]),
        )
        forward = (*(BColumn(c.type, c) for c in edges.schema.columns), back[-1], back[-2])
        rel = UnionAll(rel.schema, ((edges, forward), (others, back)))
    graph.oriented[direction] = rel
    return rel


def scope_span() -> SourceSpan:
    return SourceSpan(0, 0)


def _union(b: Binder, legs: list[Relation], op: GraphMatch) -> Relation:
    first = legs[0].schema
    for leg in legs[1:]:
        for mine, theirs in zip(first.columns, leg.schema.columns, strict=True):
            if mine.type is not theirs.type:
                raise b.error(
                    f"the column '{mine.name}' is {mine.type} for one path length and {theirs.type} "
                    "for another; convert it explicitly",
                    op,
                )
    if len(legs) == 1:
        return legs[0]
    inputs = tuple((leg, tuple(BColumn(c.type, c) for c in leg.schema.columns)) for leg in legs)
    return UnionAll(first, inputs)


def _shortest(b: Binder, union: Relation, op: GraphMatch, scope: Scope, partitioned: bool) -> Relation:
    """Keep, for each start and end node, the matches of the fewest hops (one of them for
    ``output=any``, Kusto's default)."""
    keys = [START, END, *([PART] if partitioned else [])]
    by = tuple(ast.Assign(op.span, (), ast.Name(op.span, k)) for k in keys)
    from watchkeeper.kql.bind_operators import bind_operator

    if op.output == "any":
        pick = ast.Call(op.span, "arg_min", (ast.Name(op.span, LENGTH), ast.Star(op.span)))
        summarized = bind_operator(
            b, union, ast.Summarize(op.span, (ast.Assign(op.span, (), pick),), by), scope
        )
        return summarized
    least = ast.Call(op.span, "min", (ast.Name(op.span, LENGTH),))
    agg = bind_operator(
        b, union, ast.Summarize(op.span, (ast.Assign(op.span, ("$least",), least),), by), scope
    )
    pairs = [(union.schema.find(k), agg.schema.find(k)) for k in keys]
    pairs.append((union.schema.find(LENGTH), agg.schema.find("$least")))
    on = tuple((x, y) for x, y in pairs if x is not None and y is not None)
    return Join(union.schema, union, agg, "leftsemi", on, ())
