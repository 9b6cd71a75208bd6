"""``series_*`` functions over dynamic numeric arrays: element-wise math and comparisons,
products and correlations, ``series_stats``, ``series_fit_line``, ``series_fill_*``,
``series_iir``/``series_fir``.

Kusto's rules: elements that are not numbers (and missing elements when two arrays differ in
length) give null elements; a scalar argument stands for an array repeating it. Functions that
Kusto documents as returning several columns (``series_stats``, ``series_fit_line``...) return one
property bag here whose keys are those columns, in order (``FunctionSpec.extra["outputs"]``); the
binder spreads the bag into columns (``series_stats_x_min``...). The ``*_dynamic`` forms return
the same bag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp

from watchkeeper.kql.functions.listsql import ListSql, is_array
from watchkeeper.kql.functions.registry import OPERATORS, SCALARS, FunctionSpec, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, div, lit, mul, num, sub
from watchkeeper.kql.plan import BCall, BColumn, Column
from watchkeeper.schema.types import KqlType

__all__ = ["SeriesSql", "apply_spec", "line_fit", "not_null"]

_T = KqlType
_D = _T.DYNAMIC
_R = _T.REAL

Expr = exp.Expression


def apply_spec(ctx: LowerContext, spec: FunctionSpec, args: Sequence[Expr], types: Sequence[KqlType]) -> Expr:
    """The SQL of a registered function applied to SQL values (its Kusto semantics, reused)."""
    bound = tuple(BColumn(t, Column(f"_a{i}", t, f"_a{i}")) for i, t in enumerate(types))
    return spec.lower(ctx, BCall(spec.returns(bound), spec, bound), list(args))


class SeriesSql(ListSql):
    """List helpers for numeric series (SQL lists of DOUBLE with NULL for missing elements)."""

    def mean(self, values: Expr) -> Expr:
        """Mean of the non-null elements (NULL when there are none)."""
        count = self.count_where(values.copy(), lambda v: exp.Not(this=exp.Is(this=v, expression=exp.Null())))
        return div(self.sum(values), self.d.call("nullif", count, num(0)))

    def present(self, values: Expr) -> Expr:
        return self.filter(values, lambda v: exp.Not(this=exp.Is(this=v, expression=exp.Null())))

    def sorted(self, values: Expr) -> Expr:
        return self.d.call("list_sort", self.present(values))

    def quantile(self, ordered: Expr, fraction: Expr) -> Expr:
        """Linear interpolation between the closest ranks of a sorted list (NULL when empty)."""
        n = self.length(ordered)
        position = mul(fraction, sub(n, num(1)))
        below = self.d.cast(exp.Floor(this=position), _T.LONG)
        low, high = (
            self.at(ordered, below),
            self.at(ordered, self.d.call("least", add(below.copy(), num(1)), sub(n.copy(), num(1)))),
        )
        value = add(low, mul(sub(position.copy(), below.copy()), sub(high, low.copy())))
        return exp.If(this=exp.GT(this=n.copy(), expression=num(0)), true=value, false=exp.Null())

    def median(self, values: Expr) -> Expr:
        return self.let(self.sorted(values), lambda s: self.quantile(s, num(0.5)))

    def last(self, items: Expr) -> Expr:
        """The last element (NULL for an empty list)."""
        n = self.length(items)
        return exp.If(
            this=exp.GT(this=n, expression=num(0)),
            true=self.at(items, sub(n.copy(), num(1))),
            false=exp.Null(),
        )

    def first_of(self, items: Expr) -> Expr:
        return exp.If(
            this=exp.GT(this=self.length(items), expression=num(0)),
            true=self.at(items, num(0)),
            false=exp.Null(),
        )

    def reals_json(self, values: Expr) -> Expr:
        """A dynamic array of reals (NULL elements stay null)."""
        return self.json_array(self.to_json_values(self.map(values, lambda v: self.d.cast(v, _R))))

    def bag(self, members: Sequence[tuple[str, Expr]]) -> Expr:
        """A property bag of JSON-valued members (in order)."""
        keys = exp.Array(expressions=[lit(k) for k, _ in members])
        values = exp.Array(expressions=[v for _, v in members])
        return self.d.json_object_from(keys, values)

    def real_json(self, value: Expr) -> Expr:
        return self.d.to_json(self.d.cast(value, _R))


def _operand(ss: SeriesSql, value: Expr, kql_type: KqlType) -> tuple[Expr | None, Expr]:
    """(numbers, value): the elements of an array argument, or None and the scalar itself."""
    if kql_type in (_D, _T.UNKNOWN):
        return ss.numbers(value), value
    return None, ss.d.cast(value, _R)


def _elementwise(ctx: LowerContext, call: BCall, args: list[Expr], fn: Callable[[list[Expr]], Expr],
                 as_json: Callable[[SeriesSql, Expr], Expr]) -> Expr:  # fmt: skip
    """``[fn(a[i], b[i], ...) for i]`` over the longest array argument; scalars repeat."""
    ss = SeriesSql(ctx, args)
    operands = [_operand(ss, a, b.type) for a, b in zip(args, call.args, strict=True)]
    arrays = [items for items, _ in operands if items is not None]
    dynamic = [a for (items, a) in operands if items is not None]
    if not arrays:
        return ss.json_array(exp.Array(expressions=[as_json(ss, fn([v for _, v in operands]))]))

    def body(lists: list[Expr]) -> Expr:
        it = iter(lists)
        cols = [next(it) if items is not None else None for items, _ in operands]
        longest = (
            ctx.dialect.call("greatest", *[ss.length(lst) for lst in lists])
            if len(lists) > 1
            else ss.length(lists[0])
        )

        def element(i: Expr) -> Expr:
            values = [
                _at_or_null(ss, c, i) if c is not None else v.copy()
                for c, (_, v) in zip(cols, operands, strict=True)
            ]
            missing = [exp.Is(this=v.copy(), expression=exp.Null()) for v in values]
            test: Expr = missing[0]
            for more in missing[1:]:
                test = exp.Or(this=test, expression=more)
            # a missing element gives null whatever the operator does with NULL (== is null-safe)
            return as_json(ss, exp.If(this=test, true=exp.Null(), false=fn(values)))

        return ss.json_array(ss.map(ss.indexes(longest), element))

    result = ss.let_all(arrays, body)
    cond = [is_array(ctx.dialect, a.copy()) for a in dynamic]
    test = cond[0]
    for extra in cond[1:]:
        test = exp.And(this=test, expression=extra)
    return exp.If(this=test, true=result, false=exp.Null())


def _at_or_null(ss: SeriesSql, items: Expr, i: Expr) -> Expr:
    return exp.If(
        this=exp.LT(this=i, expression=ss.length(items)), true=ss.at(items, i.copy()), false=exp.Null()
    )


def _real_json(ss: SeriesSql, value: Expr) -> Expr:
    return ss.real_json(value)


def _bool_json(ss: SeriesSql, value: Expr) -> Expr:
    return ss.d.to_json(ss.d.cast(value, _T.BOOL))


# ---------------------------------------------------------------------------- element-wise

_UNARY_SPECS = {"abs": "abs", "acos": "acos", "asin": "asin", "atan": "atan", "ceiling": "ceiling", "cos": "cos",
                "exp": "exp", "log": "log", "sign": "sign", "sin": "sin", "tan": "tan"}  # fmt: skip


def _register_unary(name: str, scalar_name: str | None) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        def fn(v: list[Expr]) -> Expr:
            if scalar_name is None:
                return exp.Floor(this=v[0])
            return apply_spec(ctx, SCALARS[scalar_name], v, [_R])

        return _elementwise(ctx, call, args, fn, _real_json)

    scalar(f"series_{name}", args=1, returns=_D, params=[_D])(lower)


for _name, _scalar_name in _UNARY_SPECS.items():
    _register_unary(_name, _scalar_name)
_register_unary("floor", None)

_BINARY = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "pow": "pow"}
_COMPARE = {"greater": ">", "greater_equals": ">=", "less": "<", "less_equals": "<=", "equals": "==",
            "not_equals": "!="}  # fmt: skip


def _register_binary(name: str, op: str, compare: bool) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        spec = SCALARS["pow"] if op == "pow" else OPERATORS[op]

        def fn(v: list[Expr]) -> Expr:
            return apply_spec(ctx, spec, v, [_R, _R])

        return _elementwise(ctx, call, args, fn, _bool_json if compare else _real_json)

    scalar(f"series_{name}", args=2, returns=_D)(lower)


for _name, _op in _BINARY.items():
    _register_binary(_name, _op, False)
for _name, _op in _COMPARE.items():
    _register_binary(_name, _op, True)


# ---------------------------------------------------------------------------- products, correlation


def _pairwise(
    ctx: LowerContext, call: BCall, args: list[Expr], fn: Callable[[SeriesSql, Expr, Expr], Expr]
) -> Expr:
    """``fn`` of two equal-length SQL lists (a scalar argument repeats to the other's length)."""
    ss = SeriesSql(ctx, args)
    a, b = (_operand(ss, x, t.type) for x, t in zip(args[:2], call.args[:2], strict=True))
    arrays = [x[0] for x in (a, b) if x[0] is not None]

    def body(lists: list[Expr]) -> Expr:
        n = ss.length(lists[0])
        it = iter(lists)

        def side(items: Expr | None, value: Expr) -> Expr:
            return next(it) if items is not None else ss.map(ss.indexes(n.copy()), lambda _i: value.copy())

        left, right = side(*a), side(*b)
        return fn(ss, left, right)

    return ss.let_all(arrays, body)


def _dot(ss: SeriesSql, a: Expr, b: Expr) -> Expr:
    """Sum of products over the common length."""
    n = ss.d.call("least", ss.length(a), ss.length(b))
    return ss.sum(ss.map(ss.indexes(n), lambda i: mul(ss.at(a, i), ss.at(b, i.copy()))))


@scalar("series_dot_product", args=2, returns=_R)
def _series_dot_product(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    return _pairwise(ctx, call, args, _dot)


@scalar("series_magnitude", args=1, returns=_R, params=[_D])
def _series_magnitude(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    return ss.let(ss.numbers(args[0]), lambda v: ctx.dialect.call("sqrt", _dot(ss, v, v.copy())))


@scalar("series_sum", args=1, returns=_R, params=[_D])
def _series_sum(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    return ctx.dialect.cast(ss.sum(ss.numbers(args[0])), _R)


@scalar("series_cosine_similarity", args=(2, 4), returns=_R)
def _series_cosine_similarity(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """``a·b / (|a| |b|)``; optional precomputed magnitudes."""
    d = ctx.dialect

    def cosine(ss: SeriesSql, a: Expr, b: Expr) -> Expr:
        mag_a = args[2] if len(args) > 2 else d.call("sqrt", _dot(ss, a, a.copy()))
        mag_b = args[3] if len(args) > 3 else d.call("sqrt", _dot(ss, b, b.copy()))
        return div(_dot(ss, a.copy(), b.copy()), d.call("nullif", mul(mag_a, mag_b), num(0)))

    return _pairwise(ctx, call, args, cosine)


@scalar("series_pearson_correlation", args=2, returns=_R)
def _series_pearson_correlation(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    d = ctx.dialect

    def pearson(ss: SeriesSql, a: Expr, b: Expr) -> Expr:
        n = d.cast(d.call("least", ss.length(a), ss.length(b)), _R)
        sa, sb, sab = ss.sum(a.copy()), ss.sum(b.copy()), _dot(ss, a.copy(), b.copy())
        saa, sbb = _dot(ss, a.copy(), a.copy()), _dot(ss, b.copy(), b.copy())
        cov = sub(mul(n, sab), mul(sa, sb))
        spread = mul(
            sub(mul(n.copy(), saa), mul(sa.copy(), sa.copy())),
            sub(mul(n.copy(), sbb), mul(sb.copy(), sb.copy())),
        )
        return div(cov, d.call("nullif", d.call("sqrt", spread), num(0)))

    return _pairwise(ctx, call, args, pearson)


# ---------------------------------------------------------------------------- stats and line fit

STATS_OUTPUTS = ("min", "min_idx", "max", "max_idx", "avg", "stdev", "variance")
# Kusto's column types when the outputs spread into columns
STATS_TYPES = (_R, _T.LONG, _R, _T.LONG, _R, _R, _R)


def not_null(v: Expr) -> Expr:
    """``v IS NOT NULL``."""
    return exp.Not(this=exp.Is(this=v, expression=exp.Null()))


def squared_deviations(ss: SeriesSql, values: Expr) -> Expr:
    """Σ (v - mean)² over the non-null elements (0 when there are none)."""
    return ss.let(exp.Coalesce(this=ss.mean(values), expressions=[num(0.0)]),
                  lambda avg: ss.sum(ss.map(values.copy(), lambda v: mul(sub(v, avg), sub(v.copy(), avg.copy())))))  # fmt: skip


def series_stats_bag(ss: SeriesSql, values: Expr) -> Expr:
    """min, min_idx, max, max_idx, avg, stdev and variance (sample) of the numeric elements."""
    d = ss.d

    def stats(present: Expr) -> Expr:
        some = exp.GT(this=ss.length(present), expression=num(0))  # ClickHouse's arrayMin([]) is 0
        lo = exp.If(this=some, true=d.call("list_min", present.copy()), false=exp.Null())
        hi = exp.If(this=some.copy(), true=d.call("list_max", present.copy()), false=exp.Null())
        n1 = d.call("nullif", sub(ss.length(present.copy()), num(1)), num(0))
        variance = div(squared_deviations(ss, present.copy()), n1)

        def members(b: list[Expr]) -> Expr:
            low, high, var = b
            return ss.bag([("min", ss.real_json(low)), ("min_idx", d.to_json(_index_of(ss, values, low.copy()))),
                           ("max", ss.real_json(high)), ("max_idx", d.to_json(_index_of(ss, values, high.copy()))),
                           ("avg", ss.real_json(ss.mean(present.copy()))),
                           ("stdev", ss.real_json(d.call("sqrt", var))), ("variance", ss.real_json(var.copy()))])  # fmt: skip

        return ss.let_all([lo, hi, variance], members)

    return ss.let(ss.present(values.copy()), stats)


def _index_of(ss: SeriesSql, values: Expr, target: Expr) -> Expr:
    hits = ss.filter(
        ss.indexes(ss.length(values)), lambda i: exp.EQ(this=ss.at(values, i), expression=target.copy())
    )
    return ss.first_of(hits)


def _register_stats(name: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        ss = SeriesSql(ctx, args)
        return ss.let(ss.numbers(args[0]), lambda v: series_stats_bag(ss, v))

    spread = {} if name.endswith("_dynamic") else {"outputs": STATS_OUTPUTS, "output_types": STATS_TYPES}
    scalar(name, args=(1, 2), returns=_D, params=[_D, _T.BOOL], **spread)(lower)


_register_stats("series_stats")
_register_stats("series_stats_dynamic")

FIT_OUTPUTS = ("rsquare", "slope", "variance", "rvariance", "interception", "line_fit")


def line_fit(ss: SeriesSql, values: Expr) -> Expr:
    """A record (slope, interception): least squares of the numeric elements against x = 1..n."""
    d = ss.d

    def coefficients(v: Expr) -> Expr:
        idx = ss.filter(ss.indexes(ss.length(v)), lambda i: not_null(ss.at(v, i)))

        def fit(points: list[Expr]) -> Expr:
            xs, ys = points
            n = d.cast(ss.length(xs), _R)
            sx, sy, sxy, sxx = (
                ss.sum(xs.copy()),
                ss.sum(ys.copy()),
                _dot(ss, xs.copy(), ys.copy()),
                _dot(ss, xs.copy(), xs.copy()),
            )
            spread = d.call("nullif", sub(mul(n.copy(), sxx), mul(sx.copy(), sx.copy())), num(0))
            slope = div(sub(mul(n, sxy), mul(sx, sy)), spread)
            return ss.let(
                slope,
                lambda a: d.row(
                    a, div(sub(sy.copy(), mul(a.copy(), sx.copy())), d.call("nullif", n.copy(), num(0)))
                ),
            )

        return ss.let(idx, lambda ix: ss.let_all([ss.map(ix, lambda i: d.cast(add(i, num(1)), _R)),
                                                  ss.map(ix.copy(), lambda i: ss.at(v, i))], fit))  # fmt: skip

    return ss.let(values, coefficients)


def fit_line_bag(ss: SeriesSql, values: Expr) -> Expr:
    d = ss.d

    def fitted(coef: Expr) -> Expr:
        a, b = d.row_field(coef, 1), d.row_field(coef.copy(), 2)
        line = ss.map(
            ss.indexes(ss.length(values)), lambda i: add(b.copy(), mul(a.copy(), d.cast(add(i, num(1)), _R)))
        )

        def measures(parts: list[Expr]) -> Expr:
            fit, residuals, total = parts
            n1 = d.call("nullif", sub(ss.count_where(values.copy(), not_null), num(1)), num(0))
            members = [("rsquare", sub(num(1), div(residuals, d.call("nullif", total, num(0))))), ("slope", a.copy()),
                       ("variance", div(total.copy(), n1)), ("rvariance", div(residuals.copy(), n1.copy())),
                       ("interception", b.copy())]  # fmt: skip
            return ss.bag(
                [(k, ss.real_json(v)) for k, v in members] + [("line_fit", ss.reals_json(fit.copy()))]
            )

        return ss.let(line, lambda fit: ss.let_all([fit, _residual_squares(ss, values, fit.copy()),
                                                    squared_deviations(ss, values.copy())], measures))  # fmt: skip

    return ss.let(line_fit(ss, values), fitted)


def _residual_squares(ss: SeriesSql, values: Expr, line: Expr) -> Expr:
    def square(i: Expr) -> Expr:
        gap = sub(ss.at(values, i), ss.at(line, i.copy()))
        return mul(gap, gap.copy())

    return ss.sum(ss.map(ss.indexes(ss.length(values)), square))


def _register_fit(name: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        ss = SeriesSql(ctx, args)
        return ss.let(ss.numbers(args[0]), lambda v: fit_line_bag(ss, v))

    spread = (
        {}
        if name.endswith("_dynamic")
        else {"outputs": FIT_OUTPUTS, "output_types": (_R, _R, _R, _R, _R, _D)}
    )
    scalar(name, args=1, returns=_D, params=[_D], **spread)(lower)


_register_fit("series_fit_line")
_register_fit("series_fit_line_dynamic")


# ---------------------------------------------------------------------------- two lines

TWO_LINES_OUTPUTS = ("rsquare", "split_idx", "variance", "rvariance", "line_fit", "right_rsquare", "right_slope",
                     "right_interception", "right_variance", "right_rvariance", "left_rsquare", "left_slope",
                     "left_interception", "left_variance", "left_rvariance")  # fmt: skip
_SEGMENT = ("slope", "interception", "ssr", "sst", "count")


def _segment(ss: SeriesSql, values: Expr, start: Expr, stop: Expr) -> Expr:
    """A record (slope, interception, residual SS, total SS, points) of the line fitted to elements
    ``start .. stop-1``; the interception is for the series' own x = 1..n."""
    d = ss.d

    def stats(part: Expr) -> Expr:
        def with_fit(coef: Expr) -> Expr:
            a, b = d.row_field(coef, 1), d.row_field(coef.copy(), 2)
            line = ss.map(
                ss.indexes(ss.length(part)),
                lambda i: add(b.copy(), mul(a.copy(), d.cast(add(i, num(1)), _R))),
            )
            ssr = _residual_squares(ss, part, line)
            count = ss.count_where(part.copy(), not_null)
            global_b = sub(b.copy(), mul(a.copy(), d.cast(start.copy(), _R)))
            return d.row(a.copy(), global_b, ssr, squared_deviations(ss, part.copy()), count)

        return ss.let(line_fit(ss, part), with_fit)

    return ss.let(ss.slice(values, start, stop), stats)


def _best_split(ss: SeriesSql, values: Expr) -> Expr:
    """The split (first index of the right part) whose two lines leave the least residual."""
    d = ss.d
    n = ss.length(values)

    def candidate(k: Expr) -> Expr:
        left, right = _segment(ss, values, num(0), k), _segment(ss, values, k.copy(), n.copy())
        return ss.let_all(
            [left, right], lambda lr: d.row(add(d.row_field(lr[0], 3), d.row_field(lr[1], 3)), k.copy())
        )

    splits = d.call("range", num(2), sub(n.copy(), num(1)))
    best = ss.first_of(d.call("list_sort", ss.map(splits, candidate)))
    return exp.Coalesce(this=d.row_field(best, 2), expressions=[num(0)])


def _segment_measures(ss: SeriesSql, seg: Expr) -> list[tuple[str, Expr]]:
    """rsquare, slope, interception, variance and rvariance of one segment record."""
    d = ss.d
    field = {name: i for i, name in enumerate(_SEGMENT, start=1)}

    def get(name: str) -> Expr:
        return d.row_field(seg.copy(), field[name])

    n1 = d.call("nullif", sub(get("count"), num(1)), num(0))
    return [("rsquare", sub(num(1), div(get("ssr"), d.call("nullif", get("sst"), num(0))))), ("slope", get("slope")),
            ("interception", get("interception")), ("variance", div(get("sst"), n1)),
            ("rvariance", div(get("ssr"), n1.copy()))]  # fmt: skip


def _two_lines_bag(ss: SeriesSql, values: Expr, parts: list[Expr], nested: bool) -> Expr:
    d = ss.d
    k, left, right, total = parts

    def line(i: Expr) -> Expr:
        seg = exp.If(this=exp.LT(this=i, expression=k.copy()), true=left.copy(), false=right.copy())
        return add(d.row_field(seg, 2), mul(d.row_field(seg.copy(), 1), d.cast(add(i.copy(), num(1)), _R)))

    ssr = add(d.row_field(left.copy(), 3), d.row_field(right.copy(), 3))
    n1 = d.call("nullif", sub(ss.count_where(values.copy(), not_null), num(1)), num(0))
    head = [("rsquare", ss.real_json(sub(num(1), div(ssr, d.call("nullif", total, num(0)))))),
            ("split_idx", d.to_json(k.copy())), ("variance", ss.real_json(div(total.copy(), n1))),
            ("rvariance", ss.real_json(div(ssr.copy(), n1.copy()))),
            ("line_fit", ss.reals_json(ss.map(ss.indexes(ss.length(values)), line)))]  # fmt: skip
    sides = [("right", _segment_measures(ss, right)), ("left", _segment_measures(ss, left))]
    if nested:
        return ss.bag(head + [(name, ss.bag([(m, ss.real_json(v)) for m, v in ms])) for name, ms in sides])
    return ss.bag(head + [(f"{name}_{m}", ss.real_json(v)) for name, ms in sides for m, v in ms])


def fit_two_lines(ss: SeriesSql, values: Expr, nested: bool) -> Expr:
    """Kusto's two-segment regression: the split leaving the least residual, both lines described."""
    n = ss.length(values)

    def with_split(k: Expr) -> Expr:
        left, right = _segment(ss, values, num(0), k), _segment(ss, values, k.copy(), n.copy())
        parts = [k, left, right, squared_deviations(ss, values.copy())]
        return ss.let_all(parts, lambda p: _two_lines_bag(ss, values, p, nested))

    return ss.let(_best_split(ss, values), with_split)


def _register_two_lines(name: str, nested: bool) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        ss = SeriesSql(ctx, args)
        return ss.let(ss.numbers(args[0]), lambda v: fit_two_lines(ss, v, nested))

    types = tuple(_T.LONG if k == "split_idx" else _D if k == "line_fit" else _R for k in TWO_LINES_OUTPUTS)
    extra = {} if nested else {"outputs": TWO_LINES_OUTPUTS, "output_types": types}
    scalar(name, args=1, returns=_D, params=[_D], **extra)(lower)


_register_two_lines("series_fit_2lines", False)
_register_two_lines("series_fit_2lines_dynamic", True)
