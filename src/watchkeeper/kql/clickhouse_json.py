"""ClickHouse spellings of dynamic (JSON) values for :class:`~watchkeeper.kql.dialect_clickhouse.ClickHouseDialect`.

On ClickHouse a ``dynamic`` value is a ``String`` holding JSON text. Access goes through the
``JSONExtract*`` family, which takes a path as separate key and (1-based) index arguments rather
than as JSONPath text, and which answers ``''`` for a missing value.

A JSON text and a plain string are both ``String`` to ClickHouse, yet building an array or a bag
must embed the first and quote the second. Expressions the dialect knows to hold JSON are
therefore *marked* with ``identity(...)`` (a no-op in SQL): :func:`is_json` recognises them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from sqlglot import exp

from watchkeeper.errors import UnsupportedError

__all__ = [
    "MARK",
    "bind",
    "is_json",
    "json_array_text",
    "json_object_text",
    "json_path_args",
    "mark",
    "unmark",
]

MARK = "identity"
_MARK = MARK
_RAW = frozenset({"JSONExtractRaw", "JSONExtractArrayRaw", _MARK})
# functions whose result holds JSON when their first argument does
_PASS_FIRST = frozenset({"nullIf", "ifNull", "coalesce", "assumeNotNull", "any", "anyIf", "argMax", "argMin",
                         "arraySlice", "arrayFlatten", "arrayDistinct", "arraySort", "arrayReverse",
                         "arrayElement", "groupArray", "groupArrayIf", "groupUniqArray", "groupUniqArrayIf",
                         "arrayJoin"})  # fmt: skip

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]"'\s]+)"""
    r"""|\.(?P<dquoted>"(?:[^"\\]|\\.)*")"""
    r"""|\[\s*(?P<index>-?\d+)\s*\]"""
    r"""|\[\s*\#\s*(?P<from_end>-\d+)\s*\]"""
    r"""|\[\s*'(?P<squoted>(?:[^'\\]|\\.)*)'\s*\]"""
    r"""|\[\s*(?P<bquoted>"(?:[^"\\]|\\.)*")\s*\]"""
)


def mark(expr: exp.Expression) -> exp.Expression:
    """``expr`` marked as holding JSON text."""
    if is_marked(expr):
        return expr
    return exp.Anonymous(this=_MARK, expressions=[expr])


def is_marked(expr: exp.Expression) -> bool:
    return isinstance(expr, exp.Anonymous) and expr.name == _MARK and len(expr.expressions) == 1


def unmark(expr: exp.Expression) -> exp.Expression:
    """``expr`` without its JSON mark."""
    if is_marked(expr):
        inner: exp.Expression = expr.expressions[0]
        return inner
    return expr


def is_json(expr: exp.Expression) -> bool:
    """Whether ``expr`` (a value or a SQL array) is known to hold JSON texts."""
    if isinstance(expr, exp.Paren | exp.Coalesce):
        return is_json(expr.this)
    if isinstance(expr, exp.If):
        return is_json(expr.args["true"]) or (
            expr.args.get("false") is not None and is_json(expr.args["false"])
        )
    if isinstance(expr, exp.Case):
        branches = [i.args["true"] for i in expr.args.get("ifs", [])] + [expr.args.get("default")]
        return any(b is not None and is_json(b) for b in branches)
    if isinstance(expr, exp.Anonymous):
        if expr.name in _RAW:
            return True
        return expr.name in _PASS_FIRST and bool(expr.expressions) and is_json(expr.expressions[0])
    return False


def bind(value: exp.Expression, body: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """``body(value)`` with ``value`` computed once, however often ``body`` uses it.

    Nested JSON access (``tostring(parse_json(tostring(...)))``) would otherwise repeat the inner
    expression at every level, and the SQL grow exponentially with the nesting. ClickHouse has no
    ``LET``: the value goes through a one-element ``arrayMap``, whose lambda names it."""
    if isinstance(value, exp.Column | exp.Literal | exp.Null):
        return body(value)
    name = "_b" + hashlib.blake2s(value.sql().encode(), digest_size=5).hexdigest()
    lam = exp.Lambda(this=body(exp.column(name)), expressions=[exp.to_identifier(name)])
    applied = _call("arrayMap", lam, exp.Array(expressions=[value]))
    return _call("arrayElement", applied, exp.Literal.number(1))


def json_path_args(path: str) -> list[exp.Expression]:
    """``JSONExtract*`` arguments for a constant JSONPath: ``$.a[0]`` -> ``'a', 1``.

    Raises :class:`UnsupportedError` for paths beyond plain keys and indexes (wildcards,
    filters, recursive descent)."""
    text = path.strip()
    if not text.startswith("$"):
        raise UnsupportedError(f"JSONPath '{path}' on ClickHouse")
    args: list[exp.Expression] = []
    pos = 1
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise UnsupportedError(f"JSONPath '{path}' on ClickHouse")
        args.append(_step_arg(match))
        pos = match.end()
    return args


def _step_arg(match: re.Match[str]) -> exp.Expression:
    groups = match.groupdict()
    if groups["name"] is not None:
        return exp.Literal.string(groups["name"])
    if groups["dquoted"] is not None or groups["bquoted"] is not None:
        return exp.Literal.string(json.loads(groups["dquoted"] or groups["bquoted"]))
    if groups["squoted"] is not None:
        return exp.Literal.string(groups["squoted"].replace("\\'", "'"))
    index = int(groups["index"] if groups["index"] is not None else groups["from_end"])
    # ClickHouse counts array elements from 1, and from the end with negative numbers
    return exp.Literal.number(index + 1 if index >= 0 else index)


def element_text(value: exp.Expression) -> exp.Expression:
    """One JSON element's text: JSON as it is, any other value serialised; ``null`` for NULL."""
    text = unmark(value) if is_json(value) else _call("toJSONString", value)
    return exp.Coalesce(this=text, expressions=[exp.Literal.string("null")])


def json_array_text(items: list[exp.Expression]) -> exp.Expression:
    """The JSON text of an array of the given elements."""
    return _wrap("[", [element_text(i) for i in items], "]")


def json_object_text(pairs: list[exp.Expression]) -> exp.Expression:
    """The JSON text of a bag of key/value pairs."""
    parts: list[exp.Expression] = []
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        name = _call("toJSONString", _call("toString", unmark(key)))
        parts.append(_call("concat", name, exp.Literal.string(":"), element_text(value)))
    return _wrap("{", parts, "}")


def _wrap(opening: str, parts: list[exp.Expression], closing: str) -> exp.Expression:
    if not parts:
        return exp.Literal.string(opening + closing)
    joined = _call("arrayStringConcat", exp.Array(expressions=parts), exp.Literal.string(","))
    return _call("concat", exp.Literal.string(opening), joined, exp.Literal.string(closing))


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))
