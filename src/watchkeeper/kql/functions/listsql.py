"""SQL over dynamic arrays: lambdas with fresh names, let-bindings, element access, conversions.

A dynamic array is computed on as a SQL list: :meth:`ListSql.elements` gives its JSON values,
:meth:`ListSql.numbers` its elements as DOUBLE (NULL for anything that is not a number, Kusto's rule
for the ``series_*`` functions). Results go back to dynamic with ``json_from_elements`` (a list of
JSON values) or ``list_to_json`` (a list of plain SQL values).

Lambdas are spelled for the engine by the dialect (``list_transform`` is ``arrayMap`` on
ClickHouse). Their parameters get names no argument uses yet, so a function applied to the result
of another never shadows that one's variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.registry import LowerContext
from watchkeeper.kql.functions.sqlparts import add, lit, num, sub
from watchkeeper.schema.types import KqlType

__all__ = ["ListSql", "is_array", "is_object"]

_VAR = re.compile(r"^_w(\d+)$")

Body1 = Callable[[exp.Expression], exp.Expression]
Body2 = Callable[[exp.Expression, exp.Expression], exp.Expression]


def is_array(d: Dialect, value: exp.Expression) -> exp.Expression:
    """True when a dynamic value is an array (NULL when it is null)."""
    return exp.EQ(this=d.json_type(value), expression=lit("ARRAY"))


def is_object(d: Dialect, value: exp.Expression) -> exp.Expression:
    return exp.EQ(this=d.json_type(value), expression=lit("OBJECT"))


class ListSql:
    """Builds list expressions for one function call whose lowered arguments are ``args``."""

    def __init__(self, ctx: LowerContext, args: Sequence[exp.Expression] = ()) -> None:
        self.ctx = ctx
        self.d = ctx.dialect
        used = [
            int(m.group(1)) for a in args for i in a.find_all(exp.Identifier) if (m := _VAR.match(i.name))
        ]
        self._next = max(used, default=0) + 1

    # ---------------------------------------------------------------- lambdas

    def _var(self) -> tuple[exp.Identifier, exp.Expression]:
        name = f"_w{self._next}"
        self._next += 1
        return exp.to_identifier(name), exp.column(name)

    def lam(self, body: Body1) -> exp.Expression:
        ident, ref = self._var()
        return exp.Lambda(this=body(ref), expressions=[ident])

    def lam2(self, body: Body2) -> exp.Expression:
        (i1, r1), (i2, r2) = self._var(), self._var()
        return exp.Lambda(this=body(r1, r2), expressions=[i1, i2])

    def map(self, items: exp.Expression, body: Body1) -> exp.Expression:
        """``[body(x) for x in items]``."""
        return self.d.call("list_transform", items, self.lam(body))

    def filter(self, items: exp.Expression, keep: Body1) -> exp.Expression:
        return self.d.call("list_filter", items, self.lam(keep))

    def fold(self, items: exp.Expression, initial: exp.Expression, step: Body2) -> exp.Expression:
        """Left fold: ``step(accumulator, element)`` from ``initial``."""
        return self.d.call("list_reduce", items, self.lam2(step), initial)

    def let(self, value: exp.Expression, body: Body1) -> exp.Expression:
        """``body(v)`` with ``v`` computed once: a one-element list mapped by a lambda."""
        if isinstance(value, (exp.Column, exp.Literal)):
            return body(value)
        return self.first(self.map(exp.Array(expressions=[value]), body))

    # ---------------------------------------------------------------- access

    def at(self, items: exp.Expression, index: exp.Expression) -> exp.Expression:
        """Element ``index`` (0-based); NULL past the end."""
        return self.d.call("list_extract", items.copy(), add(index, num(1)))

    def first(self, items: exp.Expression) -> exp.Expression:
        return self.d.call("list_extract", items, num(1))

    def indexes(self, count: exp.Expression) -> exp.Expression:
        """The list ``0 .. count-1`` (empty for a count below 1)."""
        return self.d.call("range", self.d.cast(self.d.call("greatest", count, num(0)), KqlType.LONG))

    def length(self, items: exp.Expression) -> exp.Expression:
        return self.d.call("to_int64", self.d.list_length(items.copy()))

    def slice(self, items: exp.Expression, start: exp.Expression, stop: exp.Expression) -> exp.Expression:
        """Elements ``start .. stop-1`` (0-based, clamped by the caller)."""
        return self.d.call("list_slice", items.copy(), add(start, num(1)), stop)

    def sum(self, items: exp.Expression) -> exp.Expression:
        """Sum of the non-null elements; 0 for an empty list."""
        return exp.Coalesce(this=self.d.call("list_sum", items), expressions=[num(0)])

    def count_where(self, items: exp.Expression, keep: Body1) -> exp.Expression:
        return self.length(self.filter(items, keep))

    def last_index(self, items: exp.Expression) -> exp.Expression:
        return sub(self.length(items), num(1))

    def last_json(self, items: exp.Expression) -> exp.Expression:
        """The last element of a list of JSON values (JSON null when empty; never SQL NULL, so the
        element type stays non-nullable where ClickHouse folds over it)."""
        n = self.length(items)
        last = self.at(items, sub(n.copy(), num(1)))
        return exp.If(this=exp.GT(this=n, expression=num(0)), true=last, false=self.d.json_literal(None))

    # ---------------------------------------------------------------- dynamic values

    def elements(self, value: exp.Expression) -> exp.Expression:
        """The JSON elements of a dynamic array (empty when it is not one)."""
        elements = self.d.json_elements(value)
        return exp.Coalesce(this=elements, expressions=[self.empty_json_list()])

    def empty_json_list(self) -> exp.Expression:
        return self.d.json_elements(self.d.json_literal([]))

    def numbers(self, value: exp.Expression) -> exp.Expression:
        """The elements of a dynamic array as DOUBLE; NULL for elements that are not numbers."""
        return self.map(self.elements(value), self.d.json_number)

    def texts(self, items: exp.Expression) -> exp.Expression:
        """JSON elements as their JSON text (how sets compare them)."""
        return self.map(items, lambda e: self.d.cast(e, KqlType.STRING))

    def to_json_values(self, items: exp.Expression) -> exp.Expression:
        """A list of plain SQL values as a list of JSON values."""
        return self.map(items, self.d.to_json)

    def json_array(self, items: exp.Expression) -> exp.Expression:
        """A dynamic array from a SQL list of JSON values."""
        return self.d.json_from_elements(items)

    def is_integral(self, element: exp.Expression) -> exp.Expression:
        """Whether a JSON element is written as a whole number (Kusto keeps ``long`` elements ``long``)."""
        return self.d.regex_match(self.d.cast(element, KqlType.STRING), lit(r"^-?[0-9]+$"))

    def let_all(
        self, values: Sequence[exp.Expression], body: Callable[[list[exp.Expression]], exp.Expression]
    ) -> exp.Expression:
        """``body`` with each value computed once (nested :meth:`let`)."""

        def bind(rest: Sequence[exp.Expression], bound: list[exp.Expression]) -> exp.Expression:
            if not rest:
                return body(bound)
            return self.let(rest[0], lambda v: bind(rest[1:], [*bound, v]))

        return bind(values, [])
