"""Stage 3: syntax tree -> typed logical plan (:mod:`watchkeeper.kql.plan`).

The binder resolves every name (table, column, ``let``, function), applies Kusto's type rules and
implicit conversions, names output columns the way Kusto does, and folds constants the lowering
needs as values (``bin`` steps, regexes, ``ago(1d)`` with the query's fixed ``now()``).

Tables the catalog does not describe are an error, unless the binder is told to treat them as
*open* (``kql.compile`` does, so a rule for a table you have not ingested yet still translates):
an open table resolves any column name, typed ``unknown``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchkeeper.errors import KqlBindError, KqlError, SourceSpan, UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.asim import ASIM_FUNCTIONS
from watchkeeper.kql.functions import conversions as conv
from watchkeeper.kql.functions.registry import (
    AGGREGATES,
    NOT_CONSTANT,
    OPERATORS,
    SCALARS,
    FunctionKind,
    FunctionSpec,
)
from watchkeeper.kql.moments import BMoment
from watchkeeper.kql.naming import SqlNames
from watchkeeper.kql.plan import (
    BCall,
    BColumn,
    BExpr,
    BLiteral,
    BSubquery,
    Column,
    Filter,
    Relation,
    Schema,
    TableScan,
    Values,
)
from watchkeeper.kql.scope import Binding, ExprContext, LazyLet, Scope, StoredFunction, UserFunction
from watchkeeper.schema.catalog import Catalog
from watchkeeper.schema.types import KqlType

__all__ = ["Binder", "BoundQuery", "ColumnProbe"]

# Kusto function families watchkeeper knows of but does not implement: calling one is
# "unsupported", not "unknown" (they are Kusto, just not here).
_UNSUPPORTED_FAMILIES = ("geo_", "graph_", "h3", "s2_")

# (relation, dynamic expression) -> the property names found in the data; injected by a workspace
ColumnProbe = Callable[[Relation, BExpr], list[str]]


_TABULAR_NODES = (ast.Pipe, ast.Datatable, ast.Range, ast.Print, ast.Union, ast.View, ast.Externaldata)


@dataclass(frozen=True)
class BoundQuery:
    """The bound query: one relation per tabular statement, and the ``now()`` it was bound with."""

    relations: tuple[Relation, ...]
    now: datetime
    options: dict[str, Any] = field(default_factory=dict)
    # a request moment's value was compiled in (see kql.moments): not parameterisable
    moment_folded: bool = False


class Binder:
    """Binds one query. Create one per query; it is not thread-safe."""

    def __init__(
        self,
        catalog: Catalog,
        text: str,
        *,
        now: datetime,
        open_tables: bool = False,
        functions: Mapping[str, StoredFunction] | None = None,
        probe: ColumnProbe | None = None,
        stored: Callable[[str], bool] | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        symbolic_time: bool | str = False,
    ) -> None:
        self.catalog = catalog
        # request moments as parameters (kql.moments): all of them, or only the time "range"
        # (a query that sets query_now); moment_folded: one was needed as a value
        self.symbolic_time = symbolic_time
        self.moment_folded = False
        self.stored = stored
        self.time_range = time_range
        self.text = text
        self.now = now
        self.open_tables = open_tables
        # the built-in ASIM parsers, unless the workspace stores a function of the same name
        self.functions = {**ASIM_FUNCTIONS, **dict(functions or {})}
        self.probe = probe
        self.root = Scope()
        self.options: dict[str, Any] = {}  # the query's `set` request properties

    # ---------------------------------------------------------------- errors

    def error(self, message: str, node: ast.Node | SourceSpan | None) -> KqlBindError:
        span = node if isinstance(node, SourceSpan) else node.span if node is not None else None
        return KqlBindError(message, span, self.text)

    def unsupported(self, what: str, node: ast.Node | SourceSpan | None) -> UnsupportedError:
        span = node if isinstance(node, SourceSpan) else node.span if node is not None else None
        return UnsupportedError(what, span, self.text)

    # ---------------------------------------------------------------- query and lets

    def bind_query(self, query: ast.Query) -> BoundQuery:
        self.options = dict(query.options)
        for let in query.lets:
            self.define_let(let, self.root)
        relations = tuple(self.tabular(result, self.root) for result in query.results)
        return BoundQuery(relations, self.now, dict(query.options), self.moment_folded)

    def define_let(self, let: ast.Let, scope: Scope) -> None:
        if let.params is not None:
            scope.define(let.name, UserFunction(let, scope))
        else:
            assert not isinstance(let.value, ast.FunctionBody)
            scope.define(let.name, LazyLet(let.value, scope))

    def resolve_let(self, lazy: LazyLet, node: ast.Node) -> BExpr | Relation:
        if lazy.bound is not None:
            return lazy.bound
        if lazy.binding:
            raise self.error("a let statement refers to itself", node)
        lazy.binding = True
        try:
            if self.is_tabular(lazy.expr, lazy.scope):
                lazy.bound = self.tabular(lazy.expr, lazy.scope)
            else:
                lazy.bound = self.scalar(lazy.expr, ExprContext(lazy.scope))
        finally:
            lazy.binding = False
        return lazy.bound

    def is_tabular(self, expr: ast.Expr, scope: Scope) -> bool:
        """Whether ``expr`` denotes a table (decided by names, as Kusto does)."""
        if isinstance(expr, _TABULAR_NODES):
            return True
        if isinstance(expr, ast.Star):
            return True
        if isinstance(expr, ast.Name):
            found = scope.lookup(expr.name)
            if isinstance(found, LazyLet):
                return self.is_tabular(found.expr, found.scope)
            if isinstance(found, UserFunction):
                return self.function_is_tabular(found)
            if found is not None:
                return isinstance(found, Relation)
            return expr.name in self.catalog or expr.name in self.functions or self.open_tables
        if isinstance(expr, ast.Call):
            if expr.name in ("materialize", "table", "view", "_GetWatchlist", "externaldata", "cluster",
                             "database", "workspace", "app", "datatable"):  # fmt: skip
                return True
            found = scope.lookup(expr.name)
            if isinstance(found, UserFunction):
                return self.function_is_tabular(found)
            return expr.name in self.functions
        return False

    def function_is_tabular(self, fn: UserFunction) -> bool:
        body = fn.let.value
        assert isinstance(body, ast.FunctionBody)
        scope = fn.scope.child()
        for p in fn.let.params or ():
            if p.columns is not None:
                scope.define(p.name, Relation(Schema((), open=True)))
            else:
                scope.define(p.name, BLiteral(p.type or KqlType.UNKNOWN, None))
        for let in body.lets:
            self.define_let(let, scope)
        return self.is_tabular(body.result, scope)

    # ---------------------------------------------------------------- tabular expressions

    def tabular(self, expr: ast.Expr, scope: Scope) -> Relation:
        """Bind a tabular expression to a relation."""
        from watchkeeper.kql import bind_operators, bind_sources

        if isinstance(expr, ast.Pipe):
            source = self.tabular(expr.source, scope)
            return bind_operators.bind_operator(self, source, expr.operator, scope)
        handler = bind_sources.SOURCES.get(type(expr))
        if handler is not None:
            return handler(self, expr, scope)
        if isinstance(expr, ast.Name):
            return self.named_table(expr, scope)
        if isinstance(expr, ast.Call):
            return bind_sources.tabular_call(self, expr, scope)
        if isinstance(expr, ast.Member) and isinstance(expr.target, ast.Call):
            return bind_sources.scoped_table(self, expr, expr.target)
        raise self.error("expected a tabular expression (a table, a let name or a pipeline)", expr)

    def named_table(self, expr: ast.Name, scope: Scope) -> Relation:
        found = scope.lookup(expr.name)
        if isinstance(found, LazyLet):
            bound = self.resolve_let(found, expr)
            if isinstance(bound, Relation):
                return bound
            raise self.error(f"'{expr.name}' is a scalar value, not a table", expr)
        if isinstance(found, Relation):
            return found
        if isinstance(found, UserFunction):
            from watchkeeper.kql.bind_sources import expand_user_function

            result = expand_user_function(self, found, ast.Call(expr.span, expr.name, (), expr.span), scope)
            if isinstance(result, Relation):
                return result
            raise self.error(f"'{expr.name}' is a scalar function, not a table", expr)
        if found is not None:
            raise self.error(f"'{expr.name}' is a scalar value, not a table", expr)
        return self.table_scan(expr.name, expr)

    def table_scan(self, name: str, node: ast.Node) -> Relation:
        table = self.catalog.table(name)
        if table is None and name in self.functions:
            from watchkeeper.kql.bind_sources import expand_stored_function

            return expand_stored_function(self, self.functions[name], node)
        if table is None:
            if self.open_tables:
                return TableScan(Schema((), open=True), name, ())
            close = difflib.get_close_matches(name, list(self.catalog), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise self.error(f"unknown table '{name}'{hint}", node)
        names = SqlNames()
        sources = []
        for col in table.columns:
            out = names.column(col.name, col.type)
            sources.append((out, col.alias_of or col.name))
        physical = table.physical_names
        sources = [(c, physical.get(src, src)) for c, src in sources]
        schema = Schema(tuple(c for c, _ in sources), open=table.open)
        if self.stored is not None and not self.stored(name):
            return Values(Schema(schema.columns), ())  # a known table nothing was written to yet
        return self._in_time_range(TableScan(schema, name, tuple(sources)), node)

    def _in_time_range(self, scan: TableScan, node: ast.Node) -> Relation:
        """A scan limited to the request's time range (the Log Analytics API's ``timespan``): every
        table with a ``TimeGenerated`` reads only rows with ``start <= TimeGenerated < end``."""
        column = scan.schema.find("TimeGenerated")
        if self.time_range is None or column is None or column.type is not KqlType.DATETIME:
            return scan
        start, end = self.moment("start", self.time_range[0]), self.moment("end", self.time_range[1])
        field = BColumn(column.type, column)
        after = self.make_call(self.operator_spec(">=", node), [field, start], node)
        before = self.make_call(self.operator_spec("<", node), [field, end], node)
        return Filter(
            scan.schema, scan, self.make_call(self.operator_spec("and", node), [after, before], node)
        )

    def moment(self, base: str, value: datetime, offset_us: int = 0) -> BLiteral:
        """A request moment (``now`` plus ``offset_us``, or the time range's ``start``/``end``) as
        a literal; when binding symbolically, one the lowering writes as a query parameter."""
        if not self.symbolic_time or (self.symbolic_time == "range" and base == "now"):
            return BLiteral(KqlType.DATETIME, value)
        return BMoment(KqlType.DATETIME, value, base, offset_us)

    # ---------------------------------------------------------------- scalar expressions

    def scalar(self, expr: ast.Expr, ctx: ExprContext) -> BExpr:
        """Bind a scalar expression in ``ctx``; folds constants."""
        from watchkeeper.kql import bind_scalars

        try:
            return bind_scalars.bind(self, expr, ctx)
        except KqlError as exc:
            raise exc.with_text(self.text) from None

    def constant(self, expr: ast.Expr, ctx: ExprContext, what: str) -> Any:
        """The value of an expression that must be constant (a ``bin`` step, ``take`` count...)."""
        bound = self.scalar(expr, ctx)
        if not isinstance(bound, BLiteral):
            raise self.error(f"{what} must be a constant", expr)
        if isinstance(bound, BMoment):
            self.moment_folded = True  # the value of a request moment is compiled in
        return bound.value

    def column_ref(self, name: str, ctx: ExprContext, node: ast.Node) -> BExpr | None:
        """A column of the row in context, or None."""
        row = ctx.row
        if row is None:
            return None
        col = row.find(name)
        if col is not None:
            return BColumn(col.type, col)
        return None

    def unknown_name(self, name: str, ctx: ExprContext, node: ast.Node) -> KqlBindError:
        candidates = list(ctx.row.names) if ctx.row is not None else []
        candidates += [n for n in ctx.scope.names() if not n.startswith("$")]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        what = "column" if ctx.row is not None else "name"
        return self.error(f"unknown {what} '{name}'{hint}", node)

    def lookup_name(self, name: str, ctx: ExprContext, node: ast.Node) -> BExpr:
        col = self.column_ref(name, ctx, node)
        if col is not None:
            return col
        found: Binding | None = ctx.scope.lookup(name)
        if isinstance(found, LazyLet):
            bound = self.resolve_let(found, node)
            if isinstance(bound, BExpr):
                return bound
            return BSubquery(bound.schema.columns[0].type if bound.schema.columns else KqlType.UNKNOWN,
                             bound, "table")  # fmt: skip
        if isinstance(found, BExpr):
            return found
        if isinstance(found, Relation):
            return BSubquery(KqlType.UNKNOWN, found, "table")
        if ctx.row is not None and ctx.row.open:
            return BColumn(KqlType.UNKNOWN, Column(name, KqlType.UNKNOWN, name))
        if name in self.catalog or (self.open_tables and name[:1].isupper() and ctx.row is None):
            return BSubquery(KqlType.UNKNOWN, self.table_scan(name, node), "table")
        raise self.unknown_name(name, ctx, node)

    # ---------------------------------------------------------------- calls

    def make_call(
        self,
        spec: FunctionSpec,
        args: list[BExpr],
        node: ast.Node | SourceSpan,
        options: tuple[Any, ...] = (),
    ) -> BExpr:
        """Check arity, apply implicit conversions, compute the type and fold constants."""
        count = len(args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            expected = (
                str(spec.min_args) if spec.min_args == spec.max_args
                else f"{spec.min_args} to {spec.max_args}" if spec.max_args is not None
                else f"at least {spec.min_args}"
            )  # fmt: skip
            raise self.error(f"{spec.name}() expects {expected} arguments, got {count}", node)
        args = [self.coerce(a, spec.param_type(i), node) for i, a in enumerate(args)]
        for i in spec.constant:
            if i < len(args) and not isinstance(args[i], BLiteral):
                raise self.error(f"argument {i + 1} of {spec.name}() must be a constant", node)
        if spec.extra.get("check"):
            spec.extra["check"](self, args, node)
        span = node if isinstance(node, SourceSpan) else node.span
        call = BCall(spec.returns(args), spec, tuple(args), options, span)
        return self.fold(call)

    def coerce(self, arg: BExpr, target: KqlType | None, node: ast.Node | SourceSpan) -> BExpr:
        """Kusto's implicit conversions of a function argument to the expected type."""
        if target is None or arg.type is target or arg.type is KqlType.UNKNOWN or target is KqlType.UNKNOWN:
            return arg
        if target.is_numeric and arg.type.is_numeric:
            return arg
        if target is KqlType.STRING and arg.type is not KqlType.STRING:
            return self.make_call(conv.TOSTRING, [arg], node)
        if arg.type is KqlType.DYNAMIC and target in conv.CONVERT_TO:
            return self.make_call(conv.CONVERT_TO[target], [arg], node)
        if target is KqlType.DYNAMIC:
            return self.make_call(conv.TODYNAMIC, [arg], node)
        if isinstance(arg, BLiteral) and arg.value is None:
            return BLiteral(target, None)
        if target in (KqlType.DATETIME, KqlType.TIMESPAN, KqlType.LONG, KqlType.REAL, KqlType.BOOL) and (
            arg.type is KqlType.STRING
        ):
            return self.make_call(conv.CONVERT_TO[target], [arg], node)
        return arg

    def fold(self, call: BCall) -> BExpr:
        """Evaluate a call whose arguments are constants, when its function knows how.

        A function folds with ``extra["fold"]`` (argument values) or ``extra["fold_args"]`` (the
        bound literals, when the type matters: ``tostring`` of a timespan).
        """
        values_fold = call.fn.extra.get("fold")
        args_fold = call.fn.extra.get("fold_args")
        if (values_fold is None and args_fold is None) or not all(isinstance(a, BLiteral) for a in call.args):
            return call
        try:
            if args_fold is not None:
                value = args_fold(list(call.args))
            elif values_fold is not None:
                value = values_fold(*[a.value for a in call.args])  # type: ignore[attr-defined]
        except (ArithmeticError, ValueError, TypeError, OverflowError, AttributeError, KeyError, IndexError):
            return call
        if value is NOT_CONSTANT:
            return call
        if any(isinstance(a, BMoment) for a in call.args):
            return self._fold_moment(call, value)
        return BLiteral(call.type, value)

    def _fold_moment(self, call: BCall, value: Any) -> BLiteral:
        """A request moment shifted by a constant timespan (``now() - 1h``) stays a moment; any
        other constant made from one has its value compiled in (not parameterisable)."""
        first, second = call.args[0], call.args[-1]
        shifts = call.fn.name in ("+", "-") and len(call.args) == 2 and isinstance(first, BMoment)
        if shifts and isinstance(second, BLiteral) and second.type is KqlType.TIMESPAN:
            ticks = second.value
            # moments are whole microseconds; a span of ticks finer than that is folded
            if isinstance(first, BMoment) and isinstance(ticks, int) and ticks % 10 == 0:
                shift = ticks // 10 * (1 if call.fn.name == "+" else -1)
                return self.moment(first.base, value, first.offset_us + shift)
        self.moment_folded = True
        return BLiteral(call.type, value)

    def operator_spec(self, op: str, node: ast.Node) -> FunctionSpec:
        spec = OPERATORS.get(op)
        if spec is None:
            raise self.unsupported(f"operator '{op}'", node)
        return spec

    def function_spec(self, name: str, node: ast.Call, ctx: ExprContext) -> FunctionSpec:
        spec = SCALARS.get(name)
        if spec is not None:
            if spec.kind is FunctionKind.WINDOW and ctx.on_window is not None:
                ctx.on_window()
            return spec
        agg = AGGREGATES.get(name)
        if agg is not None:
            if not ctx.aggregates:
                raise self.error(f"aggregate function {name}() can only be used in summarize or make-series",
                                 node.name_span)  # fmt: skip
            return agg
        if name.startswith(_UNSUPPORTED_FAMILIES):
            raise self.unsupported(
                f"{name}() (the {name.split('_')[0]}_* functions are not available)", node.name_span
            )
        close = difflib.get_close_matches(name, list(SCALARS) + list(AGGREGATES), n=1)
        hint = f"; did you mean {close[0]}()?" if close else ""
        raise self.error(f"unknown function '{name}'{hint}", node.name_span)
