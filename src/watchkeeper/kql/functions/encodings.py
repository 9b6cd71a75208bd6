"""Encodings of text: base64, URL encoding, hashes, hex, UTF-8 bytes and Unicode code points.

Byte arrays are ``dynamic`` arrays of numbers 0-255, as in Kusto. Text is UTF-8; a decoding that
does not give valid UTF-8 text gives ``""``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import urllib.parse
import uuid
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.registry import NOT_CONSTANT, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import bind_value, const, lam, lit, num, or_empty
from watchkeeper.kql.functions.strings import text_arg
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["url_decode_sql"]

_T = KqlType
_S = _T.STRING
_D = _T.DYNAMIC
Args = list[exp.Expression]


# ---------------------------------------------------------------------------- base64


def _b64decode(text: str) -> bytes:
    """Strict base64 (padding required), as .NET's Convert.FromBase64String."""
    return base64.b64decode(text, validate=True)


def _fold_b64_text(text: str) -> str:
    try:
        return _b64decode(text).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


@scalar(["base64_encode_tostring", "base64_encodestring"], args=1, returns=_S, params=[_S],
        fold=lambda s: base64.b64encode(s.encode()).decode())  # fmt: skip
def _b64_encode(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("to_base64", ctx.dialect.call("encode", or_empty(args[0]))))


@scalar(
    ["base64_decode_tostring", "base64_decodestring"], args=1, returns=_S, params=[_S], fold=_fold_b64_text
)
def _b64_decode(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("base64_text", or_empty(args[0])))


def _fold_b64_array(text: str) -> Any:
    try:
        return list(_b64decode(text))
    except (binascii.Error, ValueError):
        return None


def _byte_array(ctx: LowerContext, blob: exp.Expression) -> exp.Expression:
    """A dynamic array of the bytes of a BLOB (null stays null)."""
    d = ctx.dialect
    return bind_value(d, blob, lambda b: exp.If(this=exp.Is(this=b, expression=exp.Null()), true=d.null(_D),
                                                false=d.list_to_json(d.call("byte_list", b))))  # fmt: skip


@scalar("base64_decode_toarray", args=1, returns=_D, params=[_S], fold=_fold_b64_array)
def _b64_toarray(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _byte_array(ctx, ctx.dialect.call("base64_blob", or_empty(args[0])))


def _bytes_blob(ctx: LowerContext, array: exp.Expression) -> exp.Expression:
    """The BLOB of a dynamic array of byte values (elements that are not 0-255 make it null)."""
    d = ctx.dialect
    as_long = d.try_cast(d.json_text(exp.column("_wk_b")), _T.LONG)
    pair = d.call("lpad", d.call("lower", d.call("hex", as_long)), num(2), lit("0"))
    valid = exp.And(
        this=exp.GTE(this=as_long, expression=num(0)), expression=exp.LTE(this=as_long, expression=num(255))
    )
    piece = exp.If(this=valid, true=pair, false=exp.Null())
    hexed = d.call(
        "array_to_string", d.call("list_transform", d.json_elements(array), lam(piece, "_wk_b")), lit("")
    )
    return d.call("unhex", hexed)


def _fold_b64_fromarray(values: Any) -> Any:
    if not isinstance(values, list) or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
        return NOT_CONSTANT if isinstance(values, list) else ""
    return base64.b64encode(bytes(values)).decode()


@scalar("base64_encode_fromarray", args=1, returns=_S, params=[_D], fold=_fold_b64_fromarray)
def _b64_fromarray(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return or_empty(ctx.dialect.call("to_base64", _bytes_blob(ctx, args[0])))


# .NET's Guid byte order: the first three groups are little-endian
_GUID_ORDER = (3, 2, 1, 0, None, 5, 4, None, 7, 6, None, 8, 9, None, 10, 11, 12, 13, 14, 15)


def _guid_hex(ctx: LowerContext, hex_text: exp.Expression) -> exp.Expression:
    """Hex text of 16 bytes in .NET Guid order -> the GUID's text (and back: the order is symmetric)."""
    d = ctx.dialect

    def body(h: exp.Expression) -> exp.Expression:
        parts = [
            lit("-") if i is None else d.call("substring", h, num(2 * i + 1), num(2)) for i in _GUID_ORDER
        ]
        return exp.Concat(expressions=parts)

    return bind_value(d, d.call("lower", hex_text), body)


def _fold_b64_guid(text: str) -> Any:
    try:
        raw = _b64decode(text)
    except (binascii.Error, ValueError):
        return None
    return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None


@scalar("base64_decode_toguid", args=1, returns=_T.GUID, params=[_S], fold=_fold_b64_guid)
def _b64_toguid(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect

    def body(blob: exp.Expression) -> exp.Expression:
        sixteen = exp.EQ(this=d.call("octet_length", blob), expression=num(16))
        return exp.If(
            this=sixteen, true=d.try_cast(_guid_hex(ctx, d.call("hex", blob)), _T.GUID), false=d.null(_T.GUID)
        )

    return bind_value(d, d.call("base64_blob", or_empty(args[0])), body)


@scalar("base64_encode_fromguid", args=1, returns=_S, params=[_T.GUID],
        fold=lambda g: base64.b64encode(uuid.UUID(str(g)).bytes_le).decode())  # fmt: skip
def _b64_fromguid(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    plain = d.call("replace", d.cast(args[0], _S), lit("-"), lit(""))
    reordered = d.call("replace", _guid_hex(ctx, plain), lit("-"), lit(""))
    return or_empty(d.call("to_base64", d.call("unhex", reordered)))


# ---------------------------------------------------------------------------- URLs


def url_decode_sql(ctx: LowerContext, text: exp.Expression) -> exp.Expression:
    """URL-decoded text: ``+`` is a space, invalid escapes stay as they are (.NET's HttpUtility.UrlDecode)."""
    d = ctx.dialect
    spaced = d.call("replace", or_empty(text), lit("+"), lit(" "))
    return bind_value(d, spaced, lambda t: exp.Coalesce(this=d.call("url_decode", t), expressions=[t]))


@scalar("url_decode", args=1, returns=_S, params=[_S], fold=urllib.parse.unquote_plus)
def _url_decode(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return url_decode_sql(ctx, args[0])


_URL_SAFE = "[A-Za-z0-9_.!*()-]"


def _fold_url_encode(space: str) -> Any:
    def fold(text: str) -> str:
        quoted = urllib.parse.quote(text, safe="!*()")
        out, i = [], 0
        while i < len(quoted):  # lower-case hex digits, as .NET's HttpUtility.UrlEncode
            if quoted[i] == "%":
                out.append(quoted[i : i + 3].lower())
                i += 3
            else:
                out.append(quoted[i])
                i += 1
        return "".join(out).replace("~", "%7e").replace("%20", space)

    return fold


def _url_encode_with(ctx: LowerContext, text: exp.Expression, space: str) -> exp.Expression:
    """Percent-encoding of everything but letters, digits and ``-_.!*()``, lower-case hex."""
    d = ctx.dialect
    char = exp.column("_wk_c")
    encoded = d.call("regexp_replace", d.call("lower", d.call("hex", d.call("encode", char))), lit("(..)"),
                     lit("%\\1"), lit("g"))  # fmt: skip
    mapped = exp.Case(ifs=[exp.If(this=exp.EQ(this=char, expression=lit(" ")), true=lit(space)),
                           exp.If(this=d.regex_match(char, lit(f"^{_URL_SAFE}$")), true=char)],
                      default=encoded)  # fmt: skip
    pieces = d.call("list_transform", d.call("string_chars", text), lam(mapped, "_wk_c"))
    return or_empty(d.call("array_to_string", pieces, lit("")))


@scalar("url_encode", args=1, returns=_S, params=[_S], fold=_fold_url_encode("+"))
def _url_encode(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _url_encode_with(ctx, or_empty(args[0]), "+")


@scalar("url_encode_component", args=1, returns=_S, params=[_S], fold=_fold_url_encode("%20"))
def _url_encode_component(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _url_encode_with(ctx, or_empty(args[0]), "%20")


# ---------------------------------------------------------------------------- hashes


def _fold_digest(name: str) -> Any:
    def fold_args(args: list[Any]) -> Any:
        if args[0].type is _T.DATETIME:
            return NOT_CONSTANT
        from watchkeeper.kql.functions.conversions import kusto_string

        return hashlib.new(name, kusto_string(args[0].value, args[0].type).encode("utf-8")).hexdigest()

    return fold_args


def _register_digest(kusto_name: str, sql_name: str, hashlib_name: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
        return ctx.dialect.call(sql_name, text_arg(ctx, call, args, 0))

    lower.__doc__ = f"``{kusto_name}(value)``: lower-case hex of the UTF-8 bytes of the value's text."
    scalar(kusto_name, args=1, returns=_S, fold_args=_fold_digest(hashlib_name))(lower)


_register_digest("hash_md5", "md5", "md5")
_register_digest("hash_sha1", "sha1", "sha1")
_register_digest("hash_sha256", "sha256", "sha256")


# ---------------------------------------------------------------------------- hex, bytes, code points


def _fold_tohex(value: Any, min_length: int = 0) -> Any:
    if value is None or isinstance(value, float):
        return NOT_CONSTANT if isinstance(value, float) else None
    text = format(int(value) & ((1 << 64) - 1), "x") if int(value) < 0 else format(int(value), "x")
    return text.rjust(min_length, "0")


@scalar("tohex", args=(1, 2), returns=_S, params=[_T.LONG, _T.LONG], fold=_fold_tohex)
def _tohex(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """Lower-case hex; negative values in 64-bit two's complement (``tohex(-546)`` is ``fffffffffffffdde``)."""
    d = ctx.dialect
    value = d.cast(args[0], _T.LONG)
    digits = bind_value(d, d.call("lower", d.call("hex", value)), lambda h: d.call(
        "coalesce", d.call("nullif", d.call("ltrim", h, lit("0")), lit("")), lit("0")))  # fmt: skip
    if len(args) > 1:

        def padded(h: exp.Expression) -> exp.Expression:
            width = d.cast(d.call("greatest", args[1], d.cast(d.call("length", h), _T.LONG)), _T.INT)
            return d.call("lpad", h, width, lit("0"))

        digits = bind_value(d, digits, padded)
    return exp.If(this=exp.Is(this=value, expression=exp.Null()), true=d.null(_S), false=digits)


@scalar("to_utf8", args=1, returns=_D, params=[_S], fold=lambda s: list(s.encode("utf-8")))
def _to_utf8(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _byte_array(ctx, ctx.dialect.call("encode", or_empty(args[0])))


@scalar("unicode_codepoints_from_string", args=1, returns=_D, params=[_S], fold=lambda s: [ord(c) for c in s])
def _codepoints_from(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    d = ctx.dialect
    return d.list_to_json(d.call("codepoints", or_empty(args[0])))


def _fold_codepoints_to(*values: Any) -> Any:
    points: list[Any] = []
    for value in values:
        points += value if isinstance(value, list) else [value]
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 0x10FFFF for p in points):
        return NOT_CONSTANT
    return "".join(chr(p) for p in points)


def _codepoints_text(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """The text of code points: each argument a number or a dynamic array of numbers."""
    d = ctx.dialect
    pieces: list[exp.Expression] = []
    for arg, bound in zip(args, call.args, strict=True):
        if bound.type in (_D, _T.UNKNOWN):
            point = d.try_cast(d.json_text(exp.column("_wk_p")), _T.LONG)
            chars = d.call("list_transform", d.json_elements(arg), lam(_char_of(ctx, point), "_wk_p"))
            pieces.append(or_empty(d.call("array_to_string", chars, lit(""))))
        else:
            pieces.append(or_empty(_char_of(ctx, d.cast(arg, _T.LONG))))
    return exp.Concat(expressions=pieces)


def _char_of(ctx: LowerContext, point: exp.Expression) -> exp.Expression:
    """The character of a code point (null outside 0..0x10FFFF); ClickHouse builds it from bytes,
    using the point many times, so it is bound once."""
    d = ctx.dialect

    def body(p: exp.Expression) -> exp.Expression:
        valid = exp.And(
            this=exp.GTE(this=p, expression=num(0)), expression=exp.LTE(this=p, expression=num(0x10FFFF))
        )
        return exp.If(this=valid, true=d.call("chr", p), false=exp.Null())

    return bind_value(d, point, body)


@scalar("unicode_codepoints_to_string", args=(1, 64), returns=_S, fold=_fold_codepoints_to)
def _codepoints_to(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _codepoints_text(ctx, call, args)


@scalar("make_string", args=(1, 64), returns=_S, fold=_fold_codepoints_to)
def _make_string(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    return _codepoints_text(ctx, call, args)


# ---------------------------------------------------------------------------- formatting sizes

_UNITS = ("Bytes", "KB", "MB", "GB", "TB", "PB", "EB")


def _fold_format_bytes(size: Any, precision: int = 0, units: str = "", base: int = 1024) -> Any:
    if size is None or base not in (1000, 1024) or precision is None:
        return None if size is None else NOT_CONSTANT
    size = float(size)
    power = _UNITS.index(units) if units in _UNITS else _auto_power(size, base)
    value = size / base**power
    text = f"{_round_half_away(value, max(precision, 0)):.{max(precision, 0)}f}"
    return f"{text} {_UNITS[power]}"


def _auto_power(size: float, base: int) -> int:
    power = 0
    while power < len(_UNITS) - 1 and abs(size) >= base ** (power + 1):
        power += 1
    return power


def _round_half_away(value: float, digits: int) -> float:
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


@scalar("format_bytes", args=(1, 4), returns=_S, params=[_T.REAL, _T.LONG, _S, _T.LONG], constant=[1, 2, 3],
        fold=_fold_format_bytes)  # fmt: skip
def _format_bytes(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """``format_bytes(size [, precision [, units [, base]]])``: ``10.1 KB``; units are picked so the
    number is below ``base`` unless given (Bytes, KB, MB, GB, TB, PB, EB)."""
    d = ctx.dialect
    values = [_const_or(call, i, default) for i, default in ((1, 0), (2, ""), (3, 1024))]
    precision, units, base = max(int(values[0]), 0), str(values[1]), int(values[2])
    if base not in (1000, 1024):
        return d.null(_S)
    size = d.cast(args[0], _T.REAL)
    if units in _UNITS:
        return _bytes_in(ctx, size, _UNITS.index(units), precision, base)
    ifs = [exp.If(this=exp.LT(this=d.call("abs", size), expression=num(base ** (p + 1))),
                  true=_bytes_in(ctx, size, p, precision, base)) for p in range(len(_UNITS) - 1)]  # fmt: skip
    return exp.Case(ifs=ifs, default=_bytes_in(ctx, size, len(_UNITS) - 1, precision, base))


def _const_or(call: BCall, index: int, default: Any) -> Any:
    if index < len(call.args):
        value = const(call.args[index])
        return default if value is None else value
    return default


def _bytes_in(
    ctx: LowerContext, size: exp.Expression, power: int, precision: int, base: int
) -> exp.Expression:
    d = ctx.dialect
    scaled = exp.Div(this=exp.Paren(this=size), expression=num(float(base**power)))
    return exp.Concat(expressions=[d.fixed_decimals(scaled, precision), lit(" " + _UNITS[power])])


# ---------------------------------------------------------------------------- hash()

_TICKS_AT_EPOCH = 621_355_968_000_000_000


def _fold_hash(args: list[Any]) -> Any:
    from watchkeeper.kql.functions.conversions import kusto_string
    from watchkeeper.kql.functions.xxhash import xxh64

    value, kql_type = args[0].value, args[0].type
    if value is None or kql_type in (_T.DATETIME, _T.REAL):
        return NOT_CONSTANT
    if kql_type in (_T.LONG, _T.INT, _T.TIMESPAN):
        hashed = xxh64(int(value).to_bytes(8, "little", signed=True))
    else:
        hashed = xxh64(kusto_string(value, kql_type).encode("utf-8"))
    if len(args) > 1:
        return hashed % int(args[1].value) if args[1].value else NOT_CONSTANT
    return hashed - (1 << 64) if hashed >= 1 << 63 else hashed


@scalar(["hash", "hash_xxhash64"], args=(1, 2), returns=_T.LONG, params=[None, _T.LONG], fold_args=_fold_hash)
def _hash(ctx: LowerContext, call: BCall, args: Args) -> exp.Expression:
    """xxHash64 (seed 0), as Kusto: numbers, datetimes (ticks) and timespans hash their 8
    little-endian bytes, everything else the UTF-8 bytes of its text. ``hash(x, n)`` is the
    unsigned hash modulo ``n``; without it, the hash as a signed long."""
    d = ctx.dialect
    kql_type = call.args[0].type
    modulo = args[1:2]
    if kql_type in (_T.LONG, _T.INT, _T.TIMESPAN):
        return d.call("xxhash64_int", d.cast(args[0], _T.LONG), *modulo)
    if kql_type is _T.DATETIME:
        ticks = exp.Add(this=exp.Paren(this=exp.Mul(this=d.epoch_micros(args[0]), expression=num(10))),
                        expression=num(_TICKS_AT_EPOCH))  # fmt: skip
        return d.call("xxhash64_int", d.cast(ticks, _T.LONG), *modulo)
    return d.call("xxhash64_bytes", d.call("encode", text_arg(ctx, call, args, 0)), *modulo)
