"""The ClickHouse dialect (a ClickHouse server, or chdb in process): the primitives that differ
from DuckDB (types, literals, time arithmetic, regular expressions, JSON, aggregates). The plain
function spellings live in :mod:`watchkeeper.kql.clickhouse_functions`.
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
from watchkeeper.kql.clickhouse_functions import ClickHouseFunctions, lambda_of, re2, signed
from watchkeeper.kql.clickhouse_sql import SQLGLOT_NAME
from watchkeeper.kql.dialects import data_type, fn
from watchkeeper.schema.types import CLICKHOUSE_TYPES, KqlType

__all__ = ["ClickHouseDialect"]


class ClickHouseDialect(ClickHouseFunctions):
    """ClickHouse (server, or chdb in process)."""

    name = "clickhouse"
    sqlglot_dialect = SQLGLOT_NAME
    supports_lateral = False
    # recursive CTEs append only (UNION ALL): graph-mark-components needs UNION's distinct rows
    recursive_union_distinct = False

    def type(self, kql_type: KqlType) -> exp.DataType:
        return data_type(CLICKHOUSE_TYPES[kql_type], "clickhouse")

    def cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        inner = CLICKHOUSE_TYPES[kql_type]
        return exp.Cast(this=expr, to=data_type(f"Nullable({inner})", "clickhouse"))

    def try_cast(self, expr: exp.Expression, kql_type: KqlType) -> exp.Expression:
        target = CLICKHOUSE_TYPES[kql_type]
        return fn("accurateCastOrNull", expr, exp.Literal.string(target))

    def datetime_literal(self, value: datetime) -> exp.Expression:
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return fn("toDateTime64", exp.Literal.string(text), exp.Literal.number(6), exp.Literal.string("UTC"))

    def datetime_parameter(self, name: str) -> exp.Expression:
        """``{name:DateTime64(6, 'UTC')}``: a ClickHouse query parameter, given as text."""
        return exp.Placeholder(
            this=name, kind=exp.DataType.build("DateTime64(6, 'UTC')", dialect="clickhouse")
        )

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
        parsed = fn(
            "parseDateTime64BestEffortUSOrNull", text, exp.Literal.number(6), exp.Literal.string("UTC")
        )
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

    def result_datetime(self, value: exp.Expression) -> exp.Expression:
        return value  # DateTime64 values arrive as they are stored

    def result_list(self, values: exp.Expression) -> exp.Expression | None:
        return None  # the store reads dynamic values as JSON text

    def ilike(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.ILike(this=value, expression=exp.Literal.string(pattern))

    def like(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.Like(this=value, expression=exp.Literal.string(pattern))

    def regex_match(self, value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return fn("match", value, re2(pattern, constant=False))

    def regex_extract(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        matched = self.regex_match(value, pattern)
        extract = fn("regexpExtract", value, re2(pattern), exp.Literal.number(group))
        return exp.If(this=matched, true=extract, false=exp.Null())

    def regex_extract_all(self, value: exp.Expression, pattern: exp.Expression, group: int) -> exp.Expression:
        if not group:  # every whole match: extractAll would return the first group of a pattern with groups
            pattern = exp.Concat(expressions=[exp.Literal.string("("), pattern, exp.Literal.string(")")])
            group = 1
        groups = fn("extractAllGroups", value, re2(pattern))
        # arrayElement, not a Bracket: sqlglot shifts ClickHouse subscripts by one
        lam = exp.Lambda(this=fn("arrayElement", exp.column("g"), exp.Literal.number(group)),
                         expressions=[exp.to_identifier("g")])  # fmt: skip
        return fn("arrayMap", lam, groups)

    def regex_groups(self, value: exp.Expression, pattern: exp.Expression, count: int) -> exp.Expression:
        return fn("extractGroups", value, re2(pattern))  # [] when there is no match: elements read ''

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
        names: dict[type[exp.Expression], str] = {
            exp.Sum: "sumIf",
            exp.Avg: "avgIf",
            exp.Min: "minIf",
            exp.Max: "maxIf",
        }
        name = names.get(type(agg))
        if name is None:
            raise UnsupportedError(f"conditional aggregate {agg.sql('clickhouse')} on ClickHouse")
        return fn(name, agg.this, cond)

    def count_if(self, cond: exp.Expression) -> exp.Expression:
        return signed(fn("countIf", cond))

    def count_distinct(self, value: exp.Expression) -> exp.Expression:
        return signed(fn("uniqExact", value))

    def collect(
        self, value: exp.Expression, cond: exp.Expression | None, *, distinct: bool, flatten: bool
    ) -> exp.Expression:
        element = value
        if flatten:  # an array spreads into its elements, any other value counts as itself
            text = fn("ifNull", chj.unmark(value), exp.Literal.string(""))
            is_array = exp.EQ(this=fn("JSONType", text), expression=exp.Literal.string("Array"))
            element = exp.If(this=is_array, true=fn("JSONExtractArrayRaw", text.copy()),
                             false=fn("arrayFilter", lambda_of(fn("notEmpty", exp.column("_e")), "_e"),
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
            return fn(
                "arrayMap",
                lambda_of(fn("tupleElement", exp.column("_p"), exp.Literal.number(n)), "_p"),
                items,
            )

        first = exp.EQ(this=fn("indexOf", part(1, pairs.copy()), fn("tupleElement", exp.column("_p"), exp.Literal.number(1))),
                       expression=exp.column("_i"))  # fmt: skip
        unique = fn(
            "arrayFilter", lambda_of(first, "_p", "_i"), pairs.copy(), fn("arrayEnumerate", pairs.copy())
        )
        return self.json_object_from(part(1, unique), part(2, unique.copy()))

    def quantile(self, value: exp.Expression, fractions: list[float], *, single: bool) -> exp.Expression:
        """Kusto's nearest-rank percentile: the value at 1-based rank ceil(p * n) of the sorted
        non-null values (ClickHouse's quantileExact* interpolate or round differently)."""
        ranked = [self._nearest_rank(value, f) for f in fractions]
        return ranked[0] if single else exp.Array(expressions=ranked)

    def weighted_quantile(
        self, value: exp.Expression, weight: exp.Expression, fraction: float
    ) -> exp.Expression:
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
        return signed(fn("JSONLength", chj.unmark(value)))

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
        return signed(fn("length", value))

    def generate_series(self, count: exp.Expression) -> exp.Expression:
        return fn("range", count)

    def union_by_name(self, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        raise UnsupportedError("union of tables whose columns the catalog does not list, on ClickHouse")

    def read_external(
        self, uri: str, fmt: str, columns: list[tuple[str, KqlType]], skip_first: bool
    ) -> exp.Expression:
        structure = ", ".join(
            f"{exp.to_identifier(n, quoted=True).sql('clickhouse')} Nullable(String)" for n, _ in columns
        )
        ch_format = {"json": "JSONEachRow", "multijson": "JSONEachRow", "tsv": "TabSeparated"}.get(
            fmt, "CSVWithNames" if skip_first else "CSV")  # fmt: skip
        reader = fn(
            "url", exp.Literal.string(uri), exp.Literal.string(ch_format), exp.Literal.string(structure)
        )
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
        key, member = (
            fn("tupleElement", pair, exp.Literal.number(1)),
            fn("tupleElement", pair.copy(), exp.Literal.number(2)),
        )
        opening, closing = ("[", "]") if bag_mode == "array" else ("{", "}")
        separator = "," if bag_mode == "array" else ":"
        entry = fn("concat", exp.Literal.string(opening), fn("toJSONString", key), exp.Literal.string(separator), member,
                   exp.Literal.string(closing))  # fmt: skip
        entries = fn("arrayMap", lambda_of(entry, "_kv"), fn("JSONExtractKeysAndValuesRaw", text.copy()))
        null_row = exp.Cast(
            this=exp.Array(expressions=[exp.Null()]),
            to=exp.DataType.build("Array(Nullable(String))", dialect="clickhouse"),
        )
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
        each = lambda_of(fn("ifNull", exp.column("_j"), exp.Literal.string("null")), "_j")
        return chj.mark(self._json_join("[", fn("arrayMap", each, chj.unmark(items)), "]"))

    def json_object_from(self, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
        member = fn("concat", fn("toJSONString", exp.column("_k")), exp.Literal.string(":"),
                    fn("ifNull", exp.column("_j"), exp.Literal.string("null")))  # fmt: skip
        return chj.mark(
            self._json_join("{", fn("arrayMap", lambda_of(member, "_k", "_j"), keys, chj.unmark(values)), "}")
        )

    @staticmethod
    def _json_join(opening: str, parts: exp.Expression, closing: str) -> exp.Expression:
        joined = fn("arrayStringConcat", parts, exp.Literal.string(","))
        return fn("concat", exp.Literal.string(opening), joined, exp.Literal.string(closing))

    def list_unique(self, items: exp.Expression) -> exp.Expression:
        return fn("arrayDistinct", items)

    def json_kind(self, value: exp.Expression) -> exp.Expression:
        kind = fn("lower", fn("toString", fn("JSONType", value)))
        numeric = exp.In(
            this=kind.copy(), expressions=[exp.Literal.string(t) for t in ("int64", "uint64", "double")]
        )
        return exp.If(this=numeric, true=exp.Literal.string("number"), false=kind)

    def row(self, *values: exp.Expression) -> exp.Expression:
        return fn("tuple", *values)

    def row_field(self, record: exp.Expression, position: int) -> exp.Expression:
        return fn("tupleElement", record, exp.Literal.number(position))

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
        return exp.Cast(this=expr, to=data_type(CLICKHOUSE_TYPES[kql_type], "clickhouse"))

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


def _constant_zone(zone: exp.Expression) -> None:
    """ClickHouse takes a time zone only as a constant string."""
    if not (isinstance(zone, exp.Literal) and zone.is_string):
        raise UnsupportedError("a time zone that is not a constant string, on ClickHouse")


# Text that holds a whole date: year first, US month first (month <= 12), yyyyMMdd, or a month name.
_DATE_SHAPE = (
    r"(?i)^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(0?[1-9]|1[0-2])[-/.]\d{1,2}[-/.]\d{4}|\d{8}(\D|$))"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
)


_CLICKHOUSE_PLAIN_LITERALS = frozenset(
    {KqlType.LONG, KqlType.TIMESPAN, KqlType.INT, KqlType.REAL, KqlType.DECIMAL, KqlType.GUID}
)
