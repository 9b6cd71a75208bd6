"""Syntax tree -> canonical KQL text (query formatting).

:func:`format_query` prints a whole :class:`~watchkeeper.kql.ast.Query` the way people write KQL:
one tabular operator per line after ``|``, nested subqueries indented, spaces around binary
operators. The text parses back to an equal tree (spans aside): ``parse(format_query(q)) == q``
for every tree the parser produces. Parentheses appear only where precedence needs them.

>>> from watchkeeper.kql.parser import parse
>>> print(format_query(parse("T|where a>1 and (b=~'x' or c)|project a,n=b")))
T
| where a > 1 and (b =~ "x" or c)
| project a, n = b
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from watchkeeper.kql import ast
from watchkeeper.kql.printer_literals import (
    format_name,
    format_pattern,
    is_identifier,
    literal_text,
    property_name,
    quote_string,
    set_statement,
)
from watchkeeper.schema.types import KqlType

__all__ = ["format_expr", "format_query"]

# Precedence levels, lowest first, as the parser climbs them (see parser.py's module docstring).
PIPE, OR, AND, CMP, ADD, MUL, UNARY, ATOM = range(8)

_BINARY_LEVELS = {"or": OR, "and": AND, "+": ADD, "-": ADD, "*": MUL, "/": MUL, "%": MUL}
_COMPARISON_OPS = frozenset(
    {
        "==", "!=", "<", "<=", ">", ">=", "=~", "!~", "has", "!has", "has_cs", "!has_cs", "hasprefix",
        "!hasprefix", "hasprefix_cs", "!hasprefix_cs", "hassuffix", "!hassuffix", "hassuffix_cs",
        "!hassuffix_cs", "contains", "!contains", "contains_cs", "!contains_cs", "startswith",
        "!startswith", "startswith_cs", "!startswith_cs", "endswith", "!endswith", "endswith_cs",
        "!endswith_cs", "matches regex", "!matches regex", "notcontains", "notcontainscs", "containscs",
        "notstartswith", "notendswith",
    }
)  # fmt: skip

_TABULAR_SOURCES = (ast.Datatable, ast.Range, ast.Print, ast.Union, ast.View, ast.Externaldata)


def format_query(query: ast.Query) -> str:
    """Canonical, readable KQL text for a whole query (``set``, ``let`` and tabular statements)."""
    printer = _Printer()
    statements = [set_statement(name, value) for name, value in query.options]
    statements += [printer.let(let) for let in query.lets]
    statements += [printer.expr(result, PIPE) for result in query.results]
    return ";\n".join(statements)


def format_expr(node: ast.Node) -> str:
    """Canonical KQL text for one node: an expression, a tabular operator, or a clause
    (assignment, sort key, ``let``, ...). Pipelines print one operator per line."""
    return _Printer().node(node)


# ------------------------------------------------------------------------------------ printer


class _Printer:
    """Prints nodes. ``indent`` is the column of nested pipeline lines; ``inline`` prints a
    pipeline on one line (inside scalar expressions such as ``x in (T | project a)``)."""

    def __init__(self, indent: int = 0, inline: bool = False) -> None:
        self.indent = indent
        self.inline = inline

    def nested(self) -> _Printer:
        return _Printer(self.indent + 4, self.inline)

    def flat(self) -> _Printer:
        return _Printer(self.indent, True)

    @property
    def pad(self) -> str:
        return " " * self.indent

    # ---------------------------------------------------------------- dispatch

    def node(self, node: ast.Node) -> str:
        if isinstance(node, ast.Operator):
            return self.operator(node)
        if type(node) in _CLAUSES:
            return _CLAUSES[type(node)](self, node)
        return self.expr(node, PIPE)

    def expr(self, node: ast.Expr, min_level: int) -> str:
        """``node`` as an operand that needs at least precedence ``min_level``."""
        text, level = self.expr_level(node)
        return f"({text})" if level < min_level else text

    def expr_level(self, node: ast.Expr) -> tuple[str, int]:
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            raise TypeError(f"cannot format {type(node).__name__} as KQL")
        return handler(self, node)

    def operator(self, op: ast.Operator) -> str:
        handler = _OPERATORS.get(type(op))
        if handler is None:
            raise TypeError(f"cannot format operator {type(op).__name__} as KQL")
        return handler(self, op)

    def scalar(self, node: ast.Expr) -> str:
        """An expression in a scalar slot (``expression()`` in the parser); pipelines inline."""
        return self.flat().expr(node, OR)

    def items(self, nodes: Sequence[ast.Expr], min_level: int = OR) -> str:
        flat = self.flat()
        return ", ".join(flat.expr(n, min_level) for n in nodes)

    # ---------------------------------------------------------------- scalar expressions

    def _literal(self, node: ast.Literal) -> tuple[str, int]:
        text = literal_text(node.value, node.type)
        return text, UNARY if text.startswith("-") else ATOM

    def _name(self, node: ast.Name) -> tuple[str, int]:
        return format_name(node.name), ATOM

    def _star(self, node: ast.Star) -> tuple[str, int]:
        return node.pattern, ATOM

    def _member(self, node: ast.Member) -> tuple[str, int]:
        return f"{self.flat().expr(node.target, ATOM)}.{property_name(node.name)}", ATOM

    def _index(self, node: ast.Index) -> tuple[str, int]:
        return f"{self.flat().expr(node.target, ATOM)}[{self.scalar(node.index)}]", ATOM

    def _call(self, node: ast.Call) -> tuple[str, int]:
        flat = self.flat()
        args = [flat.expr(a, PIPE) for a in node.args]
        args += [f"{key}={flat.expr(value, PIPE)}" for key, value in node.named]
        return f"{node.name}({', '.join(args)})", ATOM

    def _unary(self, node: ast.Unary) -> tuple[str, int]:
        return f"{node.op}{self.flat().expr(node.operand, UNARY)}", UNARY

    def _binary(self, node: ast.Binary) -> tuple[str, int]:
        level = CMP if node.op in _COMPARISON_OPS else _BINARY_LEVELS.get(node.op)
        if level is None:
            raise ValueError(f"unknown binary operator {node.op!r}")
        flat = self.flat()
        return f"{flat.expr(node.left, level)} {node.op} {flat.expr(node.right, level + 1)}", level

    def _in_list(self, node: ast.InList) -> tuple[str, int]:
        flat = self.flat()
        return f"{flat.expr(node.target, CMP)} {node.op} ({self.items(node.items, PIPE)})", CMP

    def _between(self, node: ast.Between) -> tuple[str, int]:
        flat = self.flat()
        word = "!between" if node.negated else "between"
        low, high = flat.expr(node.low, ADD), flat.expr(node.high, ADD)
        return f"{flat.expr(node.target, CMP)} {word} ({low} .. {high})", CMP

    # ---------------------------------------------------------------- tabular expressions

    def _pipe(self, node: ast.Pipe) -> tuple[str, int]:
        ops: list[ast.Operator] = []
        source: ast.Expr = node
        while isinstance(source, ast.Pipe):
            ops.append(source.operator)
            source = source.source
        ops.reverse()
        if isinstance(source, ast.Print) and not source.items and ops and isinstance(ops[0], ast.Evaluate):
            head = self.operator(ops.pop(0))  # `evaluate plugin()` as a query source
        else:
            head = self.source(source)
        sep = " | " if self.inline else f"\n{self.pad}| "
        return sep.join([head, *(self.operator(op) for op in ops)]), PIPE

    def source(self, node: ast.Expr) -> str:
        """The source of a pipeline: tabular sources bare, scalar expressions at ``or`` level."""
        if isinstance(node, _TABULAR_SOURCES):
            return self.expr_level(node)[0]
        return self.expr(node, OR)

    def block(self, node: ast.Expr) -> str:
        """A subquery in parentheses; multi-line pipelines are indented under the operator."""
        if isinstance(node, ast.Pipe) and not self.inline:
            inner = self.nested()
            return f"(\n{inner.pad}{inner.expr(node, PIPE)}\n{self.pad})"
        return f"({self.expr(node, PIPE)})"

    def table_ref(self, node: ast.Expr) -> str:
        """A join/lookup right side or union leg: a bare name or call, else a parenthesized query."""
        if isinstance(node, ast.Star):
            return node.pattern
        if isinstance(node, ast.Name | ast.Call | ast.Member | ast.Index):
            return self.expr(node, ATOM)
        return self.block(node)

    def union_leg(self, node: ast.Expr) -> str:
        """A union leg; a bracketed name is parenthesized (``union ['x']`` reads as indexing)."""
        text = self.table_ref(node)
        return f"({text})" if text.startswith("[") else text

    def _datatable(self, node: ast.Datatable) -> tuple[str, int]:
        head = f"datatable({_columns(node.columns)})"
        width = len(node.columns) or 1
        rows = [node.values[i : i + width] for i in range(0, len(node.values), width)]
        if self.inline or len(rows) <= 1:
            return f"{head}[{self.items(node.values)}]", PIPE
        pad = self.pad + "    "
        lines = ",\n".join(pad + self.items(row) for row in rows)
        return f"{head}[\n{lines}\n{self.pad}]", PIPE

    def _range(self, node: ast.Range) -> tuple[str, int]:
        parts = (self.scalar(node.start), self.scalar(node.stop), self.scalar(node.step))
        return f"range {format_name(node.column)} from {parts[0]} to {parts[1]} step {parts[2]}", PIPE

    def _print(self, node: ast.Print) -> tuple[str, int]:
        return f"print {self.assigns(node.items)}".rstrip(), PIPE

    def _union(self, node: ast.Union) -> tuple[str, int]:
        opts = []
        if node.kind != "outer":
            opts.append(f"kind={node.kind}")
        if node.withsource is not None:
            opts.append(f"withsource={format_name(node.withsource)}")
        if node.isfuzzy:
            opts.append("isfuzzy=true")
        legs = ", ".join(self.union_leg(leg) for leg in node.sources)
        return " ".join(["union", *opts, legs]), PIPE

    def _externaldata(self, node: ast.Externaldata) -> tuple[str, int]:
        text = f"externaldata({_columns(node.columns)})[{self.items(node.uris)}]"
        if node.options:
            text += f" with ({self.options(node.options)})"
        return text, PIPE

    def _view(self, node: ast.View) -> tuple[str, int]:
        return f"view () {self.body(node.body)}", PIPE

    def options(self, pairs: Sequence[tuple[str, ast.Expr]]) -> str:
        return ", ".join(f"{key}={self.scalar(value)}" for key, value in pairs)

    # ---------------------------------------------------------------- statements and clauses

    def let(self, node: ast.Let) -> str:
        name = format_name(node.name)
        if node.params is None:
            assert not isinstance(node.value, ast.FunctionBody)
            return f"let {name} = {self.expr(node.value, PIPE)}"
        assert isinstance(node.value, ast.FunctionBody)
        params = ", ".join(self.param(p) for p in node.params)
        return f"let {name} = ({params}) {self.body(node.value)}"

    def param(self, node: ast.Param) -> str:
        name = format_name(node.name)
        if node.columns is not None:
            return f"{name}:({_columns(node.columns) or '*'})"
        text = f"{name}:{node.type}"
        return text + (f" = {self.flat().expr(node.default, PIPE)}" if node.default is not None else "")

    def body(self, node: ast.FunctionBody) -> str:
        """``{ let ...; result }``; on several lines unless printing inline."""
        if self.inline:
            parts = [self.let(let) for let in node.lets] + [self.expr(node.result, PIPE)]
            return "{ " + "; ".join(parts) + " }"
        inner = self.nested()
        parts = [inner.let(let) for let in node.lets] + [inner.expr(node.result, PIPE)]
        return "{\n" + ";\n".join(inner.pad + p for p in parts) + f"\n{self.pad}}}"

    def assign(self, node: ast.Assign) -> str:
        expr = self.scalar(node.expr)
        if not node.names:
            return expr
        if len(node.names) == 1:
            return f"{format_name(node.names[0])} = {expr}"
        # inside `(a, b) = ...` plain identifiers stay bare even when they are keywords: the parser
        # only recognizes the tuple form when every name is a bare identifier
        return f"({', '.join(n if is_identifier(n) else format_name(n) for n in node.names)}) = {expr}"

    def assigns(self, items: Sequence[ast.Assign]) -> str:
        return ", ".join(self.assign(item) for item in items)

    def sort_key(self, node: ast.SortKey) -> str:
        text = f"{self.scalar(node.expr)} {'desc' if node.descending else 'asc'}"
        if node.nulls_first is not None:
            text += " nulls first" if node.nulls_first else " nulls last"
        return text

    def sort_keys(self, keys: Sequence[ast.SortKey]) -> str:
        return ", ".join(self.sort_key(k) for k in keys)

    def mv_item(self, node: ast.MvExpandItem) -> str:
        text = f"{format_name(node.name)} = " if node.name is not None else ""
        text += self.scalar(node.expr)
        return text + (f" to typeof({node.to_type})" if node.to_type is not None else "")

    def top_nested_level(self, node: ast.TopNestedLevel) -> str:
        text = "top-nested" + (f" {self.scalar(node.count)}" if node.count is not None else "")
        text += f" of {self.assign(node.of)}"
        if node.with_others is not None:
            text += f" with others = {self.scalar(node.with_others)}"
        return text + f" by {self.assign(node.by)} {'desc' if node.descending else 'asc'}"

    def query(self, node: ast.Query) -> str:
        return format_query(node)

    # ---------------------------------------------------------------- tabular operators

    def _where(self, op: ast.Where) -> str:
        return f"where {self.scalar(op.predicate)}"

    def _project(self, op: ast.Project) -> str:
        return f"project {self.assigns(op.items)}"

    def _extend(self, op: ast.Extend) -> str:
        return f"extend {self.assigns(op.items)}"

    def _project_away(self, op: ast.ProjectAway) -> str:
        return "project-away " + ", ".join(format_pattern(p) for p in op.patterns)

    def _project_keep(self, op: ast.ProjectKeep) -> str:
        return "project-keep " + ", ".join(format_pattern(p) for p in op.patterns)

    def _project_by_names(self, op: ast.ProjectByNames) -> str:
        return "project-by-names " + ", ".join(self.expr(name, PIPE) for name in op.names)

    def _project_rename(self, op: ast.ProjectRename) -> str:
        return "project-rename " + ", ".join(f"{format_name(n)} = {format_name(o)}" for n, o in op.pairs)

    def _project_reorder(self, op: ast.ProjectReorder) -> str:
        items = (format_pattern(p) + (f" {order}" if order else "") for p, order in op.patterns)
        return "project-reorder " + ", ".join(items)

    def _summarize(self, op: ast.Summarize) -> str:
        parts = ["summarize"]
        if op.aggregates:
            parts.append(self.assigns(op.aggregates))
        if op.by:
            parts.append(f"by {self.assigns(op.by)}")
        return " ".join(parts)

    def _count(self, op: ast.Count) -> str:
        return "count" if op.name == "Count" else f"count as {format_name(op.name)}"

    def _distinct(self, op: ast.Distinct) -> str:
        return f"distinct {self.assigns(op.items) if op.items else '*'}"

    def _take(self, op: ast.Take) -> str:
        return f"take {self.scalar(op.count)}"

    def _top(self, op: ast.Top) -> str:
        return f"top {self.scalar(op.count)} by {self.sort_keys(op.keys)}"

    def _top_hitters(self, op: ast.TopHitters) -> str:
        summed = f" by {self.scalar(op.summed)}" if op.summed is not None else ""
        return f"top-hitters {self.scalar(op.count)} of {self.scalar(op.value)}{summed}"

    def _sort(self, op: ast.Sort) -> str:
        return f"sort by {self.sort_keys(op.keys)}"

    def hints(self, pairs: Sequence[tuple[str, ast.Expr]]) -> list[str]:
        return [f"{key}={self.scalar(value)}" for key, value in pairs]

    def _join(self, op: ast.Join) -> str:
        parts = ["join"] + ([f"kind={op.kind}"] if op.kind != "innerunique" else []) + self.hints(op.hints)
        parts.append(self.table_ref(op.right))
        if op.on:
            parts.append("on " + self.items(op.on, CMP))
        return " ".join(parts)

    def _lookup(self, op: ast.Lookup) -> str:
        parts = ["lookup"] + ([f"kind={op.kind}"] if op.kind != "leftouter" else [])
        parts += [self.table_ref(op.right), "on " + self.items(op.on, CMP)]
        return " ".join(parts)

    def _mv_expand(self, op: ast.MvExpand) -> str:
        parts = ["mv-expand"]
        if op.bag_expansion != "bag":
            parts.append(f"bagexpansion={op.bag_expansion}")
        if op.item_index is not None:
            parts.append(f"with_itemindex={format_name(op.item_index)}")
        parts.append(", ".join(self.mv_item(item) for item in op.items))
        if op.limit is not None:
            parts.append(f"limit {self.scalar(op.limit)}")
        return " ".join(parts)

    def _mv_apply(self, op: ast.MvApply) -> str:
        parts = ["mv-apply"]
        if op.item_index is not None:
            parts.append(f"with_itemindex={format_name(op.item_index)}")
        parts.append(", ".join(self.mv_item(item) for item in op.items))
        if op.limit is not None:
            parts.append(f"limit {self.scalar(op.limit)}")
        parts.append(f"on ({self.subquery_ops(op.subquery)})")
        return " ".join(parts)

    def subquery_ops(self, node: ast.Expr) -> str:
        """The operators of an ``mv-apply`` subquery (its source is the implicit row table)."""
        ops: list[str] = []
        while isinstance(node, ast.Pipe):
            ops.append(self.flat().operator(node.operator))
            node = node.source
        return " | ".join(reversed(ops))

    def _parse(self, op: ast.Parse) -> str:
        parts = ["parse-where" if op.where else "parse"]
        if op.kind != "simple":
            parts.append(f"kind={op.kind}")
        if op.flags:
            flags = op.flags if is_identifier(op.flags) else quote_string(op.flags)
            parts.append(f"flags={flags}")
        parts += [self.scalar(op.source), "with", *(_parse_item(item) for item in op.pattern)]
        return " ".join(parts)

    def _parse_kv(self, op: ast.ParseKv) -> str:
        text = f"parse-kv {self.scalar(op.source)} as ({_columns(op.columns)})"
        return text + (f" with ({self.options(op.options)})" if op.options else "")

    def _make_series(self, op: ast.MakeSeries) -> str:
        parts = ["make-series"] + ([f"kind={op.kind}"] if op.kind != "default" else [])
        aggs = (
            self.assign(a) + (f" default = {self.scalar(d)}" if d is not None else "")
            for a, d in op.aggregates
        )
        parts += [", ".join(aggs), f"on {self.scalar(op.on)}", self.series_range(op)]
        if op.by:
            parts.append(f"by {self.assigns(op.by)}")
        return " ".join(parts)

    def series_range(self, op: ast.MakeSeries) -> str:
        if op.in_range and op.start is not None and op.stop is not None:
            return f"in range({self.scalar(op.start)}, {self.scalar(op.stop)}, {self.scalar(op.step)})"
        parts = [f"from {self.scalar(op.start)}"] if op.start is not None else []
        parts += [f"to {self.scalar(op.stop)}"] if op.stop is not None else []
        return " ".join([*parts, f"step {self.scalar(op.step)}"])

    def _top_nested(self, op: ast.TopNested) -> str:
        return ", ".join(self.top_nested_level(level) for level in op.levels)

    def _as(self, op: ast.As) -> str:
        return f"as {format_name(op.name)}"

    def _getschema(self, op: ast.GetSchema) -> str:
        return "getschema"

    def _serialize(self, op: ast.Serialize) -> str:
        return f"serialize {self.assigns(op.items)}" if op.items else "serialize"

    def _sample(self, op: ast.Sample) -> str:
        return f"sample {self.scalar(op.count)}"

    def _sample_distinct(self, op: ast.SampleDistinct) -> str:
        return f"sample-distinct {self.scalar(op.count)} of {self.scalar(op.column)}"

    def _evaluate(self, op: ast.Evaluate) -> str:
        return " ".join(["evaluate", *self.hints(op.hints), self.expr(op.call, ATOM)])

    def _invoke(self, op: ast.Invoke) -> str:
        return f"invoke {self.expr(op.call, ATOM)}"

    def _union_op(self, op: ast.UnionOp) -> str:
        return self._union(op.union)[0]

    def _render(self, op: ast.Render) -> str:
        return f"render {format_name(op.visualization)}"


def _columns(columns: Sequence[tuple[str, KqlType]]) -> str:
    return ", ".join(f"{format_name(name)}:{kql_type}" for name, kql_type in columns)


def _parse_item(item: str | tuple[str, KqlType | None] | None) -> str:
    if item is None:
        return "*"
    if isinstance(item, str):
        return quote_string(item)
    name, kql_type = item
    return format_name(name) + (f":{kql_type}" if kql_type is not None else "")


_EXPRESSIONS: dict[type[ast.Node], Callable[[_Printer, Any], tuple[str, int]]] = {
    ast.Literal: _Printer._literal,
    ast.Name: _Printer._name,
    ast.Star: _Printer._star,
    ast.Member: _Printer._member,
    ast.Index: _Printer._index,
    ast.Call: _Printer._call,
    ast.Unary: _Printer._unary,
    ast.Binary: _Printer._binary,
    ast.InList: _Printer._in_list,
    ast.Between: _Printer._between,
    ast.Pipe: _Printer._pipe,
    ast.Datatable: _Printer._datatable,
    ast.Range: _Printer._range,
    ast.Print: _Printer._print,
    ast.Union: _Printer._union,
    ast.Externaldata: _Printer._externaldata,
    ast.View: _Printer._view,
}

_CLAUSES: dict[type[ast.Node], Callable[[_Printer, Any], str]] = {
    ast.Assign: _Printer.assign,
    ast.SortKey: _Printer.sort_key,
    ast.Let: _Printer.let,
    ast.Param: _Printer.param,
    ast.FunctionBody: _Printer.body,
    ast.MvExpandItem: _Printer.mv_item,
    ast.TopNestedLevel: _Printer.top_nested_level,
    ast.Query: _Printer.query,
}

_OPERATORS: dict[type[ast.Operator], Callable[[_Printer, Any], str]] = {
    ast.Where: _Printer._where,
    ast.Project: _Printer._project,
    ast.Extend: _Printer._extend,
    ast.ProjectAway: _Printer._project_away,
    ast.ProjectKeep: _Printer._project_keep,
    ast.ProjectByNames: _Printer._project_by_names,
    ast.ProjectRename: _Printer._project_rename,
    ast.ProjectReorder: _Printer._project_reorder,
    ast.Summarize: _Printer._summarize,
    ast.Count: _Printer._count,
    ast.Distinct: _Printer._distinct,
    ast.Take: _Printer._take,
    ast.Top: _Printer._top,
    ast.TopHitters: _Printer._top_hitters,
    ast.Sort: _Printer._sort,
    ast.Join: _Printer._join,
    ast.Lookup: _Printer._lookup,
    ast.MvExpand: _Printer._mv_expand,
    ast.MvApply: _Printer._mv_apply,
    ast.Parse: _Printer._parse,
    ast.ParseKv: _Printer._parse_kv,
    ast.MakeSeries: _Printer._make_series,
    ast.TopNested: _Printer._top_nested,
    ast.As: _Printer._as,
    ast.GetSchema: _Printer._getschema,
    ast.Serialize: _Printer._serialize,
    ast.Sample: _Printer._sample,
    ast.SampleDistinct: _Printer._sample_distinct,
    ast.Evaluate: _Printer._evaluate,
    ast.Invoke: _Printer._invoke,
    ast.UnionOp: _Printer._union_op,
    ast.Render: _Printer._render,
}
