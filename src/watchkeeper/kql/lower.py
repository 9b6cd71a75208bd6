"""Stage 4: typed logical plan -> sqlglot expression tree.

Each relation lowers to a :class:`Lowered`: a SELECT whose output columns are the relation's SQL
names, plus what the next operator needs to know: the expression behind each output (so simple
operators can merge into the same SELECT instead of nesting), the row order (Kusto keeps the
order a ``sort`` established through ``where``, ``project``, ``take``...; SQL does not, so the
order travels as column names and is applied where it matters), and hidden columns that carry
sort keys a projection dropped.

One ``_lower_<Relation>`` function per plan node; scalar expressions lower through their
:class:`FunctionSpec`. Relations used more than once become CTEs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql import plan as p
from watchkeeper.kql.dialects import NATIVE_LIST, Dialect
from watchkeeper.kql.moments import BMoment, MomentParameter, parameter_name
from watchkeeper.schema.types import KqlType

__all__ = ["Lowered", "Lowerer", "OrderKey"]

Resolver = Callable[[p.Column], exp.Expression]


@dataclass(frozen=True)
class OrderKey:
    """Rows are ordered by output column ``name``."""

    name: str
    descending: bool
    nulls_first: bool


@dataclass
class Lowered:
    select: exp.Select
    columns: list[str]  # visible output names, schema order
    exprs: dict[str, exp.Expression]  # output name -> its expression over the SELECT's FROM
    order: list[OrderKey] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    open: bool = False
    aggregated: bool = False  # the SELECT aggregates (even without GROUP BY): nothing merges into it

    @property
    def outputs(self) -> list[str]:
        return self.columns + self.hidden


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=exp.to_identifier(table) if table else None)


class _ExprContext:
    """The :class:`LowerContext` functions see while one expression list is lowered."""

    def __init__(
        self, lowerer: Lowerer, resolve: Resolver, order: list[exp.Ordered], predicate: bool = False
    ) -> None:
        self._lowerer = lowerer
        self._resolve = resolve
        self._order = order
        # True while lowering the and/or skeleton of a `where`: there a null result and false are
        # the same, so comparisons may use SQL's plain (index- and pushdown-friendly) form
        self.predicate = predicate

    def nested(self, predicate: bool) -> _ExprContext:
        if predicate == self.predicate:
            return self
        return _ExprContext(self._lowerer, self._resolve, self._order, predicate)

    @property
    def dialect(self) -> Dialect:
        return self._lowerer.dialect

    def now(self) -> exp.Expression:
        return self._lowerer.moment(BMoment(KqlType.DATETIME, self._lowerer.now))

    def lower_expr(self, expr: p.BExpr) -> exp.Expression:
        return self._lowerer.expr(expr, self._resolve, self._order)

    def window_order(self) -> list[exp.Ordered]:
        return list(self._order)


class Lowerer:
    """Lowers the relations of one bound query for one dialect."""

    def __init__(
        self, dialect: Dialect, now: datetime, parameters: dict[str, MomentParameter] | None = None
    ) -> None:
        self.dialect = dialect
        self.now = now
        # request moments written as parameters (symbolic lowering), by name; None: as literals
        self.parameters = parameters
        self._aliases = 0
        self._shared: set[int] = set()
        self._ctes: dict[int, str] = {}
        self._cte_defs: list[tuple[str, exp.Select]] = []
        self._cte_lowered: dict[int, Lowered] = {}

    # ---------------------------------------------------------------- entry points

    def query(self, rel: p.Relation) -> exp.Select:
        """The final SELECT: schema columns in order, rows in Kusto's order, CTEs attached."""
        self._shared = _shared_relations(rel)
        low = self.relation(rel)
        final = self._handed_over(self.finish(low), rel.schema)
        for name, definition in self._cte_defs:
            final = final.with_(name, as_=definition, copy=False)
        return parenthesize(final)

    def _handed_over(self, final: exp.Select, schema: p.Schema) -> exp.Select:
        """The final SELECT with its datetime columns in the form the engine hands over fastest
        (:meth:`Dialect.result_datetime`); a SELECT whose list does not match the schema
        column for column (``*`` of an open schema) is left as it is."""
        items = final.expressions
        if schema.open or len(items) != len(schema.columns):
            return final
        for i, column in enumerate(schema.columns):
            if items[i].alias_or_name != column.sql:
                continue
            value = items[i].this if isinstance(items[i], exp.Alias) else items[i]
            converted: exp.Expression | None = None
            if column.type is KqlType.DATETIME:
                converted = self.dialect.result_datetime(value.copy())
            elif column.type is KqlType.DYNAMIC and NATIVE_LIST in value.meta:
                converted = self.dialect.result_list(value.meta[NATIVE_LIST].copy())
            if converted is not None and converted is not value:
                items[i] = exp.Alias(this=converted, alias=exp.to_identifier(column.sql, quoted=True))
        return final.select(*items, append=False, copy=False)

    def distinct_keys(self, rel: p.Relation, bag: p.BExpr, limit: int = 1024) -> exp.Select:
        """``SELECT DISTINCT`` property names of ``bag`` over ``rel`` (bag_unpack's probe)."""
        self._shared = _shared_relations(rel)
        low = self.relation(rel)
        select, resolve, _ = self.wrap(low)
        keys = self.dialect.unnest(self.dialect.json_keys(self.expr(bag, resolve)))
        inner = select.select(exp.Alias(this=keys, alias=ident("k")), copy=False)
        alias = self.alias()
        outer = (
            exp.select(col("k", alias))
            .distinct(copy=False)
            .from_(inner.subquery(alias, copy=False), copy=False)
        )
        outer = outer.order_by(col("k", alias), copy=False).limit(limit, copy=False)
        for name, definition in self._cte_defs:
            outer = outer.with_(name, as_=definition, copy=False)
        return parenthesize(outer)

    def finish(self, low: Lowered) -> exp.Select:
        """Order the rows and keep only the visible columns."""
        own_outputs = [e.alias_or_name for e in low.select.expressions]
        if not low.hidden and not low.open and own_outputs == low.columns:
            if not low.order:
                return low.select
            if low.select.args.get("order"):
                return low.select  # `take`/`top` already ordered this SELECT by exactly this order
            if not low.select.args.get("limit"):
                return low.select.order_by(*[self._ordered(col(k.name), k) for k in low.order], copy=False)
        alias = self.alias()
        if low.open:
            outer = exp.select(exp.Star()).from_(low.select.subquery(alias, copy=False), copy=False)
        else:
            outer = exp.select(*[col(c, alias) for c in low.columns]).from_(
                low.select.subquery(alias, copy=False), copy=False
            )
        if low.order:
            outer = outer.order_by(*[self._ordered(col(k.name, alias), k) for k in low.order], copy=False)
        return outer

    def alias(self) -> str:
        self._aliases += 1
        return f"_t{self._aliases}"

    @staticmethod
    def _ordered(expr: exp.Expression, key: OrderKey) -> exp.Ordered:
        return exp.Ordered(this=expr, desc=key.descending, nulls_first=key.nulls_first)

    # ---------------------------------------------------------------- relations

    def relation(self, rel: p.Relation) -> Lowered:
        key = id(rel)
        if key in self._shared and key in self._ctes:
            return self._from_cte(rel)
        handler = _RELATIONS.get(type(rel))
        if handler is None:
            raise UnsupportedError(f"lowering of {type(rel).__name__}")
        low = handler(self, rel)
        if key in self._shared:
            name = f"_c{len(self._cte_defs) + 1}"
            self._ctes[key] = name
            self._cte_defs.append((name, self._cte_body(low)))
            self._cte_lowered[key] = low
            return self._from_cte(rel)
        return low

    def _cte_body(self, low: Lowered) -> exp.Select:
        """A shared relation's CTE. An ordered one (a let value that sorts, a datatable's rows)
        also outputs the columns its order is made of, so every use of the CTE can see the rows in
        that order (Kusto keeps a sorted let value's order); the CTE itself does not sort."""
        if not low.order:
            return self.finish(low)
        kept = [k.name for k in low.order if k.name in low.hidden]
        own_outputs = [e.alias_or_name for e in low.select.expressions]
        if low.open or own_outputs == low.columns + kept:
            return low.select
        alias = self.alias()
        outputs = [col(c, alias) for c in low.columns + kept]
        return exp.select(*outputs).from_(low.select.subquery(alias, copy=False), copy=False)

    def _from_cte(self, rel: p.Relation) -> Lowered:
        name = self._ctes[id(rel)]
        names = [c.sql for c in rel.schema.columns]
        shared = self._cte_lowered[id(rel)]
        hidden = [k.name for k in shared.order if k.name in shared.hidden]
        outputs: list[exp.Expression] = [col(n) for n in names + hidden] or [exp.Star()]
        select = exp.select(*outputs).from_(exp.to_table(name), copy=False)
        exprs: dict[str, exp.Expression] = {n: col(n) for n in names + hidden}
        return Lowered(select, names, exprs, list(shared.order), hidden, open=rel.schema.open)

    def source(self, low: Lowered) -> tuple[exp.Expression, Resolver, str]:
        """Use ``low`` as the FROM of a new SELECT: (from clause, column resolver, alias)."""
        alias = self.alias()
        subquery = low.select.subquery(alias, copy=False)

        def resolve(column: p.Column) -> exp.Expression:
            return col(column.sql, alias)

        return subquery, resolve, alias

    def inline(self, low: Lowered) -> Resolver:
        """Resolve columns to the expressions ``low``'s SELECT computes them with."""

        def resolve(column: p.Column) -> exp.Expression:
            found = low.exprs.get(column.sql)
            if found is None:
                return col(column.sql)
            return found.copy()

        return resolve

    def wrap(self, low: Lowered) -> tuple[exp.Select, Resolver, str]:
        """A new ``SELECT ... FROM (low)``; projections are added by the caller."""
        source, resolve, alias = self.source(low)
        return exp.select().from_(source, copy=False), resolve, alias

    def order_exprs(self, low: Lowered, resolve_name: Callable[[str], exp.Expression]) -> list[exp.Ordered]:
        return [self._ordered(resolve_name(k.name), k) for k in low.order]

    # ---------------------------------------------------------------- expressions

    def expr(
        self,
        expr: p.BExpr,
        resolve: Resolver,
        order: list[exp.Ordered] | None = None,
        *,
        predicate: bool = False,
    ) -> exp.Expression:
        """Lower a scalar expression; ``predicate`` marks a ``where`` condition (see _ExprContext)."""
        ctx = _ExprContext(self, resolve, order or [], predicate)
        return self._expr(expr, ctx, resolve)

    def _expr(self, expr: p.BExpr, ctx: _ExprContext, resolve: Resolver) -> exp.Expression:
        if isinstance(expr, p.BColumn):
            return resolve(expr.column)
        if isinstance(expr, BMoment):
            return self.moment(expr)
        if isinstance(expr, p.BLiteral):
            return self.dialect.literal(expr.value, expr.type)
        if isinstance(expr, p.BCall):
            inner = ctx.nested(ctx.predicate and expr.fn.name in ("and", "or"))
            args = [self._expr(a, inner, resolve) for a in expr.args]
            try:
                return expr.fn.lower(ctx, expr, args)
            except UnsupportedError as exc:
                raise UnsupportedError(exc.message, expr.span) from None
        if isinstance(expr, p.BSubquery):
            return self.subquery(expr)
        raise UnsupportedError(f"lowering of {type(expr).__name__}")

    def moment(self, moment: BMoment) -> exp.Expression:
        """A request moment: a query parameter when lowering symbolically, else its literal."""
        if self.parameters is None:
            return self.dialect.datetime_literal(moment.value)
        name = parameter_name(moment.base, moment.offset_us)
        self.parameters[name] = MomentParameter(name, moment.base, moment.offset_us)
        return self.dialect.datetime_parameter(name)

    def subquery(self, expr: p.BSubquery) -> exp.Expression:
        inner = Lowerer(self.dialect, self.now, self.parameters)
        inner._aliases = self._aliases + 100
        inner._shared = _shared_relations(expr.relation)
        low = inner.relation(expr.relation)
        self._aliases = inner._aliases
        select = inner.finish(low)
        for name, definition in inner._cte_defs:
            select = select.with_(name, as_=definition, copy=False)
        if expr.mode == "scalar":
            first = low.columns[0] if low.columns else None
            alias = self.alias()
            scalar = (
                exp.select(col(first, alias) if first else exp.Star())
                .from_(select.subquery(alias, copy=False), copy=False)
                .limit(1, copy=False)
            )
            return exp.Subquery(this=scalar)
        if expr.mode == "list" and len(low.columns) > 1:
            alias = self.alias()
            select = exp.select(col(low.columns[0], alias)).from_(
                select.subquery(alias, copy=False), copy=False
            )
        return exp.Subquery(this=select)


_OPERATOR_PARENTS = (exp.Binary, exp.Unary, exp.Between, exp.In)
_OPERATOR_CHILDREN = (exp.Binary, exp.Between, exp.In, exp.Not, exp.Neg)
_NO_PARENS = (exp.Paren, exp.Alias, exp.Escape, exp.PropertyEQ, exp.Dot)


def parenthesize(tree: exp.Select) -> exp.Select:
    """Put parentheses around every operator that is an operand of another operator.

    sqlglot prints a tree as built, without adding parentheses, so ``Mul(a, Add(b, 4))`` would read
    ``a * b + 4``. Lowering composes operators freely; this pass makes the text mean the tree.
    """
    for node in list(tree.walk()):
        if not isinstance(node, _OPERATOR_PARENTS) or isinstance(node, _NO_PARENS):
            continue
        for key in ("this", "expression", "low", "high"):
            child = node.args.get(key)
            if isinstance(child, _OPERATOR_CHILDREN) and not isinstance(child, _NO_PARENS):
                node.set(key, exp.Paren(this=child))
    return tree


def _shared_relations(root: p.Relation) -> set[int]:
    """Relations (by identity) reachable along more than one path: let values used twice."""
    seen: dict[int, int] = {}
    for rel in _walk(root):
        seen[id(rel)] = seen.get(id(rel), 0) + 1
    return {key for key, count in seen.items() if count > 1}


def _walk(rel: p.Relation) -> Iterator[p.Relation]:
    yield rel
    for child in _children(rel):
        yield from _walk(child)


def _children(rel: p.Relation) -> list[p.Relation]:
    if isinstance(rel, p.Join):
        return [rel.left, rel.right]
    if isinstance(rel, p.UnionAll):
        return [r for r, _ in rel.inputs]
    child = getattr(rel, "input", None)
    return [child] if isinstance(child, p.Relation) else []


def is_simple(low: Lowered) -> bool:
    """A SELECT other operators may merge into: no grouping, limit, distinct, windows or joins."""
    s = low.select
    if any(
        s.args.get(k) for k in ("group", "limit", "distinct", "having", "qualify", "joins", "order", "with")
    ):
        return False
    if low.open or low.aggregated:
        return False
    return not any(e.find(exp.Window, exp.AggFunc, exp.Unnest) for e in s.expressions)


def plain_column(expr: exp.Expression) -> bool:
    return isinstance(expr, exp.Column)


# The per-relation functions live in lower_relations.py; it registers them here.
_RELATIONS: dict[type, Callable[[Lowerer, Any], Lowered]] = {}
