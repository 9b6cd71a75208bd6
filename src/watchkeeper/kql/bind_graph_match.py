"""Binding of ``graph-match`` and ``graph-shortest-paths`` (Kusto's references) into a join chain.

A pattern is a chain of inner joins: each edge occurrence is a copy of the edge relation joined on
the previous node's id, and a node is a copy of the node relation only where a clause reads it (an
edge's ends are nodes of the graph by construction). A variable-length edge ``-[e*1..3]->`` is the
union of its paths of each length (the path of ``k`` hops is the path of ``k - 1`` hops joined with
one more edge, so the SQL builds each prefix once), padded to the longest, with the hop count in
``e.$len``; the engines never recurse and every path is bounded: an edge's upper bound may be at
most :data:`MAX_HOPS` (reported when exceeded).

``cycles`` (Kusto: ``unique_edges`` by default) is checked over the whole match: no edge twice;
``none`` also keeps a variable-length edge's path from visiting a node twice. How clauses read the
chain's columns is :mod:`bind_graph_rewrite`'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from watchkeeper.kql import ast
from watchkeeper.kql.bind_graph import DST, EID, NID, PART, SRC, Graph, project
from watchkeeper.kql.bind_graph_rewrite import Rewriter, Var, plan_variables, split_where
from watchkeeper.kql.naming import expression_name
from watchkeeper.kql.parse_graph import GraphEdge, GraphMatch, GraphNode
from watchkeeper.kql.plan import (
    BColumn,
    BExpr,
    BLiteral,
    Column,
    Filter,
    Join,
    Projection,
    Relation,
    Schema,
    UnionAll,
)
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.errors import SourceSpan
    from watchkeeper.kql.binder import Binder

__all__ = ["FROM", "MAX_HOPS", "TO", "graph_match", "oriented"]

MAX_HOPS = 10
"""Largest upper bound of one variable-length edge."""

FROM, TO = "$from", "$to"
START, END, LENGTH = "$start", "$end", "$length"


def graph_match(b: Binder, graph: Graph, op: GraphMatch, scope: Scope) -> Relation:
    """The rows of every match of the pattern (the shortest ones for ``graph-shortest-paths``)."""
    _check_names(b, op)
    for edge in op.elements:
        if isinstance(edge, GraphEdge) and edge.hops and (edge.hops[0] < 1 or edge.hops[1] > MAX_HOPS):
            raise b.unsupported(f"a variable-length edge's length must lie within 1..{MAX_HOPS}", edge)
    rel = _Chain(b, graph, op, scope, _names_used(op)).bind()
    if op.shortest:
        rel = _shortest(b, rel, op, scope, graph.partitioned)
    visible = [(c.name, BColumn(c.type, c)) for c in rel.schema.columns if not c.name.startswith("$")]
    return project(rel, visible)


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


def _inner_nodes_of(node: Any) -> str | None:
    """``e`` for ``inner_nodes(e)``, else None."""
    if isinstance(node, ast.Call) and node.name == "inner_nodes" and node.args:
        target = node.args[0]
        return target.name if isinstance(target, ast.Name) else None
    return None


class _Chain:
    """The join chain of a pattern, then its where and project."""

    def __init__(self, b: Binder, graph: Graph, op: GraphMatch, scope: Scope, used: set[str]) -> None:
        self.b, self.graph, self.op, self.scope, self.used = b, graph, op, scope, used
        self.rel: Relation | None = None
        self.cols: dict[str, dict[str, Column]] = {}
        self.key: str | None = None  # the column (KQL name) holding the current node's id
        self.part: str | None = None
        self.env, self.properties = plan_variables(graph, op.elements, used)
        self.pushed, self.rest = split_where(self.rewriter(), op.where)
        self.seen: set[str] = set()
        self.node_keys: list[str | None] = []
        self.edge_ids: list[tuple[str, ast.Expr | None]] = []  # ($eid column, when the hop is there)
        self.checks: list[ast.Expr] = []
        self.lengths: list[str | int] = []

    def bind(self) -> Relation:
        for element in self.op.elements:
            if isinstance(element, GraphNode):
                self.node(element)
            elif element.hops is None:
                self.edge(element)
            else:
                self.variable_edge(element)
        assert self.rel is not None
        return self.projected(self.filtered(self.rel))

    # ------------------------------------------------------------ the join chain

    def attach(
        self, left: Relation | None, base: Relation, slot: str, key: str | None, part: str | None
    ) -> tuple[Relation, dict[str, Column]]:
        """``left`` joined with a copy of ``base`` whose columns are named ``slot.column``, on
        ``key`` (and ``part``) equal to the copy's node id or edge start."""
        n = len(self.cols)
        # only the properties some clause names: a long chain carries no other column
        kept = [c for c in base.schema.columns if c.name.startswith("$") or c.name in self.used]
        cols = tuple(Column(f"{slot}.{c.name}", c.type, f"s{n}_{j}") for j, c in enumerate(kept))
        copy: Relation = Projection(Schema(cols), base, tuple(BColumn(c.type, c) for c in kept))
        by_name = {c.name.split(".", 1)[1]: c for c in cols}
        self.cols[slot] = by_name
        if slot in self.pushed:
            copy = self.filter(copy, self.pushed[slot], self.op.where)
        if left is None or key is None:
            return copy, by_name
        on = [(_find(left, key), by_name[NID] if NID in by_name else by_name[FROM])]
        if part is not None:
            on.append((_find(left, part), by_name[PART]))
        return Join(Schema(left.schema.columns + cols), left, copy, "inner", tuple(on), cols), by_name

    def node(self, element: GraphNode) -> None:
        name = element.name
        if name is not None and name in self.seen:  # the pattern comes back to a node it named
            self.checks.append(_same(element.span, f"{name}.{NID}", self.key))
            self.node_keys.append(self.key)
            return
        if name is not None and self.env[name].slots:
            self.rel, _ = self.attach(self.rel, self.graph.nodes, name, self.key, self.part)
            self.key = f"{name}.{NID}"
            self.part = f"{name}.{PART}" if self.graph.partitioned else None
        if name is not None:
            self.seen.add(name)
        self.node_keys.append(self.key)

    def edge(self, element: GraphEdge) -> None:
        name = element.name or f"_e{len(self.edge_ids)}"
        edges = oriented(self.b, self.graph, element.direction, self.scope, element.span)
        self.rel, cols = self.attach(self.rel, edges, name, self.key, self.part)
        self.follow(cols[FROM].name, cols[TO].name, cols.get(PART))
        self.edge_ids.append((cols[EID].name, None))
        self.lengths.append(1)

    def follow(self, start: str, end: str, part: Column | None) -> None:
        """The chain has reached ``end`` from ``start`` (which names the node before, if that
        node was not joined)."""
        if self.node_keys and self.node_keys[-1] is None:
            self.node_keys[-1] = start
        self.key = end
        self.part = part.name if part is not None else None

    def variable_edge(self, element: GraphEdge) -> None:
        assert element.hops is not None
        low, high = element.hops
        name = element.name or f"_e{len(self.edge_ids)}"
        hops = [f"{name}#{hop}" for hop in range(1, high + 1)]
        var = self.env[name] if element.name else Var("edge", hops, length=f"{name}.$len")
        paths = self.paths(element, name, var)
        legs = [leg for hop, leg in enumerate(paths, start=1) if hop >= low]
        union = _padded_union(legs, name, low)
        start = f"{name}#1.{FROM}"
        if self.rel is None or self.key is None:
            self.rel = union
        else:
            on = [(_find(self.rel, self.key), _find(union, start))]
            if self.part is not None:
                on.append((_find(self.rel, self.part), _find(union, f"{name}#1.{PART}")))
            self.rel = Join(Schema(self.rel.schema.columns + union.schema.columns), self.rel, union, "inner",
                            tuple(on), union.schema.columns)  # fmt: skip
        self.follow(start, f"{name}.$end", _find(union, f"{name}.$part") if self.graph.partitioned else None)
        self.edge_ids += [(f"{slot}.{EID}", _at_least(self.op.span, var.length, hop))
                          for hop, slot in enumerate(var.slots, start=1)]  # fmt: skip
        self.lengths.append(f"{name}.$len")

    def paths(self, element: GraphEdge, name: str, var: Var) -> list[Relation]:
        """The paths of 1, 2, ... hops of one variable-length edge, each extending the one before;
        each with the cycle checks that stay within it."""
        edges = oriented(self.b, self.graph, element.direction, self.scope, element.span)
        assert element.hops is not None
        rel: Relation | None = None
        key = part = None
        nodes: list[str] = []
        eids: list[str] = []
        out: list[Relation] = []
        for hop in range(1, element.hops[1] + 1):
            if hop > 1 and var.inner:
                rel, cols = self.attach(rel, self.graph.nodes, var.inner[hop - 2], key, part)
            rel, cols = self.attach(rel, edges, f"{name}#{hop}", key, part)
            nodes += [cols[FROM].name] if hop == 1 else []
            key, part = cols[TO].name, (cols[PART].name if self.graph.partitioned else None)
            nodes.append(key)
            eids.append(cols[EID].name)
            out.append(self.within(rel, eids, nodes))
            rel = out[-1]
        return out

    def within(self, rel: Relation, eids: list[str], nodes: list[str]) -> Relation:
        """``rel`` (a path whose last hop was just added) without the paths that break ``cycles``."""
        span = self.op.span
        checks: list[ast.Expr] = []
        if self.op.cycles != "all":
            checks += [_differ(span, eids[-1], other) for other in eids[:-1]]
        if self.op.cycles == "none":
            checks += [_differ(span, nodes[-1], other) for other in nodes[:-1]]
        return self.filter(rel, checks) if checks else rel

    # ------------------------------------------------------------ where and project

    def filter(
        self, rel: Relation, conditions: Sequence[ast.Expr], where: ast.Expr | None = None
    ) -> Relation:
        predicate = conditions[0]
        for more in conditions[1:]:
            predicate = ast.Binary(self.op.span, "and", predicate, more)
        bound = self.b.scalar(predicate, ExprContext(self.scope, rel.schema))
        if bound.type not in (KqlType.BOOL, KqlType.UNKNOWN):
            raise self.b.error(f"where needs a boolean condition, not a {bound.type}", where or self.op)
        return Filter(rel.schema, rel, bound)

    def filtered(self, rel: Relation) -> Relation:
        conditions = list(self.checks)
        if self.op.cycles != "all":
            for (x, x_there), (y, y_there) in itertools.combinations(self.edge_ids, 2):
                if x.split("#")[0].split(".")[0] != y.split("#")[0].split(".")[0]:  # within a path: done
                    conditions.append(_unless(self.op.span, [x_there, y_there], _differ(self.op.span, x, y)))
        conditions += self.rest
        return self.filter(rel, conditions, self.op.where) if conditions else rel

    def rewriter(self) -> Rewriter:
        return Rewriter(self.b, self.graph, self.env, self.properties)

    def projected(self, rel: Relation) -> Relation:
        items: list[tuple[str, BExpr]] = []
        ctx = ExprContext(self.scope, rel.schema)
        for i, item in enumerate(self.op.project, start=1):
            if len(item.names) > 1:
                raise self.b.error("graph-match project gives one column per expression", item)
            name = item.names[0] if item.names else expression_name(item.expr) or f"Column{i}"
            if any(name == n for n, _ in items):
                raise self.b.error(f"project produces the column '{name}' twice", item)
            items.append((name, self.b.scalar(self.rewriter().rewrite(item.expr), ctx)))
        if self.op.shortest:
            items += self.shortest_keys(rel)
        return project(rel, items)

    def shortest_keys(self, rel: Relation) -> list[tuple[str, BExpr]]:
        keys = [(START, self.node_keys[0]), (END, self.node_keys[-1])]
        if self.graph.partitioned:
            keys.append((PART, self.part))
        out: list[tuple[str, BExpr]] = [(name, _ref(_find(rel, column or ""))) for name, column in keys]
        span = self.op.span
        total: ast.Expr = ast.Literal(span, 0, KqlType.LONG)
        for length in self.lengths:
            hops = (
                ast.Literal(span, length, KqlType.LONG) if isinstance(length, int) else ast.Name(span, length)
            )
            total = ast.Binary(span, "+", total, hops)
        out.append((LENGTH, self.b.scalar(total, ExprContext(self.scope, rel.schema))))
        return out


def _padded_union(legs: list[Relation], name: str, low: int) -> Relation:
    """The paths of each length as one relation with the longest one's columns (absent hops
    empty), plus ``name.$len``, ``name.$end`` (the last node's id) and ``name.$part``."""
    longest = legs[-1].schema.columns
    end_type = next(c.type for c in longest if c.name.endswith(f".{TO}"))
    extra = [
        Column(f"{name}.$len", KqlType.LONG, f"{_sql(name)}_len"),
        Column(f"{name}.$end", end_type, f"{_sql(name)}_end"),
    ]
    part = next((c for c in longest if c.name.endswith(f".{PART}")), None)
    if part is not None:
        extra.append(Column(f"{name}.$part", part.type, f"{_sql(name)}_part"))
    schema = Schema(longest + tuple(extra))
    inputs = []
    for hops, leg in enumerate(legs, start=low):
        mine = {c.name: c for c in leg.schema.columns}
        items: list[BExpr | None] = [_ref(mine[c.name]) if c.name in mine else None for c in longest]
        last = f"{name}#{hops}."
        items.append(BLiteral(KqlType.LONG, hops))
        items.append(_ref(mine[last + TO]))
        if part is not None:
            items.append(_ref(mine[last + PART]))
        inputs.append((leg, tuple(items)))
    return UnionAll(schema, tuple(inputs))


def _sql(name: str) -> str:
    return "v_" + "".join(ch if ch.isalnum() else "_" for ch in name)


def _find(rel: Relation, name: str) -> Column:
    found = rel.schema.find(name)
    assert found is not None, name
    return found


def _ref(column: Column) -> BColumn:
    return BColumn(column.type, column)


def _same(span: SourceSpan, left: str, right: str | None) -> ast.Expr:
    return ast.Binary(span, "==", ast.Name(span, left), ast.Name(span, right or ""))


def _differ(span: SourceSpan, left: str, right: str) -> ast.Expr:
    return ast.Binary(span, "!=", ast.Name(span, left), ast.Name(span, right))


def _at_least(span: SourceSpan, length: str | None, hops: int) -> ast.Expr | None:
    """Whether hop ``hops`` of a padded path is there (hop 1 always is)."""
    if length is None or hops == 1:
        return None
    return ast.Binary(span, ">=", ast.Name(span, length), ast.Literal(span, hops, KqlType.LONG))


def _unless(span: SourceSpan, present: list[ast.Expr | None], check: ast.Expr) -> ast.Expr:
    """``check`` where every hop it reads is there."""
    out = check
    for there in present:
        if there is not None:
            out = ast.Binary(span, "or", _negated(span, there), out)
    return out


def _negated(span: SourceSpan, there: ast.Expr) -> ast.Expr:
    assert isinstance(there, ast.Binary)
    return ast.Binary(span, "<", there.left, there.right)


def oriented(b: Binder, graph: Graph, direction: str, scope: Scope, span: SourceSpan) -> Relation:
    """The edges with ``$from``/``$to`` in the pattern's direction (both ways for ``-[e]-``, a
    self-loop once); one relation per graph and direction, so the SQL computes it once."""
    if direction in graph.oriented:
        return graph.oriented[direction]
    edges = graph.edges
    columns = {c.name: c for c in edges.schema.columns}
    ends = (SRC, DST) if direction != "in" else (DST, SRC)
    items = [(c.name, _ref(c)) for c in edges.schema.columns]
    rel: Relation = project(
        edges, [*items, *((k, _ref(columns[e])) for k, e in zip((FROM, TO), ends, strict=True))]
    )
    if direction == "any":
        loop = ast.Binary(span, "!=", ast.Name(span, SRC), ast.Name(span, DST))
        others = Filter(edges.schema, edges, b.scalar(loop, ExprContext(scope, edges.schema)))
        plain = tuple(e for _, e in items)
        forward = (*plain, _ref(columns[SRC]), _ref(columns[DST]))
        back = (*plain, _ref(columns[DST]), _ref(columns[SRC]))
        rel = UnionAll(rel.schema, ((edges, forward), (others, back)))
    graph.oriented[direction] = rel
    return rel


def _shortest(b: Binder, rel: Relation, op: GraphMatch, scope: Scope, partitioned: bool) -> Relation:
    """Keep, for each start and end node, the matches of the fewest hops (one of them for
    ``output=any``, Kusto's default)."""
    from watchkeeper.kql.bind_operators import bind_operator

    keys = [START, END, *([PART] if partitioned else [])]
    by = tuple(ast.Assign(op.span, (), ast.Name(op.span, k)) for k in keys)
    if op.output == "any":
        pick = ast.Call(op.span, "arg_min", (ast.Name(op.span, LENGTH), ast.Star(op.span)))
        return bind_operator(b, rel, ast.Summarize(op.span, (ast.Assign(op.span, (), pick),), by), scope)
    least = ast.Call(op.span, "min", (ast.Name(op.span, LENGTH),))
    agg = bind_operator(b, rel, ast.Summarize(op.span, (ast.Assign(op.span, ("$least",), least),), by), scope)
    on = [(_find(rel, k), _find(agg, k)) for k in keys]
    on.append((_find(rel, LENGTH), _find(agg, "$least")))
    return Join(rel.schema, rel, agg, "leftsemi", tuple(on), ())
