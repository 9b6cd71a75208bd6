"""String functions. Kusto indexes strings from 0 and counts Unicode characters; SQL from 1."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.conversions import string_of
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import const, is_const, lit, num, or_empty, re2_escape
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_S = _T.STRING


@scalar("strlen", args=1, returns=_T.LONG, params=[_S], fold=len)
def _strlen(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("length", args[0])


@scalar("tolower", args=1, returns=_S, params=[_S], fold=str.lower)
def _tolower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("lower", args[0])


@scalar("toupper", args=1, returns=_S, params=[_S], fold=str.upper)
def _toupper(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("upper", args[0])


def _fold_substring(s: str, start: int, length: int | None = None) -> str:
    start = max(0, start)
    return s[start:] if length is None else s[start : start + max(0, length)]


@scalar("substring", args=(2, 3), returns=_S, params=[_S, _T.LONG, _T.LONG], fold=_fold_substring)
def _substring(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    start = exp.Add(this=d.call("greatest", args[1], num(0)), expression=num(1))
    if len(args) == 2:
        return or_empty(d.call("substring", args[0], start))
    return or_empty(d.call("substring", args[0], start, d.call("greatest", args[2], num(0))))


def _fold_strcat(*parts: str) -> str:
    return "".join(parts)


@scalar("strcat", args=(1, 64), returns=_S, params=[_S], fold=_fold_strcat)
def _strcat(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Concat(expressions=[or_empty(a) for a in args])


@scalar("strcat_delim", args=(3, 65), returns=_S, params=[_S], fold=lambda sep, *p: sep.join(p))
def _strcat_delim(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("concat_ws", args[0], *[or_empty(a) for a in args[1:]])


@scalar("replace_string", args=3, returns=_S, params=[_S], fold=lambda s, a, b: s.replace(a, b) if a else s)
def _replace_string(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("replace", args[0], args[1], args[2])


def _kusto_replacement(value: str) -> str:
    """Kusto replacement text uses ``\\1`` or ``$1`` for groups; RE2 wants ``\\1``."""
    return re.sub(r"\$(\d)", r"\\\1", value)


@scalar(["replace_regex", "replace"], args=3, returns=_S, params=[_S])
def _replace_regex(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    pattern, replacement = args[0], args[2]
    if call.fn.name == "replace":  # legacy order: replace(regex, rewrite, text)
        pattern, replacement, text = args[0], args[1], args[2]
        rewrite_arg = call.args[1]
    else:
        text, pattern, replacement = args[0], args[1], args[2]
        rewrite_arg = call.args[2]
    if is_const(rewrite_arg):
        replacement = lit(_kusto_replacement(str(const(rewrite_arg))))
    return d.call("regexp_replace", text, pattern, replacement, lit("g"))


@scalar("strrep", args=(2, 3), returns=_S, params=[_S, _T.LONG, _S])
def _strrep(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    if len(args) == 2:
        return d.call("repeat", args[0], args[1])
    repeated = d.call("repeat", exp.Concat(expressions=[args[0], args[2]]), args[1])
    return d.call("left", repeated, exp.Sub(this=d.call("length", repeated), expression=d.call("length", args[2])))


def _trim_pattern(call: BCall, args: list[exp.Expression], ctx: LowerContext, head: bool, tail: bool) -> exp.Expression:
    # Kusto's trim functions take a regular expression to strip, not a character set
    regex_arg = call.args[0]
    if is_const(regex_arg):
        body = f"(?:{const(regex_arg)})"
        parts = ([f"^{body}+"] if head else []) + ([f"{body}+$"] if tail else [])
        return ctx.dialect.call("regexp_replace", args[1], lit("|".join(parts)), lit(""), lit("g"))
    wrapped = exp.Concat(expressions=[lit("(?:"), args[0], lit(")+")])
    pattern = wrapped
    if head and tail:
        pattern = exp.Concat(expressions=[lit("^"), wrapped, lit("|"), wrapped, lit("$")])
    elif head:
        pattern = exp.Concat(expressions=[lit("^"), wrapped])
    else:
        pattern = exp.Concat(expressions=[wrapped, lit("$")])
    return ctx.dialect.call("regexp_replace", args[1], pattern, lit(""), lit("g"))


@scalar("trim", args=2, returns=_S, params=[_S])
def _trim(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _trim_pattern(call, args, ctx, True, True)


@scalar("trim_start", args=2, returns=_S, params=[_S])
def _trim_start(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _trim_pattern(call, args, ctx, True, False)


@scalar("trim_end", args=2, returns=_S, params=[_S])
def _trim_end(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _trim_pattern(call, args, ctx, False, True)


def _fold_indexof(s: str, sub: str, start: int = 0, length: int = -1, occurrence: int = 1) -> int:
    if length not in (-1, None):
        s = s[: start + length]
    pos = start - 1
    for _ in range(occurrence):
        pos = s.find(sub, pos + 1)
        if pos < 0:
            return -1
    return pos


@scalar("indexof", args=(2, 5), returns=_T.LONG, params=[_S, _S, _T.LONG, _T.LONG, _T.LONG], fold=_fold_indexof)
def _indexof(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    if len(args) == 2:
        return exp.Sub(this=d.call("strpos", args[0], args[1]), expression=num(1))
    start = args[2]
    tail = d.call("substring", args[0], exp.Add(this=start, expression=num(1)))
    found = d.call("strpos", tail, args[1])
    position = exp.Add(this=exp.Sub(this=found, expression=num(1)), expression=start)
    return exp.If(this=exp.GT(this=found, expression=num(0)), true=position, false=num(-1))


def _fold_extract(regex: str, group: int, text: str, *_: Any) -> Any:
    m = re.search(regex, text)
    if m is None or group > (m.re.groups or 0):
        return None if m is None else ""
    return m.group(group) or ""


@scalar("extract", args=(3, 4), returns=lambda a: _S, params=[_S, _T.LONG, _S], constant=[1], fold=_fold_extract)
def _extract(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    group = int(const(call.args[1]))
    return or_empty(ctx.dialect.regex_extract(args[2], args[0], group))


@scalar("countof", args=(2, 3), returns=_T.LONG, params=[_S, _S, _S])
def _countof(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    kind = str(const(call.args[2])) if len(call.args) > 2 and is_const(call.args[2]) else "normal"
    if kind == "regex":
        return d.list_length(d.regex_extract_all(args[0], args[1], 0))
    if is_const(call.args[1]):
        needle = re2_escape(str(const(call.args[1])))
        return d.list_length(d.regex_extract_all(args[0], lit(needle), 0))
    removed = d.call("length", d.call("replace", args[0], args[1], lit("")))
    diff = exp.Sub(this=d.call("length", args[0]), expression=removed)
    return d.int_div(exp.Paren(this=diff), d.call("greatest", d.call("length", args[1]), num(1)))


@scalar("reverse", args=1, returns=_S, params=[_S], fold=lambda s: s[::-1])
def _reverse(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("reverse", args[0])


@scalar(["base64_encode_tostring", "base64_encodestring"], args=1, returns=_S, params=[_S],
        fold=lambda s: base64.b64encode(s.encode()).decode())  # fmt: skip
def _b64_encode(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("to_base64", ctx.dialect.call("encode", args[0]))


@scalar(["base64_decode_tostring", "base64_decodestring"], args=1, returns=_S, params=[_S],
        fold=lambda s: base64.b64decode(s + "=" * (-len(s) % 4)).decode("utf-8"))  # fmt: skip
def _b64_decode(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return or_empty(ctx.dialect.call("base64_text", args[0]))


@scalar("url_decode", args=1, returns=_S, params=[_S], fold=urllib.parse.unquote_plus)
def _url_decode(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("url_decode", ctx.dialect.call("replace", args[0], lit("+"), lit(" ")))


@scalar(["url_encode", "url_encode_component"], args=1, returns=_S, params=[_S],
        fold=lambda s: urllib.parse.quote(s, safe=""))  # fmt: skip
def _url_encode(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("url_encode", args[0])


@scalar("hash_md5", args=1, returns=_S, fold=lambda s: hashlib.md5(str(s).encode()).hexdigest())  # noqa: S324
def _hash_md5(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    text = string_of(ctx.dialect, args[0], call.args[0].type)
    return ctx.dialect.call("md5", text)


@scalar("hash_sha256", args=1, returns=_S, fold=lambda s: hashlib.sha256(str(s).encode()).hexdigest())
def _hash_sha256(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    text = string_of(ctx.dialect, args[0], call.args[0].type)
    return ctx.dialect.call("sha256", text)


@scalar("hash_sha1", args=1, returns=_S, fold=lambda s: hashlib.sha1(str(s).encode()).hexdigest())  # noqa: S324
def _hash_sha1(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    text = string_of(ctx.dialect, args[0], call.args[0].type)
    return ctx.dialect.call("sha1", text)


@scalar("isascii", args=1, returns=_T.BOOL, params=[_S], fold=str.isascii)
def _isascii(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Not(this=ctx.dialect.regex_match(args[0], lit("[^\\x00-\\x7F]")))


@scalar("string_size", args=1, returns=_T.LONG, params=[_S], fold=lambda s: len(s.encode("utf-8")))
def _string_size(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("octet_length", ctx.dialect.call("encode", args[0]))


@scalar("translate", args=3, returns=_S, params=[_S])
def _translate(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("translate", args[2], args[0], args[1])
