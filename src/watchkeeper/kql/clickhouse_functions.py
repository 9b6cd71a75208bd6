"""ClickHouse spellings of the canonical scalar functions: renames, lambdas that take the list
second, strings counted in characters, bytes, hashes and bit operations.

:class:`~watchkeeper.kql.dialect_clickhouse.ClickHouseDialect` builds on this with the primitives
(types, time, regular expressions, JSON, aggregates).
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.dialects import Dialect, fn

__all__ = ["ClickHouseFunctions", "lambda_of", "literal_text", "re2", "signed"]


class ClickHouseFunctions(Dialect):
    """The canonical function vocabulary, spelled for ClickHouse."""

    renames: ClassVar[dict[str, str]] = {
        "lower": "lowerUTF8",
        "upper": "upperUTF8",
        "length": "lengthUTF8",
        "md5": "MD5",
        "sha256": "SHA256",
        "to_base64": "base64Encode",
        "from_base64": "tryBase64Decode",
        "url_decode": "decodeURLComponent",
        "reverse": "reverseUTF8",
        "starts_with": "startsWith",
        "ends_with": "endsWith",
        "contains": "position",
        "strpos": "positionUTF8",
        "ln": "log",
        "isnan": "isNaN",
        "isinf": "isInfinite",
        "isfinite": "isFinite",
        "gamma": "tgamma",
        "stddev_samp": "stddevSamp",
        "stddev_pop": "stddevPop",
        "var_samp": "varSamp",
        "var_pop": "varPop",
        "covar_samp": "covarSamp",
        "covar_pop": "covarPop",
        "bit_and": "groupBitAnd",
        "bit_or": "groupBitOr",
        "bit_xor": "groupBitXor",
        "bit_count": "bitCount",
        "any_value": "any",
        "log10": "log10",
        "log2": "log2",
        "pow": "pow",
        "greatest": "greatest",
        "least": "least",
        "string_agg": "arrayStringConcat",
        "concat": "concat",
        # DuckDB counts characters where ClickHouse's plain names count bytes
        "substring": "substringUTF8",
        "substr": "substringUTF8",
        "left": "leftUTF8",
        "right": "rightUTF8",
        "lpad": "leftPadUTF8",
        "rpad": "rightPadUTF8",
        "list_extract": "arrayElement",
        "array_to_string": "arrayStringConcat",
        "list_concat": "arrayConcat",
        "list_reverse": "arrayReverse",
        "list_sort": "arraySort",
        "list_reverse_sort": "arrayReverseSort",
        "flatten": "arrayFlatten",
        "list_contains": "has",
        "list_position": "indexOf",
        "list_min": "arrayMin",
        "list_max": "arrayMax",
        "list_append": "arrayPushBack",
        "gen_random_uuid": "generateUUIDv4",
        "strlen": "length",  # DuckDB's strlen counts bytes
        "struct_extract": "tupleElement",
        "octet_length": "length",
        "ltrim": "trimLeft",
        "rtrim": "trimRight",
    }

    def call(self, name: str, *args: exp.Expression) -> exp.Expression:
        """As :meth:`Dialect.call`; a host function (``wk_*``) needs a native spelling here, since
        ClickHouse cannot call back into Python: without one the function is refused by name."""
        if name.startswith("wk_") and getattr(self, f"fn_{name}", None) is None and name not in self.renames:
            raise UnsupportedError(f"{name.removeprefix('wk_')}() on ClickHouse: it runs in Python, "
                                   "which only the DuckDB store can call")  # fmt: skip
        return super().call(name, *args)

    def fn_list_transform(self, items: exp.Expression, lam: exp.Expression) -> exp.Expression:
        return fn("arrayMap", lam, items)

    def fn_list_bool_or(self, items: exp.Expression) -> exp.Expression:
        """DuckDB's ``list_bool_or`` (a null element counts as false) is ``arrayExists``."""
        return fn("arrayExists", _truthy(), items)

    def fn_list_bool_and(self, items: exp.Expression) -> exp.Expression:
        """DuckDB's ``list_bool_and`` (a null element counts as false) is ``arrayAll``."""
        return fn("arrayAll", _truthy(), items)

    def fn_list_filter(self, items: exp.Expression, lam: exp.Expression) -> exp.Expression:
        return fn("arrayFilter", lam, items)

    def fn_list_reduce(
        self, items: exp.Expression, lam: exp.Expression, initial: exp.Expression
    ) -> exp.Expression:
        """DuckDB's ``list_reduce(list, (acc, x) -> ..., initial)`` is ClickHouse's ``arrayFold``."""
        return fn("arrayFold", lam, items, initial)

    def fn_regexp_replace(self, value: exp.Expression, pattern: exp.Expression, rewrite: exp.Expression,
                          *_flags: exp.Expression) -> exp.Expression:  # fmt: skip
        return fn("replaceRegexpAll", value, re2(pattern), rewrite)

    def fn_is_valid_utf8(self, value: exp.Expression) -> exp.Expression:
        return fn("isValidUTF8", value)

    def fn_encode(self, value: exp.Expression) -> exp.Expression:
        """ClickHouse strings are bytes already (DuckDB's ``encode`` makes a BLOB of text)."""
        return value

    def fn_url_decode(self, value: exp.Expression) -> exp.Expression:
        return fn("decodeURLComponent", value)

    def fn_reverse(self, value: exp.Expression) -> exp.Expression:
        return fn("reverseUTF8", value)

    def fn_empty_strings(self) -> exp.Expression:
        return fn("emptyArrayString")

    def fn_row(self, *items: exp.Expression) -> exp.Expression:
        """DuckDB's ``row(...)`` (an unnamed struct) is a tuple here."""
        return fn("tuple", *items)

    def fn_translate(
        self, value: exp.Expression, search: exp.Expression, replace: exp.Expression
    ) -> exp.Expression:
        if literal_text(search) is None or literal_text(replace) is None:
            raise UnsupportedError("translate() with character lists computed per row, on ClickHouse "
                                   "(translateUTF8 takes constant lists)")  # fmt: skip
        return fn("translateUTF8", value, search, replace)

    def fn_xxhash64_bytes(self, data: exp.Expression, *modulo: exp.Expression) -> exp.Expression:
        hashed = fn("xxHash64", data)
        return fn("toInt64", exp.Mod(this=hashed, expression=modulo[0]) if modulo else hashed)

    def fn_xxhash64_int(self, value: exp.Expression, *modulo: exp.Expression) -> exp.Expression:
        return self.fn_xxhash64_bytes(fn("toInt64", value), *modulo)  # an Int64 hashes as its 8 bytes

    def fn_wk_parse_xml(self, value: exp.Expression) -> exp.Expression:
        raise UnsupportedError("parse_xml() on ClickHouse: ClickHouse has no XML parser, and watchkeeper's "
                               "Python one (wk_parse_xml) is registered only with DuckDB")  # fmt: skip

    def fn_base64_blob(self, value: exp.Expression) -> exp.Expression:
        empty = exp.EQ(this=value, expression=exp.Literal.string(""))
        return exp.If(
            this=empty, true=value, false=fn("nullIf", fn("tryBase64Decode", value), exp.Literal.string(""))
        )

    def fn_byte_list(self, blob: exp.Expression) -> exp.Expression:
        byte = fn("reinterpretAsUInt8", fn("unhex", exp.column("_wk_h")))
        lam = exp.Lambda(this=byte, expressions=[exp.to_identifier("_wk_h")])
        return fn("arrayMap", lam, fn("extractAll", fn("hex", blob), exp.Literal.string("..")))

    def fn_string_chars(self, value: exp.Expression) -> exp.Expression:
        return fn("extractAll", value, exp.Literal.string("(?s)."))

    def fn_codepoints(self, value: exp.Expression) -> exp.Expression:
        """Code points decoded from each character's UTF-8 bytes (ClickHouse has no ``unicode()``)."""
        c = exp.column("_wk_c")

        def byte(i: int, mask: int) -> exp.Expression:
            return fn("bitAnd", fn("reinterpretAsUInt8", fn("substring", c, exp.Literal.number(i), exp.Literal.number(1))),
                      exp.Literal.number(mask))  # fmt: skip

        def shifted(i: int, mask: int, bits: int) -> exp.Expression:
            return fn("bitShiftLeft", fn("toUInt32", byte(i, mask)), exp.Literal.number(bits))

        size = fn("length", c)
        point = fn("multiIf",
                   exp.EQ(this=size, expression=exp.Literal.number(1)), fn("toUInt32", byte(1, 0x7F)),
                   exp.EQ(this=size, expression=exp.Literal.number(2)), fn("bitOr", shifted(1, 0x1F, 6), byte(2, 0x3F)),
                   exp.EQ(this=size, expression=exp.Literal.number(3)),
                   fn("bitOr", fn("bitOr", shifted(1, 0x0F, 12), shifted(2, 0x3F, 6)), byte(3, 0x3F)),
                   fn("bitOr", fn("bitOr", shifted(1, 0x07, 18), shifted(2, 0x3F, 12)),
                      fn("bitOr", shifted(3, 0x3F, 6), byte(4, 0x3F))))  # fmt: skip
        return fn(
            "arrayMap",
            exp.Lambda(this=point, expressions=[exp.to_identifier("_wk_c")]),
            self.fn_string_chars(value),
        )

    def fn_chr(self, point: exp.Expression) -> exp.Expression:
        """The character of a code point, its UTF-8 bytes built with ``char()``."""

        def cont(bits: int) -> exp.Expression:
            low = fn("bitAnd", fn("bitShiftRight", point, exp.Literal.number(bits)), exp.Literal.number(0x3F))
            return fn("bitOr", exp.Literal.number(0x80), low)

        def lead(mark: int, bits: int) -> exp.Expression:
            return fn("bitOr", exp.Literal.number(mark), fn("bitShiftRight", point, exp.Literal.number(bits)))

        return fn("multiIf",
                  exp.LT(this=point, expression=exp.Literal.number(0x80)), fn("char", point),
                  exp.LT(this=point, expression=exp.Literal.number(0x800)), fn("char", lead(0xC0, 6), cont(0)),
                  exp.LT(this=point, expression=exp.Literal.number(0x10000)),
                  fn("char", lead(0xE0, 12), cont(6), cont(0)),
                  fn("char", lead(0xF0, 18), cont(12), cont(6), cont(0)))  # fmt: skip

    def fixed_decimals(self, value: exp.Expression, digits: int) -> exp.Expression:
        return fn("toDecimalString", fn("toFloat64", value), exp.Literal.number(digits))

    def fn_decode(self, value: exp.Expression) -> exp.Expression:
        return value

    def fn_md5(self, value: exp.Expression) -> exp.Expression:
        return fn("lower", fn("hex", fn("MD5", value)))

    def fn_sha1(self, value: exp.Expression) -> exp.Expression:
        return fn("lower", fn("hex", fn("SHA1", value)))

    def fn_sha256(self, value: exp.Expression) -> exp.Expression:
        return fn("lower", fn("hex", fn("SHA256", value)))

    def fn_base64_text(self, value: exp.Expression) -> exp.Expression:
        return fn("nullIf", fn("tryBase64Decode", value), exp.Literal.string(""))

    def fn_binary_and(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("bitAnd", left, right)

    def fn_binary_or(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("bitOr", left, right)

    def fn_binary_xor(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("bitXor", left, right)

    def fn_binary_not(self, value: exp.Expression) -> exp.Expression:
        return fn("bitNot", value)

    def fn_binary_shift_left(self, value: exp.Expression, bits: exp.Expression) -> exp.Expression:
        return fn("bitShiftLeft", value, bits)

    def fn_binary_shift_right(self, value: exp.Expression, bits: exp.Expression) -> exp.Expression:
        return fn("bitShiftRight", value, bits)

    def fn_hex_to_long(self, digits: exp.Expression) -> exp.Expression:
        padded = fn("leftPad", digits, exp.Literal.number(16), exp.Literal.string("0"))
        return fn("reinterpretAsInt64", fn("reverse", fn("unhex", padded)))

    def fn_split_part(
        self, value: exp.Expression, sep: exp.Expression, position: exp.Expression
    ) -> exp.Expression:
        return fn("arrayElement", fn("splitByString", sep, value), position)

    def fn_hex_to_int(self, text: exp.Expression) -> exp.Expression:
        digits = fn("leftPad", text, exp.Literal.number(16), exp.Literal.string("0"))
        valid = fn("match", text, exp.Literal.string("^[0-9A-Fa-f]{1,15}$"))
        number = fn("toInt64", fn("reinterpretAsUInt64", fn("reverse", fn("unhex", digits))))
        return exp.If(this=valid, true=number, false=exp.Null())

    def fn_to_int64(self, value: exp.Expression) -> exp.Expression:
        return fn("toInt64", value)

    def fn_list_slice(
        self, items: exp.Expression, start: exp.Expression, end: exp.Expression
    ) -> exp.Expression:
        """DuckDB's 1-based inclusive ``list_slice(l, start, end)``; ClickHouse takes a length."""
        length = exp.Add(this=exp.Paren(this=exp.Sub(this=exp.Paren(this=end), expression=exp.Paren(this=start))),
                         expression=exp.Literal.number(1))  # fmt: skip
        return fn("arraySlice", items, start.copy(), fn("greatest", length, exp.Literal.number(0)))

    def fn_list_sum(self, items: exp.Expression) -> exp.Expression:
        """Sum ignoring nulls (arraySum refuses Nullable elements)."""
        zeroed = fn("arrayMap", lambda_of(fn("ifNull", exp.column("_s"), exp.Literal.number(0)), "_s"), items)
        return fn("arraySum", zeroed)

    def fn_list(self, value: exp.Expression) -> exp.Expression:
        """DuckDB's ``list()`` aggregate keeps NULLs, ClickHouse's ``groupArray`` drops them:
        collect one-element tuples (never NULL) and unwrap them."""
        collected = fn("groupArray", fn("tuple", value))
        return fn(
            "arrayMap",
            lambda_of(fn("tupleElement", exp.column("_t"), exp.Literal.number(1)), "_t"),
            collected,
        )

    def fn_map(self, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
        """A map from two lists; a missing key reads as NULL (not as the type's default)."""
        nullable = fn("arrayMap", lambda_of(fn("toNullable", exp.column("_v")), "_v"), values)
        return fn("mapFromArrays", keys, nullable)

    def fn_random(self) -> exp.Expression:
        return fn("rand")

    def fn_uniform_random(self) -> exp.Expression:
        return fn("randCanonical")

    def fn_first(self, value: exp.Expression) -> exp.Expression:
        """Some row's value, null or not (``any`` skips nulls; a one-element tuple never is one)."""
        return fn("tupleElement", fn("any", fn("tuple", value)), exp.Literal.number(1))

    def fn_arg_max_null(self, value: exp.Expression, by: exp.Expression) -> exp.Expression:
        """``value`` on the row with the largest ``by``, even when ``value`` is null there."""
        return fn("tupleElement", fn("argMax", fn("tuple", value), by), exp.Literal.number(1))

    def fn_arg_min_null(self, value: exp.Expression, by: exp.Expression) -> exp.Expression:
        return fn("tupleElement", fn("argMin", fn("tuple", value), by), exp.Literal.number(1))

    def fn_length(self, value: exp.Expression) -> exp.Expression:
        return signed(fn("lengthUTF8", value))

    def fn_strlen(self, value: exp.Expression) -> exp.Expression:
        return signed(fn("length", value))

    def fn_octet_length(self, value: exp.Expression) -> exp.Expression:
        return signed(fn("length", value))

    def fn_strpos(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return signed(fn("positionUTF8", value, needle))

    def fn_regexp_escape(self, value: exp.Expression) -> exp.Expression:
        """Every regex metacharacter preceded by a backslash (DuckDB's regexp_escape)."""
        return fn(
            "replaceRegexpAll",
            value,
            exp.Literal.string(r"([\\^$.|?*+()\[\]{}-])"),
            exp.Literal.string(r"\\\1"),
        )


def signed(value: exp.Expression) -> exp.Expression:
    """A ClickHouse count or length (UInt64) as Kusto's long: UInt64 has no common type with Int64,
    so an ``iff``/``coalesce`` mixing the two would fail or turn into a Variant."""
    return fn("toInt64", value)


def lambda_of(body: exp.Expression, *names: str) -> exp.Expression:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


def literal_text(expr: exp.Expression) -> str | None:
    """The text of a string literal, or of a concatenation of string literals."""
    if isinstance(expr, exp.Literal) and expr.is_string:
        return str(expr.this)
    if isinstance(expr, exp.Concat):
        parts = [literal_text(e) for e in expr.expressions]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    return None


def re2(pattern: exp.Expression, *, constant: bool = True) -> exp.Expression:
    """A pattern with RE2's default ``.`` (not matching newline): ClickHouse turns ``s`` on, Kusto does not.

    Only ``match`` takes a pattern computed per row; ClickHouse's extracting and replacing
    functions need a constant one (``constant=True``)."""
    text = literal_text(pattern)
    if text is not None:
        return exp.Literal.string("(?-s)" + text)
    if constant:
        raise UnsupportedError("a regular expression computed per row, on ClickHouse (its regex extraction and "
                               "replacement functions take only constant patterns)")  # fmt: skip
    return exp.Concat(expressions=[exp.Literal.string("(?-s)"), pattern])


def _truthy() -> exp.Lambda:
    """``_b -> ifNull(_b, false)``: an element of a boolean array, a null one counting as false."""
    element = exp.column("_b")
    return exp.Lambda(this=fn("ifNull", element, exp.false()), expressions=[exp.to_identifier("_b")])
