"""Scalar expressions, assignments and literals of KQL.

Precedence, lowest first: ``or``; ``and``; comparisons and string/list operators (``==``, ``has``,
``in``, ``between``, ...); ``+ -``; ``* / %``; unary ``- +``; postfix ``.name``, ``[index]``, calls.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from watchkeeper.errors import KqlSyntaxError
from watchkeeper.kql import ast
from watchkeeper.kql.literals import (
    format_datetime_iso,
    format_timespan,
    parse_datetime_text,
    parse_guid_text,
    parse_timespan_text,
)
from watchkeeper.kql.parse_cursor import TokenCursor
from watchkeeper.kql.tokens import Token, TokenKind
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = ["COMPARISONS", "LIST_OPERATORS", "SCOPE_FUNCTIONS", "STRING_OPERATORS", "ExpressionParser"]

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
_LIST_FORMS = {"has": "has_any", "has_cs": "has_any_cs"}
COMPARISONS = frozenset({"==", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~"})
# functions that name where a table lives (another cluster, database, workspace or app)
SCOPE_FUNCTIONS = frozenset({"cluster", "database", "workspace", "app"})


class ExpressionParser(TokenCursor):
    """Parses scalar expressions; tabular sub-expressions come from :meth:`pipe_expr`."""

    if TYPE_CHECKING:

        def pipe_expr(self) -> ast.Expr: ...

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
            if (
                t.is_punct("[")
                and self.tokens[j + 1].kind is TokenKind.STRING
                and self.tokens[j + 2].is_punct("]")
            ):
                j += 3  # a bracketed name: ['a b']
                continue
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
            elif tok.kind is TokenKind.IDENT and tok.text in _LIST_FORMS and self._list_follows():
                self.advance()  # `x has ("a", "b")` means has_any
                left = ast.InList(self.span_from(start), _LIST_FORMS[tok.text], left, self.list_items())
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

    def _list_follows(self) -> bool:
        """``(`` after the operator opens a comma-separated list (not a parenthesised value)."""
        if not self.peek().is_punct("("):
            return False
        depth, j = 0, self.i + 1
        while j < len(self.tokens):
            t = self.tokens[j]
            if t.is_punct("(", "[", "{"):
                depth += 1
            elif t.is_punct(")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and t.is_punct(","):
                return True
            elif t.kind is TokenKind.EOF:
                return False
            j += 1
        return False

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
            if (
                isinstance(operand, ast.Literal)
                and op == "-"
                and operand.type in _NEGATABLE
                and (operand.value is not None)
            ):
                return ast.Literal(self.span_from(start), -operand.value, operand.type)
            return ast.Unary(self.span_from(start), op, operand)
        return self.postfix()

    def postfix(self) -> ast.Expr:
        start = self.tok
        expr = self.primary()
        while True:
            if self.tok.is_punct(".") and self.peek().is_punct("["):
                self.advance()  # `d.[0]` and `d.['key']` are index access written after a dot
            elif self._scope_chain(expr):
                # cluster("c").database("d"): the chain names where to read; the binder refuses it
                # with a message naming the first link, so the rest is parsed and set aside
                self.advance()
                self.call(self.advance())
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

    def _scope_chain(self, expr: ast.Expr) -> bool:
        """At ``.name(`` after ``cluster(...)``, ``database(...)``, ``workspace(...)`` or ``app(...)``."""
        return (
            isinstance(expr, ast.Call)
            and expr.name in SCOPE_FUNCTIONS
            and self.tok.is_punct(".")
            and self.peek().kind is TokenKind.IDENT
            and self.peek(2).is_punct("(")
        )

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
        if word.lower() in ("true", "false") and not self.tok.is_punct("("):  # Kusto accepts True, TRUE
            return ast.Literal(tok.span, word.lower() == "true", KqlType.BOOL)
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
            if (
                self.tok.kind is TokenKind.IDENT
                and self.peek().is_punct("=")
                and not self.peek(2).is_punct("=")
            ):
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
        value = tok.value
        assert isinstance(value, tuple), "typed literal tokens carry (type name, body)"
        name, body = str(value[0]), str(value[1])
        kql_type = parse_type_name(name)
        assert kql_type is not None
        text = str(body)
        if text.lower() == "null" or text == "":
            return ast.Literal(tok.span, None, kql_type)
        if kql_type is KqlType.DATETIME and text.lower() == "now":
            return ast.Call(tok.span, "now", (), tok.span)
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
                bag[str(key_tok.value if key_tok.kind is TokenKind.STRING else key_tok.text)] = (
                    self.json_value()
                )
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
    return (
        int(text, 16)
        if text.lower().startswith(("0x", "-0x"))
        else int(float(text))
        if "." in text
        else int(text)
    )


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
