"""Tabular operators of KQL (the right-hand side of ``|``), one ``_op_<name>`` method each."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.parse_expressions import ExpressionParser
from watchkeeper.kql.parse_graph import GRAPH_OPERATORS, graph_operator_alone, parse_make_graph
from watchkeeper.kql.parse_scan import parse_scan
from watchkeeper.kql.tokens import Token, TokenKind
from watchkeeper.schema.types import KqlType

__all__ = ["JOIN_KINDS", "OPERATORS", "OperatorParser"]

JOIN_KINDS = frozenset(
    {"innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti", "anti", "leftantisemi",
     "rightanti", "rightantisemi", "leftsemi", "rightsemi", "semi"}
)  # fmt: skip


class OperatorParser(ExpressionParser):
    """Parses one tabular operator; sources and statements are the subclass's."""

    if TYPE_CHECKING:

        def union_body(self, start: Token) -> ast.Union: ...

    def operator(self) -> ast.Operator:
        tok = self.tok
        if tok.kind is not TokenKind.IDENT:
            raise self.fail(f"expected a tabular operator after '|' but found {self.describe(tok)}")
        handler = OPERATORS.get(tok.text)
        if handler is None:
            if tok.text in _UNSUPPORTED_OPERATORS:
                raise UnsupportedError(f"operator '{tok.text}'", tok.span, self.text)
            raise self.fail(f"unknown tabular operator '{tok.text}'")
        return handler(self)

    def _op_where(self) -> ast.Operator:
        start = self.advance()
        return ast.Where(self.span_from(start), self.expression())

    def _op_project(self) -> ast.Operator:
        start = self.advance()
        return ast.Project(self.span_from(start), tuple(self.assign_list()))

    def _op_extend(self) -> ast.Operator:
        start = self.advance()
        return ast.Extend(self.span_from(start), tuple(self.assign_list()))

    def column_patterns(self) -> tuple[str, ...]:
        names: list[str] = []
        while True:
            names.append(self.column_pattern())
            if not self.accept_punct(","):
                break
        return tuple(names)

    def column_pattern(self) -> str:
        """A column name or a wildcard pattern such as ``Account*`` or ``*Id``."""
        parts: list[str] = []
        while True:
            if self.tok.is_punct("*"):
                parts.append("*")
                self.advance()
            elif self.at_identifier() and (not parts or parts[-1] == "*"):
                parts.append(self.identifier("a column name")[0])
            else:
                break
            if self.tok.start != self.tokens[self.i - 1].end:
                break
        if not parts:
            raise self.fail(f"expected a column name but found {self.describe(self.tok)}")
        return "".join(parts)

    def _op_project_away(self) -> ast.Operator:
        start = self.advance()
        return ast.ProjectAway(self.span_from(start), self.column_patterns())

    def _op_project_keep(self) -> ast.Operator:
        start = self.advance()
        return ast.ProjectKeep(self.span_from(start), self.column_patterns())

    def _op_project_by_names(self) -> ast.Operator:
        start = self.advance()
        names = [self.expression()]
        while self.accept_punct(","):
            names.append(self.expression())
        return ast.ProjectByNames(self.span_from(start), tuple(names))

    def _op_project_rename(self) -> ast.Operator:
        start = self.advance()
        pairs: list[tuple[str, str]] = []
        while True:
            new, _ = self.identifier("a column name")
            self.expect_punct("=")
            old, _ = self.identifier("a column name")
            pairs.append((new, old))
            if not self.accept_punct(","):
                break
        return ast.ProjectRename(self.span_from(start), tuple(pairs))

    def _op_project_reorder(self) -> ast.Operator:
        start = self.advance()
        items: list[tuple[str, str | None]] = []
        while True:
            pattern = self.column_pattern()
            order = self.accept_word("asc", "desc", "granny-asc", "granny-desc")
            items.append((pattern, order.text if order else None))
            if not self.accept_punct(","):
                break
        return ast.ProjectReorder(self.span_from(start), tuple(items))

    def _op_summarize(self) -> ast.Operator:
        start = self.advance()
        self.options(set(), start)
        aggs: list[ast.Assign] = []
        if not self.tok.is_word("by"):
            aggs = self.assign_list()
        by: list[ast.Assign] = []
        if self.accept_word("by"):
            by = self.assign_list()
        return ast.Summarize(self.span_from(start), tuple(aggs), tuple(by))

    def _op_count(self) -> ast.Operator:
        start = self.advance()
        name = "Count"
        if self.accept_word("as"):
            name = self.identifier()[0]
        return ast.Count(self.span_from(start), name)

    def _op_distinct(self) -> ast.Operator:
        start = self.advance()
        self.options(set(), start)
        if self.accept_punct("*"):
            return ast.Distinct(self.span_from(start), ())
        return ast.Distinct(self.span_from(start), tuple(self.assign_list()))

    def _op_take(self) -> ast.Operator:
        start = self.advance()
        self.options(set(), start)
        return ast.Take(self.span_from(start), self.expression())

    def _op_top(self) -> ast.Operator:
        start = self.advance()
        count = self.expression()
        self.expect_word("by")
        keys = [self.sort_key()]
        while self.accept_punct(","):
            keys.append(self.sort_key())
        return ast.Top(self.span_from(start), count, tuple(keys))

    def _op_top_hitters(self) -> ast.Operator:
        start = self.advance()
        count = self.expression()
        self.expect_word("of")
        value = self.expression()
        summed = self.expression() if self.accept_word("by") else None
        return ast.TopHitters(self.span_from(start), count, value, summed)

    def _op_sort(self) -> ast.Operator:
        start = self.advance()
        self.options(set(), start)
        self.expect_word("by")
        keys = [self.sort_key()]
        while self.accept_punct(","):
            keys.append(self.sort_key())
        return ast.Sort(self.span_from(start), tuple(keys))

    def sort_key(self) -> ast.SortKey:
        start = self.tok
        expr = self.expression()
        descending = True  # Kusto sorts descending unless told otherwise
        if self.accept_word("asc"):
            descending = False
        elif self.accept_word("desc"):
            descending = True
        nulls_first: bool | None = None
        if self.accept_word("nulls"):
            which = self.expect_word("first", "last")
            nulls_first = which.text == "first"
        return ast.SortKey(self.span_from(start), expr, descending, nulls_first)

    def _op_join(self) -> ast.Operator:
        start = self.advance()
        opts = self.options({"kind"}, start)
        kind = str(self.option_word(opts, "kind", "innerunique"))
        if kind not in JOIN_KINDS:
            raise self.fail(f"unknown join kind '{kind}'", start)
        right = self.parenthesized_or_name()
        on: tuple[ast.Expr, ...] = ()
        if self.accept_word("on"):
            on = self.join_conditions()
        elif self.accept_word("where"):
            raise UnsupportedError("join ... where", self.tok.span, self.text)
        hints = tuple((k, v) for k, v in opts.items() if k != "kind")
        return ast.Join(self.span_from(start), kind, right, on, hints)

    def join_conditions(self) -> tuple[ast.Expr, ...]:
        conds: list[ast.Expr] = []
        while True:
            cond = self.comparison()
            while self.accept_word("and"):
                conds.append(cond)
                cond = self.comparison()
            conds.append(cond)
            if not self.accept_punct(","):
                break
        return tuple(conds)

    def parenthesized_or_name(self) -> ast.Expr:
        if self.accept_punct("("):
            right = self.pipe_expr()
            self.expect_punct(")")
            return right
        return self.postfix()

    def _op_lookup(self) -> ast.Operator:
        start = self.advance()
        opts = self.options({"kind"}, start)
        kind = str(self.option_word(opts, "kind", "leftouter"))
        right = self.parenthesized_or_name()
        self.expect_word("on")
        return ast.Lookup(self.span_from(start), kind, right, self.join_conditions())

    def _op_mv_expand(self) -> ast.Operator:
        start = self.advance()
        opts = self.options({"kind", "bagexpansion", "with_itemindex"}, start)
        bag = str(self.option_word(opts, "bagexpansion", self.option_word(opts, "kind", "bag")))
        item_index = self.option_word(opts, "with_itemindex", None)
        items = self.mv_items()
        limit = self.expression() if self.accept_word("limit") else None
        return ast.MvExpand(self.span_from(start), items, bag, item_index, limit)

    def mv_items(self) -> tuple[ast.MvExpandItem, ...]:
        items: list[ast.MvExpandItem] = []
        while True:
            start = self.tok
            name = None
            if self.at_identifier() and self.peek(self.identifier_width()).is_punct("="):
                name = self.identifier()[0]
                self.advance()
            expr = self.expression()
            to_type = None
            if self.accept_word("to"):
                self.expect_word("typeof")
                self.expect_punct("(")
                to_type = self.type_name()
                self.expect_punct(")")
            items.append(ast.MvExpandItem(self.span_from(start), name, expr, to_type))
            if not self.accept_punct(","):
                break
        return tuple(items)

    def _op_mv_apply(self) -> ast.Operator:
        start = self.advance()
        opts = self.options({"with_itemindex"}, start)
        item_index = self.option_word(opts, "with_itemindex", None)
        items = self.mv_items()
        limit = self.expression() if self.accept_word("limit") else None
        context = None
        if self.accept_word("with_itemindex"):
            raise self.fail("with_itemindex must come before the expanded columns")
        self.expect_word("on")
        self.expect_punct("(")
        sub_start = self.tok
        source: ast.Expr = ast.Name(sub_start.span, "$mvapply")
        while self.accept_punct("|") or self.tok.kind is TokenKind.IDENT:
            op = self.operator()
            source = ast.Pipe(self.span_from(sub_start), source, op)
        self.expect_punct(")")
        return ast.MvApply(self.span_from(start), items, item_index, limit, source, context)

    def _op_parse(self) -> ast.Operator:
        return self.parse_operator(where=False)

    def _op_parse_where(self) -> ast.Operator:
        return self.parse_operator(where=True)

    def parse_operator(self, where: bool) -> ast.Operator:
        start = self.advance()
        opts = self.options({"kind", "flags"}, start)
        kind = str(self.option_word(opts, "kind", "simple"))
        flags = str(self.option_word(opts, "flags", ""))
        source = self.expression()
        self.expect_word("with")
        pattern: list[str | tuple[str, KqlType | None] | None] = []
        while True:
            tok = self.tok
            if tok.kind is TokenKind.STRING:
                pattern.append(str(self.advance().value))
            elif tok.is_punct("*"):
                self.advance()
                pattern.append(None)
            elif self.at_identifier():
                name, _ = self.identifier("a column name")
                col_type = self.type_name() if self.accept_punct(":") else None
                pattern.append((name, col_type))
            else:
                break
            if self.tok.is_punct("|", ";", ")") or self.tok.kind is TokenKind.EOF:
                break
        return ast.Parse(self.span_from(start), kind, source, tuple(pattern), flags, where)

    def with_options(self) -> list[tuple[str, ast.Expr]]:
        """An optional ``with (name = value, ...)`` clause (parse-kv, externaldata)."""
        options: list[tuple[str, ast.Expr]] = []
        if self.accept_word("with"):
            self.expect_punct("(")
            while not self.tok.is_punct(")"):
                key, _ = self.identifier("an option name")
                self.expect_punct("=")
                options.append((key, self.expression()))
                if not self.accept_punct(","):
                    break
            self.expect_punct(")")
        return options

    def _op_parse_kv(self) -> ast.Operator:
        start = self.advance()
        source = self.expression()
        self.expect_word("as")
        columns = self.schema_columns()
        options = self.with_options()
        return ast.ParseKv(self.span_from(start), source, columns, tuple(options))

    def _op_make_series(self) -> ast.Operator:
        start = self.advance()
        opts = self.options({"kind"}, start)
        kind = str(self.option_word(opts, "kind", "default"))
        aggs: list[tuple[ast.Assign, ast.Expr | None]] = []
        while True:
            item = self.assign()
            default = self.expression() if self.accept_word("default") and self.expect_punct("=") else None
            aggs.append((item, default))
            if not self.accept_punct(","):
                break
        self.expect_word("on")
        on = self.expression()
        low = high = None
        in_range = False
        if self.accept_word("in"):
            self.expect_word("range")
            self.expect_punct("(")
            low = self.expression()
            self.expect_punct(",")
            high = self.expression()
            self.expect_punct(",")
            step = self.expression()
            self.expect_punct(")")
            in_range = True
        else:
            if self.accept_word("from"):
                low = self.expression()
            if self.accept_word("to"):
                high = self.expression()
            self.expect_word("step")
            step = self.expression()
        by: list[ast.Assign] = []
        if self.accept_word("by"):
            by = self.assign_list()
        return ast.MakeSeries(
            self.span_from(start), tuple(aggs), on, low, high, step, tuple(by), kind, in_range
        )

    def _op_top_nested(self) -> ast.Operator:
        start = self.tok
        levels: list[ast.TopNestedLevel] = []
        while self.accept_word("top-nested"):
            level_start = self.tokens[self.i - 1]
            count = None if self.tok.is_word("of") else self.expression()
            self.expect_word("of")
            of = self.assign()
            others = None
            if self.accept_word("with"):
                self.expect_word("others")
                self.expect_punct("=")
                others = self.expression()
            self.expect_word("by")
            by = self.assign()
            descending = True
            if self.accept_word("asc"):
                descending = False
            else:
                self.accept_word("desc")
            levels.append(ast.TopNestedLevel(self.span_from(level_start), count, of, others, by, descending))
            if not self.accept_punct(","):
                break
        return ast.TopNested(self.span_from(start), tuple(levels))

    def _op_as(self) -> ast.Operator:
        start = self.advance()
        self.options({"hint"}, start)
        name, _ = self.identifier("a name")
        return ast.As(self.span_from(start), name)

    def _op_getschema(self) -> ast.Operator:
        start = self.advance()
        return ast.GetSchema(self.span_from(start))

    def _op_serialize(self) -> ast.Operator:
        start = self.advance()
        items: list[ast.Assign] = []
        if self.at_identifier() and not self.tok.is_punct("|"):
            items = self.assign_list()
        return ast.Serialize(self.span_from(start), tuple(items))

    def _op_sample(self) -> ast.Operator:
        start = self.advance()
        return ast.Sample(self.span_from(start), self.expression())

    def _op_sample_distinct(self) -> ast.Operator:
        start = self.advance()
        count = self.expression()
        self.expect_word("of")
        return ast.SampleDistinct(self.span_from(start), count, self.expression())

    def _op_evaluate(self) -> ast.Operator:
        start = self.advance()
        return self.evaluate_body(start)

    def evaluate_body(self, start: Token) -> ast.Evaluate:
        opts = self.options(set(), start)
        call = self.postfix()
        if not isinstance(call, ast.Call):
            raise self.fail("expected a plugin call after 'evaluate'", start)
        if not (self.tok.is_punct(":") and self.peek().is_punct("(")):
            return ast.Evaluate(self.span_from(start), call, tuple(opts.items()))
        self.advance()  # the output schema: ': (*, Name:type, ...)'
        keeps_input = self.peek().is_punct("*")
        schema = self.schema_columns(allow_star=True)
        return ast.Evaluate(self.span_from(start), call, tuple(opts.items()), schema, keeps_input)

    def _op_partition(self) -> ast.Operator:
        start = self.advance()
        opts = self.options(set(), start)
        self.expect_word("by")
        column, _ = self.identifier("the partition column")
        if self.accept_punct("{"):
            body = self.pipe_expr()
            self.expect_punct("}")
            return ast.Partition(self.span_from(start), column, body, False, tuple(opts.items()))
        self.expect_punct("(")
        sub_start = self.tok
        source: ast.Expr = ast.Name(sub_start.span, "$partition")
        while self.accept_punct("|") or self.tok.kind is TokenKind.IDENT:
            source = ast.Pipe(self.span_from(sub_start), source, self.operator())
        self.expect_punct(")")
        return ast.Partition(self.span_from(start), column, source, True, tuple(opts.items()))

    def _op_invoke(self) -> ast.Operator:
        start = self.advance()
        call = self.postfix()
        if not isinstance(call, ast.Call):
            raise self.fail("expected a function call after 'invoke'", start)
        return ast.Invoke(self.span_from(start), call)

    def _op_union(self) -> ast.Operator:
        start = self.advance()
        union = self.union_body(start)
        return ast.UnionOp(union.span, union)

    def _op_render(self) -> ast.Operator:
        start = self.advance()
        vis, _ = self.identifier("a visualization")
        properties = (
            self._render_properties() if self.tok.is_word("with") and self.peek().is_punct("(") else ()
        )
        # skip anything else up to the next statement (the legacy unparenthesised options)
        depth = 0
        while self.tok.kind is not TokenKind.EOF:
            if self.tok.is_punct("("):
                depth += 1
            elif self.tok.is_punct("}") and depth == 0:
                break  # the end of the function body the render is in
            elif self.tok.is_punct(")"):
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and self.tok.is_punct("|", ";"):
                break
            self.advance()
        return ast.Render(self.span_from(start), vis, properties)

    def _render_properties(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """``with (title="...", ycolumns=a, b, legend=hidden)``: a comma followed by ``name =``
        starts the next property, any other comma separates values of the current one."""
        self.expect_word("with")
        self.expect_punct("(")
        found: list[tuple[str, list[str]]] = []
        while not self.tok.is_punct(")") and self.tok.kind is not TokenKind.EOF:
            if self.tok.is_punct(","):
                self.advance()
            elif self.tok.kind is TokenKind.IDENT and self.peek().is_punct("="):
                found.append((self.tok.text.lower(), []))
                self.advance()
                self.advance()
            elif found:
                token = self.advance()
                found[-1][1].append(str(token.value) if token.kind is TokenKind.STRING else token.text)
            else:
                raise self.fail(
                    f"expected a render property (name=value) but found {self.describe(self.tok)}"
                )
        self.expect_punct(")")
        return tuple((name, tuple(values)) for name, values in found)


OPERATORS: dict[str, Callable[[OperatorParser], ast.Operator]] = {
    "where": OperatorParser._op_where,
    "filter": OperatorParser._op_where,
    "project": OperatorParser._op_project,
    "extend": OperatorParser._op_extend,
    "project-away": OperatorParser._op_project_away,
    "project-keep": OperatorParser._op_project_keep,
    "project-by-names": OperatorParser._op_project_by_names,
    "top-hitters": OperatorParser._op_top_hitters,
    "project-rename": OperatorParser._op_project_rename,
    "project-reorder": OperatorParser._op_project_reorder,
    "summarize": OperatorParser._op_summarize,
    "count": OperatorParser._op_count,
    "distinct": OperatorParser._op_distinct,
    "take": OperatorParser._op_take,
    "limit": OperatorParser._op_take,
    "top": OperatorParser._op_top,
    "sort": OperatorParser._op_sort,
    "order": OperatorParser._op_sort,
    "join": OperatorParser._op_join,
    "lookup": OperatorParser._op_lookup,
    "mv-expand": OperatorParser._op_mv_expand,
    "mvexpand": OperatorParser._op_mv_expand,
    "mv-apply": OperatorParser._op_mv_apply,
    "mvapply": OperatorParser._op_mv_apply,
    "parse": OperatorParser._op_parse,
    "parse-where": OperatorParser._op_parse_where,
    "parse-kv": OperatorParser._op_parse_kv,
    "make-series": OperatorParser._op_make_series,
    "top-nested": OperatorParser._op_top_nested,
    "as": OperatorParser._op_as,
    "getschema": OperatorParser._op_getschema,
    "serialize": OperatorParser._op_serialize,
    "sample": OperatorParser._op_sample,
    "sample-distinct": OperatorParser._op_sample_distinct,
    "evaluate": OperatorParser._op_evaluate,
    "invoke": OperatorParser._op_invoke,
    "partition": OperatorParser._op_partition,
    "union": OperatorParser._op_union,
    "render": OperatorParser._op_render,
    "scan": parse_scan,
    "make-graph": parse_make_graph,
    **dict.fromkeys(GRAPH_OPERATORS, graph_operator_alone),
}

_UNSUPPORTED_OPERATORS = frozenset(
    {"fork", "facet", "search", "find", "reduce", "consume",
     "top-hitters", "project-smart", "lookup-fuzzy", "as-of", "graph-merge", "scan-ahead"}
)  # fmt: skip
