"""``declare pattern``: string tuples mapped to tabular expressions, resolved while parsing.

Kusto's pattern statement (pattern-statement): ``declare pattern Name = (arg:string, ...)[path:string]
{ ("v1", ...).["p"] = { expression }; ... };`` and an invocation ``Name("v1", ...).p`` (or
``.["p"]``) anywhere a table may stand. A pattern is declared before it is used, so the parser
replaces each invocation by its mapped expression (a ``view`` of the body, so the body may hold
``let`` statements). An invocation no mapping covers, or a pattern declared without a definition
(``declare pattern Name;``), is Kusto's error SEM0036: "One or more pattern references were not
declared", with the invocation written out. Wildcards get no special treatment (documented):
``Name("x").["*"]`` matches only a mapping whose path is the text ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.errors import KqlBindError, SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.parse_operators import OperatorParser
from watchkeeper.kql.tokens import TokenKind
from watchkeeper.schema.types import KqlType

__all__ = ["DeclareParser", "Pattern"]

Key = tuple[tuple[str, ...], str | None]


@dataclass
class Pattern:
    """A declared pattern: its argument count, whether it has a path, and its mappings."""

    name: str
    arity: int = 0
    has_path: bool = False
    mappings: dict[Key, ast.FunctionBody] = field(default_factory=dict)


class DeclareParser(OperatorParser):
    """The pattern statement and its invocations (mixed into the statement parser)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.patterns: dict[str, Pattern] = {}

    # the statement parser's (parser.py), which mixes this class in
    def params(self) -> tuple[ast.Param, ...]:
        raise NotImplementedError

    def function_body(self) -> ast.FunctionBody:
        raise NotImplementedError

    def declare_pattern(self) -> None:
        """``declare pattern Name [= (args)[path] { mappings }]``: remembered for later invocations."""
        self.advance()
        self.advance()
        name, _ = self.identifier("a pattern name")
        pattern = Pattern(name)
        if self.accept_punct("="):
            self._pattern_signature(pattern)
            self.expect_punct("{")
            while not self.tok.is_punct("}"):
                if not self.accept_punct(";"):
                    self._pattern_mapping(pattern)
            self.expect_punct("}")
        self.patterns[name] = pattern

    def _pattern_signature(self, pattern: Pattern) -> None:
        for param in self.params():
            if param.type is not KqlType.STRING or param.default is not None:
                raise self.fail(f"pattern argument '{param.name}' must be declared as name:string")
            pattern.arity += 1
        if self.accept_punct("["):
            self.identifier("the pattern's path name")
            self.expect_punct(":")
            if self.type_name() is not KqlType.STRING:
                raise self.fail("a pattern's path must be declared as name:string")
            self.expect_punct("]")
            pattern.has_path = True

    def _pattern_mapping(self, pattern: Pattern) -> None:
        start = self.tok
        values = self._string_tuple()
        path = self._pattern_path() if pattern.has_path else None
        if len(values) != pattern.arity or (pattern.has_path and path is None):
            raise self.fail(f"this mapping does not match the arguments of pattern '{pattern.name}'", start)
        self.expect_punct("=")
        pattern.mappings[(values, path)] = self.function_body()

    def _string_tuple(self) -> tuple[str, ...]:
        self.expect_punct("(")
        values: list[str] = []
        while not self.tok.is_punct(")"):
            values.append(self._string_value())
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        return tuple(values)

    def _string_value(self) -> str:
        tok = self.tok
        value = self.expression()
        if not isinstance(value, ast.Literal) or not isinstance(value.value, str):
            raise self.fail("pattern arguments and paths are string literals", tok)
        return value.value

    def _pattern_path(self) -> str | None:
        """``.name`` or ``.["name"]`` after the arguments (None when there is none)."""
        if not self.tok.is_punct("."):
            return None
        self.advance()
        if self.accept_punct("["):
            path = self._string_value()
            self.expect_punct("]")
            return path
        name, _ = self.identifier("a pattern path")
        return name

    # ---------------------------------------------------------------- invocations

    def at_pattern(self) -> bool:
        """Whether the next tokens invoke a declared pattern: ``Name(``."""
        tok = self.tok
        return tok.kind is TokenKind.IDENT and tok.text in self.patterns and self.peek().is_punct("(")

    def pattern_invocation(self) -> ast.Expr:
        """The expression a pattern invocation maps to, or Kusto's SEM0036 error."""
        start = self.advance()
        pattern = self.patterns[start.text]
        values = self._string_tuple()
        path = self._pattern_path()
        body = pattern.mappings.get((values, path))
        if body is None:  # a semantic error in Kusto (SEM0036), not a syntax one
            message = (
                "One or more pattern references were not declared. Detected pattern references: "
                f'["{_reference(pattern.name, values, path)}"]'
            )
            raise KqlBindError(message, SourceSpan(start.start, start.end), self.text)
        return ast.View(self.span_from(start), body)


def _reference(name: str, values: tuple[str, ...], path: str | None) -> str:
    """An invocation as Kusto writes it in SEM0036: ``app('x').['y']``."""
    args = ",".join(f"'{v}'" for v in values)
    return f"{name}({args})" + ("" if path is None else f".['{path}']")
