"""Stage 2: tokens -> syntax tree (:mod:`watchkeeper.kql.ast`).

A hand-written recursive-descent parser in layers: :mod:`parse_cursor` (token moves),
:mod:`parse_expressions` (scalar expressions), :mod:`parse_operators` (tabular operators, one
``_op_<name>`` per operator in the :data:`OPERATORS` table), and this module (statements and
query sources).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from watchkeeper.errors import KqlSyntaxError, UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.parse_declare import DeclareParser
from watchkeeper.kql.parse_operators import OPERATORS
from watchkeeper.kql.tokens import Token, TokenKind

__all__ = ["OPERATORS", "parse"]


def parse(text: str) -> ast.Query:
    """Parse a whole KQL query. Raises :class:`KqlSyntaxError` with the span of the problem."""
    return _Parser(text).query()


class _Parser(DeclareParser):
    def query(self) -> ast.Query:
        start = self.tok
        lets: list[ast.Let] = []
        results: list[ast.Expr] = []
        options: list[tuple[str, Any]] = []
        while not self.at_end():
            if self.accept_punct(";"):
                continue
            if self.tok.is_word("let"):
                lets.append(self.let_statement())
            elif self.tok.is_word("set") and self.peek().kind is TokenKind.IDENT:
                options.append(self.set_statement())
            elif self.tok.is_word("declare") and self.peek().is_word("query_parameters"):
                lets.extend(self.declare_parameters())
            elif self.tok.is_word("declare") and self.peek().is_word("pattern"):
                self.declare_pattern()
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
        """``declare query_parameters(name:type [= default], ...)``: the defaults become ``let``s.

        No request passes parameter values here (the Kusto route refuses ``properties.Parameters``
        with that reason), so a parameter without a default has no value: a clear error, as Kusto
        gives for a parameter the request leaves out."""
        self.advance()
        self.advance()
        lets: list[ast.Let] = []
        for param in self.params():
            if param.default is None:
                raise KqlSyntaxError(
                    f"query parameter '{param.name}' has no value: the request passes none and the "
                    f"declaration gives no default ({param.name}:type = default)",
                    param.span,
                    self.text,
                )
            lets.append(ast.Let(param.span, param.name, param.default))
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
        if (
            self.tok.is_word("view")
            and self.peek().is_punct("(")
            and self.tokens[self.i + 2].kind is TokenKind.IDENT
        ):
            self.advance()  # `let f = view (p:type) { ... }` is a function that returns a table
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
        if self.at_pattern():
            return self.pattern_invocation()
        tok, nxt = self.tok, self.peek()
        if tok.kind is TokenKind.IDENT:
            handler = _SOURCES.get(tok.text)
            bracketed = (
                nxt.is_punct("[") and self.peek(2).kind is TokenKind.STRING and self.peek(3).is_punct("]")
            )
            keyword_use = bracketed or not nxt.is_punct("|", ";", ")", ",", ".", "=", "==", "!=", "[")
            if tok.text == "range":
                keyword_use = nxt.kind is TokenKind.IDENT or bracketed
            if handler is not None and keyword_use:
                return handler(self)
            if tok.text == "print" and not nxt.is_punct(".", "|", ";", ")", ",", "=", "=="):
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
        fuzzy = (isinstance(isfuzzy, ast.Literal) and isfuzzy.value is True) or (
            isinstance(isfuzzy, ast.Name) and isfuzzy.name.lower() == "true"
        )
        return ast.Union(self.span_from(start), tuple(sources), kind, withsource, fuzzy)

    def union_leg(self) -> ast.Expr:
        """A table name (wildcards allowed: ``Security*``), function call, or let name."""
        start = self.tok
        if self.at_pattern():
            return self.pattern_invocation()
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
        options = self.with_options()
        return ast.Externaldata(self.span_from(start), columns, tuple(uris), tuple(options))

    def src_view(self) -> ast.Expr:
        start = self.advance()
        self.expect_punct("(")
        self.expect_punct(")")
        return ast.View(self.span_from(start), self.function_body())

    def src_unsupported(self) -> ast.Expr:
        raise UnsupportedError(f"'{self.tok.text}' as a query source", self.tok.span, self.text)


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
