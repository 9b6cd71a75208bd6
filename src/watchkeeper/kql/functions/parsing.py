"""The ``parse`` operator's pattern compiler, and the extraction functions it binds to.

``parse [kind=simple|relaxed|regex] S with * "lit" Col:type ...`` becomes one regular expression;
each captured column is a group of it, converted to the column's type. In ``simple`` mode typed
captures only accept text of their type; ``relaxed`` captures anything and lets a failed
conversion give null; ``regex`` takes the literal pieces as regular expressions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from watchkeeper.kql import ast
from watchkeeper.kql.functions import conversions as conv
from watchkeeper.kql.functions.registry import OPERATORS, SCALARS, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import lit, num, or_empty, re2_escape
from watchkeeper.kql.plan import BCall, BExpr, BLiteral
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["parse_columns"]

_T = KqlType

_TYPED_GROUPS = {
    _T.LONG: r"(-?\d+)",
    _T.INT: r"(-?\d+)",
    _T.REAL: r"(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)",
    _T.BOOL: r"((?i:true|false))",
    _T.GUID: r"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})",
}


_USER_GROUP = re.compile(r"(?<!\\)\((?!\?)")


def _pieces(op: ast.Parse) -> tuple[list[str], list[tuple[str, KqlType | None, int]]]:
    """The regex pieces of a pattern and, per captured column, the index of its piece.

    Every piece is written without capturing groups except the captures themselves (user regex
    fragments get theirs turned into ``(?:...)``), so any one capture can be made the only group.
    """
    pieces: list[str] = []
    captures: list[tuple[str, KqlType | None, int]] = []
    regex_mode = op.kind == "regex"
    lazy = "U" in op.flags
    last_index = len(op.pattern) - 1
    for i, part in enumerate(op.pattern):
        if part is None:
            pieces.append(".*?" if (not regex_mode or lazy) else ".*")
        elif isinstance(part, str):
            pieces.append(_USER_GROUP.sub("(?:", part) if regex_mode else re2_escape(part))
        else:
            name, kql_type = part
            if kql_type in _TYPED_GROUPS:
                assert kql_type is not None
                shape = _TYPED_GROUPS[kql_type]
                # relaxed: text of the type if it is there, else anything up to the next piece
                pieces.append(f"({shape[1:-1]}|.*?)" if op.kind == "relaxed" else shape)
            elif regex_mode:
                pieces.append("(.*?)" if lazy else "(.*)")
            else:
                pieces.append("(.*)" if i == last_index else "(.*?)")
            captures.append((name, kql_type, len(pieces) - 1))
    return pieces, captures


def _render(op: ast.Parse, pieces: list[str], captures: list[int], keep: int | None) -> str:
    """The pattern's regex with only piece ``keep`` capturing (group 1); None: no groups."""
    out = [p if i == keep or i not in captures else "(?:" + p[1:] for i, p in enumerate(pieces)]
    flags = "".join(f for f in op.flags if f in "ims")
    prefix = f"(?{flags})" if flags else ""
    anchor = "" if op.kind == "regex" else "^"
    return prefix + anchor + "".join(out)


def parse_columns(b: Binder, source: BExpr, op: ast.Parse) -> tuple[list[tuple[str, BExpr]], BExpr]:
    """The extended columns of a ``parse`` and the predicate "the pattern matched"."""
    if op.kind not in ("simple", "relaxed", "regex"):
        raise ValueError(f"unknown parse kind '{op.kind}' (simple, relaxed or regex)")
    pieces, captures = _pieces(op)
    positions = [index for _, _, index in captures]
    regex = _render(op, pieces, positions, None)
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(f"the parse pattern is not a valid regular expression: {exc}") from None
    fast = _after_literal(op)
    columns: list[tuple[str, BExpr]] = []
    for name, kql_type, index in captures:
        if fast is not None:
            text: BExpr = b.make_call(SCALARS["_substring_after"], [source], op, options=(fast,))
        else:
            own = _render(op, pieces, positions, index)  # this column's capture is group 1
            text = b.make_call(SCALARS["_regex_group"], [source], op, options=(own, 1))
        target = kql_type or _T.STRING
        value = text if target is _T.STRING else b.make_call(conv.CONVERT_TO[target], [text], op)
        columns.append((name, value))
    matched = b.make_call(SCALARS["_regex_test"], [source], op, options=(regex,))
    if op.kind == "simple":
        # simple mode is all or nothing: a typed capture that does not convert fails the whole match
        for _, value in columns:
            if value.type is not _T.STRING:
                converted = b.make_call(SCALARS["isnotnull"], [value], op)
                matched = b.make_call(OPERATORS["and"], [matched, converted], op)
        if any(value.type is not _T.STRING for _, value in columns):
            columns = [(name, _only_if(b, matched, value, op)) for name, value in columns]
    return columns, matched


def _only_if(b: Binder, matched: BExpr, value: BExpr, op: ast.Parse) -> BExpr:
    empty = BLiteral(value.type, "" if value.type is _T.STRING else None)
    return b.make_call(SCALARS["iff"], [matched, value, empty], op)


def _after_literal(op: ast.Parse) -> str | None:
    """``* "lit" Col``: the text after the first ``lit`` (a substring search, no regex)."""
    p = op.pattern
    if op.kind != "regex" and len(p) == 3 and p[0] is None and isinstance(p[1], str) and p[1]:
        last = p[2]
        if isinstance(last, tuple) and last[1] in (None, _T.STRING):
            return p[1]
    return None


@scalar("_regex_group", args=1, returns=_T.STRING)
def _regex_group(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    regex, group = call.options
    return or_empty(ctx.dialect.regex_extract(args[0], lit(regex), int(group)))


@scalar("_regex_test", args=1, returns=_T.BOOL)
def _regex_test(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.regex_match(args[0], lit(call.options[0]))


@scalar("_substring_after", args=1, returns=_T.STRING)
def _substring_after(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    needle: str = call.options[0]
    position = d.call("strpos", args[0], lit(needle))
    tail = d.call("substr", args[0], exp.Add(this=position, expression=num(len(needle))))
    return exp.If(this=exp.GT(this=position, expression=num(0)), true=tail, false=lit(""))
