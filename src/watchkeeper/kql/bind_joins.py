"""Binding of ``join`` and ``lookup``.

Kusto's default join kind is ``innerunique`` (the left side deduplicated on the join keys).
Inner and outer joins output the left columns, then the right columns, a right name that is
already taken getting a numeric suffix (``Account1``); semi and anti joins output one side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.naming import SqlNames, dedupe_name
from watchkeeper.kql.plan import Column, Join, Relation, Schema
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["join", "lookup"]

_KIND_ALIASES = {
    "anti": "leftanti",
    "leftantisemi": "leftanti",
    "rightantisemi": "rightanti",
    "semi": "leftsemi",
}


def join(b: Binder, left: Relation, op: ast.Join, scope: Scope) -> Relation:
    right = b.tabular(op.right, scope)
    kind = _KIND_ALIASES.get(op.kind, op.kind)
    conditions = _conditions(b, left, right, op.on, op)
    if kind in ("leftsemi", "leftanti"):
        return Join(left.schema, left, right, kind, conditions, ())
    if kind in ("rightsemi", "rightanti"):
        return Join(right.schema, left, right, kind, conditions, right.schema.columns)
    return _combined(left, right, kind, conditions, lookup=False)


def lookup(b: Binder, left: Relation, op: ast.Lookup, scope: Scope) -> Relation:
    right = b.tabular(op.right, scope)
    if op.kind not in ("leftouter", "inner"):
        raise b.error(f"lookup kind must be leftouter or inner, not '{op.kind}'", op)
    conditions = _conditions(b, left, right, op.on, op)
    return _combined(left, right, op.kind, conditions, lookup=True)


def _combined(
    left: Relation, right: Relation, kind: str, conditions: tuple[tuple[Column, Column], ...], *, lookup: bool
) -> Relation:
    names = SqlNames()
    out = [names.column(c.name, c.type) for c in left.schema.columns]
    taken = [c.name for c in left.schema.columns]
    # lookup keeps the left key columns only; the right side's key columns are not repeated
    right_keys = {id(r) for _, r in conditions} if lookup else set()
    right_out: list[Column] = []
    for col in right.schema.columns:
        if id(col) in right_keys:
            continue
        name = dedupe_name(col.name, taken)
        taken.append(name)
        out.append(names.column(name, col.type))
        right_out.append(col)
    schema = Schema(tuple(out), left.schema.open or right.schema.open)
    return Join(schema, left, right, kind, conditions, tuple(right_out), lookup)


def _conditions(
    b: Binder, left: Relation, right: Relation, on: tuple[ast.Expr, ...], node: ast.Node
) -> tuple[tuple[Column, Column], ...]:
    if not on:
        raise b.error("join needs 'on' with the columns to match", node)
    pairs: list[tuple[Column, Column]] = []
    for cond in on:
        if isinstance(cond, ast.Name):
            pairs.append((_side(b, left, cond.name, cond, "left"), _side(b, right, cond.name, cond, "right")))
        elif isinstance(cond, ast.Binary) and cond.op == "==":
            pairs.append(_equality(b, left, right, cond))
        else:
            raise b.unsupported("join conditions other than column equality", cond)
    return tuple(pairs)


def _bracketed_side(operand: ast.Expr) -> ast.Expr:
    """``$left.['User Principal Name']`` (a column whose name needs brackets) as ``$left.name``."""
    if (isinstance(operand, ast.Index) and isinstance(operand.target, ast.Name)
            and operand.target.name in ("$left", "$right") and isinstance(operand.index, ast.Literal)
            and isinstance(operand.index.value, str)):  # fmt: skip
        return ast.Member(operand.span, operand.target, operand.index.value)
    return operand


def _equality(b: Binder, left: Relation, right: Relation, cond: ast.Binary) -> tuple[Column, Column]:
    sides = {}
    for operand in map(_bracketed_side, (cond.left, cond.right)):
        if isinstance(operand, ast.Member) and isinstance(operand.target, ast.Name) and operand.target.name in (
            "$left", "$right"
        ):  # fmt: skip
            which = operand.target.name[1:]
            rel = left if which == "left" else right
            sides[which] = _side(b, rel, operand.name, operand, which)
        elif isinstance(operand, ast.Name):
            which = "right" if "left" in sides else "left"
            rel = left if which == "left" else right
            sides[which] = _side(b, rel, operand.name, operand, which)
        else:
            raise b.unsupported("join keys that are expressions (extend them into columns first)", operand)
    if set(sides) != {"left", "right"}:
        raise b.error("a join condition compares a $left column with a $right column", cond)
    return sides["left"], sides["right"]


def _side(b: Binder, rel: Relation, name: str, node: ast.Node, which: str) -> Column:
    col = rel.schema.find(name)
    if col is not None:
        return col
    if rel.schema.open:
        return Column(name, KqlType.UNKNOWN, name)
    raise b.error(f"the {which} side of the join has no column '{name}'", node)
