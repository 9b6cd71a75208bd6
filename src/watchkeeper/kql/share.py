"""A pure pass after pruning: compute once what several output columns of a projection share.

``extend (RSquare, Slope, ...) = series_fit_line(x)`` binds one call and reads six outputs from it.
Lowered naively, each output column would repeat the whole call (and nested spreads multiply
that). Here every call object that two or more items of one projection use is moved into a
projection underneath, as a column; the items read the column instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from watchkeeper.kql import plan as p
from watchkeeper.kql.functions.registry import FunctionKind
from watchkeeper.kql.naming import SqlNames

__all__ = ["share"]


def share(root: p.Relation) -> p.Relation:
    """``root`` with shared subexpressions of projections computed once."""
    return _Sharer().relation(root)


class _Sharer:
    def __init__(self) -> None:
        self.memo: dict[int, p.Relation] = {}

    def relation(self, rel: p.Relation) -> p.Relation:
        if id(rel) in self.memo:
            return self.memo[id(rel)]
        result = self._rebuild(rel)
        if isinstance(result, p.Projection):
            result = _split(result)
        self.memo[id(rel)] = result
        return result

    def _rebuild(self, rel: p.Relation) -> p.Relation:
        changes: dict[str, Any] = {}
        if isinstance(getattr(rel, "input", None), p.Relation):
            changes["input"] = self.relation(rel.input)  # type: ignore[attr-defined]
        if isinstance(rel, p.Join):
            changes = {"left": self.relation(rel.left), "right": self.relation(rel.right)}
        if isinstance(rel, p.UnionAll):
            changes = {"inputs": tuple((self.relation(r), items) for r, items in rel.inputs)}
        return replace(rel, **changes) if changes else rel


def _split(rel: p.Projection) -> p.Relation:
    shared = _shared_calls(rel.items)
    if not shared:
        return rel
    names = SqlNames()
    for column in rel.input.schema.columns:
        names.column(column.sql, column.type)  # reserve the input's names
    columns = {
        key: names.column(f"__wk_shared{i}", call.type) for i, (key, call) in enumerate(shared.items())
    }
    inner_items = [p.BColumn(c.type, c) for c in rel.input.schema.columns] + list(shared.values())
    inner_schema = p.Schema(rel.input.schema.columns + tuple(columns.values()), rel.input.schema.open)
    inner = p.Projection(inner_schema, rel.input, tuple(inner_items))
    mapping = {key: p.BColumn(columns[key].type, columns[key]) for key in shared}
    items = tuple(_substitute(item, mapping) for item in rel.items)
    return p.Projection(rel.schema, inner, items)


def _shared_calls(items: tuple[p.BExpr, ...]) -> dict[int, p.BCall]:
    """Calls (by identity) that appear in two or more places among ``items``."""
    seen: dict[int, int] = {}
    calls: dict[int, p.BCall] = {}
    for item in items:
        for call in p.calls_in(item):
            seen[id(call)] = seen.get(id(call), 0) + 1
            calls[id(call)] = call
    shared = {key: calls[key] for key, n in seen.items() if n > 1 and _movable(calls[key])}
    # keep only the outermost shared calls: an inner one moves along with its parent
    inner = {id(c) for call in shared.values() for arg in call.args for c in p.calls_in(arg)}
    return {key: call for key, call in shared.items() if key not in inner}


def _movable(call: p.BCall) -> bool:
    kinds = {c.fn.kind for c in p.calls_in(call)}
    return (
        FunctionKind.WINDOW not in kinds
        and FunctionKind.AGGREGATE not in kinds
        and all(c.fn.deterministic for c in p.calls_in(call))
    )


def _substitute(expr: p.BExpr, mapping: dict[int, p.BColumn]) -> p.BExpr:
    if id(expr) in mapping:
        return mapping[id(expr)]
    if isinstance(expr, p.BCall):
        args = tuple(_substitute(a, mapping) for a in expr.args)
        if any(new is not old for new, old in zip(args, expr.args, strict=True)):
            return p.BCall(expr.type, expr.fn, args, expr.options, expr.span)
    return expr
