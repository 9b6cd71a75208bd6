"""Dynamic (JSON) values: property access, arrays and bags, ``split``, ``pack_array``,
``bag_pack``, ``array_length``, set operations, ``extract_all``, ``extract_json``.

A dynamic value is JSON. Accessing a missing property gives null; ``tostring`` of a JSON string
gives its text without quotes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import json_path
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.registry import SCALARS, FunctionSpec, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import const, is_const, lit, num, or_empty
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["DYNAMIC_GET"]

_T = KqlType
_D = _T.DYNAMIC


@scalar("_dynamic_get", args=(1, 2), returns=_D)
def _dynamic_get(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    path = call.options[0] if call.options else None
    target = args[0]
    if call.args[0].type is not _D:
        target = d.json_parse(target) if call.args[0].type is _T.STRING else d.cast(target, _D)
    if path is not None:
        return d.json_get(target, json_path(path))
    key = call.args[1]
    is_index = key.type in (_T.LONG, _T.INT)
    return d.json_get_dynamic(target, args[1] if is_index else d.cast(args[1], _T.STRING), is_index)


DYNAMIC_GET: FunctionSpec = SCALARS["_dynamic_get"]


def _array_only(ctx: LowerContext, value: exp.Expression, result: exp.Expression) -> exp.Expression:
    is_array = exp.EQ(this=ctx.dialect.json_type(value), expression=lit("ARRAY"))
    return exp.If(this=is_array, true=result, false=exp.Null())


@scalar(["array_length", "arraylength"], args=1, returns=_T.LONG, params=[_D],
        fold=lambda v: len(v) if isinstance(v, list) else None)  # fmt: skip
def _array_length(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _array_only(ctx, args[0], ctx.dialect.json_array_length(args[0]))


def _json_args(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> list[exp.Expression]:
    return [json_ready(ctx.dialect, a, b.type) for a, b in zip(args, call.args, strict=True)]


def _fold_array(*values: Any) -> Any:
    if any(not isinstance(v, (str, int, float, bool, list, dict, type(None))) for v in values):
        raise TypeError("not a JSON value")
    return list(values)


@scalar(["pack_array"], args=(0, None), returns=_D, fold=_fold_array)
def _pack_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.json_array(_json_args(ctx, call, args))


def _fold_bag(*values: Any) -> Any:
    keys, vals = values[::2], values[1::2]
    if any(not isinstance(v, (str, int, float, bool, list, dict, type(None))) for v in vals):
        raise TypeError("not a JSON value")
    return {str(k): v for k, v in zip(keys, vals, strict=True)}


@scalar(["bag_pack", "pack", "pack_dictionary"], args=(0, None), returns=_D, fold=_fold_bag)
def _bag_pack(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if len(args) % 2:
        raise ValueError("bag_pack() takes key/value pairs")
    values = _json_args(ctx, call, args)
    pairs: list[exp.Expression] = []
    for i in range(0, len(values), 2):
        pairs.extend([ctx.dialect.cast(values[i], _T.STRING), values[i + 1]])
    packed = ctx.dialect.json_object(pairs)
    if call.options and call.options[0]:  # pack_all(true): leave out null values
        return ctx.dialect.call("json_strip_nulls", packed)
    return packed


@scalar("bag_keys", args=1, returns=_D, params=[_D], fold=lambda v: list(v) if isinstance(v, dict) else None)
def _bag_keys(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    is_object = exp.EQ(this=ctx.dialect.json_type(args[0]), expression=lit("OBJECT"))
    keys = ctx.dialect.to_json(ctx.dialect.json_keys(args[0]))
    return exp.If(this=is_object, true=keys, false=exp.Null())


def _fold_split(text: str, sep: str, index: int | None = None) -> Any:
    parts = text.split(sep) if sep else [text]
    if index is None:
        return parts
    return [parts[index]] if 0 <= index < len(parts) else []


@scalar("split", args=(2, 3), returns=_D, params=[_T.STRING, _T.STRING, _T.LONG], fold=_fold_split)
def _split(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    parts = d.split(or_empty(args[0]), args[1])
    if len(args) == 3:
        element = exp.Bracket(this=parts, expressions=[exp.Add(this=args[2], expression=num(1))])
        missing = exp.Is(this=element, expression=exp.Null())
        return exp.If(this=missing, true=d.json_literal([]), false=d.json_array([element]))
    return d.list_to_json(parts)


@scalar("strcat_array", args=2, returns=_T.STRING, params=[_D, _T.STRING])
def _strcat_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    texts = d.call("list_transform", d.json_elements(args[0]),
                   exp.Lambda(this=or_empty(d.json_text(exp.column("_e"))), expressions=[exp.to_identifier("_e")]))  # fmt: skip
    return or_empty(d.call("array_to_string", texts, args[1]))


@scalar("extract_all", args=(2, 3), returns=_D, params=[_T.STRING, None, _T.STRING])
def _extract_all(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    if len(args) == 2:
        matches = d.regex_extract_all(args[1], args[0], _first_group(call.args[0]))
        return exp.If(this=exp.EQ(this=d.list_length(matches), expression=num(0)), true=exp.Null(),
                      false=d.list_to_json(matches))  # fmt: skip
    groups = const(call.args[1]) if is_const(call.args[1]) else [1]
    per_group = [d.regex_extract_all(args[2], args[0], int(g)) for g in groups]
    if len(per_group) == 1:
        zipped = d.call("list_transform", per_group[0],
                        exp.Lambda(this=exp.Array(expressions=[exp.column("_m")]), expressions=[exp.to_identifier("_m")]))  # fmt: skip
        return d.list_to_json(zipped)
    return d.list_to_json(d.call("list_zip", *per_group))


def _first_group(pattern: BExpr) -> int:
    """extract_all returns the first capture group when the regex has one, else the whole match."""
    if is_const(pattern):
        import re

        return 1 if re.compile(str(const(pattern))).groups >= 1 else 0
    return 1


@scalar(["extract_json", "extractjson"], args=(2, 3), returns=lambda a: _D if len(a) < 3 else _T.STRING,
        params=[_T.STRING, _T.STRING, None], constant=[0])  # fmt: skip
def _extract_json(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    path = str(const(call.args[0]))
    value = d.json_get(d.json_parse(args[1]), path)
    return value if len(args) < 3 else or_empty(d.json_text(value))


def _set_fold(kind: str) -> Any:
    def fold(*arrays: Any) -> Any:
        if not all(isinstance(a, list) for a in arrays):
            return None
        out: list[Any] = []
        keys: list[str] = []
        first = arrays[0]
        for value in (first if kind != "union" else [x for a in arrays for x in a]):
            key = json.dumps(value, sort_keys=True)
            if key in keys:
                continue
            others = [[json.dumps(x, sort_keys=True) for x in a] for a in arrays[1:]]
            if kind == "intersect" and not all(key in o for o in others):
                continue
            if kind == "difference" and any(key in o for o in others):
                continue
            keys.append(key)
            out.append(value)
        return out

    return fold


def _set_op(kind: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        texts = [d.call("list_transform", d.json_elements(a), exp.Lambda(
            this=d.cast(exp.column("_e"), _T.STRING), expressions=[exp.to_identifier("_e")])) for a in args]  # fmt: skip
        if kind == "union":
            combined = d.call("list_distinct", d.call("flatten", exp.Array(expressions=texts)))
        elif kind == "intersect":
            combined = texts[0]
            for other in texts[1:]:
                combined = d.call("list_intersect", combined, other)
            combined = d.call("list_distinct", combined)
        else:
            rest = d.call("flatten", exp.Array(expressions=texts[1:]))
            keep = exp.Lambda(this=exp.Not(this=d.call("list_contains", rest, exp.column("_x"))),
                              expressions=[exp.to_identifier("_x")])  # fmt: skip
            combined = d.call("list_distinct", d.call("list_filter", texts[0], keep))
        as_json = d.call("list_transform", combined, exp.Lambda(this=d.cast(exp.column("_x"), _D),
                                                                expressions=[exp.to_identifier("_x")]))  # fmt: skip
        return d.list_to_json(as_json)

    scalar(f"set_{kind}", args=(2, None), returns=_D, params=[_D], fold=_set_fold(kind))(lower)


for _kind in ("union", "intersect", "difference"):
    _set_op(_kind)


@scalar("set_has_element", args=2, returns=_T.BOOL, params=[_D, None],
        fold=lambda a, v: v in a if isinstance(a, list) else None)  # fmt: skip
def _set_has_element(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    needle = d.to_json(json_ready(d, args[1], call.args[1].type))
    texts = d.call("list_transform", d.json_elements(args[0]), exp.Lambda(
        this=d.cast(exp.column("_e"), _T.STRING), expressions=[exp.to_identifier("_e")]))  # fmt: skip
    return d.call("list_contains", texts, d.cast(needle, _T.STRING))


@scalar("array_index_of", args=(2, 5), returns=_T.LONG, params=[_D, None, _T.LONG, _T.LONG, _T.LONG])
def _array_index_of(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    needle = d.cast(d.to_json(json_ready(d, args[1], call.args[1].type)), _T.STRING)
    texts = d.call("list_transform", d.json_elements(args[0]), exp.Lambda(
        this=d.cast(exp.column("_e"), _T.STRING), expressions=[exp.to_identifier("_e")]))  # fmt: skip
    position = d.call("list_position", texts, needle)
    found = exp.Sub(this=exp.Coalesce(this=position, expressions=[num(0)]), expression=num(1))
    return _array_only(ctx, args[0], found)


@scalar("array_concat", args=(1, None), returns=_D, params=[_D],
        fold=lambda *a: [x for arr in a for x in arr] if all(isinstance(x, list) for x in a) else None)  # fmt: skip
def _array_concat(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    lists = [d.json_elements(a) for a in args]
    return d.list_to_json(d.call("flatten", exp.Array(expressions=lists)))


def _fold_slice(arr: Any, start: int, end: int | None = None) -> Any:
    if not isinstance(arr, list):
        return None
    n = len(arr)
    s = start + n if start < 0 else start
    e = (end + n if end < 0 else end) if end is not None else n - 1
    return arr[max(s, 0) : e + 1]


@scalar("array_slice", args=(2, 3), returns=_D, params=[_D, _T.LONG, _T.LONG], fold=_fold_slice)
def _array_slice(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    elements = d.json_elements(args[0])
    n = d.list_length(elements)

    def normalise(value: exp.Expression) -> exp.Expression:
        return exp.If(this=exp.LT(this=value, expression=num(0)), true=exp.Add(this=value, expression=n), false=value)

    start = exp.Add(this=d.call("greatest", normalise(args[1]), num(0)), expression=num(1))
    end = exp.Add(this=normalise(args[2]), expression=num(1)) if len(args) > 2 else n
    return _array_only(ctx, args[0], d.list_to_json(d.call("list_slice", elements, start, end)))


@scalar("range", args=(2, 3), returns=_D)
def _range(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    step = args[2] if len(args) > 2 else num(1)
    stop = exp.Add(this=args[1], expression=exp.If(this=exp.GT(this=step, expression=num(0)), true=num(1),
                                                     false=num(-1)))  # fmt: skip
    return d.list_to_json(d.call("range", args[0], stop, step))


def _types(args: Sequence[BExpr]) -> KqlType:
    return _T.STRING


@scalar("gettype", args=1, returns=_types)
def _gettype(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    source = call.args[0].type
    if source is not _D:
        names = {_T.LONG: "long", _T.INT: "int", _T.REAL: "real", _T.STRING: "string", _T.BOOL: "bool",
                 _T.DATETIME: "datetime", _T.TIMESPAN: "timespan", _T.GUID: "guid", _T.DECIMAL: "decimal"}  # fmt: skip
        return lit(names.get(source, "string"))
    kind = ctx.dialect.json_type(args[0])
    cases = [("ARRAY", "array"), ("OBJECT", "dictionary"), ("VARCHAR", "string"), ("BIGINT", "long"),
             ("UBIGINT", "long"), ("DOUBLE", "real"), ("BOOLEAN", "bool"), ("NULL", "null")]  # fmt: skip
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=kind, expression=lit(k)), true=lit(v)) for k, v in cases],
                    default=lit("null"))  # fmt: skip
