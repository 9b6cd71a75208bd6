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
from functools import lru_cache
from typing import Any, ClassVar

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.like_spelling import duckdb_like
from watchkeeper.schema.types import DUCKDB_TYPES, KqlType

__all__ = ["NATIVE_LIST", "Dialect", "DuckDBDialect", "data_type", "fn", "json_path"]

# the ``meta`` key of a dynamic array's JSON encoding that holds the SQL list it encodes, set where
# the list's elements read back the same from either (numbers, text) or where the result layer
# writes them as the JSON would (datetimes, see watchkeeper.store.result): see Dialect.result_list
NATIVE_LIST = "wk_native_list"


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    """A function call spelled exactly ``name`` in the generated SQL."""
    return exp.Anonymous(this=name, expressions=list(args))


def data_type(spec: str, dialect: str | None = None) -> exp.DataType:
    """``exp.DataType.build(spec, dialect=dialect)``, parsed once: a query over a wide table casts
    thousands of NULLs, and parsing a type name costs more than building the node again (a plain
    type) or copying it (one with parameters)."""
    parsed = _parsed_type(spec, dialect)
    if any(value is not None for key, value in parsed.args.items() if key not in ("this", "nested")):
        return parsed.copy()
    return exp.DataType(this=parsed.this, nested=parsed.args.get("nested", False))


@lru_cache(maxsize=256)
def _parsed_type(spec: str, dialect: str | None) -> exp.DataType:
    return exp.DataType.build(spec, dialect=dialect)


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
    renames: ClassVar[dict[str, str]] = {}
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
        # DuckDB's BIGINT << refuses negative values and overflow; a 64-bit BIT string shifts and
        # wraps like Kusto's (.NET's) 64-bit two's complement
        as_bits = exp.cast(_operand(value), exp.DataType.build("BIT"))
        shifted = exp.BitwiseLeftShift(this=as_bits, expression=exp.cast(bits, exp.DataType.build("INT")))
        return exp.cast(shifted, exp.DataType.build("BIGINT"))

    def fn_binary_shift_right(self, value: exp.Expression, bits: exp.Expression) -> exp.Expression:
        return exp.BitwiseRightShift(this=_operand(value), expression=_operand(bits))

    def fn_uniform_random(self) -> exp.Expression:
        """A real in [0, 1)."""
        return fn("random")

    def fn_hex_to_long(self, digits: exp.Expression) -> exp.Expression:
        """Up to 16 hexadecimal digits as a signed 64-bit integer."""
        return exp.TryCast(
            this=exp.DPipe(this=exp.Literal.string("0x"), expression=digits), to=self.type(KqlType.LONG)
        )

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
        return data_type(DUCKDB_TYPES[kql_type], "duckdb")

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

    def datetime_parameter(self, name: str) -> exp.Expression:
        """A datetime query parameter (a request moment, see :mod:`watchkeeper.kql.moments`)."""
        return exp.Cast(this=exp.Placeholder(this=name), to=self.type(KqlType.DATETIME))

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
        return exp.Add(
            this=value, expression=fn("to_months", exp.Cast(this=months, to=exp.DataType.build("INT")))
        )

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

    def result_list(self, values: exp.Expression) -> exp.Expression | None:
        """A dynamic array of the final result as the SQL list it encodes (see ``NATIVE_LIST``):
        DuckDB hands lists over as Python lists, and encoding hundreds of elements as JSON text
        on every row costs more than the query (a list of datetimes comes out as datetimes,
        which the result layer writes as Kusto's text); None where the engine should send the JSON."""
        return exp.Coalesce(this=values, expressions=[exp.Array(expressions=[])])

    def result_datetime(self, value: exp.Expression) -> exp.Expression:
        """A datetime column of the final result as the engine hands it over fastest: DuckDB
        turns each time-zone-aware value into a Python object through the zone database, about
        five times slower than a plain timestamp, so results carry the UTC wall time instead
        (the store reads it back as UTC)."""
        return exp.Cast(this=value, to=data_type("TIMESTAMP"))

    def ilike(self, value: exp.Expression, pattern: str) -> exp.Expression:
        """Case-insensitive LIKE; ``pattern`` escapes ``%``, ``_`` and ``\\`` with ``\\``."""
        return duckdb_like(exp.ILike, value, pattern)

    def like(self, value: exp.Expression, pattern: str) -> exp.Expression:
        """Case-sensitive LIKE; ``pattern`` as for :meth:`ilike`."""
        return duckdb_like(exp.Like, value, pattern)

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
        return exp.TryCast(
            this=exp.DPipe(this=exp.Literal.string("0x"), expression=text), to=exp.DataType.build("BIGINT")
        )

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
        # DuckDB's count_if over no rows is null where Kusto's countif is 0; the coalesce is per
        # group, not per row
        return fn("coalesce", fn("count_if", cond), exp.Literal.number(0))

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
            element = exp.If(
                this=is_array, true=self.json_elements(value), false=exp.Array(expressions=[value])
            )
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

    def weighted_quantile(
        self, value: exp.Expression, weight: exp.Expression, fraction: float
    ) -> exp.Expression:
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
            reader = fn(
                "read_json",
                exp.Literal.string(uri),
                exp.PropertyEQ(this=exp.column("columns"), expression=spec),
            )
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
        entries = fn(
            "list_transform",
            self.json_keys(value),
            exp.Lambda(this=entry, expressions=[exp.to_identifier("_k")]),
        )
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
        numeric = exp.In(
            this=fn("json_type", value), expressions=[exp.Literal.string(t) for t in _JSON_NUMBERS]
        )
        return exp.If(
            this=numeric, true=exp.TryCast(this=value, to=self.type(KqlType.REAL)), false=exp.Null()
        )

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
        names = [
            ("VARCHAR", "string"),
            ("BOOLEAN", "bool"),
            ("ARRAY", "array"),
            ("OBJECT", "object"),
            ("NULL", "null"),
        ]
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


_JSON_NUMBERS = ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT", "UHUGEINT")


def _operand(expr: exp.Expression) -> exp.Expression:
    """``expr`` parenthesised when it is an operator (sqlglot prints trees without adding any)."""
    if isinstance(expr, (exp.Binary, exp.Unary)) and not isinstance(expr, exp.Paren):
        return exp.Paren(this=expr)
    return expr
