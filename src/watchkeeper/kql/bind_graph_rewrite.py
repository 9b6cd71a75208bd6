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
from watchkeeper.kql.plan import Column
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.errors import SourceSpan
    from watchkeeper.kql.binder import Binder

__all__ = ["Rewriter", "Var"]

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
    cols: dict[str, dict[str, Column]]

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
        if element is not None and node.name in self.cols[element] and node.name not in HIDDEN:
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
