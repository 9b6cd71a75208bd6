"""Sets over dynamic arrays: ``set_union``, ``set_intersect``, ``set_difference``,
``set_has_element``, ``jaccard_index``.

Elements are compared as JSON values (their JSON text), each distinct element appears once, and
the result keeps the order of first occurrence (Kusto's documented outputs rely on it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.arrays import all_arrays, json_of
from watchkeeper.kql.functions.listsql import ListSql
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_D = _T.DYNAMIC


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _set_fold(kind: str) -> Callable[..., Any]:
    def fold(*arrays: Any) -> Any:
        if not all(isinstance(a, list) for a in arrays):
            return None
        pool = [x for a in arrays for x in a] if kind == "union" else arrays[0]
        others = [{_key(x) for x in a} for a in arrays[1:]]
        out: dict[str, Any] = {}
        for value in pool:
            key = _key(value)
            if key in out:
                continue
            if kind == "intersect" and not all(key in o for o in others):
                continue
            if kind == "difference" and any(key in o for o in others):
                continue
            out[key] = value
        return list(out.values())

    return fold


def _combined(ls: ListSql, kind: str, sets: list[exp.Expression]) -> exp.Expression:
    """The distinct JSON texts of the result, in first-occurrence order."""
    d = ls.d
    if kind == "union":
        return d.list_unique(d.call("flatten", exp.Array(expressions=sets)))
    first, others = sets[0], sets[1:]

    def keep(x: exp.Expression) -> exp.Expression:
        tests = [d.call("list_contains", o.copy(), x.copy()) for o in others]
        if kind == "difference":
            tests = [exp.Not(this=t) for t in tests]
        cond = tests[0]
        for test in tests[1:]:
            cond = exp.And(this=cond, expression=test)
        return cond

    return ls.filter(d.list_unique(first), keep)


def _register(kind: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        ls = ListSql(ctx, args)
        texts = [ls.texts(ls.elements(a.copy())) for a in args]
        result = ls.let_all(texts, lambda sets: _combined(ls, kind, sets))
        as_json = ls.map(result, lambda t: ctx.dialect.cast(t, _D))
        return all_arrays(ctx, args, ls.json_array(as_json))

    scalar(f"set_{kind}", args=(2, None), returns=_D, params=[_D], fold=_set_fold(kind))(lower)


for _kind in ("union", "intersect", "difference"):
    _register(_kind)


def _fold_has(arr: Any, value: Any) -> Any:
    if not isinstance(arr, list):
        return None
    return _key(value) in {_key(x) for x in arr}


@scalar("set_has_element", args=2, returns=_T.BOOL, params=[_D, None], fold=_fold_has)
def _set_has_element(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    ls = ListSql(ctx, args)
    needle = d.cast(json_of(ctx, args[1], call.args[1].type), _T.STRING)
    found = d.call("list_contains", ls.texts(ls.elements(args[0])), needle)
    return all_arrays(ctx, args[:1], found)


@scalar("jaccard_index", args=2, returns=_T.REAL, params=[_D, _D])
def _jaccard_index(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``|a ∩ b| / |a ∪ b|`` over distinct elements; null when both sets are empty."""
    d = ctx.dialect
    ls = ListSql(ctx, args)

    def ratio(sets: list[exp.Expression]) -> exp.Expression:
        both = ls.length(_combined(ls, "intersect", sets))
        either = ls.length(_combined(ls, "union", [s.copy() for s in sets]))
        return exp.Div(this=d.cast(both, _T.REAL), expression=d.call("nullif", either, exp.Literal.number(0)))

    texts = [ls.texts(ls.elements(a.copy())) for a in args]
    return all_arrays(ctx, args, ls.let_all(texts, ratio))
