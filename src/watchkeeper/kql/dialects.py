"""SQL dialects: what differs between DuckDB and ClickHouse, as data and small methods.

Lowering speaks one vocabulary of canonical SQL functions (DuckDB's spelling) and a handful of
primitives (types, literals, time arithmetic, JSON access). A :class:`Dialect` maps that vocabulary
to an engine: simple renames live in :attr:`Dialect.renames`; functions whose shape differs are
methods. Lowering never asks which dialect it has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql import clickhouse_json as chj
from watchkeeper.kql.clickhouse_sql import SQLGLOT_NAME
from watchkeeper.schema.types import KqlType

__all__ = ["ClickHouseDialect", "Dialect", "DuckDBDialect", "get_dialect", "fn", "json_path"]


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    """A function call spelled exactly ``name`` in the generated SQL."""
    return exp.Anonymous(this=name, expressions=list(args))


def json_path(parts: Sequence[str | int]) -> str:
    """A JSONPath for constant keys and indexes: ``['a', 0, 'b c']`` -> ``$.a[0]."b c"``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[#{part}]" if part < 0 else f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "." + json.dumps(part)
    return out


class Dialect:
    """Base: the canonical vocabulary, spelled for DuckDB."""

    name = "duckdb"
    sqlglot_dialect = "duckdb"
    renames: dict[str, str] = {}
    # correlated LATERAL subqueries (mv-apply runs its subquery per row through one)
    supports_lateral = True

    # ---------------------------------------------------------------- functions

    def call(self, name: str, *args: exp.Expression) -> exp.Expression:
        """A canonical function, spelled for this engine."""
        method = getattr(self, f"fn_{name}", None)
        if method is not None:
            result: exp.Expression = method(*args)
            return result
        return fn(self.renames.get(name, name), *args)

    def fn_base64_text(self, value: exp.Expression) -> exp.Expression:
        """Base64 text decoded to UTF-8 text, or NULL when it is not valid."""
        return fn("try", fn("decode", fn("from_base64", value)))

    def fn_binary_and(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return exp.BitwiseAnd(this=_operand(left), expression=_operand(right))

    def fn_binary_or(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return exp.BitwiseOr(this=_operand(left), expression=_operand(right))

    def fn_binary_xor(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("xor", left, right)

    def fn_binary_not(self, value: exp.Expression) -> exp.Expression:
        return exp.BitwiseNot(this=_operand(value))

    def fn_binary_shift_left(self, value: exp.Expression, bits: exp.Expression) -> exp.Expression:
        return exp.BitwiseLeftShift(this=_operand(value), expression=_operand(bits))

    def fn_binary_shift_right(self, value: exp.Expression, bits: exp.Expression) -> exp.Expression:
        return exp.BitwiseRightShift(this=_operand(value), expression=_operand(bits))

    def fn_uniform_random(self) -> exp.Expression:
        """A real in [0, 1)."""
        return fn("random")

    def fn_hex_to_long(self, digits: exp.Expression) -> exp.Expression:
        """Up to 16 hexadecimal digits as a signed 64-bit integer."""
        return exp.TryCast(this=exp.DPipe(this=exp.Literal.string("0x"), expression=digits), to=self.type(KqlType.LONG))

    def fn_is_valid_utf8(self, value: exp.Expression) -> exp.Expression:
        """DuckDB text is always valid UTF-8."""
        return exp.Not(this=exp.Is(this=value, expression=exp.Null()))

    def fn_xxhash64_bytes(self, data: exp.Expression, *modulo: exp.Expression) -> exp.Expression:
        """xxHash64 of a BLOB as a signed BIGINT, or the unsigned hash modulo ``modulo``."""
        from watchkeeper.kql.functions.xxhash import xxhash64_bytes_sql  # DuckDB has no xxHash64

        return xxhash64_bytes_sql(self, fn("hex", data), modulo[0] if modulo else None)

    def fn_xxhash64_int(self, value: exp.Expression, *modulo: exp.Expression) -> exp.Expression:
        """xxHash64 of the 8 little-endian bytes of a BIGINT (see :meth:`fn_xxhash64_bytes`)."""
        from watchkeeper.kql.functions.xxhash import xxhash64_int_sql

        return xxhash64_int_sql(self, value, modulo[0] if modulo else None)

    def fn_url_decode(self, value: exp.Expression) -> exp.Expression:
        """Percent-decoded text, NULL when the bytes are not UTF-8 (DuckDB would fail the query)."""
        return fn("try", fn("url_decode", value))

    def fn_base64_blob(self, value: exp.Expression) -> exp.Expression:
        """Base64 text decoded to bytes, or NULL when it is not valid (padding is required)."""
        return fn("try", fn("from_base64", value))

    def fn_byte_list(self, blob: exp.Expression) -> exp.Expression:
        """A SQL list of the byte values (0-255) of a BLOB."""
        pair = exp.Cast(this=exp.DPipe(this=exp.Literal.string("0x"), expression=exp.column("_wk_h")),
                        to=exp.DataType.build("INTEGER"))  # fmt: skip
        lam = exp.Lambda(this=pair, expressions=[exp.to_identifier("_wk_h")])
        return fn("list_transform", fn("regexp_extract_all", fn("hex", blob), exp.Literal.string("..")), lam)

    def fn_string_chars(self, value: exp.Expression) -> exp.Expression:
        """A SQL list of the characters (code points) of a string."""
        return fn("string_split", value, exp.Literal.string(""))

    def fn_codepoints(self, value: exp.Expression) -> exp.Expression:
        lam = exp.Lambda(this=fn("unicode", exp.column("_wk_c")), expressions=[exp.to_identifier("_wk_c")])
        return fn("list_transform", self.fn_string_chars(value), lam)

    def fn_chr(self, point: exp.Expression) -> exp.Expression:
        return fn("chr", exp.Cast(this=point, to=exp.DataType.build("INTEGER")))

    def fn_empty_strings(self) -> exp.Expression:
        """An empty SQL list of strings (typed, so it can start a ``list_reduce``)."""
        return exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]", dialect="duckdb"))

    def fn_reverse(self, value: exp.Expression) -> exp.Expression:
        """The code points in reverse order (DuckDB's ``reverse`` keeps grapheme clusters together)."""
        return fn("array_to_string", fn("list_reverse", self.fn_string_chars(value)), exp.Literal.string(""))

    def fixed_decimals(self, value: exp.Expression, digits: int) -> exp.Expression:
        """A number as text with exactly ``digits`` decimals, halves rounded away from zero (.NET's "F")."""
        rounded = fn("round", value, exp.Literal.number(digits))
        return fn("printf", exp.Literal.string(f"%.{digits}f"), rounded)

    # ---------------------------------------------------------------- types and literals

    def type(self, kql_type: KqlType) -> exp.DataType:
        return exp.DataType.build(_DUCKDB_TYPES[kql_type], dialect="duckdb")

    def cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        return exp.Cast(this=expr, to=self.type(kql_type))

    def try_cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        return exp.TryCast(this=expr, to=self.type(kql_type))

    def null(self, kql_type: KqlType) -> exp.Expression:
        if kql_type is KqlType.UNKNOWN:
            return exp.Null()
        return self.cast(exp.Null(), kql_type)

    def literal(self, value: Any, kql_type: KqlType) -> exp.Expression:
        """A constant as SQL; values are rendered by sqlglot, never by string formatting."""
        if value is None:
            return self.null(kql_type)
        if kql_type is KqlType.BOOL:
            return exp.true() if value else exp.false()
        if kql_type in (KqlType.LONG, KqlType.TIMESPAN):
            return self.cast(exp.Literal.number(int(value)), KqlType.LONG)
        if kql_type is KqlType.INT:
            return self.cast(exp.Literal.number(int(value)), KqlType.INT)
        if kql_type is KqlType.REAL:
            return self.real_literal(float(value))
        if kql_type is KqlType.DECIMAL:
            return self.cast(exp.Literal.string(str(Decimal(value))), KqlType.DECIMAL)
        if kql_type is KqlType.DATETIME:
            return self.datetime_literal(value)
        if kql_type is KqlType.GUID:
            return self.cast(exp.Literal.string(str(value)), KqlType.GUID)
        if kql_type is KqlType.DYNAMIC:
            return self.json_literal(value)
        return exp.Literal.string(str(value))

    def real_literal(self, value: float) -> exp.Expression:
        if value != value or value in (float("inf"), float("-inf")):
            text = "nan" if value != value else ("inf" if value > 0 else "-inf")
            return self.cast(exp.Literal.string(text), KqlType.REAL)
        return self.cast(exp.Literal.number(repr(value)), KqlType.REAL)

    def datetime_literal(self, value: datetime) -> exp.Expression:
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"
        return exp.Cast(this=exp.Literal.string(text), to=self.type(KqlType.DATETIME))

    def json_literal(self, value: Any) -> exp.Expression:
        return exp.Cast(this=exp.Literal.string(json.dumps(value)), to=self.type(KqlType.DYNAMIC))

    # ---------------------------------------------------------------- time

    def epoch_micros(self, value: exp.Expression) -> exp.Expression:
        return fn("epoch_us", value)

    def from_epoch_micros(self, micros: exp.Expression) -> exp.Expression:
        return fn("make_timestamptz", micros)

    def add_micros(self, value: exp.Expression, micros: exp.Expression) -> exp.Expression:
        return exp.Add(this=value, expression=fn("to_microseconds", micros))

    def truncate(self, unit: str, value: exp.Expression) -> exp.Expression:
        """Start of the calendar ``unit`` (year, quarter, month, week, day) containing ``value``."""
        return fn("date_trunc", exp.Literal.string(unit), value)

    def date_part(self, unit: str, value: exp.Expression) -> exp.Expression:
        return fn("date_part", exp.Literal.string(unit), value)

    def add_months(self, value: exp.Expression, months: exp.Expression) -> exp.Expression:
        return exp.Add(this=value, expression=fn("to_months", exp.Cast(this=months, to=exp.DataType.build("INT"))))

    def strftime(self, value: exp.Expression, fmt: str) -> exp.Expression:
        return fn("strftime", value, exp.Literal.string(fmt))

    def parse_datetime(self, text: exp.Expression, formats: Sequence[str] = ()) -> exp.Expression:
        """A string in a common datetime form to a datetime, or NULL; ``formats`` (strptime) are
        tried after ISO 8601."""
        iso = exp.TryCast(this=text, to=self.type(KqlType.DATETIME))
        if not formats:
            return iso
        listed = exp.Array(expressions=[exp.Literal.string(f) for f in formats])
        parsed = fn("try_strptime", exp.Trim(this=text.copy()), listed)
        return exp.Coalesce(this=iso, expressions=[exp.Cast(this=parsed, to=self.type(KqlType.DATETIME))])

    def utc_to_local(self, value: exp.Expression, zone: exp.Expression) -> exp.Expression:
        """The wall-clock time in ``zone`` (an IANA name) of a UTC instant, as a datetime value."""
        return exp.Cast(this=fn("timezone", zone, value), to=self.type(KqlType.DATETIME))

    def local_to_utc(self, value: exp.Expression, zone: exp.Expression) -> exp.Expression:
        """The UTC instant of the wall-clock time ``value`` in ``zone``."""
        return fn("timezone", zone, exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP")))

    # ---------------------------------------------------------------- integers

    def int_div(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        """Integer division truncating towards zero (C#/Kusto semantics)."""
        return exp.IntDiv(this=_operand(left), expression=_operand(right))

    # ---------------------------------------------------------------- strings

    def ilike(self, value: exp.Expression, pattern: str) -> exp.Expression:
        """Case-insensitive LIKE with ``\\`` as the escape character."""
        like = exp.ILike(this=value, expression=exp.Literal.string(pattern))
        if "\\" in pattern:
            return exp.Escape(this=like, expression=exp.Literal.string("\\"))
        return like

    def like(self, value: exp.Expression, pattern: str) -> exp.Expression:
        like = exp.Like(this=value, expression=exp.Literal.string(pattern))
        if "\\" in pattern:
            return exp.Escape(this=like, expression=exp.Literal.string("\\"))
        return like

    def regex_match(self, value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return fn("regexp_matches", value, pattern)

    def regex_extract(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        """Group ``group`` of the first match; '' when there is no match (one regex evaluation)."""
        return fn("regexp_extract", value, pattern, exp.Literal.number(group))

    def regex_extract_all(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        """A SQL list of group ``group`` of every match."""
        return fn("regexp_extract_all", value, pattern, exp.Literal.number(group))

    def regex_groups(self, value: exp.Expression, pattern: exp.Expression, count: int) -> exp.Expression:
        """A SQL list of groups 1..count of the first match; each ``''`` when there is no match
        (``value`` is repeated: bind it first when it is not a column)."""
        return exp.Array(expressions=[fn("regexp_extract", value.copy(), pattern, exp.Literal.number(i))
                                      for i in range(1, count + 1)])  # fmt: skip

    def fn_hex_to_int(self, text: exp.Expression) -> exp.Expression:
        """Up to 15 hex digits as a BIGINT (NULL when not hex)."""
        return exp.TryCast(this=exp.DPipe(this=exp.Literal.string("0x"), expression=text), to=exp.DataType.build("BIGINT"))

    def split(self, value: exp.Expression, sep: exp.Expression) -> exp.Expression:
        """A SQL list of strings."""
        return fn("string_split", value, sep)

    def list_to_json(self, value: exp.Expression) -> exp.Expression:
        """A SQL list as a dynamic array; an absent list becomes ``[]``."""
        return exp.Coalesce(this=fn("to_json", value), expressions=[self.json_literal([])])

    # ---------------------------------------------------------------- dynamic (JSON)

    def json_get(self, value: exp.Expression, path: str) -> exp.Expression:
        """The JSON value at a constant path (NULL when absent)."""
        return fn("json_extract", value, exp.Literal.string(path))

    def json_get_dynamic(self, value: exp.Expression, key: exp.Expression, is_index: bool) -> exp.Expression:
        """The JSON value at a run-time key or index."""
        if is_index:
            return fn("json_extract", value, key)
        return fn("json_extract", value, exp.DPipe(this=exp.Literal.string("$."), expression=key))

    def json_text(self, value: exp.Expression, path: str = "$") -> exp.Expression:
        """Kusto's tostring() of the JSON value at ``path``: strings unquoted, others as JSON text."""
        return fn("json_extract_string", value, exp.Literal.string(path))

    def json_type(self, value: exp.Expression) -> exp.Expression:
        """'ARRAY', 'OBJECT', 'VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN', 'NULL'."""
        return fn("json_type", value)

    def json_array_length(self, value: exp.Expression) -> exp.Expression:
        return fn("json_array_length", value)

    def to_json(self, value: exp.Expression) -> exp.Expression:
        return fn("to_json", value)

    def json_value(self, value: exp.Expression) -> exp.Expression:
        """A value of KQL type dynamic about to become an element of a built array or bag. DuckDB's
        JSON type says so itself; an engine storing JSON as text needs to be told."""
        return value

    def json_array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        return fn("json_array", *items)

    def json_object(self, pairs: Sequence[exp.Expression]) -> exp.Expression:
        return fn("json_object", *pairs)

    def json_elements(self, value: exp.Expression) -> exp.Expression:
        """A SQL list of the JSON elements of an array (NULL when the value is not an array)."""
        return exp.TryCast(this=value, to=exp.DataType.build("JSON[]", dialect="duckdb"))

    def json_keys(self, value: exp.Expression) -> exp.Expression:
        return fn("json_keys", value)

    def json_parse(self, text: exp.Expression) -> exp.Expression:
        """Kusto's parse_json: JSON text to dynamic; text that is not JSON becomes a JSON string."""
        valid = fn("json_valid", text)
        return exp.Case(
            ifs=[exp.If(this=exp.Is(this=text, expression=exp.Null()), true=exp.Null()),
                 exp.If(this=valid, true=exp.Cast(this=text, to=self.type(KqlType.DYNAMIC)))],
            default=self.to_json(text),
        )  # fmt: skip

    # ---------------------------------------------------------------- aggregates

    def agg_filter(self, agg: exp.Expression, cond: exp.Expression) -> exp.Expression:
        """An aggregate over the rows where ``cond`` holds (Kusto's ``*if`` aggregates)."""
        return exp.Filter(this=agg, expression=exp.Where(this=cond))

    def count_if(self, cond: exp.Expression) -> exp.Expression:
        return fn("count_if", cond)

    def count_distinct(self, value: exp.Expression) -> exp.Expression:
        return exp.Count(this=exp.Distinct(expressions=[value]))

    def collect(
        self, value: exp.Expression, cond: exp.Expression | None, *, distinct: bool, flatten: bool
    ) -> exp.Expression:
        """A SQL list of the non-null values (``make_list``/``make_set``); sets come out sorted.

        ``flatten`` spreads JSON arrays into their elements (Kusto's make_set of arrays)."""
        keep: exp.Expression = exp.Not(this=exp.Is(this=value, expression=exp.Null()))
        if cond is not None:
            keep = exp.And(this=exp.Paren(this=cond), expression=keep)
        element = value
        if flatten:
            is_array = exp.EQ(this=self.json_type(value), expression=exp.Literal.string("ARRAY"))
            element = exp.If(this=is_array, true=self.json_elements(value), false=exp.Array(expressions=[value]))
        listed: exp.Expression = exp.Filter(this=fn("list", element), expression=exp.Where(this=keep))
        if flatten:
            listed = fn("flatten", listed)
        if distinct:
            listed = fn("list_sort", fn("list_distinct", listed))
        return listed

    def merge_objects(self, value: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
        """``make_bag``: the JSON objects of the group merged into one."""
        keep: exp.Expression = exp.EQ(this=self.json_type(value), expression=exp.Literal.string("OBJECT"))
        if cond is not None:
            keep = exp.And(this=exp.Paren(this=cond), expression=keep)
        listed = exp.Filter(this=fn("list", value), expression=exp.Where(this=keep))
        lam = exp.Lambda(this=fn("json_merge_patch", exp.column("_a"), exp.column("_b")),
                         expressions=[exp.to_identifier("_a"), exp.to_identifier("_b")])  # fmt: skip
        merged = exp.If(this=exp.GT(this=fn("len", listed), expression=exp.Literal.number(0)),
                        true=fn("list_reduce", listed, lam), false=exp.Null())  # fmt: skip
        return exp.Coalesce(this=merged, expressions=[self.json_literal({})])

    def quantile(self, value: exp.Expression, fractions: list[float], *, single: bool) -> exp.Expression:
        """Nearest-rank percentile(s); a SQL list when not ``single``."""
        if single:
            return fn("quantile_disc", value, exp.Literal.number(fractions[0]))
        return fn("quantile_disc", value, exp.Array(expressions=[exp.Literal.number(f) for f in fractions]))

    def weighted_quantile(self, value: exp.Expression, weight: exp.Expression, fraction: float) -> exp.Expression:
        raise UnsupportedError("percentilew() on DuckDB")

    # ---------------------------------------------------------------- lists (SQL arrays)

    def list_length(self, value: exp.Expression) -> exp.Expression:
        return fn("len", value)

    def generate_series(self, count: exp.Expression) -> exp.Expression:
        """The SQL list 0 .. count-1."""
        return fn("range", count)

    def unnest(self, value: exp.Expression) -> exp.Expression:
        return exp.Unnest(expressions=[value])

    def union_by_name(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        """``UNION ALL`` lining the inputs up by column name (inputs of unknown columns)."""
        return exp.Union(this=left, expression=right, distinct=False, by_name=True)

    def read_external(
        self, uri: str, fmt: str, columns: list[tuple[str, KqlType]], skip_first: bool
    ) -> exp.Expression:
        """A FROM source reading ``uri`` (``externaldata``) with the given columns as text."""
        spec = exp.Struct(expressions=[exp.PropertyEQ(this=exp.Literal.string(n), expression=exp.Literal.string(
            "VARCHAR")) for n, _ in columns])  # fmt: skip
        if fmt in ("json", "multijson"):
            reader = fn("read_json", exp.Literal.string(uri), exp.PropertyEQ(this=exp.column("columns"), expression=spec))
        else:
            delimiter = {"tsv": "\t", "tsve": "\t", "psv": "|", "scsv": ";"}.get(fmt, ",")
            reader = fn("read_csv", exp.Literal.string(uri),
                        exp.PropertyEQ(this=exp.column("columns"), expression=spec),
                        exp.PropertyEQ(this=exp.column("header"), expression=exp.Boolean(this=skip_first)),
                        exp.PropertyEQ(this=exp.column("delim"), expression=exp.Literal.string(delimiter)))  # fmt: skip
        return exp.Table(this=reader)

    def series(self, count: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
        """A FROM source of ``count`` rows and the column numbering them 0 .. count-1."""
        source = exp.Table(this=fn("range", count),
                           alias=exp.TableAlias(this=exp.to_identifier("_wk_r"), columns=[exp.to_identifier("i")]))  # fmt: skip
        return source, exp.column("i", table="_wk_r")

    def mv_elements(self, value: exp.Expression, kql_type: KqlType, bag_mode: str) -> exp.Expression:
        """The SQL list ``mv-expand`` turns into rows: array elements, one entry per bag property
        (``{"k": v}``, or ``["k", v]`` with ``bag_mode == "array"``), the value itself for a scalar,
        and one null for null (an empty array or bag gives no rows)."""
        if kql_type not in (KqlType.DYNAMIC, KqlType.UNKNOWN):
            return exp.Array(expressions=[self.to_json(value)])
        kind = self.json_type(value)
        key = exp.column("_k")
        path = exp.Concat(expressions=[exp.Literal.string('$."'), fn("replace", key, exp.Literal.string('"'),
                          exp.Literal.string('\\"')), exp.Literal.string('"')])  # fmt: skip
        member = fn("json_extract", value, path)
        entry = self.json_array([key, member]) if bag_mode == "array" else self.json_object([key, member])
        entries = fn("list_transform", self.json_keys(value), exp.Lambda(this=entry, expressions=[exp.to_identifier("_k")]))
        null_row = exp.Array(expressions=[self.null(KqlType.DYNAMIC)])
        return exp.Case(
            ifs=[exp.If(this=exp.Is(this=value, expression=exp.Null()), true=null_row),
                 exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("ARRAY")), true=self.json_elements(value)),
                 exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("OBJECT")), true=entries)],
            default=exp.Array(expressions=[value]),
        )  # fmt: skip

    # ---------------------------------------------------------------- dynamic values as SQL lists

    def json_member(self, value: exp.Expression, key: exp.Expression) -> exp.Expression:
        """The JSON value of the property named by a run-time string ``key`` (any characters)."""
        quoted = fn("replace", fn("replace", key, exp.Literal.string("\\"), exp.Literal.string("\\\\")),
                    exp.Literal.string('"'), exp.Literal.string('\\"'))  # fmt: skip
        path = exp.Concat(expressions=[exp.Literal.string('$."'), quoted, exp.Literal.string('"')])
        return fn("json_extract", value, path)

    def json_number(self, value: exp.Expression) -> exp.Expression:
        """A JSON number as a DOUBLE; NULL for anything else (strings, bools, null)."""
        numeric = exp.In(this=fn("json_type", value), expressions=[exp.Literal.string(t) for t in _JSON_NUMBERS])
        return exp.If(this=numeric, true=exp.TryCast(this=value, to=self.type(KqlType.REAL)), false=exp.Null())

    def json_from_elements(self, items: exp.Expression) -> exp.Expression:
        """A dynamic array from a SQL list of JSON values (what :meth:`json_elements` returns)."""
        return exp.Coalesce(this=fn("to_json", items), expressions=[self.json_literal([])])

    def json_object_from(self, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
        """A dynamic bag from a SQL list of distinct keys and a list of JSON values."""
        return exp.Coalesce(this=fn("to_json", fn("map", keys, values)), expressions=[self.json_literal({})])

    def list_unique(self, items: exp.Expression) -> exp.Expression:
        """The distinct elements of a SQL list in first-occurrence order (Kusto's sets keep it)."""
        same = exp.EQ(this=fn("list_position", items.copy(), exp.column("_u")), expression=exp.column("_ui"))
        keep = exp.Lambda(this=same, expressions=[exp.to_identifier("_u"), exp.to_identifier("_ui")])
        return fn("list_filter", items, keep)

    def fn_to_int64(self, value: exp.Expression) -> exp.Expression:
        """A signed 64-bit integer (ClickHouse's lengths are unsigned and refuse to mix with signed)."""
        return exp.Cast(this=value, to=exp.DataType.build("BIGINT"))

    def json_kind(self, value: exp.Expression) -> exp.Expression:
        """'null', 'bool', 'number', 'string', 'array' or 'object' (NULL for a SQL NULL)."""
        kind = fn("json_type", value)
        numeric = exp.In(this=kind.copy(), expressions=[exp.Literal.string(t) for t in _JSON_NUMBERS])
        names = [("VARCHAR", "string"), ("BOOLEAN", "bool"), ("ARRAY", "array"), ("OBJECT", "object"), ("NULL", "null")]
        ifs = [exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string(k)), true=exp.Literal.string(v))
               for k, v in names]  # fmt: skip
        ifs.append(exp.If(this=numeric, true=exp.Literal.string("number")))
        return exp.Case(ifs=ifs)

    def row(self, *values: exp.Expression) -> exp.Expression:
        """An unnamed record; lists of records sort field by field."""
        return fn("row", *values)

    def row_field(self, record: exp.Expression, position: int) -> exp.Expression:
        """Field ``position`` (1-based) of a :meth:`row`."""
        return fn("struct_extract", record, exp.Literal.number(position))


class DuckDBDialect(Dialect):
    """DuckDB: the canonical vocabulary is DuckDB's, so almost nothing is overridden."""


class ClickHouseDialect(Dialect):
    """ClickHouse (server, or chdb in process)."""

    name = "clickhouse"
    sqlglot_dialect = SQLGLOT_NAME
    supports_lateral = False
    renames = {
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
        "strlen": "length",  # DuckDB's strlen counts bytes
        "struct_extract": "tupleElement",
        "list_append": "arrayPushBack",
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

    # ---------------------------------------------------------------- lambdas take the list second

    def fn_list_transform(self, items: exp.Expression, lam: exp.Expression) -> exp.Expression:
        return fn("arrayMap", lam, items)

    def fn_list_filter(self, items: exp.Expression, lam: exp.Expression) -> exp.Expression:
        return fn("arrayFilter", lam, items)

    def fn_list_reduce(self, items: exp.Expression, lam: exp.Expression, initial: exp.Expression) -> exp.Expression:
        """DuckDB's ``list_reduce(list, (acc, x) -> ..., initial)`` is ClickHouse's ``arrayFold``."""
        return fn("arrayFold", lam, items, initial)

    def fn_regexp_replace(self, value: exp.Expression, pattern: exp.Expression, rewrite: exp.Expression,
                          *_flags: exp.Expression) -> exp.Expression:  # fmt: skip
        return fn("replaceRegexpAll", value, _re2(pattern), rewrite)

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

    def fn_translate(self, value: exp.Expression, search: exp.Expression, replace: exp.Expression) -> exp.Expression:
        if _literal_text(search) is None or _literal_text(replace) is None:
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
        return exp.If(this=empty, true=value, false=fn("nullIf", fn("tryBase64Decode", value), exp.Literal.string("")))

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
        return fn("arrayMap", exp.Lambda(this=point, expressions=[exp.to_identifier("_wk_c")]), self.fn_string_chars(value))

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

    def fn_split_part(self, value: exp.Expression, sep: exp.Expression, position: exp.Expression) -> exp.Expression:
        return fn("arrayElement", fn("splitByString", sep, value), position)

    def type(self, kql_type: KqlType) -> exp.DataType:
        return exp.DataType.build(_CLICKHOUSE_TYPES[kql_type], dialect="clickhouse")

    def cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        inner = _CLICKHOUSE_TYPES[kql_type]
        return exp.Cast(this=expr, to=exp.DataType.build(f"Nullable({inner})", dialect="clickhouse"))

    def try_cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        target = _CLICKHOUSE_TYPES[kql_type]
        return fn("accurateCastOrNull", expr, exp.Literal.string(target))

    def datetime_literal(self, value: datetime) -> exp.Expression:
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return fn("toDateTime64", exp.Literal.string(text), exp.Literal.number(6), exp.Literal.string("UTC"))

    def json_literal(self, value: Any) -> exp.Expression:
        return chj.mark(exp.Literal.string(json.dumps(value, separators=(",", ":"))))

    def epoch_micros(self, value: exp.Expression) -> exp.Expression:
        return fn("toUnixTimestamp64Micro", value)

    def from_epoch_micros(self, micros: exp.Expression) -> exp.Expression:
        return fn("fromUnixTimestamp64Micro", exp.Cast(this=micros, to=exp.DataType.build("Int64")),
                  exp.Literal.string("UTC"))  # fmt: skip

    def add_micros(self, value: exp.Expression, micros: exp.Expression) -> exp.Expression:
        return fn("addMicroseconds", value, micros)

    def truncate(self, unit: str, value: exp.Expression) -> exp.Expression:
        names = {"year": "toStartOfYear", "quarter": "toStartOfQuarter", "month": "toStartOfMonth",
                 "week": "toStartOfWeek", "day": "toStartOfDay", "hour": "toStartOfHour"}  # fmt: skip
        start = fn(names[unit], value)
        return fn("toDateTime64", start, exp.Literal.number(6), exp.Literal.string("UTC"))

    def date_part(self, unit: str, value: exp.Expression) -> exp.Expression:
        names = {"year": "toYear", "month": "toMonth", "day": "toDayOfMonth", "hour": "toHour",
                 "minute": "toMinute", "second": "toSecond", "dayofyear": "toDayOfYear",
                 "quarter": "toQuarter", "dow": "toDayOfWeek", "week": "toISOWeek",
                 "millisecond": "toMillisecond"}  # fmt: skip
        if unit == "dow":  # ClickHouse numbers Monday 1..Sunday 7; Kusto/DuckDB Sunday 0
            return exp.Mod(this=fn("toDayOfWeek", value), expression=exp.Literal.number(7))
        return fn(names[unit], value)

    def add_months(self, value: exp.Expression, months: exp.Expression) -> exp.Expression:
        return fn("addMonths", value, months)

    def strftime(self, value: exp.Expression, fmt: str) -> exp.Expression:
        # ClickHouse's %M is the month's name; its minutes are %i
        return fn("formatDateTime", value, exp.Literal.string(fmt.replace("%M", "%i")))

    def parse_datetime(self, text: exp.Expression, formats: Sequence[str] = ()) -> exp.Expression:
        # best effort covers the strptime forms (the US variant reads 12/02/2022 month first, as Kusto
        # does) but also takes "2" or "13-01-2022"; the guard keeps it to text that has a full date
        parsed = fn("parseDateTime64BestEffortUSOrNull", text, exp.Literal.number(6), exp.Literal.string("UTC"))
        guard = fn("match", text.copy(), exp.Literal.string(_DATE_SHAPE))
        return exp.If(this=guard, true=parsed, false=exp.Null())

    def utc_to_local(self, value: exp.Expression, zone: exp.Expression) -> exp.Expression:
        _constant_zone(zone)
        return fn("addSeconds", value, fn("timeZoneOffset", fn("toTimeZone", value.copy(), zone)))

    def local_to_utc(self, value: exp.Expression, zone: exp.Expression) -> exp.Expression:
        _constant_zone(zone)
        local = fn("toDateTime64", fn("toString", value), exp.Literal.number(6), zone)
        return fn("toTimeZone", local, exp.Literal.string("UTC"))

    def int_div(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("intDivOrZero", left, right)

    def ilike(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.ILike(this=value, expression=exp.Literal.string(pattern))

    def like(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.Like(this=value, expression=exp.Literal.string(pattern))

    def regex_match(self, value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return fn("match", value, _re2(pattern, constant=False))

    def regex_extract(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        matched = self.regex_match(value, pattern)
        extract = fn("regexpExtract", value, _re2(pattern), exp.Literal.number(group))
        return exp.If(this=matched, true=extract, false=exp.Null())

    def regex_extract_all(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        if not group:  # every whole match: extractAll would return the first group of a pattern with groups
            pattern = exp.Concat(expressions=[exp.Literal.string("("), pattern, exp.Literal.string(")")])
            group = 1
        groups = fn("extractAllGroups", value, _re2(pattern))
        # arrayElement, not a Bracket: sqlglot shifts ClickHouse subscripts by one
        lam = exp.Lambda(this=fn("arrayElement", exp.column("g"), exp.Literal.number(group)),
                         expressions=[exp.to_identifier("g")])  # fmt: skip
        return fn("arrayMap", lam, groups)

    def regex_groups(self, value: exp.Expression, pattern: exp.Expression, count: int) -> exp.Expression:
        return fn("extractGroups", value, _re2(pattern))  # [] when there is no match: elements read ''

    def fn_hex_to_int(self, text: exp.Expression) -> exp.Expression:
        digits = fn("leftPad", text, exp.Literal.number(16), exp.Literal.string("0"))
        valid = fn("match", text, exp.Literal.string("^[0-9A-Fa-f]{1,15}$"))
        number = fn("toInt64", fn("reinterpretAsUInt64", fn("reverse", fn("unhex", digits))))
        return exp.If(this=valid, true=number, false=exp.Null())

    def split(self, value: exp.Expression, sep: exp.Expression) -> exp.Expression:
        return fn("splitByString", sep, value)

    def list_to_json(self, value: exp.Expression) -> exp.Expression:
        if chj.is_json(value):
            return self.json_from_elements(value)
        return chj.mark(fn("toJSONString", value))

    def agg_filter(self, agg: exp.Expression, cond: exp.Expression) -> exp.Expression:
        """The ``-If`` combinator (ClickHouse has no FILTER clause), inside the wrappers the
        dialect puts around aggregates (``toInt64``, the JSON mark)."""
        if isinstance(agg, exp.Anonymous) and agg.name in ("toInt64", chj.MARK) and len(agg.expressions) == 1:
            return fn(agg.name, self.agg_filter(agg.expressions[0], cond))
        if isinstance(agg, exp.Anonymous):
            return fn(f"{agg.name}If", *agg.expressions, cond)
        names: dict[type[exp.Expression], str] = {exp.Sum: "sumIf", exp.Avg: "avgIf", exp.Min: "minIf", exp.Max: "maxIf"}
        name = names.get(type(agg))
        if name is None:
            raise UnsupportedError(f"conditional aggregate {agg.sql('clickhouse')} on ClickHouse")
        return fn(name, agg.this, cond)

    def count_if(self, cond: exp.Expression) -> exp.Expression:
        return _signed(fn("countIf", cond))

    def count_distinct(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("uniqExact", value))

    def collect(
        self, value: exp.Expression, cond: exp.Expression | None, *, distinct: bool, flatten: bool
    ) -> exp.Expression:
        element = value
        if flatten:  # an array spreads into its elements, any other value counts as itself
            text = fn("ifNull", chj.unmark(value), exp.Literal.string(""))
            is_array = exp.EQ(this=fn("JSONType", text), expression=exp.Literal.string("Array"))
            element = exp.If(this=is_array, true=fn("JSONExtractArrayRaw", text.copy()),
                             false=fn("arrayFilter", _lambda(fn("notEmpty", exp.column("_e")), "_e"),
                                      exp.Array(expressions=[text.copy()])))  # fmt: skip
        name = "groupArray"
        listed = fn(f"{name}If", element, cond) if cond is not None else fn(name, element)
        if flatten:
            listed = fn("arrayFlatten", listed)
        if distinct:
            listed = fn("arraySort", fn("arrayDistinct", listed))
        return listed

    def merge_objects(self, value: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
        """``make_bag``: the members of the group's objects; a key seen twice keeps its first value."""
        text = fn("ifNull", chj.unmark(value), exp.Literal.string(""))
        keep: exp.Expression = exp.EQ(this=fn("JSONType", text), expression=exp.Literal.string("Object"))
        if cond is not None:
            keep = exp.And(this=exp.Paren(this=cond), expression=keep)
        pairs = fn("arrayFlatten", fn("groupArrayIf", fn("JSONExtractKeysAndValuesRaw", text.copy()), keep))

        def part(n: int, items: exp.Expression) -> exp.Expression:
            return fn("arrayMap", _lambda(fn("tupleElement", exp.column("_p"), exp.Literal.number(n)), "_p"), items)

        first = exp.EQ(this=fn("indexOf", part(1, pairs.copy()), fn("tupleElement", exp.column("_p"), exp.Literal.number(1))),
                       expression=exp.column("_i"))  # fmt: skip
        unique = fn("arrayFilter", _lambda(first, "_p", "_i"), pairs.copy(), fn("arrayEnumerate", pairs.copy()))
        return self.json_object_from(part(1, unique), part(2, unique.copy()))

    def quantile(self, value: exp.Expression, fractions: list[float], *, single: bool) -> exp.Expression:
        """Kusto's nearest-rank percentile: the value at 1-based rank ceil(p * n) of the sorted
        non-null values (ClickHouse's quantileExact* interpolate or round differently)."""
        ranked = [self._nearest_rank(value, f) for f in fractions]
        return ranked[0] if single else exp.Array(expressions=ranked)

    def weighted_quantile(self, value: exp.Expression, weight: exp.Expression, fraction: float) -> exp.Expression:
        return exp.ParameterizedAgg(this="quantileExactWeighted", expressions=[exp.Literal.number(fraction)],
                                    params=[value, weight])  # fmt: skip

    def json_get(self, value: exp.Expression, path: str) -> exp.Expression:
        keys = chj.json_path_args(path)
        if not keys:
            return value
        return chj.mark(fn("nullIf", fn("JSONExtractRaw", chj.unmark(value), *keys), exp.Literal.string("")))

    def json_get_dynamic(self, value: exp.Expression, key: exp.Expression, is_index: bool) -> exp.Expression:
        if is_index:  # JSONExtractRaw counts from 1, and from the end with negative indexes (as Kusto does)
            key = fn("assumeNotNull", key)
            key = exp.If(this=exp.GTE(this=key, expression=exp.Literal.number(0)),
                         true=exp.Add(this=key.copy(), expression=exp.Literal.number(1)), false=key.copy())  # fmt: skip
        else:
            key = fn("ifNull", key, exp.Literal.string(""))
        return chj.mark(fn("nullIf", fn("JSONExtractRaw", chj.unmark(value), key), exp.Literal.string("")))

    def json_text(self, value: exp.Expression, path: str = "$") -> exp.Expression:
        source, keys = self._json_location(value, path)
        raw = fn("JSONExtractRaw", source, *keys)  # also with no keys: it normalises the JSON text

        def text(r: exp.Expression) -> exp.Expression:
            is_string = fn("startsWith", r, exp.Literal.string('"'))
            missing = exp.In(this=r.copy(), expressions=[exp.Literal.string(""), exp.Literal.string("null")])
            return exp.Case(ifs=[exp.If(this=is_string, true=fn("JSONExtractString", r.copy())),
                                 exp.If(this=missing, true=exp.Null())], default=r.copy())  # fmt: skip

        return chj.bind(raw, text)

    def json_type(self, value: exp.Expression) -> exp.Expression:
        """DuckDB's json_type names for ClickHouse's JSONType."""
        names = {"String": "VARCHAR", "Int64": "BIGINT", "UInt64": "UBIGINT", "Double": "DOUBLE", "Bool": "BOOLEAN",
                 "Null": "NULL", "Array": "ARRAY", "Object": "OBJECT"}  # fmt: skip
        source = fn("toString", fn("JSONType", chj.unmark(value)))
        return fn("transform", source, exp.Array(expressions=[exp.Literal.string(k) for k in names]),
                  exp.Array(expressions=[exp.Literal.string(v) for v in names.values()]), exp.Literal.string("NULL"))  # fmt: skip

    def json_array_length(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("JSONLength", chj.unmark(value)))

    def to_json(self, value: exp.Expression) -> exp.Expression:
        if chj.is_json(value):
            return value
        return chj.mark(fn("toJSONString", value))

    def json_array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        return chj.mark(chj.json_array_text(list(items)))

    def json_object(self, pairs: Sequence[exp.Expression]) -> exp.Expression:
        return chj.mark(chj.json_object_text(list(pairs)))

    def json_elements(self, value: exp.Expression) -> exp.Expression:
        # JSONExtractArrayRaw rejects Nullable(String), the type of every dynamic column
        return fn("JSONExtractArrayRaw", fn("ifNull", chj.unmark(value), exp.Literal.string("")))

    def json_keys(self, value: exp.Expression) -> exp.Expression:
        return fn("JSONExtractKeys", fn("ifNull", chj.unmark(value), exp.Literal.string("")))

    def json_parse(self, text: exp.Expression) -> exp.Expression:
        if chj.is_json(text):
            return text

        def parse(t: exp.Expression) -> exp.Expression:
            return exp.If(this=fn("isValidJSON", t), true=t.copy(), false=fn("toJSONString", t.copy()))

        return chj.mark(chj.bind(text, parse))

    def list_length(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("length", value))

    def generate_series(self, count: exp.Expression) -> exp.Expression:
        return fn("range", count)

    def union_by_name(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        raise UnsupportedError("union of tables whose columns the catalog does not list, on ClickHouse")

    def read_external(
        self, uri: str, fmt: str, columns: list[tuple[str, KqlType]], skip_first: bool
    ) -> exp.Expression:
        structure = ", ".join(f"{exp.to_identifier(n, quoted=True).sql('clickhouse')} Nullable(String)" for n, _ in columns)
        ch_format = {"json": "JSONEachRow", "multijson": "JSONEachRow", "tsv": "TabSeparated"}.get(
            fmt, "CSVWithNames" if skip_first else "CSV")  # fmt: skip
        reader = fn("url", exp.Literal.string(uri), exp.Literal.string(ch_format), exp.Literal.string(structure))
        return exp.Table(this=reader)

    def series(self, count: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
        source = exp.Table(this=fn("numbers", count), alias=exp.TableAlias(this=exp.to_identifier("_wk_r")))
        return source, exp.column("number", table="_wk_r")

    def mv_elements(self, value: exp.Expression, kql_type: KqlType, bag_mode: str) -> exp.Expression:
        if kql_type not in (KqlType.DYNAMIC, KqlType.UNKNOWN):
            return exp.Array(expressions=[self.to_json(value)])
        v = chj.unmark(value)
        text = fn("ifNull", v, exp.Literal.string(""))
        kind = fn("JSONType", text)
        pair = exp.column("_kv")
        key, member = fn("tupleElement", pair, exp.Literal.number(1)), fn("tupleElement", pair.copy(), exp.Literal.number(2))
        opening, closing = ("[", "]") if bag_mode == "array" else ("{", "}")
        separator = "," if bag_mode == "array" else ":"
        entry = fn("concat", exp.Literal.string(opening), fn("toJSONString", key), exp.Literal.string(separator), member,
                   exp.Literal.string(closing))  # fmt: skip
        entries = fn("arrayMap", _lambda(entry, "_kv"), fn("JSONExtractKeysAndValuesRaw", text.copy()))
        null_row = exp.Cast(this=exp.Array(expressions=[exp.Null()]), to=exp.DataType.build("Array(Nullable(String))", dialect="clickhouse"))
        return exp.Case(
            ifs=[exp.If(this=exp.Is(this=v.copy(), expression=exp.Null()), true=null_row),
                 exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("Array")), true=fn("JSONExtractArrayRaw", text.copy())),
                 exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("Object")), true=entries)],
            default=exp.Array(expressions=[v.copy()]),
        )  # fmt: skip

    def json_member(self, value: exp.Expression, key: exp.Expression) -> exp.Expression:
        raw = fn("JSONExtractRaw", fn("ifNull", chj.unmark(value), exp.Literal.string("")), key)
        return chj.mark(fn("nullIf", raw, exp.Literal.string("")))

    def json_number(self, value: exp.Expression) -> exp.Expression:
        source = chj.unmark(value)
        kinds = [exp.Literal.string(k) for k in ("Int64", "UInt64", "Double")]
        numeric = exp.In(this=fn("toString", fn("JSONType", source)), expressions=kinds)
        return exp.If(this=numeric, true=fn("JSONExtractFloat", source.copy()), false=exp.Null())

    def json_from_elements(self, items: exp.Expression) -> exp.Expression:
        each = _lambda(fn("ifNull", exp.column("_j"), exp.Literal.string("null")), "_j")
        return chj.mark(self._json_join("[", fn("arrayMap", each, chj.unmark(items)), "]"))

    def json_object_from(self, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
        member = fn("concat", fn("toJSONString", exp.column("_k")), exp.Literal.string(":"),
                    fn("ifNull", exp.column("_j"), exp.Literal.string("null")))  # fmt: skip
        return chj.mark(self._json_join("{", fn("arrayMap", _lambda(member, "_k", "_j"), keys, chj.unmark(values)), "}"))

    @staticmethod
    def _json_join(opening: str, parts: exp.Expression, closing: str) -> exp.Expression:
        joined = fn("arrayStringConcat", parts, exp.Literal.string(","))
        return fn("concat", exp.Literal.string(opening), joined, exp.Literal.string(closing))

    def list_unique(self, items: exp.Expression) -> exp.Expression:
        return fn("arrayDistinct", items)

    def fn_to_int64(self, value: exp.Expression) -> exp.Expression:
        return fn("toInt64", value)

    def json_kind(self, value: exp.Expression) -> exp.Expression:
        kind = fn("lower", fn("toString", fn("JSONType", value)))
        numeric = exp.In(this=kind.copy(), expressions=[exp.Literal.string(t) for t in ("int64", "uint64", "double")])
        return exp.If(this=numeric, true=exp.Literal.string("number"), false=kind)

    def row(self, *values: exp.Expression) -> exp.Expression:
        return fn("tuple", *values)

    def row_field(self, record: exp.Expression, position: int) -> exp.Expression:
        return fn("tupleElement", record, exp.Literal.number(position))

    def fn_list_slice(self, items: exp.Expression, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        """DuckDB's 1-based inclusive ``list_slice(l, start, end)``; ClickHouse takes a length."""
        length = exp.Add(this=exp.Paren(this=exp.Sub(this=exp.Paren(this=end), expression=exp.Paren(this=start))),
                         expression=exp.Literal.number(1))  # fmt: skip
        return fn("arraySlice", items, start.copy(), fn("greatest", length, exp.Literal.number(0)))

    def fn_list_sum(self, items: exp.Expression) -> exp.Expression:
        """Sum ignoring nulls (arraySum refuses Nullable elements)."""
        zeroed = fn("arrayMap", _lambda(fn("ifNull", exp.column("_s"), exp.Literal.number(0)), "_s"), items)
        return fn("arraySum", zeroed)

    @staticmethod
    def _json_location(value: exp.Expression, path: str) -> tuple[exp.Expression, list[exp.Expression]]:
        """The JSON text and key arguments a value at ``path`` is read from (access folded in)."""
        keys = chj.json_path_args(path)
        inner = chj.unmark(value)
        if (isinstance(inner, exp.Anonymous) and inner.name == "nullIf"
                and isinstance(inner.expressions[0], exp.Anonymous) and inner.expressions[0].name == "JSONExtractRaw"):  # fmt: skip
            extract = inner.expressions[0]
            return extract.expressions[0], [*extract.expressions[1:], *keys]
        return inner, keys

    def literal(self, value: Any, kql_type: KqlType) -> exp.Expression:
        """Constants are not Nullable: ClickHouse wants plain types where it needs constants
        (window offsets, quantile levels), and a NULL elsewhere makes the column Nullable anyway."""
        if value is None or kql_type not in _CLICKHOUSE_PLAIN_LITERALS:
            return super().literal(value, kql_type)
        if kql_type is KqlType.REAL:
            return self.real_literal(float(value))
        if kql_type in (KqlType.LONG, KqlType.TIMESPAN, KqlType.INT):
            number = exp.Literal.number(int(value))
            return self._plain_cast(number, KqlType.INT if kql_type is KqlType.INT else KqlType.LONG)
        text = str(Decimal(value)) if kql_type is KqlType.DECIMAL else str(value)
        return self._plain_cast(exp.Literal.string(text), kql_type)

    def real_literal(self, value: float) -> exp.Expression:
        if value != value or value in (float("inf"), float("-inf")):
            text = "nan" if value != value else ("inf" if value > 0 else "-inf")
            return self._plain_cast(exp.Literal.string(text), KqlType.REAL)
        return self._plain_cast(exp.Literal.number(repr(value)), KqlType.REAL)

    @staticmethod
    def _plain_cast(expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        return exp.Cast(this=expr, to=exp.DataType.build(_CLICKHOUSE_TYPES[kql_type], dialect="clickhouse"))

    def fn_list(self, value: exp.Expression) -> exp.Expression:
        """DuckDB's ``list()`` aggregate keeps NULLs, ClickHouse's ``groupArray`` drops them:
        collect one-element tuples (never NULL) and unwrap them."""
        collected = fn("groupArray", fn("tuple", value))
        return fn("arrayMap", _lambda(fn("tupleElement", exp.column("_t"), exp.Literal.number(1)), "_t"), collected)

    def fn_map(self, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
        """A map from two lists; a missing key reads as NULL (not as the type's default)."""
        nullable = fn("arrayMap", _lambda(fn("toNullable", exp.column("_v")), "_v"), values)
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

    @staticmethod
    def _nearest_rank(value: exp.Expression, fraction: float) -> exp.Expression:
        ordered = fn("arraySort", fn("groupArray", value.copy()))
        count = fn("length", ordered.copy())
        rank = fn("greatest", fn("toUInt64", fn("ceil", exp.Mul(this=exp.Literal.number(fraction), expression=count))),
                  exp.Literal.number(1))  # fmt: skip
        empty = exp.EQ(this=count.copy(), expression=exp.Literal.number(0))
        return exp.If(this=empty, true=exp.Null(), false=fn("arrayElement", ordered, rank))

    def json_value(self, value: exp.Expression) -> exp.Expression:
        return chj.mark(value)

    def fn_length(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("lengthUTF8", value))

    def fn_strlen(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("length", value))

    def fn_octet_length(self, value: exp.Expression) -> exp.Expression:
        return _signed(fn("length", value))

    def fn_strpos(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return _signed(fn("positionUTF8", value, needle))

    def fn_regexp_escape(self, value: exp.Expression) -> exp.Expression:
        """Every regex metacharacter preceded by a backslash (DuckDB's regexp_escape)."""
        return fn("replaceRegexpAll", value, exp.Literal.string(r"([\\^$.|?*+()\[\]{}-])"), exp.Literal.string(r"\\\1"))


def _signed(value: exp.Expression) -> exp.Expression:
    """A ClickHouse count or length (UInt64) as Kusto's long: UInt64 has no common type with Int64,
    so an ``iff``/``coalesce`` mixing the two would fail or turn into a Variant."""
    return fn("toInt64", value)


def _constant_zone(zone: exp.Expression) -> None:
    """ClickHouse takes a time zone only as a constant string."""
    if not (isinstance(zone, exp.Literal) and zone.is_string):
        raise UnsupportedError("a time zone that is not a constant string, on ClickHouse")


def _lambda(body: exp.Expression, *names: str) -> exp.Expression:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


_JSON_NUMBERS = ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT", "UHUGEINT")


def _literal_text(expr: exp.Expression) -> str | None:
    """The text of a string literal, or of a concatenation of string literals."""
    if isinstance(expr, exp.Literal) and expr.is_string:
        return str(expr.this)
    if isinstance(expr, exp.Concat):
        parts = [_literal_text(e) for e in expr.expressions]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    return None


def _re2(pattern: exp.Expression, *, constant: bool = True) -> exp.Expression:
    """A pattern with RE2's default ``.`` (not matching newline): ClickHouse turns ``s`` on, Kusto does not.

    Only ``match`` takes a pattern computed per row; ClickHouse's extracting and replacing
    functions need a constant one (``constant=True``)."""
    text = _literal_text(pattern)
    if text is not None:
        return exp.Literal.string("(?-s)" + text)
    if constant:
        raise UnsupportedError("a regular expression computed per row, on ClickHouse (its regex extraction and "
                               "replacement functions take only constant patterns)")  # fmt: skip
    return exp.Concat(expressions=[exp.Literal.string("(?-s)"), pattern])


# Text that holds a whole date: year first, US month first (month <= 12), yyyyMMdd, or a month name.
_DATE_SHAPE = (
    r"(?i)^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(0?[1-9]|1[0-2])[-/.]\d{1,2}[-/.]\d{4}|\d{8}(\D|$))"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
)


def _operand(expr: exp.Expression) -> exp.Expression:
    """``expr`` parenthesised when it is an operator (sqlglot prints trees without adding any)."""
    if isinstance(expr, (exp.Binary, exp.Unary)) and not isinstance(expr, exp.Paren):
        return exp.Paren(this=expr)
    return expr


_DUCKDB_TYPES = {
    KqlType.BOOL: "BOOLEAN",
    KqlType.INT: "INTEGER",
    KqlType.LONG: "BIGINT",
    KqlType.REAL: "DOUBLE",
    KqlType.DECIMAL: "DECIMAL(38, 18)",
    KqlType.STRING: "VARCHAR",
    KqlType.DATETIME: "TIMESTAMPTZ",
    KqlType.TIMESPAN: "BIGINT",
    KqlType.GUID: "UUID",
    KqlType.DYNAMIC: "JSON",
    KqlType.UNKNOWN: "VARCHAR",
}

_CLICKHOUSE_TYPES = {
    KqlType.BOOL: "Bool",
    KqlType.INT: "Int32",
    KqlType.LONG: "Int64",
    KqlType.REAL: "Float64",
    KqlType.DECIMAL: "Decimal(38, 18)",
    KqlType.STRING: "String",
    KqlType.DATETIME: "DateTime64(6, 'UTC')",
    KqlType.TIMESPAN: "Int64",
    KqlType.GUID: "UUID",
    KqlType.DYNAMIC: "String",
    KqlType.UNKNOWN: "String",
}

_CLICKHOUSE_PLAIN_LITERALS = frozenset(
    {KqlType.LONG, KqlType.TIMESPAN, KqlType.INT, KqlType.REAL, KqlType.DECIMAL, KqlType.GUID}
)

_DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "clickhouse": ClickHouseDialect()}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` (``duckdb`` or ``clickhouse``)."""
    try:
        return _DIALECTS[name]
    except KeyError:
        raise UnsupportedError(f"SQL dialect '{name}' (choose duckdb or clickhouse)") from None
