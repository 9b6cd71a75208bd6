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

    def parse_datetime(self, text: exp.Expression) -> exp.Expression:
        """A string in a common datetime form to a datetime, or NULL."""
        return exp.TryCast(this=text, to=self.type(KqlType.DATETIME))

    # ---------------------------------------------------------------- integers

    def int_div(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        """Integer division truncating towards zero (C#/Kusto semantics)."""
        return exp.IntDiv(this=left, expression=right)

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
        """Group ``group`` of the first match, or NULL when there is no match."""
        matched = self.regex_match(value, pattern)
        extract = fn("regexp_extract", value, pattern, exp.Literal.number(group))
        return exp.If(this=matched, true=extract, false=exp.Null())

    def regex_extract_all(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        """A SQL list of group ``group`` of every match."""
        return fn("regexp_extract_all", value, pattern, exp.Literal.number(group))

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

    def json_array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        return fn("json_array", *items)

    def json_object(self, pairs: Sequence[exp.Expression]) -> exp.Expression:
        return fn("json_object", *pairs)

    def json_elements(self, value: exp.Expression) -> exp.Expression:
        """A SQL list of the JSON elements of an array."""
        return exp.Cast(this=value, to=exp.DataType.build("JSON[]", dialect="duckdb"))

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
        listed = exp.Filter(this=fn("list", element), expression=exp.Where(this=keep))
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


class DuckDBDialect(Dialect):
    """DuckDB: the canonical vocabulary is DuckDB's, so almost nothing is overridden."""


class ClickHouseDialect(Dialect):
    """ClickHouse (server, or chdb in process)."""

    name = "clickhouse"
    sqlglot_dialect = "clickhouse"
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
        "log10": "log10",
        "log2": "log2",
        "pow": "pow",
        "greatest": "greatest",
        "least": "least",
        "string_agg": "arrayStringConcat",
        "concat": "concat",
    }

    def fn_base64_text(self, value: exp.Expression) -> exp.Expression:
        return fn("nullIf", fn("tryBase64Decode", value), exp.Literal.string(""))

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
        return exp.Literal.string(json.dumps(value, separators=(",", ":")))

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
        return fn("formatDateTime", value, exp.Literal.string(fmt.replace("%f", "%f")))

    def parse_datetime(self, text: exp.Expression) -> exp.Expression:
        return fn("parseDateTime64BestEffortOrNull", text, exp.Literal.number(6), exp.Literal.string("UTC"))

    def int_div(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        return fn("intDivOrZero", left, right)

    def ilike(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.ILike(this=value, expression=exp.Literal.string(pattern))

    def like(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.Like(this=value, expression=exp.Literal.string(pattern))

    def regex_match(self, value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return fn("match", value, pattern)

    def regex_extract(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        matched = self.regex_match(value, pattern)
        extract = fn("regexpExtract", value, pattern, exp.Literal.number(group))
        return exp.If(this=matched, true=extract, false=exp.Null())

    def regex_extract_all(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        groups = fn("extractAllGroups", value, pattern)
        lam = exp.Lambda(this=exp.Bracket(this=exp.column("g"), expressions=[exp.Literal.number(group)]),
                         expressions=[exp.to_identifier("g")])  # fmt: skip
        return fn("arrayMap", lam, groups) if group else fn("extractAll", value, pattern)

    def split(self, value: exp.Expression, sep: exp.Expression) -> exp.Expression:
        return fn("splitByString", sep, value)

    def list_to_json(self, value: exp.Expression) -> exp.Expression:
        return fn("toJSONString", value)

    def agg_filter(self, agg: exp.Expression, cond: exp.Expression) -> exp.Expression:
        if isinstance(agg, exp.Anonymous):
            return fn(f"{agg.name}If", *agg.expressions, cond)
        name = {exp.Sum: "sumIf", exp.Avg: "avgIf", exp.Min: "minIf", exp.Max: "maxIf"}.get(type(agg))
        if name is None:
            raise UnsupportedError(f"conditional aggregate {agg.sql('clickhouse')} on ClickHouse")
        return fn(name, agg.this, cond)

    def count_if(self, cond: exp.Expression) -> exp.Expression:
        return fn("countIf", cond)

    def count_distinct(self, value: exp.Expression) -> exp.Expression:
        return fn("uniqExact", value)

    def collect(
        self, value: exp.Expression, cond: exp.Expression | None, *, distinct: bool, flatten: bool
    ) -> exp.Expression:
        element = fn("JSONExtractArrayRaw", value) if flatten else value
        name = "groupArray"
        listed = fn(f"{name}If", element, cond) if cond is not None else fn(name, element)
        if flatten:
            listed = fn("arrayFlatten", listed)
        if distinct:
            listed = fn("arraySort", fn("arrayDistinct", listed))
        return listed

    def merge_objects(self, value: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
        raise UnsupportedError("make_bag() on ClickHouse")

    def quantile(self, value: exp.Expression, fractions: list[float], *, single: bool) -> exp.Expression:
        name = "quantileExactLow" if single else "quantilesExactLow"
        return exp.ParameterizedAgg(this=name, expressions=[exp.Literal.number(f) for f in fractions], params=[value])

    def weighted_quantile(self, value: exp.Expression, weight: exp.Expression, fraction: float) -> exp.Expression:
        return exp.ParameterizedAgg(this="quantileExactWeighted", expressions=[exp.Literal.number(fraction)],
                                    params=[value, weight])  # fmt: skip

    def json_get(self, value: exp.Expression, path: str) -> exp.Expression:
        return fn("JSON_QUERY", value, exp.Literal.string(path.replace("[#-1]", "[last]")))

    def json_get_dynamic(self, value: exp.Expression, key: exp.Expression, is_index: bool) -> exp.Expression:
        if is_index:  # JSONExtractRaw indexes arrays from 1
            key = exp.Add(this=key, expression=exp.Literal.number(1))
        return fn("nullIf", fn("JSONExtractRaw", value, key), exp.Literal.string(""))

    def json_text(self, value: exp.Expression, path: str = "$") -> exp.Expression:
        raw = value if path == "$" else self.json_get(value, path)
        is_string = exp.EQ(this=fn("JSONType", raw), expression=exp.Literal.string("String"))
        return exp.If(this=is_string, true=fn("JSONExtractString", raw), false=fn("nullIf", raw, exp.Literal.string("")))

    def json_type(self, value: exp.Expression) -> exp.Expression:
        return fn("upper", fn("toString", fn("JSONType", value)))

    def json_array_length(self, value: exp.Expression) -> exp.Expression:
        return fn("JSONLength", value)

    def to_json(self, value: exp.Expression) -> exp.Expression:
        return fn("toJSONString", value)

    def json_array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        parts = [fn("toJSONString", i) for i in items]
        return fn("concat", exp.Literal.string("["), fn("arrayStringConcat", exp.Array(expressions=parts),
                  exp.Literal.string(",")), exp.Literal.string("]"))  # fmt: skip

    def json_object(self, pairs: Sequence[exp.Expression]) -> exp.Expression:
        parts = []
        for key, value in zip(pairs[::2], pairs[1::2], strict=True):
            parts.append(fn("concat", fn("toJSONString", key), exp.Literal.string(":"), fn("toJSONString", value)))
        return fn("concat", exp.Literal.string("{"), fn("arrayStringConcat", exp.Array(expressions=parts),
                  exp.Literal.string(",")), exp.Literal.string("}"))  # fmt: skip

    def json_elements(self, value: exp.Expression) -> exp.Expression:
        return fn("JSONExtractArrayRaw", value)

    def json_keys(self, value: exp.Expression) -> exp.Expression:
        return fn("JSONExtractKeys", value)

    def json_parse(self, text: exp.Expression) -> exp.Expression:
        return exp.If(this=fn("isValidJSON", text), true=text, false=fn("toJSONString", text))

    def list_length(self, value: exp.Expression) -> exp.Expression:
        return fn("length", value)

    def generate_series(self, count: exp.Expression) -> exp.Expression:
        return fn("range", count)

    def unnest(self, value: exp.Expression) -> exp.Expression:
        return fn("arrayJoin", value)

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
        return fn("JSONExtractArrayRaw", value)


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

_DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "clickhouse": ClickHouseDialect()}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` (``duckdb`` or ``clickhouse``)."""
    try:
        return _DIALECTS[name]
    except KeyError:
        raise UnsupportedError(f"SQL dialect '{name}' (choose duckdb or clickhouse)") from None
