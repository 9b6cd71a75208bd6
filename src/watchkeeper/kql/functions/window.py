"""Window functions over serialized rows: ``row_number``, ``prev``, ``next``, ``row_cumsum``,
``row_rank_dense`` and ``row_rank_min``.

They run in the order of the rows they see (the last ``sort``/``order by``/``top``, or the input
order when there was none), which the lowering supplies as :meth:`LowerContext.window_order`.
A *restart* predicate starts the numbering (or the sum) again on the rows where it is true: the
rows are partitioned by the running count of restarts.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.registry import LowerContext, first_arg, window
from watchkeeper.kql.functions.sqlparts import add, num, or_empty, sub
from watchkeeper.kql.plan import BCall, SortSpec
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _running() -> exp.WindowSpec:
    return exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")


def _over(ctx: LowerContext, func: exp.Expression, partition: list[exp.Expression] | None = None,
          running: bool = False) -> exp.Expression:  # fmt: skip
    order = ctx.window_order()
    spec: dict[str, object] = {"this": func}
    if partition:
        spec["partition_by"] = partition
    if order:
        spec["order"] = exp.Order(expressions=order)
    if running:
        spec["spec"] = _running()
    return exp.Window(**spec)


def _restart_group(ctx: LowerContext, restart: exp.Expression) -> list[exp.Expression]:
    """The partition a restart predicate defines: how many restarts happened up to this row."""
    flag = exp.If(this=restart, true=num(1), false=num(0))
    return [_over(ctx, exp.Sum(this=flag), running=True)]


def _partition(ctx: LowerContext, args: list[exp.Expression], index: int) -> list[exp.Expression] | None:
    return _restart_group(ctx, args[index]) if len(args) > index else None


@window("row_number", args=(0, 2), returns=_T.LONG, params=[_T.LONG, _T.BOOL])
def _row_number(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Consecutive numbers from ``start`` (default 1)."""
    numbered = _over(ctx, exp.RowNumber(), _partition(ctx, args, 1))
    return add(numbered, sub(args[0], num(1))) if args else numbered


def _shifted(ctx: LowerContext, call: BCall, args: list[exp.Expression], name: str) -> exp.Expression:
    offset = args[1] if len(args) > 1 else num(1)
    value = args[0]
    if (
        len(args) > 2 and call.type is not _T.UNKNOWN
    ):  # ClickHouse wants the default of the value's exact type
        value, default = ctx.dialect.cast(value, call.type), [ctx.dialect.cast(args[2], call.type)]
    else:
        default = args[2:]
    shifted = _over(ctx, exp.Anonymous(this=name, expressions=[value, offset, *default]))
    return or_empty(shifted) if call.type is _T.STRING else shifted  # Kusto strings are never null


@window("prev", args=(1, 3), returns=first_arg, params=[None, _T.LONG, None])
def _prev(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The value ``offset`` rows back (``default``, or null, before the first row)."""
    return _shifted(ctx, call, args, "lag")


@window("next", args=(1, 3), returns=first_arg, params=[None, _T.LONG, None])
def _next(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The value ``offset`` rows ahead (``default``, or null, after the last row)."""
    return _shifted(ctx, call, args, "lead")


def _cumsum_type(args: list[object]) -> KqlType:
    t = first_arg(args)  # type: ignore[arg-type]
    return _T.LONG if t in (_T.INT, _T.BOOL) else t


@window("row_cumsum", args=(1, 2), returns=_cumsum_type, params=[None, _T.BOOL])
def _row_cumsum(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The running sum of ``term`` (nulls add nothing)."""
    term = ctx.dialect.cast(args[0], _T.LONG) if call.args[0].type is _T.BOOL else args[0]
    summed = _over(ctx, exp.Sum(this=exp.Coalesce(this=term, expressions=[num(0)])), _partition(ctx, args, 1),
                   running=True)  # fmt: skip
    return ctx.dialect.cast(summed, call.type) if call.type in (_T.LONG, _T.REAL, _T.TIMESPAN) else summed


def _run_start(ctx: LowerContext, term: exp.Expression, restart: exp.Expression | None) -> exp.Expression:
    """True on the first row, where ``term`` differs from the previous row's, and on a restart."""
    previous = _over(ctx, exp.Anonymous(this="lag", expressions=[term.copy(), num(1)]))
    first = exp.EQ(this=_over(ctx, exp.RowNumber()), expression=num(1))
    starts: exp.Expression = exp.Or(
        this=first, expression=exp.NullSafeEQ(this=term, expression=previous).not_()
    )
    return (
        exp.Or(this=exp.Paren(this=restart), expression=exp.Paren(this=starts))
        if restart is not None
        else starts
    )


@window("row_rank_dense", args=(1, 2), returns=_T.LONG, params=[None, _T.BOOL])
def _row_rank_dense(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """1 on the first row, one more each time ``term`` differs from the previous row's."""
    starts = _run_start(ctx, args[0], args[1] if len(args) > 1 else None)
    counted = exp.Sum(this=exp.If(this=starts, true=num(1), false=num(0)))
    return ctx.dialect.cast(_over(ctx, counted, _partition(ctx, args, 1), running=True), _T.LONG)


@window("row_rank_min", args=(1, 2), returns=_T.LONG, params=[None, _T.BOOL])
def _row_rank_min(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The row number (within the restart group) of the first row of the current run of ``term``."""
    partition = _partition(ctx, args, 1)
    numbered = _over(ctx, exp.RowNumber(), partition)
    starts = _run_start(ctx, args[0], args[1] if len(args) > 1 else None)
    run_start = exp.If(this=starts, true=numbered, false=exp.Null())
    latest = _over(
        ctx, exp.Max(this=run_start), [p.copy() for p in partition] if partition else None, running=True
    )
    return ctx.dialect.cast(latest, _T.LONG)


@window("_rank_in_partition", args=(0, None), returns=_T.LONG)
def _rank_in_partition(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    spec: SortSpec = call.options[0]
    key = ctx.lower_expr(spec.expr)
    ordered = exp.Ordered(this=key, desc=spec.descending, nulls_first=spec.nulls_first)
    return exp.Window(this=exp.RowNumber(), partition_by=args or None, order=exp.Order(expressions=[ordered]))


@window(
    "row_window_session", args=(3, 4), returns=first_arg, params=[None, _T.TIMESPAN, _T.TIMESPAN, _T.BOOL]
)
def _row_window_session(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Session starts are a running state over the rows, not a window: ``extend Name =
    row_window_session(...)`` binds as a one-step scan (bind_scan); any other use is refused."""
    raise UnsupportedError(
        "row_window_session() inside an expression or outside extend (write extend Name = "
        "row_window_session(...) as its own item)"
    )
