"""Window functions over serialized rows: ``row_number``, ``prev``, ``next``, ``row_cumsum``.

They run in the order of the rows they see (the last ``sort``/``order by``/``top``, or the input
order when there was none), which the lowering supplies as :meth:`LowerContext.window_order`.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, first_arg, window
from watchkeeper.kql.functions.sqlparts import num
from watchkeeper.kql.plan import BCall, SortSpec
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _over(ctx: LowerContext, func: exp.Expression, partition: list[exp.Expression] | None = None,
          running: bool = False) -> exp.Expression:  # fmt: skip
    order = ctx.window_order()
    spec: dict[str, object] = {"this": func}
    if partition:
        spec["partition_by"] = partition
    if order:
        spec["order"] = exp.Order(expressions=order)
    if running:
        spec["spec"] = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    return exp.Window(**spec)


@window("row_number", args=(0, 2), returns=_T.LONG, params=[_T.LONG, _T.BOOL])
def _row_number(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if len(args) > 1:
        return _restartable_row_number(ctx, call, args)
    numbered = _over(ctx, exp.RowNumber())
    if args:
        return exp.Add(this=numbered, expression=exp.Sub(this=args[0], expression=num(1)))
    return numbered


def _restartable_row_number(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``row_number(start, restart)``: numbering starts again where ``restart`` is true, which is a
    partition by the running count of restarts."""
    restarts = ctx.dialect.cast(args[1], _T.LONG)
    group = _over(ctx, exp.Sum(this=restarts), running=True)
    numbered = exp.Window(this=exp.RowNumber(), partition_by=[group],
                          order=exp.Order(expressions=ctx.window_order()) if ctx.window_order() else None)  # fmt: skip
    return exp.Add(this=numbered, expression=exp.Sub(this=args[0], expression=num(1)))


def _shifted(ctx: LowerContext, call: BCall, args: list[exp.Expression], name: str) -> exp.Expression:
    offset = args[1] if len(args) > 1 else num(1)
    parts = [args[0], offset] + ([args[2]] if len(args) > 2 else [])
    return _over(ctx, exp.Anonymous(this=name, expressions=parts))


@window("prev", args=(1, 3), returns=first_arg, params=[None, _T.LONG, None])
def _prev(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _shifted(ctx, call, args, "lag")


@window("next", args=(1, 3), returns=first_arg, params=[None, _T.LONG, None])
def _next(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _shifted(ctx, call, args, "lead")


@window("row_cumsum", args=(1, 2), returns=first_arg, params=[None, _T.BOOL])
def _row_cumsum(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if len(args) > 1:
        restarts = ctx.dialect.cast(args[1], _T.LONG)
        group = _over(ctx, exp.Sum(this=restarts), running=True)
        order = ctx.window_order()
        spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
        summed: exp.Expression = exp.Window(this=exp.Sum(this=args[0]), partition_by=[group],
                                            order=exp.Order(expressions=order) if order else None, spec=spec)  # fmt: skip
    else:
        summed = _over(ctx, exp.Sum(this=args[0]), running=True)
    return ctx.dialect.cast(summed, call.type) if call.type in (_T.LONG, _T.REAL, _T.INT) else summed


@window("_rank_in_partition", args=(0, None), returns=_T.LONG)
def _rank_in_partition(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    spec: SortSpec = call.options[0]
    key = ctx.lower_expr(spec.expr)
    ordered = exp.Ordered(this=key, desc=spec.descending, nulls_first=spec.nulls_first)
    return exp.Window(this=exp.RowNumber(), partition_by=args or None, order=exp.Order(expressions=[ordered]))


