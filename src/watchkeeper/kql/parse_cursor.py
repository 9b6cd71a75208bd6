"""The token cursor under the KQL parser: lookahead, expectations, identifiers, options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watchkeeper.errors import KqlSyntaxError, SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.tokens import Token, TokenKind, tokenize
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = ["TokenCursor"]


class TokenCursor:
    """Position in the token list of one query, with the small parsing moves every rule uses."""

    if TYPE_CHECKING:

        def primary(self) -> ast.Expr: ...

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def at_end(self) -> bool:
        return self.tokens[self.i].kind is TokenKind.EOF

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

    def identifier_width(self) -> int:
        """Tokens the identifier at the cursor spans: 1, or 3 for ``['name']``."""
        return 3 if self.tok.is_punct("[") else 1

    def at_identifier(self) -> bool:
        tok = self.tok
        return tok.kind is TokenKind.IDENT or (
            tok.is_punct("[") and self.peek().kind is TokenKind.STRING and self.peek(2).is_punct("]")
        )

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

    # ---------------------------------------------------------------- options (key=value)

    def options(self, allowed: set[str], start: Token) -> dict[str, ast.Expr]:
        """Leading ``key=value`` options of an operator; ``hint.*`` options are always accepted."""
        out: dict[str, ast.Expr] = {}
        while self.tok.kind is TokenKind.IDENT and (
            self.tok.text in allowed or self.tok.text in ("hint", "bagexpansion", "with_itemindex")
        ):
            if self.tok.text == "with_itemindex" and not self.peek().is_punct("="):
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
