"""The arguments of the user-analytics ``evaluate`` plugins, and the binding of their pipelines.

A plugin call names columns (the id, the timeline, dimensions) and passes constants (the analysis
start and end, a window, a step). :class:`PluginCall` checks each argument where it is read, with
the plugin's name in the message, projects the input to names of our own (``__wk_id``,
``__wk_ts``, ``__wk_g``, ``__wk_d0``...) and binds a pipeline text of
:mod:`analytics_templates` over it, the constants bound as ``__wk_p_*`` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.analytics_templates import template
from watchkeeper.kql.bind_operators import project_columns, row_context
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.plan import BColumn, BExpr, BLiteral, Relation, columns_used
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["NUMBERS", "Dims", "Param", "PluginCall", "dim_items", "dim_names", "dims_text", "renamed"]

_T = KqlType
NUMBERS = (_T.INT, _T.LONG, _T.REAL, _T.DECIMAL)
_CALENDAR = ("week", "month", "year")

Dims = list[tuple[str, BExpr]]
# A pipeline parameter: a bound value, or the text of one to bind over the input (``toscalar(...)``).
Param = BExpr | str


@dataclass(frozen=True)
class PluginCall:
    """A plugin call being bound: the binder, the input, the call and the scope it runs in."""

    b: Binder
    rel: Relation
    call: ast.Call
    scope: Scope

    def fail(self, message: str, node: ast.Node | None = None) -> Exception:
        """A bind error naming the plugin."""
        return self.b.error(f"{self.call.name}(): {message}", node or self.call)

    def bound(self, index: int) -> BExpr:
        """Argument ``index`` bound over the input's row."""
        return self.b.scalar(self.call.args[index], row_context(self.rel, self.scope))

    def column(self, index: int, role: str) -> tuple[str, BExpr]:
        """Argument ``index``, which must name a column: its name and value."""
        name = self.call.args[index] if index < len(self.call.args) else None
        if not isinstance(name, ast.Name):
            raise self.fail(f"argument {index + 1} must be the name of the {role} column")
        return name.name, self.bound(index)

    def is_constant(self, index: int) -> bool:
        """Whether argument ``index`` exists and reads no column (a constant, not a dimension)."""
        if index >= len(self.call.args) or self.b.is_tabular(self.call.args[index], self.scope):
            return False
        return not columns_used(self.bound(index))

    def constant(self, index: int, role: str, types: tuple[KqlType, ...]) -> BExpr:
        """Argument ``index``, a scalar that reads no column (a ``let`` value, a literal...)."""
        if index >= len(self.call.args):
            raise self.fail(f"the {role} argument is missing")
        expr = self.call.args[index]
        bound = self.bound(index)
        if columns_used(bound):
            raise self.fail(f"the {role} must be a constant, not a column", expr)
        if bound.type not in types and bound.type is not _T.UNKNOWN:
            wanted = " or ".join(t.value for t in types)
            raise self.fail(f"the {role} must be of type {wanted}, not {bound.type.value}", expr)
        return bound

    def dims(self, first: int, last: int | None = None) -> Dims:
        """The dimension columns: the arguments from ``first`` to ``last`` (exclusive)."""
        end = len(self.call.args) if last is None else last
        return [self.column(i, "dimension") for i in range(first, end)]

    def timeline(self, ts: BExpr, start: BExpr | None) -> None:
        """The timeline column and the analysis bounds must be datetimes, or numbers, alike."""
        kinds = {_T.DATETIME: "datetime"} | dict.fromkeys(NUMBERS, "number")
        if ts.type is not _T.UNKNOWN and ts.type not in kinds:
            raise self.fail(f"the timeline column must be a datetime or a number, not {ts.type.value}")
        if start is None or _T.UNKNOWN in (ts.type, start.type):
            return
        if kinds.get(ts.type) != kinds.get(start.type):
            raise self.fail(
                f"the analysis bounds ({start.type.value}) do not match the timeline ({ts.type.value})"
            )

    def step(
        self, index: int, what: str, ts: BExpr, *, calendar: bool = True
    ) -> tuple[str, dict[str, Param]]:
        """The step of the analysis: a constant timespan or number, or (when ``calendar``)
        ``'week'``/``'month'``/``'year'``, whose bins are ``startofweek``/``startofmonth``/
        ``startofyear`` (as documented). Returns the unit (``fixed`` or the calendar one)."""
        step = self.constant(index, what, (_T.TIMESPAN, *NUMBERS, *((_T.STRING,) if calendar else ())))
        if step.type is not _T.STRING:
            return "fixed", {"bin": step}
        unit = str(step.value).lower() if isinstance(step, BLiteral) else ""
        if unit not in _CALENDAR:
            raise self.fail(f"the {what} as text must be 'week', 'month' or 'year'", self.call.args[index])
        if ts.type in NUMBERS:
            raise self.fail(f"a '{unit}' step needs a datetime timeline, not {ts.type.value}")
        return unit, {}

    def group_key(self, dims: Dims) -> BExpr:
        """One string per combination of dimension values (nulls included), to compare rows by."""
        if not dims:
            return BLiteral(_T.STRING, "")
        packed = self.b.make_call(SCALARS["pack_array"], [v for _, v in dims], self.call)
        return self.b.make_call(SCALARS["tostring"], [packed], self.call)

    def run(
        self, text: str, items: Dims, params: dict[str, Param], tables: dict[str, Relation] | None = None
    ) -> Relation:
        """Bind ``text`` over the input projected to ``items``, with ``params`` (in order) and
        ``tables`` as names; the text's own ``let`` statements are bound in the same scope."""
        inner = self.scope.child()
        inner.define("__wk_in", project_columns(self.rel, items))
        for name, table in (tables or {}).items():
            inner.define(name, table)
        for name, value in params.items():
            if isinstance(value, str):
                value = self.b.scalar(template(value).results[0], ExprContext(inner))
            inner.define(f"__wk_p_{name}", value)
        query = template(text)
        for let in query.lets:
            self.b.define_let(let, inner)
        return self.b.tabular(query.results[0], inner)


def dim_items(dims: Dims) -> Dims:
    """The dimension columns under our names ``__wk_d0``, ``__wk_d1``..."""
    return [(f"__wk_d{i}", value) for i, (_, value) in enumerate(dims)]


def dims_text(dims: Dims) -> str:
    """``, __wk_d0, __wk_d1`` for a ``by`` clause (our own names only)."""
    return "".join(f", __wk_d{i}" for i in range(len(dims)))


def dim_names(dims: Dims) -> list[tuple[str, str]]:
    """``(user's name, our name)`` of each dimension, for :func:`renamed`."""
    return [(name, f"__wk_d{i}") for i, (name, _) in enumerate(dims)]


def renamed(rel: Relation, names: list[tuple[str, str]]) -> Relation:
    """The plan's output under the user's names: ``(output name, internal name)`` in order."""
    items: Dims = []
    for output, internal in names:
        col = rel.schema.find(internal)
        assert col is not None, internal
        items.append((output, BColumn(col.type, col)))
    return project_columns(rel, items)
