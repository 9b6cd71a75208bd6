"""Parsers of structured text into ``dynamic`` values: URLs, query strings, file paths, CSV records,
Windows command lines, XML.

Each parser is a handful of regular expressions (or one ``list_reduce``) evaluated once per row;
bags are assembled as JSON text so they are the same on both engines. ``parse_xml`` needs a real
XML parser, which neither engine has: it calls the host function ``wk_parse_xml`` (Python, see
:mod:`watchkeeper.kql.functions.host`), which the DuckDB store registers; the ClickHouse dialect
refuses it.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.encodings import url_decode_sql
from watchkeeper.kql.functions.host import host_function
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, bind_value, lam, lit, num, or_empty, sub
from watchkeeper.kql.functions.xml_values import xml_to_json
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["fold_command_line", "fold_parse_path", "fold_parse_url", "fold_query"]

_T = KqlType
_S = _T.STRING
_D = _T.DYNAMIC
Args = list[exp.Expression]
Sql = exp.Expression

# the XML parser runs in Python: a store that can run host functions registers it (DuckDB)
host_function("wk_parse_xml", [_S], _D, handles_nulls=True)(xml_to_json)  # None for text that is not XML


def _json_bag(ctx: LowerContext, fields: list[tuple[str, Sql]]) -> Sql:
    """``{"key": value, ...}`` as dynamic, each value already JSON text."""
    import json

    parts: list[Sql] = []
    for i, (key, value) in enumerate(fields):
        parts += [lit(("{" if i == 0 else ",") + json.dumps(key) + ":"), value]
    return ctx.dialect.cast(exp.Concat(expressions=[*parts, lit("}")]), _D)


def _json_string(ctx: LowerContext, text: Sql) -> Sql:
    return ctx.dialect.to_json(or_empty(text))


# ---------------------------------------------------------------------------- query strings


def fold_query(query: str) -> dict[str, str]:
    """Query parameters, URL-decoded; a repeated key keeps its last value."""
    result: dict[str, str] = {}
    for piece in query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            result[urllib.parse.unquote_plus(key)] = urllib.parse.unquote_plus(value)
    return result


def _query_json(ctx: LowerContext, query: Sql) -> Sql:
    """JSON text of the query parameters of ``query`` (``k1=v1&k2=v2``)."""
    d = ctx.dialect
    piece = exp.column("_wk_q")
    pairs = d.call(
        "list_filter", d.split(query, lit("&")), lam(exp.NEQ(this=piece, expression=lit("")), "_wk_q")
    )

    def key_of(p: Sql) -> Sql:
        return url_decode_sql(ctx, or_empty(d.regex_extract(p, lit("^([^=]*)"), 1)))

    def value_of(p: Sql) -> Sql:
        return url_decode_sql(ctx, d.call("regexp_replace", p, lit("^[^=]*=?"), lit(""), lit("g")))

    def entries(reversed_pairs: Sql) -> Sql:
        keys = d.call("list_transform", reversed_pairs, lam(key_of(exp.column("_wk_p")), "_wk_p"))

        def unique(ks: Sql) -> Sql:
            i = exp.column("_wk_i")
            first = exp.EQ(this=d.call("list_position", ks, d.call("list_extract", ks, i)), expression=i)
            kept = d.call(
                "list_filter", d.call("range", num(1), add(d.list_length(ks), num(1))), lam(first, "_wk_i")
            )
            entry = exp.Concat(expressions=[d.to_json(d.call("list_extract", ks, i)), lit(":"),
                                            d.to_json(value_of(d.call("list_extract", reversed_pairs, i)))])  # fmt: skip
            return d.call("list_reverse", d.call("list_transform", kept, lam(entry, "_wk_i")))

        return bind_value(d, keys, unique)

    listed = bind_value(d, d.call("list_reverse", pairs), entries)
    return exp.Concat(expressions=[lit("{"), or_empty(d.call("array_to_string", listed, lit(","))), lit("}")])


def _query_part(ctx: LowerContext, text: Sql) -> Sql:
    """The query of a URL or query string: after the first '?', before '#'."""
    d = ctx.dialect
    return or_empty(d.regex_extract(text, lit(r"^(?:[^?]*\?)?([^#]*)"), 1))


def _fold_urlquery(text: str) -> dict[str, Any]:
    query = text.split("?", 1)[1] if "?" in text else text
    return {"Query Parameters": fold_query(query.split("#", 1)[0])}


@scalar("parse_urlquery", args=1, returns=_D, params=[_S], fold=_fold_urlquery)
def _parse_urlquery(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``{"Query Parameters": {"k1": "v1", ...}}``; keys and values are URL-decoded."""
    return bind_value(ctx.dialect, _query_part(ctx, or_empty(args[0])),
                      lambda q: _json_bag(ctx, [("Query Parameters", _query_json(ctx, q))]))  # fmt: skip


# ---------------------------------------------------------------------------- URLs

_URL = (r"^([A-Za-z][A-Za-z0-9+.\-]*)://(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]/?#]*\]|[^:/?#]*)"
        r"(?::([0-9]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$")  # fmt: skip
_URL_FIELDS = ("Scheme", "Username", "Password", "Host", "Port", "Path", "Query Parameters", "Fragment")
_URL_ORDER = ("Scheme", "Host", "Port", "Path", "Username", "Password", "Query Parameters", "Fragment")


def fold_parse_url(text: str) -> dict[str, Any]:
    """Kusto's parse_url: the parts of an absolute URL, all empty when the text is not one."""
    m = re.match(_URL, text, re.S)
    values = dict(zip(_URL_FIELDS, m.groups(default="") if m else [""] * 8, strict=True))
    bag: dict[str, Any] = {k: values[k] for k in _URL_ORDER}
    bag["Query Parameters"] = fold_query(values["Query Parameters"])
    return bag


@scalar(["parse_url", "parseurl"], args=1, returns=_D, params=[_S], fold=fold_parse_url)
def _parse_url(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``{"Scheme", "Host", "Port", "Path", "Username", "Password", "Query Parameters", "Fragment"}``."""
    d = ctx.dialect

    def bag(groups: Sql) -> Sql:
        def part(name: str) -> Sql:
            return d.call("list_extract", groups, num(_URL_FIELDS.index(name) + 1))

        fields = [(n, _query_json(ctx, or_empty(part(n))) if n == "Query Parameters" else _json_string(ctx, part(n)))
                  for n in _URL_ORDER]  # fmt: skip
        return _json_bag(ctx, fields)

    return bind_value(
        d, or_empty(args[0]), lambda t: bind_value(d, d.regex_groups(t, lit("(?s)" + _URL), 8), bag)
    )


# ---------------------------------------------------------------------------- paths

_PATH_FIELDS = ("Scheme", "RootPath", "DirectoryPath", "DirectoryName", "Filename", "Extension",
                "AlternateDataStreamName")  # fmt: skip
_SCHEME = r"^([A-Za-z][A-Za-z0-9+.\-]+)://"
_SPLIT = r"^(?:(.*)[\\/])?([^\\/]*)$"
_STREAM = r"^([^:]*)(?::(.*))?$"


def fold_parse_path(text: str) -> dict[str, str]:
    """Kusto's parse_path: scheme, drive, directory, file name, extension and NTFS stream name."""
    scheme_match = re.match(_SCHEME, text)
    scheme = scheme_match.group(1) if scheme_match else ""
    rest = text[scheme_match.end() :] if scheme_match else text
    directory, last = re.match(_SPLIT, rest, re.S).groups(default="")  # type: ignore[union-attr]
    filename, stream = re.match(_STREAM, last, re.S).groups(default="")  # type: ignore[union-attr]
    root = re.match(r"^([A-Za-z]:)", rest)
    ext = re.search(r"\.([^.]*)$", filename)
    name = re.search(r"([^\\/]*)$", directory)
    return dict(zip(_PATH_FIELDS, (scheme, root.group(1) if root else "", directory, name.group(1) if name else "",
                                   filename, ext.group(1) if ext else "", stream), strict=True))  # fmt: skip


@scalar("parse_path", args=1, returns=_D, params=[_S], fold=fold_parse_path)
def _parse_path(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    d = ctx.dialect

    def group(text: Sql, pattern: str, n: int = 1) -> Sql:
        return or_empty(d.regex_extract(text, lit(pattern), n))

    def after_scheme(text: Sql) -> Sql:
        scheme = group(text, _SCHEME)
        rest = d.call("regexp_replace", text, lit(_SCHEME), lit(""), lit("g"))
        return bind_value(d, rest, lambda r: bind_value(d, group(r, "(?s)" + _SPLIT, 1), lambda directory: bind_value(
            d, group(r, "(?s)" + _SPLIT, 2), lambda last: bind_value(d, group(last, "(?s)" + _STREAM, 1), lambda name: _json_bag(
                ctx, [(k, _json_string(ctx, v)) for k, v in zip(_PATH_FIELDS, (
                    scheme, group(r, r"^([A-Za-z]:)"), directory, group(directory, r"([^\\/]*)$"), name,
                    group(name, r"\.([^.]*)$"), group(last, "(?s)" + _STREAM, 2)), strict=True)])))))  # fmt: skip

    return bind_value(d, or_empty(args[0]), after_scheme)


# ---------------------------------------------------------------------------- CSV

_CSV_RECORD = r'^((?:"(?:[^"]|"")*"|[^"\r\n])*)'
_CSV_FIELD = r'("(?:[^"]|"")*"|[^,"]*),'  # on the record plus ',': every match is non-empty


def _fold_parse_csv(text: str) -> list[str]:
    record = re.match(_CSV_RECORD, text).group(1)  # type: ignore[union-attr]
    fields = re.findall(_CSV_FIELD, record + ",")
    return [f[1:-1].replace('""', '"') if f.startswith('"') else f for f in fields] or [""]


@scalar("parse_csv", args=1, returns=_D, params=[_S], fold=_fold_parse_csv)
def _parse_csv(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """The fields of the first CSV record of the text (quotes removed, ``""`` is ``"``)."""
    d = ctx.dialect
    field = exp.column("_wk_f")
    quoted = d.call("starts_with", field, lit('"'))
    inner = d.call("replace", d.call("substring", field, num(2), exp.Sub(this=d.call("length", field), expression=num(2))),
                   lit('""'), lit('"'))  # fmt: skip
    record = or_empty(d.regex_extract(or_empty(args[0]), lit(_CSV_RECORD), 1))
    record = exp.Concat(expressions=[record, lit(",")])
    fields = bind_value(d, record, lambda r: d.call("list_transform", d.regex_extract_all(r, lit(_CSV_FIELD), 1),
                                                    lam(exp.If(this=quoted, true=inner, false=field), "_wk_f")))  # fmt: skip
    # ClickHouse finds no (empty) match in an empty record where DuckDB finds one
    return d.list_to_json(
        bind_value(
            d,
            fields,
            lambda f: exp.If(
                this=exp.EQ(this=d.list_length(f), expression=num(0)),
                true=exp.Array(expressions=[lit("")]),
                false=f,
            ),
        )
    )


# ---------------------------------------------------------------------------- XML, user agents


@scalar("parse_xml", args=1, returns=_D, params=[_S])
def _parse_xml(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """XML as dynamic: attributes as ``@name``, text as ``#text``, repeated elements as arrays."""
    return ctx.dialect.cast(ctx.dialect.call("wk_parse_xml", args[0]), _D)


@scalar("parse_user_agent", args=2, returns=_D, params=[_S, None])
def _parse_user_agent(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    raise UnsupportedError("parse_user_agent(): recognising browsers, devices and operating systems needs the "
                           "uap-core regex database, which watchkeeper does not ship")  # fmt: skip


# ---------------------------------------------------------------------------- command lines


def fold_command_line(text: str) -> list[str]:
    """Windows command-line splitting (CommandLineToArgvW): whitespace separates arguments outside
    quotes; ``2n`` backslashes before a quote give ``n`` and the quote toggles quoting, ``2n+1``
    give ``n`` and a literal quote; ``""`` inside quotes is a literal quote."""
    args: list[str] = []
    current, started, quoted, slashes, i = "", False, False, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            slashes, started = slashes + 1, True
        elif c == '"':
            current += "\\" * (slashes // 2)
            if slashes % 2:
                current += '"'
            elif quoted and text[i + 1 : i + 2] == '"':
                current, i = current + '"', i + 1
            else:
                quoted = not quoted
            slashes, started = 0, True
        elif c in " \t" and not quoted:
            if started:
                args.append(current + "\\" * slashes)
            current, started, slashes = "", False, 0
        else:
            current, slashes, started = current + "\\" * slashes + c, 0, True
        i += 1
    return [*args, current + "\\" * slashes] if started else args


def _check_parser(b: Any, args: list[Any], node: Any) -> None:
    from watchkeeper.kql.plan import BLiteral

    kind = args[1].value if isinstance(args[1], BLiteral) else None
    if not isinstance(kind, str) or kind.lower() != "windows":
        raise b.error('parse_command_line(): the only parser is "windows"', node)


@scalar("parse_command_line", args=2, returns=_D, params=[_S, _S], constant=[1], check=_check_parser,
        fold=lambda text, kind: fold_command_line(text))  # fmt: skip
def _parse_command_line(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """The arguments of a Windows command line, as a dynamic array (see :func:`fold_command_line`)."""
    d = ctx.dialect
    return bind_value(d, d.call("string_chars", or_empty(args[0])), lambda chars: d.list_to_json(
        _command_line_args(ctx, chars)))  # fmt: skip


def _command_line_args(ctx: LowerContext, chars: Sql) -> Sql:
    """A ``list_reduce`` over the characters; the state is (args, current, started, quoted,
    backslashes, skip), flags as 0/1 numbers so both engines type the state the same way."""
    d = ctx.dialect
    zero = d.cast(num(0), _T.LONG)
    initial = d.call("row", d.call("empty_strings"), lit(""), zero, zero, zero, zero)
    positions = d.call("range", num(1), add(d.list_length(chars), num(1)))
    final = d.call("list_reduce", positions, lam(_ArgvStep(ctx, chars).state(), "_wk_s", "_wk_i"), initial)

    def finish(s: Sql) -> Sql:
        def field(n: int) -> Sql:
            return d.call("struct_extract", s, num(n))

        last = or_empty(exp.Concat(expressions=[field(2), d.call("repeat", lit("\\"), field(5))]))
        done = exp.EQ(this=field(3), expression=num(1))
        return exp.If(this=done, true=d.call("list_append", field(1), last), false=field(1))

    return bind_value(d, final, finish)


def _case(*whens: tuple[Sql, Sql], default: Sql) -> Sql:
    return exp.Case(ifs=[exp.If(this=w, true=v) for w, v in whens], default=default)


class _ArgvStep:
    """One character of :func:`fold_command_line` as SQL over the state ``_wk_s`` at position ``_wk_i``."""

    def __init__(self, ctx: LowerContext, chars: Sql) -> None:
        d = self.d = ctx.dialect
        state, i = exp.column("_wk_s"), exp.column("_wk_i")
        fields = [d.call("struct_extract", state, num(n)) for n in range(1, 7)]
        self.args, self.current, self.started, self.quoted, self.slashes, self.skip = fields
        self.c = d.call("list_extract", chars, i)
        after = or_empty(d.call("list_extract", chars, add(i, num(1))))
        self.one, self.zero = d.cast(num(1), _T.LONG), d.cast(num(0), _T.LONG)
        self.odd = exp.EQ(
            this=exp.Mod(this=exp.Paren(this=self.slashes), expression=num(2)), expression=num(1)
        )
        self.doubled = exp.And(
            this=self.flag(self.quoted), expression=exp.EQ(this=after, expression=lit('"'))
        )
        self.blank = exp.And(this=exp.Paren(this=exp.Or(this=self.is_(" "), expression=self.is_("\t"))),
                             expression=exp.EQ(this=self.quoted, expression=num(0)))  # fmt: skip
        self.skipping = self.flag(self.skip)
        self.pending = exp.Concat(expressions=[self.current, d.call("repeat", lit("\\"), self.slashes)])

    def is_(self, value: str) -> Sql:
        return exp.EQ(this=self.c, expression=lit(value))

    @staticmethod
    def flag(value: Sql) -> Sql:
        return exp.EQ(this=value, expression=num(1))

    def text(self) -> Sql:
        d = self.d
        half = exp.Concat(
            expressions=[self.current, d.call("repeat", lit("\\"), d.int_div(self.slashes, num(2)))]
        )
        literal = exp.Concat(expressions=[half, lit('"')])
        at_quote = _case((self.odd, literal), (self.doubled, literal), default=half)
        return _case((self.skipping, self.current), (self.is_("\\"), self.current), (self.is_('"'), at_quote),
                     (self.blank, lit("")), default=exp.Concat(expressions=[self.pending, self.c]))  # fmt: skip

    def state(self) -> Sql:
        d, skipping, quote = self.d, self.skipping, self.is_('"')
        ends = exp.And(this=self.blank, expression=self.flag(self.started))
        args = _case((skipping, self.args), (ends, d.call("list_append", self.args, or_empty(self.pending))),
                     default=self.args)  # fmt: skip
        started = _case((skipping, self.started), (self.blank, self.zero), default=self.one)
        toggles = exp.And(
            this=quote,
            expression=exp.Not(this=exp.Paren(this=exp.Or(this=self.odd, expression=self.doubled))),
        )
        quoted = _case(
            (skipping, self.quoted), (toggles, d.cast(sub(num(1), self.quoted), _T.LONG)), default=self.quoted
        )
        slashes = _case((skipping, self.slashes), (self.is_("\\"), d.cast(add(self.slashes, num(1)), _T.LONG)),
                        default=self.zero)  # fmt: skip
        skips = exp.And(this=quote, expression=exp.And(this=exp.Not(this=self.odd), expression=self.doubled))
        skip = _case((skipping, self.zero), (skips, self.one), default=self.zero)
        # ClickHouse needs the state's types unchanged by a step: strings not Nullable
        return d.call("row", args, or_empty(self.text()), started, quoted, slashes, skip)
