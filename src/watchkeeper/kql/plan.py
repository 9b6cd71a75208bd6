"""Stage 3 output: the bound query, a typed logical plan.

The binder turns syntax into this tree. Every scalar expression knows its KQL type and every
relation knows its output schema, so lowering is a mechanical translation to SQL. Names are gone:
a column reference is a :class:`Column` of the input relation, a function call carries its
:class:`~watchkeeper.kql.functions.registry.FunctionSpec`.

Relations are few on purpose: ``project``, ``extend``, ``project-away/-keep/-rename/-reorder`` and
``parse`` are all :class:`Projection`; ``top`` is :class:`Sort` + :class:`Limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watchkeeper.errors import SourceSpan
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.functions.registry import FunctionSpec

__all__ = [
    "Aggregate", "AggregateItem", "Apply", "ApplyRow", "BCall", "BColumn", "BExpr", "BLiteral", "BSubquery", "Column",
    "Distinct", "ExternalData", "Filter", "Join", "Limit", "MakeSeries", "MvExpand", "Projection", "Range", "Relation",
    "Sample", "Schema", "Sort", "SortSpec", "TableScan", "UnionAll", "Values", "calls_in",
    "columns_used", "external_sources", "sources_read", "tables_read",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a relation: its KQL name and type, and the SQL identifier that holds it.

    ``sql`` differs from ``name`` only when two KQL names collide case-insensitively (the engines
    fold case) or a name is not a plain identifier.
    """

    name: str
    type: KqlType
    sql: str


@dataclass(frozen=True, slots=True)
class Schema:
    """The ordered columns of a relation. ``open`` marks tables the catalog does not describe:
    any column name resolves (typed ``unknown``) and ``*`` passes through what the engine has."""

    columns: tuple[Column, ...]
    open: bool = False

    def find(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def find_folded(self, name: str) -> Column | None:
        low = name.lower()
        for c in self.columns:
            if c.name.lower() == low:
                return c
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


# ---------------------------------------------------------------------------- scalar expressions


@dataclass(frozen=True, slots=True)
class BExpr:
    type: KqlType


@dataclass(frozen=True, slots=True)
class BLiteral(BExpr):
    value: Any


@dataclass(frozen=True, slots=True)
class BColumn(BExpr):
    column: Column


@dataclass(frozen=True, slots=True)
class BCall(BExpr):
    """A scalar, aggregate or window function, or an operator (``==`` is a function here).

    ``options`` holds constant arguments the lowering needs as Python values (a regex, a unit).
    """

    fn: FunctionSpec
    args: tuple[BExpr, ...]
    options: tuple[Any, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BSubquery(BExpr):
    """A relation used as a value: ``toscalar(T)`` (first column of first row) or ``x in (T)``."""

    relation: Relation
    mode: str  # "scalar" | "list"


# ---------------------------------------------------------------------------- relations


@dataclass(frozen=True, slots=True)
class Relation:
    schema: Schema


@dataclass(frozen=True, slots=True)
class TableScan(Relation):
    table: str
    # (output column, stored column sql name) - aliases such as Timestamp read TimeGenerated
    sources: tuple[tuple[Column, str], ...]


@dataclass(frozen=True, slots=True)
class Values(Relation):
    """Literal rows: ``datatable``, ``print``, ``getschema``."""

    rows: tuple[tuple[BExpr, ...], ...]


@dataclass(frozen=True, slots=True)
class Range(Relation):
    start: BExpr
    stop: BExpr
    step: BExpr


@dataclass(frozen=True, slots=True)
class ExternalData(Relation):
    """``externaldata``: rows read from files or URLs (``format`` csv, tsv, json, multijson, txt)."""

    uris: tuple[str, ...]
    format: str
    skip_first: bool


@dataclass(frozen=True, slots=True)
class Filter(Relation):
    input: Relation
    predicate: BExpr


@dataclass(frozen=True, slots=True)
class Projection(Relation):
    """One output column per item, in schema order."""

    input: Relation
    items: tuple[BExpr, ...]


@dataclass(frozen=True, slots=True)
class AggregateItem:
    """One aggregate; ``columns`` are the output columns it fills (several for ``arg_max(x, *)``)."""

    call: BCall
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class Aggregate(Relation):
    """``summarize``: output is the key columns then the aggregate columns (Kusto's order)."""

    input: Relation
    keys: tuple[BExpr, ...]
    key_columns: tuple[Column, ...]
    aggregates: tuple[AggregateItem, ...]


@dataclass(frozen=True, slots=True)
class Distinct(Relation):
    input: Relation


@dataclass(frozen=True, slots=True)
class SortSpec:
    expr: BExpr
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Sort(Relation):
    input: Relation
    keys: tuple[SortSpec, ...]


@dataclass(frozen=True, slots=True)
class Limit(Relation):
    input: Relation
    count: BExpr


@dataclass(frozen=True, slots=True)
class Sample(Relation):
    input: Relation
    count: BExpr


@dataclass(frozen=True, slots=True)
class Join(Relation):
    """A join; ``kind`` is Kusto's. Output schema: left columns then right columns, with right
    names that collide suffixed ``1``, ``2``...; semi/anti joins output one side only."""

    left: Relation
    right: Relation
    kind: str
    conditions: tuple[tuple[Column, Column], ...]
    right_columns: tuple[Column, ...]  # output columns taken from the right side, in right order
    lookup: bool = False


@dataclass(frozen=True, slots=True)
class UnionAll(Relation):
    """``union``: each input's items line up with the output schema (null where absent)."""

    inputs: tuple[tuple[Relation, tuple[BExpr | None, ...]], ...]


@dataclass(frozen=True, slots=True)
class MvExpand(Relation):
    """Expand dynamic arrays (zipped when several); ``expanded`` are the replaced columns."""

    input: Relation
    expanded: tuple[tuple[Column, BExpr, KqlType | None], ...]
    bag_expansion: str
    item_index: Column | None
    limit: int | None


@dataclass(frozen=True, slots=True)
class MakeSeries(Relation):
    input: Relation
    keys: tuple[BExpr, ...]
    key_columns: tuple[Column, ...]
    aggregates: tuple[tuple[AggregateItem, BExpr], ...]  # (aggregate, default)
    axis: BExpr
    axis_column: Column
    start: BExpr | None
    stop: BExpr | None
    step: BExpr
    nonempty: bool = False


def columns_used(expr: BExpr) -> list[Column]:
    """The columns an expression reads (subqueries excluded: they have their own rows)."""
    found: list[Column] = []
    stack: list[BExpr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, BColumn):
            found.append(node.column)
        elif isinstance(node, BCall):
            stack.extend(node.args)
    return found


def calls_in(expr: BExpr) -> list[BCall]:
    """Every call in an expression tree, outermost first."""
    found: list[BCall] = []
    stack: list[BExpr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, BCall):
            found.append(node)
            stack.extend(node.args)
    return found


def tables_read(root: Relation) -> list[str]:
    """Names of the stored tables a relation reads, subqueries included, in first-seen order."""
    return [name for kind, name in sources_read(root) if kind == "table"]


def external_sources(root: Relation) -> list[str]:
    """Files and URLs ``externaldata`` in the relation reads."""
    return [name for kind, name in sources_read(root) if kind == "external"]


def sources_read(root: Relation) -> list[tuple[str, str]]:
    """``("table", name)`` and ``("external", uri)`` for everything a relation reads."""
    found: list[tuple[str, str]] = []
    for node in _nodes(root):
        if isinstance(node, TableScan):
            if ("table", node.table) not in found:
                found.append(("table", node.table))
        elif isinstance(node, ExternalData):
            found.extend(("external", u) for u in node.uris if ("external", u) not in found)
    return found


def columns_scanned(root: Relation) -> dict[str, frozenset[str] | None]:
    """For each stored table a relation reads (subqueries included), the stored columns (SQL
    names) it reads; None when the scan's schema is open (any column may be read)."""
    found: dict[str, frozenset[str] | None] = {}
    for node in _nodes(root):
        if isinstance(node, TableScan):
            known = found.get(node.table, frozenset())
            read = None if node.schema.open else frozenset(stored for _, stored in node.sources)
            found[node.table] = None if known is None or read is None else known | read
    return found


def _nodes(root: Relation) -> Iterator[object]:
    """Every relation, expression and sort key under ``root``, subqueries included."""
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, BSubquery):
            stack.append(node.relation)
        elif isinstance(node, BCall):
            stack.extend(node.args)
            stack.extend(o for o in node.options if isinstance(o, (BExpr, SortSpec)))
        elif isinstance(node, SortSpec):
            stack.append(node.expr)
        elif isinstance(node, (Relation, AggregateItem)):
            for name in getattr(node, "__dataclass_fields__", {}):
                value = getattr(node, name)
                if isinstance(value, (Relation, BExpr, AggregateItem, SortSpec)):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(_flatten(value))


def _flatten(values: tuple[object, ...]) -> list[object]:
    out: list[object] = []
    for value in values:
        if isinstance(value, tuple):
            out.extend(_flatten(value))
        else:
            out.append(value)
    return out


@dataclass(frozen=True, slots=True)
class ApplyRow(Relation):
    """Inside ``mv-apply``: the one input row the subquery is running for (the input's columns)."""


@dataclass(frozen=True, slots=True)
class Apply(Relation):
    """``mv-apply``: ``subquery`` runs once per row of ``input``, reading that row through ``row``;
    the output is the union of the subquery results, each row preceded by ``context`` (input
    columns the subquery neither expanded nor returned) under the output names ``schema`` gives."""

    input: Relation
    row: ApplyRow
    subquery: Relation
    context: tuple[Column, ...]
