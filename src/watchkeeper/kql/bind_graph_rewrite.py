"""``where`` and ``project`` of a graph pattern, rewritten from pattern variables to chain columns.

The join chain (:mod:`bind_graph_match`) names the property ``p`` of node ``a`` ``a.p`` and of hop
``i`` of a variable-length edge ``e`` ``e#i.p`` (inner node ``i``: ``e#ni.p``); a variable-length
edge's chain is padded to its longest length and ``e.$len`` holds the hops a row really has.
So (Kusto's graph-match and graph function references):

* ``a.p`` is the column ``a.p``; ``e.p`` of a variable-length edge is the array of its hops' values;
* ``map(e, X)`` is ``X`` of each hop, as an array of ``e.$len`` values (inner nodes: one fewer);
* ``all(e, P)`` is ``P`` of each present hop joined with ``and``, ``any(e, P)`` with ``or``;
* bare names inside ``map/any/all`` are properties of the element.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from watchkeeper.kql import ast
from watchkeeper.kql.bind_graph import HIDDEN, Graph
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.errors import SourceSpan
    from watchkeeper.kql.binder import Binder

__all__ = ["Rewriter", "Var", "plan_variables", "split_where"]

_SEQUENCE_FUNCTIONS = ("all", "any", "map")


@dataclass
class Var:
    """A pattern variable in the chain: its slot (node or single edge), or for a variable-length
    edge its hops, inner nodes and the column with its hop count."""

    kind: str  # "node" | "edge"
    slots: list[str]
    inner: list[str] = field(default_factory=list)
    length: str | None = None


@dataclass
class Rewriter:
    b: Binder
    graph: Graph
    env: dict[str, Var]
    properties: dict[str, frozenset[str]]  # by slot

    def rewrite(self, node: Any, element: str | None = None) -> Any:
        """``node`` with variables replaced by chain columns; bare names inside
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
            sequence = self.sequence(node.args[0])
            if sequence is not None:
                return self.over(node, *sequence)
        if isinstance(node, ast.Call) and node.name == "inner_nodes":
            raise self.b.error("inner_nodes() is read through map(), any() or all()", node)
        changes = {
            f: self.rewrite(getattr(node, f), element) for f in node.__dataclass_fields__ if f != "span"
        }
        return replace(node, **changes)

    def name(self, node: ast.Name, element: str | None) -> ast.Expr:
        if element is not None and node.name in self.properties[element]:
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
        if var.length is None:
            return ast.Name(node.span, f"{var.slots[0]}.{prop}")
        values: list[ast.Expr] = [ast.Name(node.span, f"{slot}.{prop}") for slot in var.slots]
        return _sliced(node.span, values, var.length, 0)

    def sequence(self, arg: ast.Expr) -> tuple[list[str], str | None, int] | None:
        """What ``map/any/all`` run over: (slots, hop count column, slots fewer than hops) for an
        edge variable's hops (1 slot, no count for a single edge) or ``inner_nodes(e)``."""
        if isinstance(arg, ast.Name) and arg.name in self.env and self.env[arg.name].kind == "edge":
            var = self.env[arg.name]
            return var.slots, var.length, 0
        if isinstance(arg, ast.Call) and arg.name == "inner_nodes" and len(arg.args) == 1:
            target = arg.args[0]
            if isinstance(target, ast.Name) and target.name in self.env and self.env[target.name].length:
                var = self.env[target.name]
                return var.inner, var.length, 1
            raise self.b.error("inner_nodes() takes a variable-length edge of the pattern", arg)
        return None

    def over(self, call: ast.Call, slots: list[str], length: str | None, fewer: int) -> ast.Expr:
        values = [self.rewrite(call.args[1], slot) for slot in slots]
        if call.name == "map":
            return _sliced(call.span, values, length, fewer) if length else _array(call.span, values)
        every = call.name == "all"
        out: ast.Expr = ast.Literal(call.span, every, KqlType.BOOL)
        for i, value in enumerate(values, start=1):
            guarded = value
            if length is not None and i + fewer > 1:  # hop 1 is always there (lengths start at 1)
                guarded = (
                    ast.Binary(call.span, "or", _compare(call.span, "<", length, i + fewer), value)
                    if every
                    else ast.Binary(call.span, "and", _compare(call.span, ">=", length, i + fewer), value)
                )
            out = guarded if i == 1 else ast.Binary(call.span, "and" if every else "or", out, guarded)
        return out


def _compare(span: SourceSpan, op: str, column: str, value: int) -> ast.Expr:
    return ast.Binary(span, op, ast.Name(span, column), ast.Literal(span, value, KqlType.LONG))


def _array(span: SourceSpan, values: list[ast.Expr]) -> ast.Expr:
    if not values:
        return ast.Literal(span, [], KqlType.DYNAMIC)
    return ast.Call(span, "pack_array", tuple(values))


def _sliced(span: SourceSpan, values: list[ast.Expr], length: str | None, fewer: int) -> ast.Expr:
    """The first ``length - fewer`` of ``values`` as an array (the padded hops cut off)."""
    full = _array(span, values)
    if length is None or not values:
        return full
    last = ast.Binary(span, "-", ast.Name(span, length), ast.Literal(span, 1 + fewer, KqlType.LONG))
    cut = ast.Call(span, "array_slice", (full, ast.Literal(span, 0, KqlType.LONG), last))
    if fewer == 0:
        return cut
    empty = ast.Literal(span, [], KqlType.DYNAMIC)
    return ast.Call(span, "iff", (_compare(span, ">", length, fewer), cut, empty))


def plan_variables(
    graph: Graph, elements: tuple[Any, ...], used: set[str]
) -> tuple[dict[str, Var], dict[str, frozenset[str]]]:
    """The slots each named variable will have in the chain (a node is joined only when a clause
    reads it or the pattern names it twice), and the properties of every slot."""
    from watchkeeper.kql.parse_graph import GraphEdge, GraphNode

    nodes = frozenset(c.name for c in graph.node_properties())
    edges = frozenset(c.name for c in graph.edge_properties())
    env: dict[str, Var] = {}
    properties: dict[str, frozenset[str]] = {}
    for element in elements:
        name = element.name
        if name is None or name in env:
            continue
        if isinstance(element, GraphNode):
            twice = sum(1 for e in elements if isinstance(e, GraphNode) and e.name == name) > 1
            env[name] = Var("node", [name] if name in used or twice else [])
        elif isinstance(element, GraphEdge) and element.hops is None:
            env[name] = Var("edge", [name])
        else:
            high = element.hops[1]
            inner = [f"{name}#n{i}" for i in range(1, high)] if f"{name}#inner" in used else []
            hops = [f"{name}#{i}" for i in range(1, high + 1)]
            env[name] = Var("edge", hops, inner, f"{name}.$len")
        var = env[name]
        properties.update(dict.fromkeys(var.slots, nodes if var.kind == "node" else edges))
        properties.update(dict.fromkeys(var.inner, nodes))
    return env, properties


def split_where(rw: Rewriter, where: ast.Expr | None) -> tuple[dict[str, list[ast.Expr]], list[ast.Expr]]:
    """The where clause's conjuncts that read one node or edge copy only, by copy (filtered
    before the join: ``all(e, P)`` is ``P`` on every hop), and the rest, rewritten."""
    pushed: dict[str, list[ast.Expr]] = {}
    rest: list[ast.Expr] = []
    for conjunct in _conjuncts(where):
        moved = _pushed(rw, conjunct)
        if moved is None:
            rest.append(rw.rewrite(conjunct))
            continue
        for slot, condition in moved:
            pushed.setdefault(slot, []).append(condition)
    return pushed, rest


def _pushed(rw: Rewriter, conjunct: ast.Expr) -> list[tuple[str, ast.Expr]] | None:
    if isinstance(conjunct, ast.Call) and conjunct.name == "all" and len(conjunct.args) == 2:
        sequence = rw.sequence(conjunct.args[0])
        if sequence is not None:
            moved = [(slot, rw.rewrite(conjunct.args[1], slot)) for slot in sequence[0]]
            return moved if all(_slots_read(c) <= {slot} for slot, c in moved) else None
    rewritten = rw.rewrite(conjunct)
    slots = _slots_read(rewritten)
    if len(slots) == 1 and next(iter(slots)) in rw.properties:
        return [(next(iter(slots)), rewritten)]
    return None


def _conjuncts(where: ast.Expr | None) -> list[ast.Expr]:
    if where is None:
        return []
    if isinstance(where, ast.Binary) and where.op == "and":
        return _conjuncts(where.left) + _conjuncts(where.right)
    return [where]


def _slots_read(expr: Any) -> set[str]:
    """The copies a rewritten expression reads (``slot.property`` names)."""
    found: set[str] = set()
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and "." in node.name:
            found.add(node.name.split(".", 1)[0])
        elif isinstance(node, ast.Node):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
        elif isinstance(node, tuple):
            stack.extend(node)
    return found
