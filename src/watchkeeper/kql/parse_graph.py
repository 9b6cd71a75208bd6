"""Syntax of Kusto's graph semantics: ``make-graph`` and the graph operators that must follow it.

``Edges | make-graph Source --> Target [with Nodes on NodeId | with_node_id=Name] [partitioned-by
Column (GraphOperator)]`` then ``graph-mark-components``, ``graph-match``, ``graph-shortest-paths`` or
``graph-to-table`` (Kusto's make-graph, graph-match, graph-shortest-paths, graph-mark-components and
graph-to-table references). A graph is not a table: it exists only between ``make-graph`` and the
graph operator that turns it back into rows, so the parser reads them as one :class:`MakeGraph` node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.tokens import TokenKind

if TYPE_CHECKING:
    from watchkeeper.kql.parse_operators import OperatorParser

__all__ = [
    "GRAPH_OPERATORS", "GraphEdge", "GraphMarkComponents", "GraphMatch", "GraphNode", "GraphToTable",
    "MakeGraph", "graph_operator_alone", "parse_make_graph",
]  # fmt: skip

GRAPH_OPERATORS = ("graph-match", "graph-shortest-paths", "graph-mark-components", "graph-to-table")
_CYCLES = ("all", "none", "unique_edges")


@dataclass(frozen=True, slots=True)
class GraphNode(ast.Node):
    """``(name)`` or ``()`` in a pattern."""

    name: str | None


@dataclass(frozen=True, slots=True)
class GraphEdge(ast.Node):
    """``-[name]->``, ``<-[name]-``, ``-[name]-`` (``-->``, ``<--``, ``--`` anonymous); ``hops`` is
    ``(min, max)`` for a variable-length edge ``-[e*1..3]->`` and None for a single edge."""

    name: str | None
    direction: str  # "out" | "in" | "any"
    hops: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class GraphMatch(ast.Operator):
    """``graph-match [cycles=...] Pattern [where C] project ...`` and ``graph-shortest-paths
    [output=any|all] Pattern [where C] project ...`` (``shortest`` set)."""

    cycles: str
    elements: tuple[GraphNode | GraphEdge, ...]
    where: ast.Expr | None
    project: tuple[ast.Assign, ...]
    shortest: bool = False
    output: str = "any"


@dataclass(frozen=True, slots=True)
class GraphMarkComponents(ast.Operator):
    """``graph-mark-components [kind=weak|strong] [with_component_id=Name]``."""

    kind: str
    column: str


@dataclass(frozen=True, slots=True)
class GraphToTable(ast.Operator):
    """``graph-to-table nodes [with_node_id=Id]`` or ``graph-to-table edges [with_source_id=S]
    [with_target_id=T]`` (one of the two: the form with both tables returns two results)."""

    what: str  # "nodes" | "edges"
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MakeGraph(ast.Operator):
    """``make-graph`` with the graph operators that consume the graph, in order; the last one
    returns rows (``graph-match``, ``graph-shortest-paths`` or ``graph-to-table``)."""

    source: str
    target: str
    nodes: tuple[tuple[ast.Expr, str], ...]
    node_id: str | None
    partition: str | None
    steps: tuple[ast.Operator, ...]


def parse_make_graph(p: OperatorParser) -> ast.Operator:
    """``make-graph ...`` and the graph operators after it (``| graph-...`` or the
    ``partitioned-by Column (...)`` body)."""
    start = p.advance()
    source, _ = p.identifier("the source node id column")
    for arrow in ("-", "-", ">"):
        p.expect_punct(arrow)
    target, _ = p.identifier("the target node id column")
    nodes: list[tuple[ast.Expr, str]] = []
    node_id = None
    if p.tok.is_word("with_node_id") and p.peek().is_punct("="):
        p.advance()
        p.advance()
        node_id = p.identifier("the node id property name")[0]
    elif p.accept_word("with"):
        nodes.append(_nodes_table(p))
        while p.accept_punct(","):
            nodes.append(_nodes_table(p))
    partition = None
    if _at_partitioned_by(p):
        for _ in range(3):
            p.advance()
        partition = p.identifier("the partition column")[0]
        p.expect_punct("(")
        steps = _graph_steps(p, inner=True)
        p.expect_punct(")")
    else:
        steps = _graph_steps(p, inner=False)
    return MakeGraph(p.span_from(start), source, target, tuple(nodes), node_id, partition, tuple(steps))


def graph_operator_alone(p: OperatorParser) -> ast.Operator:
    """A graph operator that no ``make-graph`` precedes in its pipeline."""
    raise p.fail(
        f"{p.tok.text} reads a graph: write it after make-graph in the same pipeline (a graph "
        "cannot be kept in a let or a table)"
    )


def _nodes_table(p: OperatorParser) -> tuple[ast.Expr, str]:
    table = p.postfix()
    p.expect_word("on")
    return table, p.identifier("the node id column")[0]


def _at_partitioned_by(p: OperatorParser) -> bool:
    tok, dash, by = p.tok, p.peek(), p.peek(2)
    return (
        tok.is_word("partitioned") and dash.is_punct("-") and by.is_word("by")
        and tok.end == dash.start and dash.end == by.start
    )  # fmt: skip


def _graph_steps(p: OperatorParser, *, inner: bool) -> list[ast.Operator]:
    """The graph operators after ``make-graph``: ``| graph-mark-components`` any number of times,
    then one operator that returns rows. Inside ``partitioned-by (...)`` the first has no ``|``."""
    steps: list[ast.Operator] = []
    while True:
        if steps or not inner:
            if not (p.tok.is_punct("|") and p.peek().is_word(*GRAPH_OPERATORS)):
                break
            p.advance()
        if not p.tok.is_word(*GRAPH_OPERATORS):
            break
        steps.append(_GRAPH_PARSERS[p.tok.text](p))
        if not isinstance(steps[-1], GraphMarkComponents):
            return steps
    raise p.fail(
        "make-graph builds a graph that must be followed by graph-match, graph-shortest-paths or "
        f"graph-to-table, not {p.describe(p.tok)}"
    )


def _graph_match(p: OperatorParser) -> ast.Operator:
    start = p.advance()
    shortest = start.text == "graph-shortest-paths"
    opts = p.options({"output"} if shortest else {"cycles"}, start)
    cycles = str(p.option_word(opts, "cycles", "unique_edges"))
    output = str(p.option_word(opts, "output", "any"))
    if cycles not in _CYCLES:
        raise p.fail(f"cycles must be one of {', '.join(_CYCLES)}, not '{cycles}'", start)
    if output not in ("any", "all"):
        raise p.fail(f"output must be any or all, not '{output}'", start)
    elements = _pattern(p)
    if p.tok.is_punct(","):
        raise p.fail("patterns of several comma-separated sequences are not supported yet; write one path")
    where = p.expression() if p.accept_word("where") else None
    p.expect_word("project")
    project = tuple(p.assign_list())
    return GraphMatch(p.span_from(start), cycles, elements, where, project, shortest, output)


def _pattern(p: OperatorParser) -> tuple[GraphNode | GraphEdge, ...]:
    elements: list[GraphNode | GraphEdge] = [_node(p)]
    while p.tok.is_punct("-", "<"):
        elements.append(_edge(p))
        elements.append(_node(p))
    if len(elements) == 1:
        raise p.fail("a graph pattern needs at least one edge, such as (a)-->(b)")
    return tuple(elements)


def _node(p: OperatorParser) -> GraphNode:
    start = p.expect_punct("(")
    name = None if p.tok.is_punct(")") else p.identifier("a node variable name")[0]
    p.expect_punct(")")
    return GraphNode(p.span_from(start), name)


def _edge(p: OperatorParser) -> GraphEdge:
    start = p.tok
    leftward = bool(p.accept_punct("<"))
    p.expect_punct("-")
    name, hops = None, None
    if p.accept_punct("["):
        if p.tok.kind is TokenKind.IDENT:
            name = p.advance().text
        if p.accept_punct("*"):
            hops = _hops(p)
        p.expect_punct("]")
    p.expect_punct("-")
    rightward = bool(p.accept_punct(">"))
    if leftward and rightward:
        raise p.fail("an edge points one way: write <-[e]- or -[e]->, not both", start)
    direction = "in" if leftward else "out" if rightward else "any"
    return GraphEdge(p.span_from(start), name, direction, hops)


def _hops(p: OperatorParser) -> tuple[int, int]:
    low_tok = p.tok
    if low_tok.kind is not TokenKind.INT:
        raise p.fail("a variable-length edge needs its bounds as integers: -[e*1..3]->")
    low = int(p.advance().text)
    if not p.accept_punct(".."):
        return low, low
    if p.tok.kind is not TokenKind.INT:
        raise p.fail("a variable-length edge needs an upper bound here: -[e*1..3]->")
    high = int(p.advance().text)
    if high < low:
        raise p.fail(f"the edge's length range {low}..{high} is empty", low_tok)
    return low, high


def _mark_components(p: OperatorParser) -> ast.Operator:
    start = p.advance()
    opts = p.options({"kind", "with_component_id"}, start)
    kind = str(p.option_word(opts, "kind", "weak"))
    if kind not in ("weak", "strong"):
        raise p.fail(f"kind must be weak or strong, not '{kind}'", start)
    column = str(p.option_word(opts, "with_component_id", "ComponentId"))
    return GraphMarkComponents(p.span_from(start), kind, column)


def _to_table(p: OperatorParser) -> ast.Operator:
    start = p.advance()
    what = p.expect_word("nodes", "edges").text
    options: list[tuple[str, str]] = []
    while True:
        if p.accept_word("as"):
            options.append(("as", p.identifier("a table name")[0]))
        elif p.tok.is_word("with_node_id", "with_source_id", "with_target_id") and p.peek().is_punct("="):
            key = p.advance().text
            p.advance()
            options.append((key, p.identifier("a column name")[0]))
        else:
            break
    if p.tok.is_punct(","):
        raise p.fail("graph-to-table with both nodes and edges returns two tables; ask for one of them")
    return GraphToTable(p.span_from(start), what, tuple(options))


_GRAPH_PARSERS = {
    "graph-match": _graph_match,
    "graph-shortest-paths": _graph_match,
    "graph-mark-components": _mark_components,
    "graph-to-table": _to_table,
}
