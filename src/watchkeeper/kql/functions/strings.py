"""String functions. Kusto indexes strings from 0 and counts Unicode characters; SQL from 1.

Every ``fold`` is the Python reference of its function: constant calls are folded with it, and the
tests check that the SQL of each engine agrees with it on random input. Kusto strings are never
null, so string results go through ``or_empty``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions import conversions as conv
from watchkeeper.kql.functions.registry import NOT_CONSTANT, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import (
    add,
    bind_value,
    const,
    is_const,
    lam,
    lit,
    num,
    or_empty,
    sub,
)
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["kusto_text", "text_arg"]

_T = KqlType
_S = _T.STRING
_L = _T.LONG
Args = list[exp.Expression]


def kusto_text(ctx: LowerContext, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """A value forced to text the way string functions see it: datetimes keep all 7 decimals
    (``reverse(datetime(2017-10-15))`` reverses ``2017-10-15T00:00:00.0000000Z``)."""
    if kql_type is _T.DATETIME:
        return or_empty(ctx.dialect.strftime(value, "%Y-%m-%dT%H:%M:%S.%f0Z"))
    return conv.string_of(ctx.dialect, value, kql_type)


def text_arg(ctx: LowerContext, call: BCall, args: Args, index: int) -> exp.Expression:
    """Argument ``index`` as text (see :func:`kusto_text`)."""
    return kusto_text(ctx, args[index], call.args[index].type)


def _case(*whens: tuple[exp.Expression, exp.Expression], default: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in whens], default=default)


# ---------------------------------------------------------------------------- length and case


@scalar("strlen", args=1, returns=_L, params=[_S], fold=len)
def _strlen(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return ctx.dialect.call("length", or_empty(args[0]))


@scalar("tolower", args=1, returns=_S, params=[_S], fold=str.lower)
def _tolower(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("lower", args[0]))


@scalar("toupper", args=1, returns=_S, params=[_S], fold=str.upper)
def _toupper(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("upper", args[0]))


@scalar("string_size", args=1, returns=_L, params=[_S], fold=lambda s: len(s.encode("utf-8")))
def _string_size(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return ctx.dialect.call("strlen", or_empty(args[0]))  # strlen counts bytes on DuckDB


@scalar("isascii", args=1, returns=_T.BOOL, params=[_S], fold=str.isascii)
def _isascii(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return exp.Not(this=ctx.dialect.regex_match(or_empty(args[0]), lit("[^\\x00-\\x7F]")))


@scalar("isutf8", args=1, returns=_T.BOOL, params=[_S], fold=lambda s: True)
def _isutf8(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return ctx.dialect.call("is_valid_utf8", or_empty(args[0]))


def _fold_strcmp(a: str, b: str) -> int:
    return (a > b) - (a < b)


@scalar("strcmp", args=2, returns=_T.INT, params=[_S, _S], fold=_fold_strcmp)
def _strcmp(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    a, b = or_empty(args[0]), or_empty(args[1])
    return _case(
        (exp.LT(this=a, expression=b), num(-1)), (exp.GT(this=a, expression=b), num(1)), default=num(0)
    )


# ---------------------------------------------------------------------------- substrings


def _fold_substring(s: str, start: int, length: int | None = None) -> str:
    start = max(0, len(s) + start) if start < 0 else start
    return s[start:] if length is None else s[start : start + max(0, length)]


@scalar("substring", args=(2, 3), returns=_S, params=[_S, _L, _L], fold=_fold_substring)
def _substring(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """A negative start counts from the end (``substring("123456", -2, 2)`` is ``56``)."""
    d = ctx.dialect

    def body(s: exp.Expression) -> exp.Expression:
        start = exp.If(this=exp.LT(this=args[1], expression=num(0)),
                       true=d.call("greatest", add(d.call("length", s), args[1]), num(0)), false=args[1])  # fmt: skip
        if len(args) == 2:
            return or_empty(d.call("substring", s, add(start, num(1))))
        return or_empty(d.call("substring", s, add(start, num(1)), d.call("greatest", args[2], num(0))))

    return bind_value(d, or_empty(args[0]), body)


def _fold_strcat(*parts: str) -> str:
    return "".join(parts)


@scalar("strcat", args=(1, 64), returns=_S, params=[_S], fold=_fold_strcat)
def _strcat(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return exp.Concat(expressions=[or_empty(a) for a in args])


@scalar("strcat_delim", args=(3, 65), returns=_S, params=[_S], fold=lambda sep, *p: sep.join(p))
def _strcat_delim(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    parts: list[exp.Expression] = []
    for i, arg in enumerate(args[1:]):
        parts += ([or_empty(args[0])] if i else []) + [or_empty(arg)]
    return exp.Concat(expressions=parts)


def _fold_strrep(value: str, count: int, delimiter: str = "") -> str:
    return delimiter.join([value] * max(0, count))


@scalar("strrep", args=(2, 3), returns=_S, params=[_S, _L, _S], fold=_fold_strrep)
def _strrep(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    count = d.call("greatest", args[1], num(0))
    if len(args) == 2:
        return or_empty(d.call("repeat", or_empty(args[0]), count))

    def body(delim: exp.Expression) -> exp.Expression:
        repeated = d.call("repeat", exp.Concat(expressions=[or_empty(args[0]), delim]), count)
        return or_empty(d.call("left", repeated, d.call("greatest", sub(d.call("length", repeated),
                                                                        d.call("length", delim)), num(0))))  # fmt: skip

    return bind_value(d, or_empty(args[2]), body)


@scalar("reverse", args=1, returns=_S, fold_args=lambda a: conv.kusto_string(a[0].value, a[0].type)[::-1]
        if a[0].type is not _T.DATETIME else NOT_CONSTANT)  # fmt: skip
def _reverse(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return ctx.dialect.call("reverse", text_arg(ctx, call, args, 0))


# ---------------------------------------------------------------------------- replacing


def _fold_replace_string(text: str, lookup: str, rewrite: str) -> str:
    return text.replace(lookup, rewrite) if lookup else text


@scalar("replace_string", args=3, returns=_S, params=[_S, _S, _S], fold=_fold_replace_string)
def _replace_string(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("replace", or_empty(args[0]), or_empty(args[1]), or_empty(args[2])))


def _replacements(lookups: Any, rewrites: Any) -> list[tuple[str, str]]:
    """(lookup, rewrite) pairs in priority order; a rewrite that is not a string keeps the match."""
    if not isinstance(lookups, list):
        return []
    rewrites = rewrites if isinstance(rewrites, list) else []
    pairs = []
    for i, lookup in enumerate(lookups):
        if isinstance(lookup, str) and lookup:
            rewrite = rewrites[i] if i < len(rewrites) else None
            pairs.append((lookup, rewrite if isinstance(rewrite, str) else lookup))
    return pairs


def _fold_replace_strings(text: str, lookups: Any, rewrites: Any) -> str:
    def run(piece: str, pairs: list[tuple[str, str]]) -> str:
        if not pairs:
            return piece
        (lookup, rewrite), rest = pairs[0], pairs[1:]
        return rewrite.join(run(p, rest) for p in piece.split(lookup))

    return run(text, _replacements(lookups, rewrites))


@scalar("replace_strings", args=3, returns=_S, params=[_S, _T.DYNAMIC, _T.DYNAMIC], constant=[1, 2],
        fold=_fold_replace_strings)  # fmt: skip
def _replace_strings(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """All lookups at once, earlier lookups first: split on the first lookup, replace the rest
    inside each piece, join with the first rewrite (so a rewrite is never matched again)."""
    d = ctx.dialect
    pairs = _replacements(const(call.args[1]), const(call.args[2]))

    def run(piece: exp.Expression, rest: list[tuple[str, str]], depth: int) -> exp.Expression:
        if not rest:
            return piece
        (lookup, rewrite), later = rest[0], rest[1:]
        if not later:
            return d.call("replace", piece, lit(lookup), lit(rewrite))
        name = f"_wk_rs{depth}"
        inner = d.call(
            "list_transform", d.split(piece, lit(lookup)), lam(run(exp.column(name), later, depth + 1), name)
        )
        return d.call("array_to_string", inner, lit(rewrite))

    return or_empty(run(or_empty(args[0]), pairs, 0))


@scalar(["replace_regex", "replace"], args=3, returns=_S, params=[_S, _S, _S])
def _replace_regex(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """``replace_regex(text, regex, rewrite)``; the deprecated ``replace(regex, rewrite, text)``.
    The rewrite refers to groups as ``\\1``, the whole match as ``\\0`` (RE2's syntax)."""
    if call.fn.name == "replace":
        regex, rewrite, text = args
    else:
        text, regex, rewrite = args
    return or_empty(ctx.dialect.call("regexp_replace", or_empty(text), regex, or_empty(rewrite), lit("g")))


def _translate_to(search: str, replacement: str) -> str:
    """Kusto maps the extra search characters to the last replacement character."""
    if not replacement:
        return ""
    return replacement[: len(search)] + replacement[-1] * max(0, len(search) - len(replacement))


def _fold_translate(search: str, replacement: str, text: str) -> str:
    target = _translate_to(search, replacement)
    table: dict[str, str] = {}
    for i, ch in enumerate(search):
        table.setdefault(ch, target[i] if target else "")
    return "".join(table.get(ch, ch) for ch in text)


@scalar("translate", args=3, returns=_S, params=[_S, _S, _S], fold=_fold_translate)
def _translate(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    text = or_empty(args[2])
    if is_const(call.args[0]) and is_const(call.args[1]):
        search, replacement = str(const(call.args[0]) or ""), str(const(call.args[1]) or "")
        if not search:
            return text
        if not replacement:  # deletion: a character class, as ClickHouse's translate needs equal lengths
            return or_empty(d.call("regexp_replace", text, lit(_char_class(search)), lit(""), lit("g")))
        first = {ch: _translate_to(search, replacement)[i] for i, ch in reversed(list(enumerate(search)))}
        return or_empty(d.call("translate", text, lit("".join(first)), lit("".join(first.values()))))
    to, chars = or_empty(args[1]), or_empty(args[0])
    missing = d.call("greatest", sub(d.call("length", chars), d.call("length", to)), num(0))
    padded = d.call("left", exp.Concat(expressions=[to, d.call("repeat", d.call("right", to, num(1)), missing)]),
                    d.call("length", chars))  # fmt: skip
    return or_empty(d.call("translate", text, chars, padded))


def _char_class(chars: str) -> str:
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in dict.fromkeys(chars)) + "]"


# ---------------------------------------------------------------------------- trimming


def _trim_regex(ctx: LowerContext, call: BCall, args: Args, head: bool, tail: bool) -> exp.Expression:
    """Kusto's trim functions strip repeated matches of a regular expression, not a character set."""
    d = ctx.dialect
    text = or_empty(args[1])
    if is_const(call.args[0]):
        body = f"(?:{const(call.args[0])})"
        if body == "(?:)":
            return text
        parts = ([f"^{body}+"] if head else []) + ([f"{body}+$"] if tail else [])
        return or_empty(d.call("regexp_replace", text, lit("|".join(parts)), lit(""), lit("g")))
    wrapped = exp.Concat(expressions=[lit("(?:"), args[0], lit(")+")])
    pieces = ([lit("^"), wrapped] if head else []) + ([lit("|")] if head and tail else [])
    pieces += [wrapped, lit("$")] if tail else []
    return or_empty(d.call("regexp_replace", text, exp.Concat(expressions=pieces), lit(""), lit("g")))


def _fold_trim(head: bool, tail: bool) -> Any:
    def fold(regex: str, text: str) -> Any:
        if not regex:
            return text
        if not regex.isalnum():  # Python's regex dialect differs from RE2: only fold plain words
            return NOT_CONSTANT
        body = f"(?:{regex})"
        parts = ([f"^{body}+"] if head else []) + ([f"{body}+$"] if tail else [])
        return re.sub("|".join(parts), "", text)

    return fold


@scalar("trim", args=2, returns=_S, params=[_S, _S], fold=_fold_trim(True, True))
def _trim(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _trim_regex(ctx, call, args, True, True)


@scalar("trim_start", args=2, returns=_S, params=[_S, _S], fold=_fold_trim(True, False))
def _trim_start(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _trim_regex(ctx, call, args, True, False)


@scalar("trim_end", args=2, returns=_S, params=[_S, _S], fold=_fold_trim(False, True))
def _trim_end(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _trim_regex(ctx, call, args, False, True)


# ---------------------------------------------------------------------------- searching


def _fold_indexof(s: str, lookup: str, start: int = 0, length: int = -1, occurrence: int = 1) -> int | None:
    """Kusto's indexof: the search window (``length`` characters from the start) moves on with
    each further occurrence, so the n-th match may end after the first window."""
    start = len(s) + start if start < 0 else start
    if start < 0 or length < -1 or occurrence < 0:
        return None
    for _ in range(max(occurrence, 1)):
        if start > len(s):
            return -1
        window = s[start:] if length == -1 else s[start : start + length]
        found = window.find(lookup)
        if found < 0:
            return -1
        start, result = start + found + 1, start + found
    return result


def _search(ctx: LowerContext, call: BCall, args: Args,
            find: Any) -> exp.Expression:  # fmt: skip
    """The indexof family: ``find(window)`` is the 0-based position in a window or -1."""
    d = ctx.dialect
    start = args[2] if len(args) > 2 else num(0)
    length = args[3] if len(args) > 3 else num(-1)
    occurrence = int(const(call.args[4])) if len(args) > 4 and const(call.args[4]) is not None else 1

    def in_text(s: exp.Expression) -> exp.Expression:
        size = d.call("length", s)

        def from_(pos: exp.Expression) -> exp.Expression:
            count = exp.If(this=exp.EQ(this=length, expression=num(-1)), true=sub(size, pos),
                           false=d.call("least", length, sub(size, pos)))  # fmt: skip
            window = d.call("substring", s, add(pos, num(1)), d.call("greatest", count, num(0)))
            at = bind_value(d, find(window), lambda f: exp.If(
                this=exp.GTE(this=f, expression=num(0)), true=add(f, pos), false=num(-1)))  # fmt: skip
            return exp.If(this=exp.GT(this=pos, expression=size), true=num(-1), false=at)

        def nth(pos: exp.Expression, left: int) -> exp.Expression:
            found = from_(pos)
            if left <= 1:
                return found
            return bind_value(d, found, lambda f: exp.If(this=exp.LT(this=f, expression=num(0)), true=num(-1),
                                                         false=nth(add(f, num(1)), left - 1)))  # fmt: skip

        def checked(pos: exp.Expression) -> exp.Expression:
            bad = exp.Or(
                this=exp.LT(this=pos, expression=num(0)), expression=exp.LT(this=length, expression=num(-1))
            )
            if occurrence < 0:
                return d.null(_L)
            return exp.If(this=bad, true=d.null(_L), false=nth(pos, occurrence))

        offset = exp.If(this=exp.LT(this=start, expression=num(0)), true=add(size, start), false=start)
        return bind_value(d, offset, checked)

    return bind_value(d, or_empty(args[0]), in_text)


@scalar("indexof", args=(2, 5), returns=_L, params=[_S, _S, _L, _L, _L], constant=[4], fold=_fold_indexof)
def _indexof(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    lookup = or_empty(args[1])
    return _search(ctx, call, args, lambda window: sub(d.call("strpos", window, lookup), num(1)))


@scalar("indexof_regex", args=(2, 5), returns=_L, params=[_S, _S, _L, _L, _L], constant=[4])
def _indexof_regex(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    # the shortest prefix after which the regex matches is where its leftmost match starts
    prefixed: exp.Expression = exp.Concat(expressions=[lit("^((?s:.*?))(?:"), args[1], lit(")")])
    if is_const(call.args[1]):
        prefixed = lit(f"^((?s:.*?))(?:{const(call.args[1])})")

    def find(window: exp.Expression) -> exp.Expression:
        return bind_value(d, window, lambda w: exp.If(
            this=d.regex_match(w, args[1]),
            true=d.call("length", or_empty(d.regex_extract(w, prefixed, 1))), false=num(-1)))  # fmt: skip

    return _search(ctx, call, args, find)


def _fold_countof(text: str, search: str, kind: str = "normal") -> Any:
    if kind == "regex" or not search:
        return NOT_CONSTANT if search else 0
    return sum(1 for i in range(len(text) - len(search) + 1) if text.startswith(search, i))


def _overlaps_itself(s: str) -> bool:
    return any(s[:k] == s[-k:] for k in range(1, len(s)))


def _check_countof(b: Any, args: list[BExpr], node: Any) -> None:
    if len(args) > 2 and const(args[2]) not in ("normal", "regex"):
        raise b.error(f"countof(): kind must be 'normal' or 'regex', not '{const(args[2])}'", node)


@scalar("countof", args=(2, 3), returns=_L, params=[_S, _S, _S], constant=[2], fold=_fold_countof,
        check=_check_countof)  # fmt: skip
def _countof(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """Plain matches may overlap (``countof("aaaa", "aa")`` is 3); regex matches do not."""
    d = ctx.dialect
    kind = str(const(call.args[2])) if len(call.args) > 2 else "normal"
    text = or_empty(args[0])
    if kind == "regex":
        return d.list_length(d.regex_extract_all(text, args[1], 0))
    if is_const(call.args[1]) and not _overlaps_itself(str(const(call.args[1]))):
        needle = str(const(call.args[1]))
        if not needle:
            return num(0)
        removed = sub(d.call("length", text), d.call("length", d.call("replace", text, lit(needle), lit(""))))
        return d.int_div(exp.Paren(this=removed), num(len(needle)))
    return bind_value(
        d, text, lambda t: bind_value(d, or_empty(args[1]), lambda s: _count_overlapping(ctx, t, s))
    )


def _count_overlapping(ctx: LowerContext, text: exp.Expression, needle: exp.Expression) -> exp.Expression:
    d = ctx.dialect
    size = d.call("length", needle)
    last = add(sub(d.call("length", text), size), num(2))
    positions = d.call("range", num(1), d.call("greatest", last, num(1)))
    hit = exp.EQ(this=d.call("substring", text, exp.column("_wk_i"), size), expression=needle)
    found = d.list_length(d.call("list_filter", positions, lam(hit, "_wk_i")))
    return exp.If(this=exp.EQ(this=size, expression=num(0)), true=num(0), false=found)


# ---------------------------------------------------------------------------- regular expressions


def _extract_type(args: Sequence[BExpr]) -> KqlType:
    from watchkeeper.kql.plan import BLiteral

    if len(args) > 3 and isinstance(args[3], BLiteral) and args[3].value:
        return KqlType(str(args[3].value))
    return _S


def _regex_groups(regex: str) -> int | None:
    """Capturing groups of a constant regex (None when Python cannot read the RE2 syntax)."""
    try:
        return re.compile(regex).groups
    except re.error:
        return None


@scalar("extract", args=(3, 4), returns=_extract_type, params=[_S, _L, _S], constant=[1, 3])
def _extract(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """``extract(regex, group, text [, typeof(T)])``: group 0 is the whole match; no match gives
    ``""`` (or null when a type is asked for)."""
    d = ctx.dialect
    group = int(const(call.args[1]))
    groups = _regex_groups(str(const(call.args[0]))) if is_const(call.args[0]) else None
    if group < 0 or (groups is not None and group > groups):
        text: exp.Expression = lit("")
    else:
        text = or_empty(d.regex_extract(or_empty(args[2]), args[0], group))
    target = call.type
    if target is _S:
        return text
    if target not in conv.CONVERT_TO:
        raise UnsupportedError(f"extract() to type {target.value}")
    spec = conv.CONVERT_TO[target]
    return spec.lower(ctx, BCall(target, spec, (BExpr(_S),)), [text])


@scalar("regex_quote", args=1, returns=_S, params=[_S], fold=lambda s: _quote(s))
def _regex_quote(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("regexp_replace", or_empty(args[0]), lit(r"([\\*+?|{\[()^$.#])"),
                                     lit(r"\\\1"), lit("g")))  # fmt: skip


def _quote(text: str) -> str:
    return re.sub(r"([\\*+?|{\[()^$.#])", r"\\\1", text)
