"""Dynamic (JSON) values: property access, ``pack_array``, ``bag_pack``, ``bag_*`` functions,
``split``, ``extract_all``, ``extract_json``, ``gettype``, ``dynamic_to_json``, ``treepath``.

A dynamic value is JSON. Accessing a missing property gives null; ``tostring`` of a JSON string
gives its text without quotes. Bag functions given something that is not a property bag return
null. Keys may be JSONPath (``$.a.b``, ``$['a']``) where Kusto allows nested keys; a nested path
must be a constant, a run-time key names a top-level property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.dialects import json_path
from watchkeeper.kql.functions.arrays import all_arrays, json_of
from watchkeeper.kql.functions.conversions import CONVERT_TO
from watchkeeper.kql.functions.listsql import ListSql, is_object
from watchkeeper.kql.functions.registry import SCALARS, FunctionSpec, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, const, is_const, lit, num, or_empty
from watchkeeper.kql.plan import BCall, BExpr, BLiteral
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = ["DYNAMIC_GET", "json_path_parts", "property_types"]

_T = KqlType
_D = _T.DYNAMIC
_JSON = (str, int, float, bool, list, dict, type(None))


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


def json_path_parts(text: str) -> list[str]:
    """``$.a.b`` / ``$['a']["b"]`` -> ``['a', 'b']``; text without ``$`` is one key."""
    if not text.startswith("$"):
        return [text]
    parts = re.findall(r"""\.([^.\[]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]""", text[1:])
    return [next(p for p in groups if p) for groups in parts]


# ---------------------------------------------------------------------------- pack


def _fold_array(*values: Any) -> Any:
    if any(not isinstance(v, _JSON) for v in values):
        raise TypeError("not a JSON value")
    return list(values)


@scalar(["pack_array"], args=(0, None), returns=_D, fold=_fold_array)
def _pack_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Each argument becomes a JSON element (dynamic ones as they are, typed ones converted)."""
    if not args:
        return ctx.dialect.json_literal([])
    elements = [json_of(ctx, a, b.type) for a, b in zip(args, call.args, strict=True)]
    return ctx.dialect.json_from_elements(exp.Array(expressions=elements))


def _fold_bag(*values: Any) -> Any:
    keys, vals = values[::2], values[1::2]
    if any(not isinstance(v, _JSON) for v in vals):
        raise TypeError("not a JSON value")
    return {str(k): v for k, v in zip(keys, vals, strict=True)}


@scalar(["bag_pack", "pack", "pack_dictionary"], args=(0, None), returns=_D, fold=_fold_bag)
def _bag_pack(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if len(args) % 2:
        raise UnsupportedError("bag_pack() with an odd number of arguments (it takes key/value pairs)")
    if call.options and call.options[0]:  # pack_all(true): leave out null and empty values
        return _pack_present(ctx, call, args)
    if not args:
        return ctx.dialect.json_literal({})
    pairs = _distinct_pairs(ctx, call, args)
    keys = exp.Array(expressions=[k for k, _ in pairs])
    return ctx.dialect.json_object_from(keys, exp.Array(expressions=[v for _, v in pairs]))


def _distinct_pairs(
    ctx: LowerContext, call: BCall, args: list[exp.Expression]
) -> list[tuple[exp.Expression, exp.Expression]]:
    """(key, JSON value) pairs; of several constant keys alike, the last one wins."""
    pairs: dict[object, tuple[exp.Expression, exp.Expression]] = {}
    for i in range(0, len(args), 2):
        bound = call.args[i]
        marker = ("const", str(const(bound))) if is_const(bound) else ("expr", i)
        pairs.pop(marker, None)
        pairs[marker] = (
            ctx.dialect.cast(args[i], _T.STRING),
            json_of(ctx, args[i + 1], call.args[i + 1].type),
        )
    return list(pairs.values())


def _pack_present(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    ls = ListSql(ctx, args)
    keys = exp.Array(expressions=[d.cast(k, _T.STRING) for k in args[::2]])
    values = exp.Array(
        expressions=[json_of(ctx, v, b.type) for v, b in zip(args[1::2], call.args[1::2], strict=True)]
    )
    present = exp.Array(
        expressions=[
            _present(ctx, v.copy(), b.type) for v, b in zip(args[1::2], call.args[1::2], strict=True)
        ]
    )
    kept = ls.filter(ls.indexes(num(len(args) // 2)), lambda i: ls.at(present, i))
    return ls.let(kept, lambda k: d.json_object_from(ls.map(k, lambda i: ls.at(keys, i)),
                                                     ls.map(k.copy(), lambda i: ls.at(values, i))))  # fmt: skip


def _present(ctx: LowerContext, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """Not null and not an empty string."""
    if kql_type is _T.STRING:
        return exp.NEQ(this=or_empty(value), expression=lit(""))
    if kql_type in (_D, _T.UNKNOWN):
        text = or_empty(ctx.dialect.json_text(value))
        return exp.And(this=exp.NEQ(this=ctx.dialect.json_kind(value.copy()), expression=lit("null")),
                       expression=exp.NEQ(this=text, expression=lit("")))  # fmt: skip
    return exp.Not(this=exp.Is(this=value, expression=exp.Null()))


# ---------------------------------------------------------------------------- bags


def _keys_of(ctx: LowerContext, bag: exp.Expression) -> exp.Expression:
    """The property names of a bag; empty for anything else."""
    d = ctx.dialect
    return exp.If(
        this=is_object(d, bag.copy()), true=d.json_keys(bag.copy()), false=d.json_keys(d.json_literal({}))
    )


def _rebuild(ctx: LowerContext, ls: ListSql, keys: exp.Expression, value: Any) -> exp.Expression:
    """A bag of ``keys`` (a distinct SQL list) whose values ``value(key)`` gives."""
    return ls.let(keys, lambda k: ctx.dialect.json_object_from(k, ls.map(k.copy(), value)))


@scalar("bag_keys", args=1, returns=_D, params=[_D], fold=lambda v: list(v) if isinstance(v, dict) else None)
def _bag_keys(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    keys = ctx.dialect.to_json(ctx.dialect.json_keys(args[0]))
    return exp.If(this=is_object(ctx.dialect, args[0].copy()), true=keys, false=exp.Null())


def _fold_merge(*bags: Any) -> Any:
    merged: dict[str, Any] = {}
    for bag in bags:
        if isinstance(bag, dict):
            for key, value in bag.items():
                merged.setdefault(key, value)
    return merged


@scalar("bag_merge", args=(2, 64), returns=_D, params=[_D], fold=_fold_merge)
def _bag_merge(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The properties of all bags; a key present in several takes its value from the first."""
    d = ctx.dialect
    ls = ListSql(ctx, args)

    def merged(key_lists: list[exp.Expression]) -> exp.Expression:
        keys = d.list_unique(d.call("flatten", exp.Array(expressions=[k.copy() for k in key_lists])))

        def value(k: exp.Expression) -> exp.Expression:
            ifs = [exp.If(this=d.call("list_contains", keys_of.copy(), k.copy()), true=d.json_member(bag.copy(), k.copy()))
                   for keys_of, bag in zip(key_lists, args, strict=True)]  # fmt: skip
            return exp.Case(ifs=ifs)

        return _rebuild(ctx, ls, keys, value)

    return ls.let_all([_keys_of(ctx, b) for b in args], merged)


def _removal_tree(paths: Sequence[str]) -> dict[str, Any]:
    """``['$.a.b', 'c']`` -> ``{'a': {'b': None}, 'c': None}`` (None: remove the property)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = json_path_parts(path)
        for part in parts[:-1]:
            child = node.get(part, {})
            if child is None:
                break
            node = node.setdefault(part, child)
        else:
            node[parts[-1]] = None
    return tree


def _without(ctx: LowerContext, ls: ListSql, bag: exp.Expression, tree: dict[str, Any]) -> exp.Expression:
    d = ctx.dialect
    removed = [k for k, sub in tree.items() if sub is None]
    keys = ls.filter(_keys_of(ctx, bag), lambda k: exp.Not(this=exp.In(this=k, expressions=[lit(r) for r in removed]))) if removed else _keys_of(ctx, bag)  # fmt: skip

    def value(k: exp.Expression) -> exp.Expression:
        member = d.json_member(bag.copy(), k)
        ifs = []
        for key, sub in tree.items():
            if sub is not None:
                inner = d.json_get(bag.copy(), json_path([key]))
                nested = exp.If(
                    this=is_object(d, inner.copy()), true=_without(ctx, ls, inner, sub), false=inner.copy()
                )
                ifs.append(exp.If(this=exp.EQ(this=k.copy(), expression=lit(key)), true=nested))
        return exp.Case(ifs=ifs, default=member) if ifs else member

    return exp.If(this=is_object(d, bag.copy()), true=_rebuild(ctx, ls, keys, value), false=exp.Null())


@scalar("bag_remove_keys", args=2, returns=_D, params=[_D, _D])
def _bag_remove_keys(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    if is_const(call.args[1]):
        keys = const(call.args[1])
        paths = [str(k) for k in keys] if isinstance(keys, list) else []
        return _without(ctx, ls, args[0], _removal_tree(paths))
    d = ctx.dialect
    names = ls.map(ls.elements(args[1]), lambda e: d.json_text(e))
    keys = ls.filter(_keys_of(ctx, args[0]), lambda k: exp.Not(this=d.call("list_contains", names.copy(), k)))
    rebuilt = _rebuild(ctx, ls, keys, lambda k: d.json_member(args[0].copy(), k))
    return exp.If(this=is_object(d, args[0].copy()), true=rebuilt, false=exp.Null())


def _with(
    ctx: LowerContext, ls: ListSql, bag: exp.Expression, parts: list[exp.Expression], value: exp.Expression
) -> exp.Expression:
    """``bag`` with the property at ``parts`` set to ``value``; missing levels become bags."""
    d = ctx.dialect
    head = parts[0]
    keys = d.list_unique(
        d.call("flatten", exp.Array(expressions=[_keys_of(ctx, bag), exp.Array(expressions=[head])]))
    )

    def member(k: exp.Expression) -> exp.Expression:
        new = value.copy()
        if len(parts) > 1:
            inner = d.json_member(bag.copy(), head.copy())
            start = exp.If(this=is_object(d, inner.copy()), true=inner, false=d.json_literal({}))
            new = _with(ctx, ls, start, parts[1:], value)
        return exp.If(
            this=exp.EQ(this=k, expression=head.copy()), true=new, false=d.json_member(bag.copy(), k.copy())
        )

    return _rebuild(ctx, ls, keys, member)


@scalar("bag_set_key", args=3, returns=_D, params=[_D, _T.STRING, None])
def _bag_set_key(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    parts: list[exp.Expression] = [args[1]]
    if is_const(call.args[1]):
        parts = [lit(p) for p in json_path_parts(str(const(call.args[1])))]
    value = json_of(ctx, args[2], call.args[2].type)
    return exp.If(this=is_object(ctx.dialect, args[0].copy()), true=_with(ctx, ls, args[0], parts, value),
                  false=exp.Null())  # fmt: skip


@scalar("bag_has_key", args=2, returns=_T.BOOL, params=[_D, _T.STRING])
def _bag_has_key(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    parent, key = args[0], args[1]
    if is_const(call.args[1]):
        parts = json_path_parts(str(const(call.args[1])))
        key = lit(parts[-1])
        if len(parts) > 1:
            parent = d.json_get(args[0], json_path(parts[:-1]))
    return exp.Coalesce(this=d.call("list_contains", _keys_of(ctx, parent), key), expressions=[exp.false()])


@scalar("bag_zip", args=2, returns=_D, params=[_D, _D])
def _bag_zip(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """A bag pairing each string key with the value at the same position (null when missing)."""
    d = ctx.dialect
    ls = ListSql(ctx, args)

    def zipped(lists: list[exp.Expression]) -> exp.Expression:
        names, values = lists

        def first_string(i: exp.Expression) -> exp.Expression:
            name = ls.at(names, i)
            first = exp.EQ(
                this=d.call("list_position", names.copy(), name.copy()),
                expression=exp.Paren(this=exp.Add(this=i.copy(), expression=num(1))),
            )
            return exp.And(
                this=exp.Not(this=exp.Is(this=name.copy(), expression=exp.Null())), expression=first
            )

        kept = ls.filter(ls.indexes(ls.length(names)), first_string)
        return ls.let(kept, lambda k: d.json_object_from(
            ls.map(k, lambda i: ls.at(names, i)),
            ls.map(k.copy(), lambda i: exp.If(this=exp.LT(this=i, expression=ls.length(values)),
                                              true=ls.at(values, i.copy()), false=exp.Null()))))  # fmt: skip

    texts = ls.map(ls.elements(args[0]), lambda e: exp.If(this=exp.EQ(this=d.json_kind(e), expression=lit("string")),
                                                          true=d.json_text(e.copy()), false=exp.Null()))  # fmt: skip
    return all_arrays(ctx, args, ls.let_all([texts, ls.elements(args[1])], zipped))


# ---------------------------------------------------------------------------- text and types


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
        element = exp.Bracket(this=parts, expressions=[add(args[2], num(1))])
        missing = exp.Is(this=element, expression=exp.Null())
        return exp.If(this=missing, true=d.json_literal([]), false=d.json_array([element]))
    return d.list_to_json(parts)


@scalar("extract_all", args=(2, 3), returns=_D, params=[_T.STRING, None, _T.STRING])
def _extract_all(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    if len(args) == 2:
        matches = d.regex_extract_all(args[1], args[0], _first_group(call.args[0]))
        return exp.If(this=exp.EQ(this=d.list_length(matches), expression=num(0)), true=exp.Null(),
                      false=d.list_to_json(matches))  # fmt: skip
    ls = ListSql(ctx, args)
    groups = const(call.args[1]) if is_const(call.args[1]) else [1]
    per_group = [d.regex_extract_all(args[2], args[0], _group_index(call.args[0], g)) for g in groups]
    if len(per_group) == 1:
        return d.list_to_json(ls.map(per_group[0], lambda m: exp.Array(expressions=[m])))
    return d.list_to_json(d.call("list_zip", *per_group))


def _group_index(pattern: BExpr, group: object) -> int:
    """A capture group by number, or by name (``(?P<name>...)``) when the regex is a constant."""
    if isinstance(group, str) and not group.isdigit():
        if not is_const(pattern):
            raise UnsupportedError("extract_all() with named groups and a regex that is not a constant")
        index = re.compile(str(const(pattern))).groupindex.get(group)
        if index is None:
            raise UnsupportedError(f"extract_all(): the regex has no group named '{group}'")
        return index
    return int(str(group))


def _first_group(pattern: BExpr) -> int:
    """extract_all returns the first capture group when the regex has one, else the whole match."""
    if is_const(pattern):
        return 1 if re.compile(str(const(pattern))).groups >= 1 else 0
    return 1


def _extract_json_type(args: Sequence[BExpr]) -> KqlType:
    if len(args) < 3:
        return _D
    named = parse_type_name(str(args[2].value)) if isinstance(args[2], BLiteral) else None
    return named if named is not None and named is not _T.UNKNOWN else _T.STRING


@scalar(["extract_json", "extractjson"], args=(2, 3), returns=_extract_json_type,
        params=[_T.STRING, _T.STRING, None], constant=[0])  # fmt: skip
def _extract_json(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The value at a JSONPath; with ``typeof(T)`` converted to T (strings unquoted)."""
    d = ctx.dialect
    path = str(const(call.args[0]))
    value = d.json_get(d.json_parse(args[1]), path)
    if len(args) < 3:
        return value
    if call.type is _T.STRING:
        return or_empty(d.json_text(value))
    spec = CONVERT_TO[call.type]
    return spec.lower(ctx, BCall(call.type, spec, (BLiteral(_D, None),)), [value])


_TYPE_NAMES = {_T.LONG: "long", _T.INT: "int", _T.REAL: "real", _T.STRING: "string", _T.BOOL: "bool",
               _T.DATETIME: "datetime", _T.TIMESPAN: "timespan", _T.GUID: "guid", _T.DECIMAL: "decimal"}  # fmt: skip


def _dynamic_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    names = {float: "real", str: "string", list: "array", dict: "dictionary"}
    return names.get(type(value), "string")


def _fold_gettype(args: list[BLiteral]) -> Any:
    arg = args[0]
    if arg.type is _D:
        return _dynamic_type_name(arg.value)
    return _TYPE_NAMES.get(arg.type, "string") if arg.type is not _T.UNKNOWN else "null"


@scalar("gettype", args=1, returns=_T.STRING, fold_args=_fold_gettype)
def _gettype(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    source = call.args[0].type
    if source not in (_D, _T.UNKNOWN):
        return lit(_TYPE_NAMES.get(source, "string"))
    d = ctx.dialect
    kind = d.json_kind(args[0])
    number = d.json_number(args[0].copy())
    whole = ListSql(ctx, args).is_integral(args[0].copy())
    small = exp.Between(this=number, low=num(-(2**31)), high=num(2**31 - 1))
    integer = exp.If(this=small, true=lit("int"), false=lit("long"))
    numeric = exp.If(this=whole, true=integer, false=lit("real"))
    cases = [("array", lit("array")), ("object", lit("dictionary")), ("number", numeric)]
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=kind.copy(), expression=lit(k)), true=v) for k, v in cases],
                    default=exp.Coalesce(this=kind.copy(), expressions=[lit("null")]))  # fmt: skip


def _canonical(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@scalar("dynamic_to_json", args=1, returns=_T.STRING, params=[_D], fold=_canonical)
def _dynamic_to_json(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """JSON text with the top-level keys sorted (nested bags keep their order in SQL)."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    keys = d.call("list_sort", d.json_keys(args[0].copy()))
    sorted_bag = _rebuild(ctx, ls, keys, lambda k: d.json_member(args[0].copy(), k))
    text = exp.If(this=is_object(d, args[0].copy()), true=sorted_bag, false=args[0])
    return or_empty(d.cast(text, _T.STRING))


def _tree_paths(value: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}['{key}']"
            out.append(path)
            out.extend(_tree_paths(item, path))
    elif isinstance(value, list) and value:
        path = prefix + "[0]"
        out.append(path)
        for item in value:
            out.extend(p for p in _tree_paths(item, path) if p not in out)
    return out


@scalar("treepath", args=1, returns=_D, params=[_D], fold=lambda v: _tree_paths(v))
def _treepath(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    raise UnsupportedError(
        "treepath() of a value that is not a constant (SQL cannot walk a JSON tree of any depth)"
    )


@scalar("_kv_regex", args=3, returns=_T.STRING, params=[_T.STRING, _T.STRING, _T.STRING], constant=[1])
def _kv_regex(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``parse-kv ... with (regex=...)``: the value (group 2) of the first match whose key (group 1)
    is ``key``; surrounding whitespace is ignored."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    keys = ls.map(d.regex_extract_all(or_empty(args[0]), args[1], 1), lambda k: d.call("trim", k))
    values = d.regex_extract_all(or_empty(args[0].copy()), args[1].copy(), 2)
    position = exp.Coalesce(this=d.call("list_position", keys, args[2]), expressions=[num(0)])

    def pick(p: exp.Expression) -> exp.Expression:
        found = d.call("trim", ls.at(values, add(p, num(-1))))
        return exp.If(this=exp.GT(this=p.copy(), expression=num(0)), true=found, false=lit(""))

    return ls.let(position, pick)


_KIND_SEPARATOR = "\u001f"


@scalar("_bag_key_kinds", args=1, returns=_D, params=[_D])
def _bag_key_kinds(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """A bag whose keys are ``name<US>kind`` for each property (kind: long, real, string, bool,
    array, object, null): what ``bag_unpack`` asks the data to learn its columns' types."""
    d = ctx.dialect
    ls = ListSql(ctx, args)

    def kind(k: exp.Expression) -> exp.Expression:
        member = d.json_member(args[0].copy(), k.copy())
        general = exp.Coalesce(this=d.json_kind(member), expressions=[lit("null")])
        whole = exp.If(this=ls.is_integral(member.copy()), true=lit("long"), false=lit("real"))
        named = exp.If(this=exp.EQ(this=general, expression=lit("number")), true=whole, false=general.copy())
        return exp.Concat(expressions=[k, lit(_KIND_SEPARATOR), named])

    keys = ls.map(_keys_of(ctx, args[0]), kind)
    return ls.let(keys, lambda k: d.json_object_from(k, ls.map(k.copy(), lambda _k: d.json_literal(1))))


def property_types(observed: Sequence[str]) -> dict[str, KqlType]:
    """Column types from ``_bag_key_kinds`` keys: one kind (whole and real numbers together are
    real) gives that type; several, or arrays and bags, give dynamic."""
    kinds: dict[str, set[str]] = {}
    for entry in observed:
        name, _, kind = entry.rpartition(_KIND_SEPARATOR)
        kinds.setdefault(name, set())
        if kind != "null":
            kinds[name].add(kind)
    types = {"long": _T.LONG, "real": _T.REAL, "string": _T.STRING, "bool": _T.BOOL}
    out: dict[str, KqlType] = {}
    for name, seen in kinds.items():
        if seen == {"long", "real"}:
            seen = {"real"}
        out[name] = types.get(next(iter(seen)), _D) if len(seen) == 1 else _D
    return out
