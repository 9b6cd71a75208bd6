"""Binding of ``evaluate`` plugins, ``mv-apply`` and ``parse-kv``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.bind_operators import passthrough, project_columns, row_context
from watchkeeper.kql.functions.dynamic import DYNAMIC_GET
from watchkeeper.kql.plan import BColumn, BExpr, Relation
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["evaluate", "mv_apply", "parse_kv"]


def evaluate(b: Binder, rel: Relation, op: ast.Evaluate, scope: Scope) -> Relation:
    plugin = op.call.name
    if plugin == "bag_unpack":
        return _bag_unpack(b, rel, op.call, scope)
    raise b.unsupported(f"evaluate {plugin}()", op.call)


def _bag_unpack(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """One column per property of the bag. Which properties exist is a fact about the data: a
    workspace supplies a probe that looks; compiling without one leaves the output open."""
    if not call.args:
        raise b.error("bag_unpack() needs the dynamic column to unpack", call)
    ctx = row_context(rel, scope)
    bag = b.scalar(call.args[0], ctx)
    prefix = ""
    if len(call.args) > 1:
        prefix = str(b.constant(call.args[1], ctx, "the bag_unpack column prefix") or "")
    items = [(n, e) for n, e in passthrough(rel) if not (isinstance(bag, BColumn) and e == bag)]
    if b.probe is None:
        return project_columns(rel, items, open_schema=True)
    keys = b.probe(rel, bag)
    taken = {n for n, _ in items}
    for key in keys:
        name = prefix + key
        if name in taken:
            continue
        value: BExpr = b.make_call(DYNAMIC_GET, [bag], call, options=((key,),))
        items.append((name, value))
        taken.add(name)
    return project_columns(rel, items)


def mv_apply(b: Binder, rel: Relation, op: ast.MvApply, scope: Scope) -> Relation:
    raise b.unsupported("mv-apply", op)


def parse_kv(b: Binder, rel: Relation, op: ast.ParseKv, scope: Scope) -> Relation:
    raise b.unsupported("parse-kv", op)


