"""Stage 2: tokens -> syntax tree (:mod:`watchkeeper.kql.ast`).

A hand-written recursive-descent parser. Scalar precedence, lowest first: ``or``; ``and``;
comparisons and string/list operators (``==``, ``has``, ``in``, ``between``, ...); ``+ -``;
``* / %``; unary ``- +``; postfix ``.name``, ``[index]``, calls. Tabular operators are parsed by
``_op_<name>`` methods chosen from the :data:`OPERATORS` table.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from watchkeeper.errors import KqlSyntaxError, SourceSpan, UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.literals import parse_datetime_text, parse_guid_text, parse_timespan_text
from watchkeeper.kql.tokens import Token, TokenKind, tokenize
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = ["OPERATORS", "parse"]

STRING_OPERATORS = frozenset(
    {
        "has", "!has", "has_cs", "!has_cs", "hasprefix", "!hasprefix", "hasprefix_cs", "!hasprefix_cs",
        "hassuffix", "!hassuffix", "hassuffix_cs", "!hassuffix_cs", "contains", "!contains",
        "contains_cs", "!contains_cs", "startswith", "!startswith", "startswith_cs", "!startswith_cs",
        "endswith", "!endswith", "endswith_cs", "!endswith_cs", "matches",
        "notcontains", "notcontainscs", "containscs", "notstartswith", "notendswith",
    }
)  # fmt: skip
LIST_OPERATORS = frozenset({"in", "!in", "in~", "!in~", "has_any", "has_all", "has_any_cs", "has_all_cs"})
COMPARISONS = frozenset({"==", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~"})

JOIN_KINDS = frozenset(
    {"innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti", "anti", "leftantisemi",
     "rightanti", "rightantisemi", "leftsemi", "rightsemi", "semi"}
)  # fmt: skip


def parse(text: str) -> ast.Query:
    """Parse a whole KQL query. Raises :class:`KqlSyntaxError` with the span of the problem."""
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # ---------------------------------------------------------------- token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.tokens[min(self.i + n, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not TokenKind.EOF:
            self.i += 1
        return tok

    def fail(self, message: str, tok: Token | None = None) -> KqlSyntaxError:
        tok = tok or self.tok
        return KqlSyntaxError(message, SourceSpan(tok.start, max(tok.end, tok.start + 1)), self.text)

    def expect_punct(self, text: str) -> Token:
        if not self.tok.is_punct(text):
            raise self.fail(f"expected '{text}' but found {self.describe(self.tok)}")
        return self.advance()

    def expect_word(self, *words: str) -> Token:
        if not self.tok.is_word(*words):
            raise self.fail(f"expected '{words[0]}' but found {self.describe(self.tok)}")
        return self.advance()

    def accept_punct(self, text: str) -> Token | None:
        return self.advance() if self.tok.is_punct(text) else None

    def accept_word(self, *words: str) -> Token | None:
        return self.advance() if self.tok.is_word(*words) else None

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the query" if tok.kind is TokenKind.EOF else f"'{tok.text}'"

    def span_from(self, start: Token | int) -> SourceSpan:
        begin = start.start if isinstance(start, Token) else start
        prev = self.tokens[self.i - 1] if self.i > 0 else self.tok
        return SourceSpan(begin, max(prev.end, begin))

    def identifier(self, what: str = "a name") -> tuple[str, Token]:
        """A plain identifier or a bracketed/quoted one (``['My Column']``)."""
        tok = self.tok
        if tok.kind is TokenKind.IDENT:
            self.advance()
            return tok.text, tok
        if tok.is_punct("[") and self.peek().kind is TokenKind.STRING and self.peek(2).is_punct("]"):
            self.advance()
            name = str(self.advance().value)
            self.advance()
            return name, tok
        if tok.kind is TokenKind.STRING and what == "a column name":
            self.advance()
            return str(tok.value), tok
        raise self.fail(f"expected {what} but found {self.describe(tok)}")

    def at_identifier(self) -> bool:
        tok = self.tok
        return tok.kind is TokenKind.IDENT or (
            tok.is_punct("[") and self.peek().kind is TokenKind.STRING and self.peek(2).is_punct("]")
        )

    # ---------------------------------------------------------------- statements

    def query(self) -> ast.Query:
        start = self.tok
        lets: list[ast.Let] = []
        results: list[ast.Expr] = []
        options: list[tuple[str, Any]] = []
        while self.tok.kind is not TokenKind.EOF:
            if self.accept_punct(";"):
                continue
            if self.tok.is_word("let"):
                lets.append(self.let_statement())
            elif self.tok.is_word("set") and self.peek().kind is TokenKind.IDENT:
                options.append(self.set_statement())
            elif self.tok.is_word("declare") and self.peek().is_word("query_parameters"):
                lets.extend(self.declare_parameters())
            elif self.tok.is_word("declare", "alias", "restrict"):
                raise UnsupportedError(f"'{self.tok.text}' statement", self.tok.span, self.text)
            else:
                results.append(self.pipe_expr())
            if not self.tok.is_punct(";") and self.tok.kind is not TokenKind.EOF:
                raise self.fail(f"expected ';' or the end of the query but found {self.describe(self.tok)}")
        if not results:
            raise self.fail("the query has no tabular expression to run")
        return ast.Query(self.span_from(start), tuple(lets), tuple(results), tuple(options))

    def declare_parameters(self) -> list[ast.Let]:
        """``declare query_parameters(name:type [= default], ...)``: the defaults become ``let``s
        (a caller that supplies parameter values binds them instead)."""
        start = self.advance()
        self.advance()
        lets: list[ast.Let] = []
        for param in self.params():
            # without a default and without a caller-supplied value, the parameter is a typed null
            value = param.default or ast.Literal(param.span, None, param.type or KqlType.STRING)
            lets.append(ast.Let(param.span, param.name, value))
        del start
        return lets

    def set_statement(self) -> tuple[str, Any]:
        self.advance()
        name, _ = self.identifier()
        value: Any = True
        if self.accept_punct("="):
            value = self.literal_value(self.primary())
        return name, value

    def let_statement(self) -> ast.Let:
        start = self.expect_word("let")
        name, _ = self.identifier("a name for the let statement")
        self.expect_punct("=")
        if self.tok.is_punct("(") and self.looks_like_function():
            params = self.params()
            body = self.function_body()
            return ast.Let(self.span_from(start), name, body, params)
        value = self.pipe_expr()
        return ast.Let(self.span_from(start), name, value)

    def looks_like_function(self) -> bool:
        """``(`` starts a parameter list when it is followed by ``)`` or ``name:`` and ends with ``{``."""
        depth, j = 0, self.i
        while j < len(self.tokens):
            t = self.tokens[j]
            if t.is_punct("("):
                depth += 1
            elif t.is_punct(")"):
                depth -= 1
                if depth == 0:
                    return self.tokens[j + 1].is_punct("{")
            elif t.kind is TokenKind.EOF:
                return False
            j += 1
        return False

    def params(self) -> tuple[ast.Param, ...]:
        self.expect_punct("(")
        params: list[ast.Param] = []
        while not self.tok.is_punct(")"):
            start = self.tok
            name, _ = self.identifier("a parameter name")
            self.expect_punct(":")
            if self.tok.is_punct("("):
                columns = self.schema_columns(allow_star=True)
                params.append(ast.Param(self.span_from(start), name, None, None, columns))
            else:
                kql_type = self.type_name()
                default = self.pipe_expr() if self.accept_punct("=") else None
                params.append(ast.Param(self.span_from(start), name, kql_type, default))
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return tuple(params)

    def function_body(self) -> ast.FunctionBody:
        start = self.expect_punct("{")
        lets: list[ast.Let] = []
        result: ast.Expr | None = None
        while not self.tok.is_punct("}"):
            if self.accept_punct(";"):
                continue
            if self.tok.is_word("let"):
                lets.append(self.let_statement())
            else:
                result = self.pipe_expr()
        end = self.expect_punct("}")
        if result is None:
            raise self.fail("the function body has no result expression", end)
        return ast.FunctionBody(self.span_from(start), tuple(lets), result)

    def type_name(self) -> KqlType:
        tok = self.tok
        if tok.kind not in (TokenKind.IDENT,):
            raise self.fail(f"expected a type name but found {self.describe(tok)}")
        kql_type = parse_type_name(tok.text)
        if kql_type is None:
            raise self.fail(f"unknown type '{tok.text}'")
        self.advance()
        return kql_type

    def schema_columns(self, allow_star: bool = False) -> tuple[tuple[str, KqlType], ...]:
        """``(name:type, ...)`` as in datatable, externaldata and tabular parameters."""
        self.expect_punct("(")
        cols: list[tuple[str, KqlType]] = []
        while not self.tok.is_punct(")"):
            if allow_star and self.accept_punct("*"):
                if not self.accept_punct(","):
                    break
                continue
            name, _ = self.identifier("a column name")
            self.expect_punct(":")
            cols.append((name, self.type_name()))
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return tuple(cols)

    # ---------------------------------------------------------------- tabular expressions

    def pipe_expr(self) -> ast.Expr:
        start = self.tok
        source = self.tabular_source()
        while self.tok.is_punct("|"):
            self.advance()
            op = self.operator()
            source = ast.Pipe(self.span_from(start), source, op)
        return source

    def tabular_source(self) -> ast.Expr:
        tok, nxt = self.tok, self.peek()
        if tok.kind is TokenKind.IDENT:
            handler = _SOURCES.get(tok.text)
            keyword_use = not nxt.is_punct("|", ";", ")", ",", ".", "=", "==", "!=", "[")
            if tok.text == "range":
                keyword_use = nxt.kind is TokenKind.IDENT
            if handler is not None and keyword_use:
                return handler(self)
            if tok.text == "print" and not nxt.is_punct("(", ".", "|", ";", ")", ","):
                return self.print_source()
        return self.expression()

    def src_datatable(self) -> ast.Expr:
        start = self.advance()
        columns = self.schema_columns()
        self.expect_punct("[")
        values: list[ast.Expr] = []
        while not self.tok.is_punct("]"):
            values.append(self.expression())
            if not self.accept_punct(","):
                break
        self.expect_punct("]")
        if columns and len(values) % len(columns):
            raise self.fail(
                f"datatable has {len(columns)} columns but {len(values)} values, not a multiple of it", start
            )
        return ast.Datatable(self.span_from(start), columns, tuple(values))

    def src_range(self) -> ast.Expr:
        start = self.advance()
        name, _ = self.identifier("the range column name")
        self.expect_word("from")
        low = self.expression()
        self.expect_word("to")
        high = self.expression()
        self.expect_word("step")
        step = self.expression()
        return ast.Range(self.span_from(start), name, low, high, step)

    def print_source(self) -> ast.Expr:
        start = self.advance()
        items = self.assign_list()
        return ast.Print(self.span_from(start), tuple(items))

    def src_union(self) -> ast.Expr:
        start = self.advance()
        return self.union_body(start)

    def union_body(self, start: Token) -> ast.Union:
        opts = self.options({"kind", "withsource", "isfuzzy"}, start)
        sources: list[ast.Expr] = []
        while True:
            if self.tok.is_punct("("):
                self.advance()
                sources.append(self.pipe_expr())
                self.expect_punct(")")
            else:
                sources.append(self.union_leg())
            if not self.accept_punct(","):
                break
        kind = self.option_word(opts, "kind", "outer")
        withsource = self.option_word(opts, "withsource", None)
        isfuzzy = opts.get("isfuzzy")
        fuzzy = isinstance(isfuzzy, ast.Literal) and isfuzzy.value is True
        return ast.Union(self.span_from(start), tuple(sources), kind, withsource, fuzzy)

    def union_leg(self) -> ast.Expr:
        """A table name (wildcards allowed: ``Security*``), function call, or let name."""
        start = self.tok
        if self.tok.kind is TokenKind.IDENT and self.peek().is_punct("*"):
            name = self.advance().text
            self.advance()
            return ast.Star(self.span_from(start), name + "*")
        return self.postfix()

    def src_evaluate(self) -> ast.Expr:
        start = self.advance()
        op = self.evaluate_body(start)
        return ast.Pipe(op.span, ast.Print(op.span, ()), op)

    def src_externaldata(self) -> ast.Expr:
        start = self.advance()
        columns = self.schema_columns()
        self.expect_punct("[")
        uris: list[ast.Expr] = []
        while not self.tok.is_punct("]"):
            uris.append(self.expression())
            if not self.accept_punct(","):
                break
        self.expect_punct("]")
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
        return ast.Externaldata(self.span_from(start), columns, tuple(uris), tuple(options))

    def src_view(self) -> ast.Expr:
        start = self.advance()
        self.expect_punct("(")
        self.expect_punct(")")
        return ast.View(self.span_from(start), self.function_body())

    def src_unsupported(self) -> ast.Expr:
        raise UnsupportedError(f"'{self.tok.text}' as a query source", self.tok.span, self.text)

    # ---------------------------------------------------------------- options (key=value)

    def options(self, allowed: set[str], start: Token) -> dict[str, ast.Expr]:
        """Leading ``key=value`` options of an operator; ``hint.*`` options are always accepted."""
        out: dict[str, ast.Expr] = {}
        while self.tok.kind is TokenKind.IDENT and (
            self.tok.text in allowed or self.tok.text in ("hint", "bagexpansion", "with_itemindex")
        ):
            if self.tok.text == "with_itemindex":
                if not self.peek().is_punct("="):
                    return out
            key = self.advance().text
            while self.accept_punct("."):
                key += "." + self.identifier("an option name")[0]
            if not self.accept_punct("="):
                raise self.fail(f"expected '=' after '{key}'")
            value_tok = self.tok
            if value_tok.kind is TokenKind.IDENT:
                self.advance()
                out[key] = ast.Name(value_tok.span, value_tok.text)
            else:
                out[key] = self.primary()
        return out

    @staticmethod
    def option_word(opts: dict[str, ast.Expr], key: str, default: Any) -> Any:
        value = opts.get(key)
        if value is None:
            return default
        if isinstance(value, ast.Name):
            return value.name
        if isinstance(value, ast.Literal):
            return value.value
        return default

    # ---------------------------------------------------------------- operators

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
            if self.at_identifier() and self.peek().is_punct("="):
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

    def _op_parse_kv(self) -> ast.Operator:
        start = self.advance()
        source = self.expression()
        self.expect_word("as")
        columns = self.schema_columns()
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
        return ast.MakeSeries(self.span_from(start), tuple(aggs), on, low, high, step, tuple(by), kind, in_range)

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
        return ast.Evaluate(self.span_from(start), call, tuple(opts.items()))

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
        # skip `with (...)` properties and anything up to the next statement
        depth = 0
        while self.tok.kind is not TokenKind.EOF:
            if self.tok.is_punct("("):
                depth += 1
            elif self.tok.is_punct(")"):
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and self.tok.is_punct("|", ";"):
                break
            self.advance()
        return ast.Render(self.span_from(start), vis)

    # ---------------------------------------------------------------- assignments

    def assign_list(self) -> list[ast.Assign]:
        items = [self.assign()]
        while self.accept_punct(","):
            items.append(self.assign())
        return items

    def assign(self) -> ast.Assign:
        start = self.tok
        if self.tok.is_punct("(") and self._tuple_assign_ahead():
            self.advance()
            names = [self.identifier("a column name")[0]]
            while self.accept_punct(","):
                names.append(self.identifier("a column name")[0])
            self.expect_punct(")")
            self.expect_punct("=")
            return ast.Assign(self.span_from(start), tuple(names), self.expression())
        if self.at_identifier():
            save = self.i
            name, _ = self.identifier()
            if self.tok.is_punct("="):
                self.advance()
                return ast.Assign(self.span_from(start), (name,), self.expression())
            self.i = save
        return ast.Assign(self.span_from(start), (), self.expression())

    def _tuple_assign_ahead(self) -> bool:
        j = self.i + 1
        while j < len(self.tokens):
            t = self.tokens[j]
            if t.is_punct(")"):
                return self.tokens[j + 1].is_punct("=")
            if not (t.kind is TokenKind.IDENT or t.is_punct(",")):
                return False
            j += 1
        return False

    # ---------------------------------------------------------------- scalar expressions

    def expression(self) -> ast.Expr:
        return self.or_expr()

    def or_expr(self) -> ast.Expr:
        start = self.tok
        left = self.and_expr()
        while self.tok.is_word("or"):
            self.advance()
            right = self.and_expr()
            left = ast.Binary(self.span_from(start), "or", left, right)
        return left

    def and_expr(self) -> ast.Expr:
        start = self.tok
        left = self.comparison()
        while self.tok.is_word("and"):
            self.advance()
            right = self.comparison()
            left = ast.Binary(self.span_from(start), "and", left, right)
        return left

    def comparison(self) -> ast.Expr:
        start = self.tok
        left = self.additive()
        while True:
            tok = self.tok
            if tok.kind is TokenKind.PUNCT and tok.text in COMPARISONS:
                self.advance()
                op = "!=" if tok.text == "<>" else tok.text
                left = ast.Binary(self.span_from(start), op, left, self.additive())
            elif tok.kind is TokenKind.IDENT and tok.text in STRING_OPERATORS:
                self.advance()
                op = tok.text
                if op in ("matches", "!matches"):
                    self.expect_word("regex")
                    op = op + " regex"
                left = ast.Binary(self.span_from(start), op, left, self.additive())
            elif tok.kind is TokenKind.IDENT and tok.text in LIST_OPERATORS and self.peek().is_punct("("):
                self.advance()
                left = ast.InList(self.span_from(start), tok.text, left, self.list_items())
            elif tok.is_word("between", "!between"):
                self.advance()
                left = self.between(start, left, tok.text.startswith("!"))
            else:
                return left

    def list_items(self) -> tuple[ast.Expr, ...]:
        self.expect_punct("(")
        items: list[ast.Expr] = []
        while not self.tok.is_punct(")"):
            items.append(self.pipe_expr())
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return tuple(items)

    def between(self, start: Token, left: ast.Expr, negated: bool) -> ast.Expr:
        self.expect_punct("(")
        low = self.additive()
        self.expect_punct("..")
        high = self.additive()
        self.expect_punct(")")
        return ast.Between(self.span_from(start), left, low, high, negated)

    def additive(self) -> ast.Expr:
        start = self.tok
        left = self.multiplicative()
        while self.tok.is_punct("+", "-"):
            op = self.advance().text
            left = ast.Binary(self.span_from(start), op, left, self.multiplicative())
        return left

    def multiplicative(self) -> ast.Expr:
        start = self.tok
        left = self.unary()
        while self.tok.is_punct("*", "/", "%"):
            op = self.advance().text
            left = ast.Binary(self.span_from(start), op, left, self.unary())
        return left

    def unary(self) -> ast.Expr:
        start = self.tok
        if self.tok.is_punct("-", "+"):
            op = self.advance().text
            operand = self.unary()
            if isinstance(operand, ast.Literal) and op == "-" and operand.type in _NEGATABLE:
                return ast.Literal(self.span_from(start), -operand.value, operand.type)
            return ast.Unary(self.span_from(start), op, operand)
        return self.postfix()

    def postfix(self) -> ast.Expr:
        start = self.tok
        expr = self.primary()
        while True:
            if self.tok.is_punct(".") and self.peek().is_punct("["):
                self.advance()  # `d.[0]` and `d.['key']` are index access written after a dot
            elif self.tok.is_punct(".") and self.peek().kind is TokenKind.IDENT:
                self.advance()
                name, _ = self.identifier("a property name")
                expr = ast.Member(self.span_from(start), expr, name)
            elif self.tok.is_punct("[") and not isinstance(expr, ast.Literal):
                self.advance()
                index = self.expression()
                self.expect_punct("]")
                expr = ast.Index(self.span_from(start), expr, index)
            else:
                return expr

    def primary(self) -> ast.Expr:
        tok = self.tok
        kind = tok.kind
        if kind is TokenKind.STRING:
            return self.string_literal()
        if kind is TokenKind.INT:
            self.advance()
            return ast.Literal(tok.span, tok.value, KqlType.LONG)
        if kind is TokenKind.REAL:
            self.advance()
            return ast.Literal(tok.span, tok.value, KqlType.REAL)
        if kind is TokenKind.TIMESPAN:
            self.advance()
            return ast.Literal(tok.span, tok.value, KqlType.TIMESPAN)
        if kind is TokenKind.TYPED:
            self.advance()
            return self.typed_literal(tok)
        if tok.is_punct("("):
            self.advance()
            inner = self.pipe_expr()
            if self.tok.is_punct(","):
                raise self.fail("unexpected ',' inside parentheses")
            self.expect_punct(")")
            return inner
        if tok.is_punct("*"):
            self.advance()
            return ast.Star(tok.span)
        if tok.is_punct("[") and self.peek().kind is TokenKind.STRING and self.peek(2).is_punct("]"):
            name, _ = self.identifier()
            return ast.Name(self.span_from(tok), name)
        if kind is TokenKind.IDENT:
            return self.identifier_expr()
        raise self.fail(f"expected an expression but found {self.describe(tok)}")

    def string_literal(self) -> ast.Expr:
        start = self.tok
        parts = [str(self.advance().value)]
        while self.tok.kind is TokenKind.STRING:  # adjacent literals concatenate
            parts.append(str(self.advance().value))
        return ast.Literal(self.span_from(start), "".join(parts), KqlType.STRING)

    def identifier_expr(self) -> ast.Expr:
        tok = self.advance()
        word = tok.text
        if word in ("true", "false") and not self.tok.is_punct("("):
            return ast.Literal(tok.span, word == "true", KqlType.BOOL)
        if word == "dynamic" and self.tok.is_punct("("):
            return self.dynamic_literal(tok)
        if self.tok.is_punct("("):
            return self.call(tok)
        return ast.Name(tok.span, word)

    def call(self, name_tok: Token) -> ast.Expr:
        self.expect_punct("(")
        args: list[ast.Expr] = []
        named: list[tuple[str, ast.Expr]] = []
        while not self.tok.is_punct(")"):
            if self.tok.kind is TokenKind.IDENT and self.peek().is_punct("=") and not self.peek(2).is_punct("="):
                key = self.advance().text
                self.advance()
                named.append((key, self.pipe_expr()))
            else:
                args.append(self.pipe_expr())
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return ast.Call(self.span_from(name_tok), name_tok.text, tuple(args), name_tok.span, tuple(named))

    def typed_literal(self, tok: Token) -> ast.Expr:
        name, body = tok.value  # type: ignore[misc]
        kql_type = parse_type_name(name)
        assert kql_type is not None
        text = str(body)
        if text.lower() == "null" or text == "":
            return ast.Literal(tok.span, None, kql_type)
        try:
            value = _TYPED_PARSERS[kql_type](text)
        except (ValueError, InvalidOperation) as exc:
            raise KqlSyntaxError(f"invalid {kql_type} literal '{text}'", tok.span, self.text) from exc
        return ast.Literal(tok.span, value, kql_type)

    def dynamic_literal(self, start: Token) -> ast.Expr:
        self.expect_punct("(")
        value = self.json_value()
        self.expect_punct(")")
        return ast.Literal(self.span_from(start), value, KqlType.DYNAMIC)

    def json_value(self) -> Any:
        tok = self.tok
        if tok.is_punct("["):
            self.advance()
            items = []
            while not self.tok.is_punct("]"):
                items.append(self.json_value())
                if not self.accept_punct(","):
                    break
            self.expect_punct("]")
            return items
        if tok.is_punct("{"):
            self.advance()
            bag: dict[str, Any] = {}
            while not self.tok.is_punct("}"):
                key_tok = self.advance()
                if key_tok.kind not in (TokenKind.STRING, TokenKind.IDENT):
                    raise self.fail("expected a property name in the dynamic bag", key_tok)
                self.expect_punct(":")
                bag[str(key_tok.value if key_tok.kind is TokenKind.STRING else key_tok.text)] = self.json_value()
                if not self.accept_punct(","):
                    break
            self.expect_punct("}")
            return bag
        expr = self.unary()
        return self.literal_value(expr)

    def literal_value(self, expr: ast.Expr) -> Any:
        if isinstance(expr, ast.Literal):
            return _JsonScalar(expr.value, expr.type).json()
        if isinstance(expr, ast.Name) and expr.name == "null":
            return None
        raise KqlSyntaxError("expected a constant value", expr.span, self.text)


class _JsonScalar:
    """A typed literal inside ``dynamic(...)``: datetimes and timespans keep Kusto's text forms."""

    def __init__(self, value: Any, kql_type: KqlType) -> None:
        self.value, self.type = value, kql_type

    def json(self) -> Any:
        from watchkeeper.kql.literals import format_datetime_iso, format_timespan

        if self.value is None:
            return None
        if self.type is KqlType.DATETIME:
            return format_datetime_iso(self.value)
        if self.type is KqlType.TIMESPAN:
            return format_timespan(self.value)
        if self.type is KqlType.DECIMAL:
            return float(self.value)
        return self.value


def _parse_real(text: str) -> float:
    low = text.strip().lower()
    if low in ("inf", "+inf"):
        return float("inf")
    if low == "-inf":
        return float("-inf")
    if low == "nan":
        return float("nan")
    return float(text)


def _parse_int(text: str) -> int:
    return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(float(text)) if "." in text else int(text)


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ValueError(text)


_TYPED_PARSERS: dict[KqlType, Callable[[str], Any]] = {
    KqlType.DATETIME: parse_datetime_text,
    KqlType.TIMESPAN: parse_timespan_text,
    KqlType.GUID: parse_guid_text,
    KqlType.REAL: _parse_real,
    KqlType.DECIMAL: Decimal,
    KqlType.INT: _parse_int,
    KqlType.LONG: _parse_int,
    KqlType.BOOL: _parse_bool,
}

_NEGATABLE = frozenset({KqlType.LONG, KqlType.INT, KqlType.REAL, KqlType.TIMESPAN, KqlType.DECIMAL})


OPERATORS: dict[str, Callable[[_Parser], ast.Operator]] = {
    "where": _Parser._op_where,
    "filter": _Parser._op_where,
    "project": _Parser._op_project,
    "extend": _Parser._op_extend,
    "project-away": _Parser._op_project_away,
    "project-keep": _Parser._op_project_keep,
    "project-rename": _Parser._op_project_rename,
    "project-reorder": _Parser._op_project_reorder,
    "summarize": _Parser._op_summarize,
    "count": _Parser._op_count,
    "distinct": _Parser._op_distinct,
    "take": _Parser._op_take,
    "limit": _Parser._op_take,
    "top": _Parser._op_top,
    "sort": _Parser._op_sort,
    "order": _Parser._op_sort,
    "join": _Parser._op_join,
    "lookup": _Parser._op_lookup,
    "mv-expand": _Parser._op_mv_expand,
    "mvexpand": _Parser._op_mv_expand,
    "mv-apply": _Parser._op_mv_apply,
    "mvapply": _Parser._op_mv_apply,
    "parse": _Parser._op_parse,
    "parse-where": _Parser._op_parse_where,
    "parse-kv": _Parser._op_parse_kv,
    "make-series": _Parser._op_make_series,
    "top-nested": _Parser._op_top_nested,
    "as": _Parser._op_as,
    "getschema": _Parser._op_getschema,
    "serialize": _Parser._op_serialize,
    "sample": _Parser._op_sample,
    "sample-distinct": _Parser._op_sample_distinct,
    "evaluate": _Parser._op_evaluate,
    "invoke": _Parser._op_invoke,
    "union": _Parser._op_union,
    "render": _Parser._op_render,
}

_UNSUPPORTED_OPERATORS = frozenset(
    {"fork", "facet", "search", "find", "reduce", "scan", "make-graph", "graph-match", "consume",
     "top-hitters", "project-smart", "partition", "lookup-fuzzy", "as-of", "graph-merge", "graph-to-table",
     "scan-ahead"}
)  # fmt: skip

_SOURCES: dict[str, Callable[[_Parser], ast.Expr]] = {
    "datatable": _Parser.src_datatable,
    "range": _Parser.src_range,
    "union": _Parser.src_union,
    "evaluate": _Parser.src_evaluate,
    "externaldata": _Parser.src_externaldata,
    "view": _Parser.src_view,
    "find": _Parser.src_unsupported,
    "search": _Parser.src_unsupported,
}
