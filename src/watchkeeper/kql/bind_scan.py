"""Binding of the ``scan`` operator (Kusto's scan reference) into a :class:`ScanPlan`.

Step conditions and assignments see the current row's columns and, as ``Step.Col``, the values
the scan's state holds for a step: each such reference becomes a column of the step's row schema
(a :class:`StateRef`), so the expressions bind and type like any other.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any

from watchkeeper.kql import ast
from watchkeeper.kql.bind_operators import bind_assign, names_in
from watchkeeper.kql.functions.registry import FunctionKind
from watchkeeper.kql.naming import SqlNames
from watchkeeper.kql.parse_scan import Scan, ScanDeclare, ScanStep
from watchkeeper.kql.plan import BColumn, BExpr, BLiteral, Column, Relation, Schema, calls_in, columns_used
from watchkeeper.kql.plan_scan import ScanPlan, ScanStepPlan, StateRef
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["WINDOW_SESSION", "is_window_session", "scan", "window_session"]


def scan(b: Binder, rel: Relation, op: Scan, scope: Scope, partition: str | None = None) -> Relation:
    """``scan [with_match_id=Id] [declare (...)] with (step ...; ...)``; with ``partition`` (a
    column of ``rel``), the scan runs on the rows of each of its values apart, as inside
    ``partition by Column (...)``."""
    _check_names(b, rel, op)
    key = rel.schema.find(partition) if partition is not None else None
    if partition is not None and key is None:
        raise b.unsupported(
            f"scan inside partition by {partition} after an operator that drops {partition}", op
        )
    names = SqlNames()
    inputs = list(rel.schema.columns)  # the input's own columns pass through unchanged
    for c in inputs:
        names.column(c.sql, c.type)  # reserves their SQL names
    declared = tuple(
        (names.column(d.name, d.type), _default(b, d.type, d.default, scope)) for d in op.declared
    )
    match_id = names.column(op.match_id, KqlType.LONG) if op.match_id else None
    steps_names = [s.name for s in op.steps]
    refs = _state_refs(steps_names, [*inputs, *(c for c, _ in declared)])
    row = Schema((*inputs, *(r.column for r in refs.values())), rel.schema.open)
    ctx = ExprContext(scope, row)
    declared_by_name = {c.name: c for c, _ in declared}
    steps = tuple(_step(b, s, ctx, steps_names, declared_by_name) for s in op.steps)
    used = {
        c.sql for s in steps for e in (s.condition, *(v for _, v in s.assignments)) for c in columns_used(e)
    }
    _refuse_unknown_state(b, op, used - {c.sql for c in row.columns}, steps_names)
    schema = Schema((*inputs, *(c for c, _ in declared), *([match_id] if match_id else [])), rel.schema.open)
    kept = tuple(r for r in refs.values() if r.column.sql in used)
    return ScanPlan(schema, rel, declared, match_id, steps, kept, key)


def _check_names(b: Binder, rel: Relation, op: Scan) -> None:
    seen: set[str] = set()
    for step in op.steps:
        if step.name in seen:
            raise b.error(f"scan has two steps named '{step.name}'", step)
        seen.add(step.name)
        if step.output == "last":
            raise b.unsupported(
                "scan step output=last (which record of a series of repeated matches is the last one "
                "is only known when a later record ends the series)",
                step,
            )
    for name in [d.name for d in op.declared] + ([op.match_id] if op.match_id else []):
        if rel.schema.find(name) is not None:
            raise b.error(f"scan declares the column '{name}', which its input already has", op)


def _refuse_unknown_state(b: Binder, op: Scan, unknown: set[str], steps: list[str]) -> None:
    """Over a table the catalog does not describe, an unknown ``Step.Col`` would read as a column
    named so: the state keeps only the columns the scan knows."""
    for name in sorted(unknown):
        if any(name.startswith(f"{step}.") for step in steps):
            raise b.unsupported(f"scan: the state value '{name}' of a column the catalog does not know", op)


def _default(b: Binder, kql_type: KqlType, expr: ast.Expr | None, scope: Scope) -> BExpr:
    if expr is None:  # Kusto has no null string: an unset string column reads ""
        return BLiteral(kql_type, "" if kql_type is KqlType.STRING else None)
    bound = b.coerce(b.scalar(expr, ExprContext(scope)), kql_type, expr)
    if not isinstance(bound, BLiteral):
        raise b.error("the default value of a declared scan column must be a constant", expr)
    return BLiteral(kql_type, bound.value)


def _state_refs(steps: list[str], sources: list[Column]) -> dict[str, StateRef]:
    """A column ``Step.Col`` for every step and every input or declared column."""
    refs: dict[str, StateRef] = {}
    for i, step in enumerate(steps):
        for source in sources:
            name = f"{step}.{source.name}"
            refs[name] = StateRef(Column(name, source.type, f"__wk_ref{len(refs)}"), i, source)
    return refs


def _step(
    b: Binder, step: ScanStep, ctx: ExprContext, steps: list[str], declared: dict[str, Column]
) -> ScanStepPlan:
    condition = _bind_step_expr(b, step.condition, ctx, steps, declared)
    if condition.type not in (KqlType.BOOL, KqlType.UNKNOWN):
        raise b.error(f"a scan step needs a boolean condition, not a {condition.type}", step.condition)
    assignments: list[tuple[Column, BExpr]] = []
    for item in step.assignments:
        rewritten = dataclasses.replace(item, expr=_state_names(item.expr, steps))
        _refuse_bare_declared(b, rewritten.expr, declared, item)
        for name, value in bind_assign(b, rewritten, ctx, None):
            target = declared.get(name)
            if target is None:
                raise b.error(f"scan can assign only declared columns, and '{name}' is not declared", item)
            _refuse_windows(b, value, item)
            assignments.append((target, b.coerce(value, target.type, item)))
    return ScanStepPlan(step.name, step.output, condition, tuple(assignments))


def _bind_step_expr(
    b: Binder, expr: ast.Expr, ctx: ExprContext, steps: list[str], declared: dict[str, Column]
) -> BExpr:
    rewritten = _state_names(expr, steps)
    _refuse_bare_declared(b, rewritten, declared, expr)
    bound = b.scalar(rewritten, ctx)
    _refuse_windows(b, bound, expr)
    return bound


def _refuse_bare_declared(b: Binder, expr: ast.Expr, declared: dict[str, Column], node: ast.Node) -> None:
    bare = sorted(names_in(expr) & set(declared))
    if bare:
        raise b.unsupported(
            f"scan: the declared column '{bare[0]}' read without a step name (read it from the state, "
            f"e.g. step.{bare[0]})",
            node,
        )


def _refuse_windows(b: Binder, bound: BExpr, node: ast.Node) -> None:
    for call in calls_in(bound):
        if call.fn.kind in (FunctionKind.WINDOW, FunctionKind.AGGREGATE):
            raise b.unsupported(
                f"scan: {call.fn.name}() in a step (compute it with extend before the scan)", node
            )


def _state_names(expr: ast.Expr, steps: list[str]) -> ast.Expr:
    """``Step.Col`` (a member of a step name) as the single name ``'Step.Col'``."""
    if isinstance(expr, ast.Member) and isinstance(expr.target, ast.Name) and expr.target.name in steps:
        return ast.Name(expr.span, f"{expr.target.name}.{expr.name}")
    if not isinstance(expr, ast.Node):
        return expr
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        new = _rewrite_value(value, steps)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(expr, **changes) if changes else expr


def _rewrite_value(value: object, steps: list[str]) -> object:
    if isinstance(value, ast.Node):
        return _state_names(value, steps)
    if isinstance(value, tuple):
        items = tuple(_rewrite_value(v, steps) for v in value)
        return value if all(a is c for a, c in zip(items, value, strict=True)) else items
    return value


# ---------------------------------------------------------------------------- row_window_session

WINDOW_SESSION = "row_window_session"
_SESSION_STEP, _SESSION_START = "__wk_session", "__wk_session_start"
# Kusto's row_window_session reference: a row starts a new session when there is no session value
# yet (first row, or the previous value was null), when Expr is at least MaxDistanceFromFirst past
# the session start or at least MaxDistanceBetweenNeighbors past the previous Expr, or on Restart.
_SESSION_RULE = (
    "iff(isnull(__wk_session.__wk_session_start) or isnull(__wk_rws_e) or coalesce(__wk_rws_r, false)"
    " or __wk_rws_e >= __wk_session.__wk_session_start + __wk_rws_f"
    " or (isnotnull(__wk_rws_p) and __wk_rws_e >= __wk_rws_p + __wk_rws_n),"
    " __wk_rws_e, __wk_session.__wk_session_start)"
)
_HELPERS = ("__wk_rws_e", "__wk_rws_p", "__wk_rws_f", "__wk_rws_n", "__wk_rws_r")


def is_window_session(expr: ast.Expr) -> bool:
    """Whether an extend item's expression is a ``row_window_session(...)`` call."""
    return isinstance(expr, ast.Call) and expr.name == WINDOW_SESSION


def window_session(b: Binder, rel: Relation, name: str, call: ast.Call, scope: Scope) -> Relation:
    """``extend name = row_window_session(Expr, MaxDistanceFromFirst, MaxDistanceBetweenNeighbors
    [, Restart])`` over serialized rows: a one-step scan whose state holds the session start."""
    from watchkeeper.kql.bind_operators import bind_operator, passthrough, project_columns

    if len(call.args) not in (3, 4):
        raise b.error(f"{WINDOW_SESSION}() expects 3 to 4 arguments, got {len(call.args)}", call)
    expr, first, neighbors = call.args[:3]
    restart: ast.Expr = call.args[3] if len(call.args) == 4 else ast.Literal(call.span, False, KqlType.BOOL)
    values = (expr, ast.Call(call.span, "prev", (expr,)), first, neighbors, restart)
    helpers = tuple(ast.Assign(call.span, (h,), v) for h, v in zip(_HELPERS, values, strict=True))
    prepared = bind_operator(b, rel, ast.Extend(call.span, helpers), scope)
    start_type = prepared.schema.columns[len(rel.schema.columns)].type
    rule = _session_rule()
    step = ScanStep(call.span, _SESSION_STEP, "all", ast.Literal(call.span, True, KqlType.BOOL),
                    (ast.Assign(call.span, (_SESSION_START,), rule),))  # fmt: skip
    declare = (ScanDeclare(call.span, _SESSION_START, start_type, None),)
    scanned = scan(b, prepared, Scan(call.span, None, declare, (step,)), scope)
    start = scanned.schema.columns[-1]
    session: BExpr = BColumn(start.type, start)
    items = [(c, session if c == name else e) for c, e in passthrough(scanned)[: len(rel.schema.columns)]]
    if all(c != name for c, _ in items):  # extend appends a new column, replaces one in place
        items.append((name, session))
    return project_columns(scanned, items, open_schema=rel.schema.open)


@cache
def _session_rule() -> ast.Expr:
    """The session step's assignment (a constant text: no user text is parsed here)."""
    from watchkeeper.kql.parser import parse

    printed = parse(f"print {_SESSION_RULE}").results[0]
    assert isinstance(printed, ast.Print)
    return printed.items[0].expr
