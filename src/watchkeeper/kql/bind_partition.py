"""Binding of the ``partition`` operator.

Kusto runs the subquery once per distinct value of the partition column and unions the results.
Over operators that look at one row at a time, that union is the subquery run once over the
whole input: ``partition by C ( where ... )`` is the operators themselves, and ``partition by C
{ S | where C == x }`` is ``S`` paired with every distinct ``C`` of the input (``C`` the scalar the
documentation describes, as a column here) before the operators. Operators that look at several
rows (``summarize``, ``top``, ``take``, ``count``...) would need one run per partition and are
refused as unsupported rather than answered across partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.bind_joins import join
from watchkeeper.kql.bind_operators import bind_operator
from watchkeeper.kql.bind_scan import scan
from watchkeeper.kql.functions.registry import FunctionKind, lookup
from watchkeeper.kql.parse_scan import Scan
from watchkeeper.kql.plan import Relation
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["partition"]

_ROW_BY_ROW = (ast.Where, ast.Extend, ast.Project, ast.ProjectAway, ast.ProjectKeep, ast.ProjectRename,
               ast.ProjectReorder, ast.Parse, ast.MvExpand)  # fmt: skip
_KEY = "__wk_partition"
# a sort orders the rows each partition sees; a scan keeps one state machine per partition value
_PER_PARTITION = (ast.Sort, Scan)


def partition(b: Binder, rel: Relation, op: ast.Partition, scope: Scope) -> Relation:
    """``partition by Column (operators)`` or ``{ subquery }``: row-by-row operators, ``sort``, and
    ``scan`` (which keeps a state per partition value)."""
    source, operators = _split(op.body)
    for operator in operators:
        if not isinstance(operator, _ROW_BY_ROW + _PER_PARTITION):
            name = type(operator).__name__.lower()
            raise b.unsupported(f"partition with '{name}' in its subquery (only operators that look at "
                                "one row at a time run per partition here)", operator)  # fmt: skip
        window = next(_window_calls(operator), None) if isinstance(operator, _ROW_BY_ROW) else None
        if window is not None:  # prev(), row_number()... would run across the partitions' rows
            raise b.unsupported(f"partition with {window.name}() in its subquery (a window function runs over "
                                "the rows of every partition here, not of each)", window)  # fmt: skip
    out = rel if op.over_rows else _paired(b, rel, op, source, scope)
    for operator in operators:
        if isinstance(operator, Scan):
            out = scan(b, out, operator, scope, partition=op.column)
        else:
            out = bind_operator(b, out, operator, scope)
    helpers = tuple(c.name for c in out.schema.columns if c.name == op.column or c.name.startswith(_KEY))
    if op.over_rows or not helpers:
        return out
    return bind_operator(b, out, ast.ProjectAway(op.span, helpers), scope)


def _window_calls(node: object) -> Iterator[ast.Call]:
    """The calls of window functions anywhere in an operator's expressions."""
    if isinstance(node, ast.Call):
        spec = lookup(node.name)
        if spec is not None and spec.kind is FunctionKind.WINDOW:
            yield node
    if isinstance(node, ast.Node):
        for name in getattr(node, "__dataclass_fields__", {}):
            yield from _window_calls(getattr(node, name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _window_calls(item)


def _split(body: ast.Expr) -> tuple[ast.Expr, list[ast.Operator]]:
    operators: list[ast.Operator] = []
    while isinstance(body, ast.Pipe):
        operators.insert(0, body.operator)
        body = body.source
    return body, operators


def _paired(b: Binder, rel: Relation, op: ast.Partition, source: ast.Expr, scope: Scope) -> Relation:
    """Every row of ``source`` with each distinct value of the partition column."""
    if any(c.name == op.column for c in b.tabular(source, scope).schema.columns):
        raise b.unsupported(f"partition by {op.column} over a subquery that has its own '{op.column}' column",
                            op)  # fmt: skip
    one = ast.Assign(op.span, (_KEY,), ast.Literal(op.span, 1, KqlType.LONG))
    values = bind_operator(b, rel, ast.Distinct(op.span, (ast.Assign(op.span, (), ast.Name(op.span, op.column)),)),
                           scope)  # fmt: skip
    values = bind_operator(b, values, ast.Extend(op.span, (one,)), scope)
    right = ast.Pipe(op.span, source, ast.Extend(op.span, (one,)))
    return join(b, values, ast.Join(op.span, "inner", right, (ast.Name(op.span, _KEY),)), scope)
