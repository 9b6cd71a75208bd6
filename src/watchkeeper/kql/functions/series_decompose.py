"""Seasonality, decomposition and anomaly scoring: ``series_outliers``, ``series_periods_detect``,
``series_periods_validate``, ``series_seasonal``, ``series_decompose``,
``series_decompose_anomalies``, ``series_decompose_forecast``.

Kusto's documented algorithm, step by step (all in SQL list lambdas):

* seasonal component: the median of the points of each phase of the period (learning points only);
* trend: ``avg`` (the mean of the de-seasoned learning points), ``linefit`` (least squares over
  the de-seasoned learning points, extrapolated over the test points) or ``none``;
* baseline = seasonal + trend; residual = series - baseline;
* anomalies: Tukey fences on the residual: a point above the upper percentile P_hi scores
  ``(x - P_hi) / (P_hi - P_lo)``, below P_lo ``(x - P_lo) / (P_hi - P_lo)``, otherwise 0
  (``tukey``: P25/P75, ``ctukey``: P10/P90 or the given percentiles; linear interpolation between
  ranks; a zero spread counts as 1e-9, so a spike in a flat residual still scores);
  ``ad_flag`` is +1/-1 where the score passes ±threshold.

Period detection is watchkeeper's own, since Kusto does not document its. The series is clipped to
Tukey's fences and detrended; a period p (4 <= p <= n/2) scores its unbiased autocorrelation at
lag p (clipped to [0, 1]); it is a candidate when that score is a local peak of at least 0.25 and
the sinusoid of period p explains at least a fifth of the variance; the best candidate wins when
its score reaches the threshold (0.6 by default). Scores are close to, not equal to, Kusto's.
"""

from __future__ import annotations

import math

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.series import SeriesSql, line_fit
from watchkeeper.kql.functions.sqlparts import add, const, div, is_const, mod, mul, num, sub
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_D = _T.DYNAMIC
_R = _T.REAL
Expr = exp.Expression

_MIN_PERIOD = 4
_SPECTRAL_SHARE = 0.2
_DEFAULT_THRESHOLD = 0.6
_MIN_SPREAD = 1e-9


def _is_null(v: Expr) -> Expr:
    return exp.Is(this=v, expression=exp.Null())


# ---------------------------------------------------------------------------- outliers


def outlier_scores(ss: SeriesSql, values: Expr, low: Expr, high: Expr) -> Expr:
    """Tukey scores of each element against the ``low``/``high`` fractions' quantiles; 0 for nulls."""
    d = ss.d

    def score(ordered: Expr) -> Expr:
        def scored(q: list[Expr]) -> Expr:
            lo, hi = q
            # a flat residual (no spread at all) still lets a spike stand out
            spread = d.call("greatest", sub(hi, lo), num(_MIN_SPREAD))

            def one(v: Expr) -> Expr:
                above = div(sub(v, hi.copy()), spread.copy())
                below = div(sub(v.copy(), lo.copy()), spread.copy())
                value = exp.Case(ifs=[exp.If(this=exp.GT(this=v.copy(), expression=hi.copy()), true=above),
                                      exp.If(this=exp.LT(this=v.copy(), expression=lo.copy()), true=below)], default=num(0.0))  # fmt: skip
                return exp.Coalesce(this=value, expressions=[num(0.0)])

            return ss.map(values, one)

        return ss.let_all([ss.quantile(ordered, low), ss.quantile(ordered.copy(), high)], scored)

    return ss.let(ss.sorted(values.copy()), score)


def _fractions(ctx: LowerContext, call: BCall, args: list[Expr], kind_at: int) -> tuple[Expr, Expr]:
    kind = str(const(call.args[kind_at])).lower() if len(args) > kind_at else "ctukey"
    if kind == "tukey":
        return num(0.25), num(0.75)
    if kind != "ctukey":
        raise UnsupportedError(f"{call.fn.name}() kind '{kind}' (use 'tukey' or 'ctukey')")
    low = div(args[kind_at + 2], num(100.0)) if len(args) > kind_at + 2 else num(0.1)
    high = div(args[kind_at + 3], num(100.0)) if len(args) > kind_at + 3 else num(0.9)
    return low, high


@scalar("series_outliers", args=(1, 5), returns=_D, params=[_D, _T.STRING, _R, _R, _R], constant=[1])
def _series_outliers(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    low, high = _fractions(ctx, call, args, 1)
    values = ss.numbers(args[0])
    if len(args) > 2 and not (is_const(call.args[2]) and const(call.args[2]) is None):
        ignored = args[2]
        values = ss.map(
            values,
            lambda v: exp.If(this=exp.EQ(this=v, expression=ignored.copy()), true=exp.Null(), false=v.copy()),
        )
    return ss.let(values, lambda v: ss.reals_json(outlier_scores(ss, v, low, high)))


# ---------------------------------------------------------------------------- periods


def _centered(ss: SeriesSql, raw: Expr) -> Expr:
    """The series clipped to Tukey's fences (so that a few spikes neither tilt the line nor hide
    the period), minus its least-squares line; missing points count as 0."""
    return ss.let(_clipped(ss, raw), lambda values: _detrended(ss, values))


def _detrended(ss: SeriesSql, values: Expr) -> Expr:
    def residual(line: Expr) -> Expr:
        return ss.map(ss.indexes(ss.length(values)),
                      lambda i: exp.Coalesce(this=sub(ss.at(values, i), ss.at(line, i.copy())), expressions=[num(0.0)]))  # fmt: skip

    return ss.let(_line(ss, values, ss.length(values.copy())), residual)


def _line(ss: SeriesSql, learned: Expr, count: Expr) -> Expr:
    """The least-squares line of ``learned`` (x = 1, 2...) over ``count`` points (0 when undefined)."""
    d = ss.d

    def points(coef: Expr) -> Expr:
        a = exp.Coalesce(this=d.row_field(coef, 1), expressions=[num(0.0)])
        b = exp.Coalesce(this=d.row_field(coef.copy(), 2), expressions=[num(0.0)])
        return ss.map(ss.indexes(count), lambda i: add(b.copy(), mul(a.copy(), d.cast(add(i, num(1)), _R))))

    return ss.let(line_fit(ss, learned), points)


def _clipped(ss: SeriesSql, values: Expr) -> Expr:
    d = ss.d

    def clip(q: list[Expr]) -> Expr:
        q1, q3 = q
        reach = mul(num(1.5), sub(q3, q1))
        lo, hi = sub(q1.copy(), reach), add(q3.copy(), reach.copy())
        return ss.map(values, lambda v: d.call("least", d.call("greatest", v, lo.copy()), hi.copy()))

    return ss.let(
        ss.sorted(values.copy()),
        lambda s: ss.let_all([ss.quantile(s, num(0.25)), ss.quantile(s.copy(), num(0.75))], clip),
    )


def _lag_sum(ss: SeriesSql, x: Expr, p: Expr) -> Expr:
    """Σ x[t]·x[t+p]."""
    return ss.sum(
        ss.map(
            ss.indexes(sub(ss.length(x), p)), lambda t: mul(ss.at(x, t), ss.at(x, add(t.copy(), p.copy())))
        )
    )


def _acf(ss: SeriesSql, x: Expr, energy: Expr, p: Expr) -> Expr:
    """Unbiased autocorrelation at lag p, clipped to [0, 1]."""
    d = ss.d
    n = d.cast(ss.length(x), _R)
    value = div(div(_lag_sum(ss, x, p), d.cast(sub(ss.length(x), p.copy()), _R)), div(energy, n))
    return d.call("least", d.call("greatest", value, num(0.0)), num(1.0))


def _spectral_share(ss: SeriesSql, x: Expr, energy: Expr, p: Expr) -> Expr:
    """Share of the variance a sinusoid of period p explains."""
    d = ss.d

    def wave(fn: str) -> Expr:
        return ss.sum(ss.map(ss.indexes(ss.length(x)),
                             lambda t: mul(ss.at(x, t), d.call(fn, div(mul(num(2 * math.pi), t.copy()), p.copy())))))  # fmt: skip

    def share(w: list[Expr]) -> Expr:
        power = add(mul(w[0], w[0].copy()), mul(w[1], w[1].copy()))
        return div(mul(power, num(2.0)), mul(d.cast(ss.length(x), _R), energy.copy()))

    return ss.let_all([wave("cos"), wave("sin")], share)


def period_candidates(ss: SeriesSql, values: Expr, lowest: Expr, highest: Expr) -> Expr:
    """Sorted (ascending) records (score, period) of the candidate periods in [lowest, highest]:
    local peaks of the autocorrelation (at least 0.25) whose sinusoid is strong enough. The cheap
    autocorrelation goes first; the trigonometric test runs on the few peaks only."""
    d = ss.d

    def scored(x: Expr) -> Expr:
        def with_energy(e: Expr) -> Expr:
            first = d.call("greatest", lowest, num(_MIN_PERIOD))
            top = d.call("least", highest, d.int_div(ss.length(x), num(2)))
            lags = ss.map(d.call("range", first, add(top, num(1))), lambda p: _acf(ss, x, e, p))

            def peaks(acfs: Expr) -> Expr:
                peak = ss.filter(ss.indexes(ss.length(acfs)), lambda k: _is_peak(ss, acfs, k))
                strong = ss.filter(peak, lambda k: exp.GTE(this=_spectral_share(ss, x, e.copy(), add(k, first.copy())),
                                                           expression=num(_SPECTRAL_SHARE)))  # fmt: skip
                return d.call(
                    "list_sort", ss.map(strong, lambda k: d.row(ss.at(acfs, k), add(k.copy(), first.copy())))
                )

            return exp.If(this=exp.GT(this=e.copy(), expression=num(0)), true=ss.let(lags, peaks),
                          false=d.call("list_sort", ss.map(d.call("range", num(0)), lambda p: d.row(num(0.0), p))))  # fmt: skip

        return ss.let(ss.sum(ss.map(x, lambda v: mul(v, v.copy()))), with_energy)

    return ss.let(_centered(ss, values), scored)


def _is_peak(ss: SeriesSql, acfs: Expr, k: Expr) -> Expr:
    """Autocorrelation ``k`` is at least 0.25 and no lower than its neighbours."""
    n = ss.length(acfs)
    here = ss.at(acfs, k)
    before = exp.If(
        this=exp.GT(this=k.copy(), expression=num(0)),
        true=ss.at(acfs, sub(k.copy(), num(1))),
        false=num(-1.0),
    )
    after = exp.If(this=exp.LT(this=add(k.copy(), num(1)), expression=n), true=ss.at(acfs, add(k.copy(), num(1))),
                   false=num(-1.0))  # fmt: skip
    return exp.And(this=exp.And(this=exp.GTE(this=here, expression=num(0.25)), expression=exp.GTE(this=here.copy(), expression=before)),
                   expression=exp.GTE(this=here.copy(), expression=after))  # fmt: skip


def detect_period(ss: SeriesSql, values: Expr, threshold: Expr) -> Expr:
    """The best period when its score reaches ``threshold``, else 0."""
    d = ss.d

    def best(records: Expr) -> Expr:
        top = ss.last(records)
        found = exp.GTE(this=d.row_field(top, 1), expression=threshold)
        return exp.Coalesce(
            this=exp.If(this=found, true=d.row_field(top.copy(), 2), false=num(0)), expressions=[num(0)]
        )

    return ss.let(period_candidates(ss, values, num(_MIN_PERIOD), num(1_000_000)), best)


@scalar(
    "series_periods_detect", args=4, returns=_D, params=[_D, _R, _R, _T.LONG], outputs=("periods", "scores")
)
def _series_periods_detect(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """The ``num_periods`` best periods in [min_period, max_period] and their scores (0-padded)."""
    ss = SeriesSql(ctx, args)
    d = ctx.dialect
    lowest = d.cast(exp.Ceil(this=args[1]), _T.LONG)
    highest = d.cast(exp.Floor(this=args[2]), _T.LONG)

    def pick(records: Expr) -> Expr:
        ranked = d.call("list_reverse", records)

        def field(k: int, i: Expr) -> Expr:
            inside = exp.LT(this=i, expression=ss.length(ranked))
            return exp.If(
                this=inside, true=d.cast(d.row_field(ss.at(ranked, i.copy()), k), _R), false=num(0.0)
            )

        slots = ss.indexes(args[3])
        periods = ss.map(slots, lambda i: field(2, i))
        scores = ss.map(slots.copy(), lambda i: field(1, i))
        return ss.bag([("periods", ss.reals_json(periods)), ("scores", ss.reals_json(scores))])

    return ss.let(period_candidates(ss, ss.numbers(args[0]), lowest, highest), pick)


@scalar("series_periods_validate", args=(2, None), returns=_D, params=[_D, _R], outputs=("periods", "scores"))
def _series_periods_validate(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    d = ctx.dialect
    periods = exp.Array(expressions=[d.cast(a, _R) for a in args[1:]])

    def scored(x: Expr) -> Expr:
        energy = ss.sum(ss.map(x, lambda v: mul(v, v.copy())))
        scores = ss.map(
            periods,
            lambda p: exp.Coalesce(
                this=_acf(ss, x, energy.copy(), d.cast(p, _T.LONG)), expressions=[num(0.0)]
            ),
        )
        return ss.bag([("periods", ss.reals_json(periods.copy())), ("scores", ss.reals_json(scores))])

    return ss.let(_centered(ss, ss.numbers(args[0])), scored)


# ---------------------------------------------------------------------------- decomposition


def seasonal_component(ss: SeriesSql, values: Expr, period: Expr, learn: Expr) -> Expr:
    """Per point, the median of the learning points of its phase (0 without a period)."""
    d = ss.d

    def phase_median(phase: Expr) -> Expr:
        count = d.int_div(add(sub(learn, phase), sub(period, num(1))), period.copy())
        picked = ss.map(ss.indexes(count), lambda k: ss.at(values, add(phase.copy(), mul(k, period.copy()))))
        return ss.median(picked)

    pattern = ss.map(ss.indexes(period.copy()), phase_median)

    def spread(p: Expr) -> Expr:
        size = d.call("greatest", period.copy(), num(1))  # modulo by 0 fails on ClickHouse

        def point(i: Expr) -> Expr:
            value = exp.Coalesce(this=ss.at(p, mod(i, size.copy())), expressions=[num(0.0)])
            return exp.If(this=exp.GT(this=period.copy(), expression=num(0)), true=value, false=num(0.0))

        return ss.map(ss.indexes(ss.length(values)), point)

    return ss.let(pattern, spread)


def _trend(ss: SeriesSql, deseasoned: Expr, learn: Expr, kind: str) -> Expr:
    n = ss.length(deseasoned)
    if kind == "none":
        return ss.map(ss.indexes(n), lambda _i: num(0.0))
    learned = ss.slice(deseasoned, num(0), learn)
    if kind == "avg":  # the mean of the de-seasoned learning points, everywhere
        return ss.let(
            exp.Coalesce(this=ss.mean(learned), expressions=[num(0.0)]),
            lambda m: ss.map(ss.indexes(n), lambda _i: m.copy()),
        )
    if kind != "linefit":
        raise UnsupportedError(f"series decomposition trend '{kind}' (use 'avg', 'linefit' or 'none')")
    return _line(ss, learned, n)


def decompose(
    ss: SeriesSql, values: Expr, seasonality: Expr, trend: str, test_points: Expr, threshold: Expr
) -> Expr:
    """A SQL list of records (baseline, seasonal, trend, residual) per point."""
    d = ss.d
    n = ss.length(values)
    learn = d.call("greatest", sub(n, test_points), num(0))

    def with_learn(m: Expr) -> Expr:
        auto = detect_period(ss, ss.slice(values, num(0), m), threshold)
        period = exp.Case(ifs=[exp.If(this=exp.EQ(this=seasonality, expression=num(-1)), true=auto),
                               exp.If(this=exp.GT(this=seasonality.copy(), expression=num(0)), true=seasonality.copy())],
                          default=num(0))  # fmt: skip

        def with_period(p: Expr) -> Expr:
            def with_seasonal(s: Expr) -> Expr:
                deseasoned = ss.map(
                    ss.indexes(ss.length(values)), lambda i: sub(ss.at(values, i), ss.at(s, i.copy()))
                )
                return ss.let(
                    deseasoned,
                    lambda ds: ss.let(_trend(ss, ds, m.copy(), trend), lambda t: _records(ss, values, s, t)),
                )

            return ss.let(seasonal_component(ss, values, p, m.copy()), with_seasonal)

        return ss.let(d.cast(period, _T.LONG), with_period)

    return ss.let(learn, with_learn)


def _records(ss: SeriesSql, values: Expr, seasonal: Expr, trend: Expr) -> Expr:
    def record(i: Expr) -> Expr:
        baseline = add(ss.at(seasonal, i), ss.at(trend, i.copy()))
        return ss.d.row(
            baseline,
            ss.at(seasonal, i.copy()),
            ss.at(trend, i.copy()),
            sub(ss.at(values, i.copy()), baseline.copy()),
        )

    return ss.map(ss.indexes(ss.length(values)), record)


def _field(ss: SeriesSql, records: Expr, k: int) -> Expr:
    return ss.map(records, lambda r: ss.d.row_field(r, k))


def _options(call: BCall, args: list[Expr], first: int) -> tuple[Expr, str, Expr, Expr]:
    """(seasonality, trend, test_points, threshold) from the arguments starting at ``first``."""
    seasonality = args[first] if len(args) > first else num(-1)
    trend = str(const(call.args[first + 1])).lower() if len(args) > first + 1 else "avg"
    test_points = args[first + 2] if len(args) > first + 2 else num(0)
    threshold = args[first + 3] if len(args) > first + 3 else num(_DEFAULT_THRESHOLD)
    return seasonality, trend, test_points, threshold


@scalar("series_decompose", args=(1, 5), returns=_D, params=[_D, _T.LONG, _T.STRING, _T.LONG, _R], constant=[2],
        outputs=("baseline", "seasonal", "trend", "residual"))  # fmt: skip
def _series_decompose(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    seasonality, trend, test_points, threshold = _options(call, args, 1)

    def parts(records: Expr) -> Expr:
        names = ("baseline", "seasonal", "trend", "residual")
        return ss.bag(
            [(name, ss.reals_json(_field(ss, records, k))) for k, name in enumerate(names, start=1)]
        )

    return ss.let(
        ss.numbers(args[0]),
        lambda v: ss.let(decompose(ss, v, seasonality, trend, test_points, threshold), parts),
    )


@scalar("series_decompose_forecast", args=(2, 5), returns=_D, params=[_D, _T.LONG, _T.LONG, _T.STRING, _R],
        constant=[3])  # fmt: skip
def _series_decompose_forecast(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """The baseline of a decomposition learnt without the last ``points`` points (the forecast)."""
    ss = SeriesSql(ctx, args)
    seasonality = args[2] if len(args) > 2 else num(-1)
    trend = str(const(call.args[3])).lower() if len(args) > 3 else "avg"
    threshold = args[4] if len(args) > 4 else num(_DEFAULT_THRESHOLD)

    def forecast(v: Expr) -> Expr:
        return ss.reals_json(_field(ss, decompose(ss, v, seasonality, trend, args[1], threshold), 1))

    return ss.let(ss.numbers(args[0]), forecast)


@scalar("series_decompose_anomalies", args=(1, 7), returns=_D,
        params=[_D, _R, _T.LONG, _T.STRING, _T.LONG, _T.STRING, _R], constant=[3, 5],
        outputs=("ad_flag", "ad_score", "baseline"))  # fmt: skip
def _series_decompose_anomalies(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """Decompose, score the residual with Tukey's fences, flag scores beyond ±threshold."""
    ss = SeriesSql(ctx, args)
    d = ctx.dialect
    limit = args[1] if len(args) > 1 else num(1.5)
    seasonality, trend, test_points, _ = _options(call, args, 2)
    threshold = args[6] if len(args) > 6 else num(_DEFAULT_THRESHOLD)
    kind = str(const(call.args[5])).lower() if len(args) > 5 else "ctukey"
    low, high = (num(0.25), num(0.75)) if kind == "tukey" else (num(0.1), num(0.9))

    def parts(records: Expr) -> Expr:
        def scored(scores: Expr) -> Expr:
            flag = ss.map(scores, lambda s: exp.Case(ifs=[exp.If(this=exp.GT(this=s, expression=limit.copy()), true=num(1)),
                                                          exp.If(this=exp.LT(this=s.copy(), expression=exp.Neg(this=exp.Paren(this=limit.copy()))), true=num(-1))],
                                                     default=num(0)))  # fmt: skip
            return ss.bag([("ad_flag", ss.json_array(ss.to_json_values(ss.map(flag, lambda f: d.cast(f, _T.LONG))))),
                           ("ad_score", ss.reals_json(scores.copy())), ("baseline", ss.reals_json(_field(ss, records, 1)))])  # fmt: skip

        return ss.let(outlier_scores(ss, _field(ss, records, 4), low, high), scored)

    return ss.let(
        ss.numbers(args[0]),
        lambda v: ss.let(decompose(ss, v, seasonality, trend, test_points, threshold), parts),
    )


@scalar("series_seasonal", args=(1, 2), returns=_D, params=[_D, _T.LONG])
def _series_seasonal(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    seasonality = args[1] if len(args) > 1 else num(-1)

    def seasonal(v: Expr) -> Expr:
        n = ss.length(v)
        period = exp.Case(ifs=[exp.If(this=exp.EQ(this=seasonality, expression=num(-1)), true=detect_period(ss, v, num(_DEFAULT_THRESHOLD))),
                               exp.If(this=exp.GT(this=seasonality.copy(), expression=num(0)), true=seasonality.copy())],
                          default=num(0))  # fmt: skip
        return ss.let(ss.d.cast(period, _T.LONG), lambda p: ss.reals_json(seasonal_component(ss, v, p, n)))

    return ss.let(ss.numbers(args[0]), seasonal)
