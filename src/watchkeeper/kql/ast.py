"""Stage 2 output: the KQL syntax tree.

Nodes are frozen dataclasses; every node carries the :class:`SourceSpan` of the text it came from,
so later stages can point at it. The tree is syntax only: whether a name is a column, a table or a
``let`` variable, and whether ``T`` in ``T | where ...`` is tabular, is decided by the binder.

Expressions and tabular expressions share one grammar (KQL allows ``x in (T | project c)`` and
``toscalar(T | count)``), so :class:`Pipe` is an expression whose source is any expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from watchkeeper.errors import SourceSpan
from watchkeeper.schema.types import KqlType

__all__ = [
    "As", "Assign", "Between", "Binary", "Call", "Count", "Datatable", "Distinct", "Evaluate", "Expr",
    "Extend", "Externaldata", "FunctionBody", "GetSchema", "InList", "Index", "Invoke", "Join",
    "Let", "Literal", "Lookup", "MakeSeries", "Member", "MvApply", "MvExpand", "MvExpandItem", "Name",
    "Node", "Operator", "Param", "Parse", "ParseKv", "Pipe", "Print", "Project", "ProjectAway",
    "ProjectByNames", "ProjectKeep", "ProjectRename", "ProjectReorder", "Query", "Range", "Render", "Sample",
    "SampleDistinct", "Serialize", "Sort", "SortKey", "Star", "Summarize", "Take", "Top",
    "TopHitters", "TopNested", "TopNestedLevel", "Unary", "Union", "UnionOp", "View", "Where",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Node:
    span: SourceSpan = field(compare=False)


# ------------------------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant. ``value`` is Python: None, bool, int, float, Decimal, str, datetime, ticks (int)
    for timespans, a UUID string for guids, and JSON values (dict/list/...) for dynamic."""

    value: Any
    type: KqlType


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare identifier: column, ``let`` name, table, or parameterless function."""

    name: str


@dataclass(frozen=True, slots=True)
class Star(Node):
    """``*`` where KQL allows it (``arg_max(T, *)``, ``count(*)``, ``project-away *x``)."""

    pattern: str = "*"


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``target.name`` (dynamic property, or ``$left.Column`` in join conditions)."""

    target: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``target[index]``: array element or bag property."""

    target: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``name(args)``; ``named`` holds ``key=value`` arguments of plugins."""

    name: str
    args: tuple[Expr, ...]
    name_span: SourceSpan = field(compare=False, default=SourceSpan(0, 0))
    named: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic, comparison, string operators (``has``, ``!contains``, ``matches regex``), and/or."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class InList(Node):
    """``target in (a, b)``, ``in~``, ``!in``, ``has_any(...)``-style list operators.

    ``items`` may hold a single tabular expression or a dynamic array expression.
    """

    op: str
    target: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Between(Node):
    target: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class Assign(Node):
    """``Name = expr`` or a bare ``expr`` (names empty) in project/extend/summarize lists.

    Several names arise from ``(a, b) = f(...)`` forms (``percentiles``, ``arg_max``).
    """

    names: tuple[str, ...]
    expr: Expr


@dataclass(frozen=True, slots=True)
class SortKey(Node):
    expr: Expr
    descending: bool
    nulls_first: bool | None


# ------------------------------------------------------------------------------------ tabular


@dataclass(frozen=True, slots=True)
class Pipe(Node):
    """``source | operator``."""

    source: Expr
    operator: Operator


@dataclass(frozen=True, slots=True)
class Datatable(Node):
    columns: tuple[tuple[str, KqlType], ...]
    values: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Range(Node):
    column: str
    start: Expr
    stop: Expr
    step: Expr


@dataclass(frozen=True, slots=True)
class Print(Node):
    items: tuple[Assign, ...]


@dataclass(frozen=True, slots=True)
class Union(Node):
    """``union`` as a source (``union A, B``) or as an operator (``T | union B``)."""

    sources: tuple[Expr, ...]
    kind: str = "outer"
    withsource: str | None = None
    isfuzzy: bool = False


@dataclass(frozen=True, slots=True)
class Externaldata(Node):
    columns: tuple[tuple[str, KqlType], ...]
    uris: tuple[Expr, ...]
    options: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class View(Node):
    """``view () { ... }``: a tabular let value evaluated where it is used."""

    body: FunctionBody


# ------------------------------------------------------------------------------------ operators


@dataclass(frozen=True, slots=True)
class Operator(Node):
    """Base of tabular operators (the right-hand side of ``|``)."""


@dataclass(frozen=True, slots=True)
class Where(Operator):
    predicate: Expr


@dataclass(frozen=True, slots=True)
class Project(Operator):
    items: tuple[Assign, ...]


@dataclass(frozen=True, slots=True)
class Extend(Operator):
    items: tuple[Assign, ...]


@dataclass(frozen=True, slots=True)
class ProjectAway(Operator):
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProjectKeep(Operator):
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProjectByNames(Operator):
    """``project-by-names`` with expressions known when the query binds: column names, wildcard
    patterns, or dynamic arrays of them (``column_names_of(T)``, a function's parameter)."""

    names: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class ProjectRename(Operator):
    pairs: tuple[tuple[str, str], ...]  # (new, old)


@dataclass(frozen=True, slots=True)
class ProjectReorder(Operator):
    patterns: tuple[tuple[str, str | None], ...]  # (pattern, asc|desc|granny-asc|... or None)


@dataclass(frozen=True, slots=True)
class Summarize(Operator):
    aggregates: tuple[Assign, ...]
    by: tuple[Assign, ...]


@dataclass(frozen=True, slots=True)
class Count(Operator):
    name: str = "Count"


@dataclass(frozen=True, slots=True)
class Distinct(Operator):
    items: tuple[Assign, ...]  # empty tuple = distinct *


@dataclass(frozen=True, slots=True)
class Take(Operator):
    count: Expr


@dataclass(frozen=True, slots=True)
class Top(Operator):
    count: Expr
    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class TopHitters(Operator):
    """``top-hitters N of Value [by Summed]``: the N values seen most often (or with the largest sum)."""

    count: Expr
    value: Expr
    summed: Expr | None


@dataclass(frozen=True, slots=True)
class Sort(Operator):
    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class Join(Operator):
    kind: str
    right: Expr
    on: tuple[Expr, ...]  # Name (same column both sides) or Binary('==', $left.x, $right.y)
    hints: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup(Operator):
    kind: str
    right: Expr
    on: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class MvExpandItem(Node):
    name: str | None
    expr: Expr
    to_type: KqlType | None


@dataclass(frozen=True, slots=True)
class MvExpand(Operator):
    items: tuple[MvExpandItem, ...]
    bag_expansion: str = "bag"
    item_index: str | None = None
    limit: Expr | None = None


@dataclass(frozen=True, slots=True)
class Parse(Operator):
    """``parse [kind=simple|regex|relaxed] [flags=...] expr with pattern``.

    ``pattern`` items are string literals, ``*`` wildcards, or (column, type) captures.
    """

    kind: str
    source: Expr
    pattern: tuple[str | tuple[str, KqlType | None] | None, ...]  # None = '*'
    flags: str = ""
    where: bool = False


@dataclass(frozen=True, slots=True)
class ParseKv(Operator):
    source: Expr
    columns: tuple[tuple[str, KqlType], ...]
    options: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class MakeSeries(Operator):
    aggregates: tuple[tuple[Assign, Expr | None], ...]  # (aggregate, default)
    on: Expr
    start: Expr | None
    stop: Expr | None
    step: Expr
    by: tuple[Assign, ...]
    kind: str = "default"
    in_range: bool = False


@dataclass(frozen=True, slots=True)
class TopNestedLevel(Node):
    count: Expr | None
    of: Assign
    with_others: Expr | None
    by: Assign
    descending: bool


@dataclass(frozen=True, slots=True)
class TopNested(Operator):
    levels: tuple[TopNestedLevel, ...]


@dataclass(frozen=True, slots=True)
class As(Operator):
    name: str


@dataclass(frozen=True, slots=True)
class GetSchema(Operator):
    pass


@dataclass(frozen=True, slots=True)
class Serialize(Operator):
    items: tuple[Assign, ...]


@dataclass(frozen=True, slots=True)
class Sample(Operator):
    count: Expr


@dataclass(frozen=True, slots=True)
class SampleDistinct(Operator):
    count: Expr
    column: Expr


@dataclass(frozen=True, slots=True)
class Evaluate(Operator):
    call: Call
    hints: tuple[tuple[str, Expr], ...] = ()
    # the declared output schema ``: (*, Name:type, ...)``; ``keeps_input`` for its ``*``
    schema: tuple[tuple[str, KqlType], ...] | None = None
    keeps_input: bool = False


@dataclass(frozen=True, slots=True)
class Partition(Operator):
    """``partition by Column { subquery }`` (``column`` is a scalar in the subquery) or
    ``partition by Column ( operators )`` (the operators run on each partition's rows, whose
    pipeline source is ``$partition``)."""

    column: str
    body: Expr
    over_rows: bool
    hints: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Invoke(Operator):
    call: Call


@dataclass(frozen=True, slots=True)
class MvApply(Operator):
    items: tuple[MvExpandItem, ...]
    item_index: str | None
    limit: Expr | None
    subquery: Expr  # a pipeline whose source is the implicit per-row table
    context_name: str | None = None


@dataclass(frozen=True, slots=True)
class UnionOp(Operator):
    """``T | union B, C``: the pipe input is the first leg."""

    union: Union


@dataclass(frozen=True, slots=True)
class Render(Operator):
    """``render`` only tells a client how to draw the result; the data passes through unchanged.
    ``properties`` are its ``with (name=value, ...)`` options as written (``ycolumns=a, b`` gives
    several values), lower-case names."""

    visualization: str
    properties: tuple[tuple[str, tuple[str, ...]], ...] = ()


# ------------------------------------------------------------------------------------ statements


@dataclass(frozen=True, slots=True)
class Param(Node):
    """A user function parameter; ``columns`` is set for tabular parameters ``(T:(x:int))``."""

    name: str
    type: KqlType | None
    default: Expr | None = None
    columns: tuple[tuple[str, KqlType], ...] | None = None


@dataclass(frozen=True, slots=True)
class FunctionBody(Node):
    lets: tuple[Let, ...]
    result: Expr


@dataclass(frozen=True, slots=True)
class Let(Node):
    """``let name = value`` or ``let name = (params) { body }`` (then ``params`` is not None)."""

    name: str
    value: Expr | FunctionBody
    params: tuple[Param, ...] | None = None


@dataclass(frozen=True, slots=True)
class Query(Node):
    """A whole query: ``let`` statements and one or more tabular expression statements."""

    lets: tuple[Let, ...]
    results: tuple[Expr, ...]
    # `set` statements (request properties) are accepted and kept for the store to read.
    options: tuple[tuple[str, Any], ...] = ()


Expr = Node
