"""OData ``$filter`` text to a small syntax tree (``../shared/specs/graph-security-api.md`` section 1).

A tokenizer and a recursive-descent parser; the grammar, loosest binding first::

    or_expr  := and_expr ("or" and_expr)*
    and_expr := unary ("and" unary)*
    unary    := "not" unary | primary
    primary  := "(" or_expr ")"
              | ("startswith" | "endswith" | "contains") "(" path "," literal ")"
              | path "/" ("any" | "all") "(" name ":" or_expr ")"
              | path ("eq" | "ne" | "gt" | "ge" | "lt" | "le") literal
              | path "in" "(" literal ("," literal)* ")"
              | path                                  (a boolean property: "path eq true")

Literals: single-quoted strings (a quote is doubled), numbers, ``true``/``false``/``null``, unquoted
ISO 8601 datetimes. The parser only knows the syntax; :mod:`watchkeeper.state.odata` checks names and
types against the resource's fields. Syntax errors name the character position (1-based).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchkeeper.errors import InvalidRequestError

__all__ = [
    "And",
    "Compare",
    "Function",
    "In",
    "Lambda",
    "Node",
    "Not",
    "Or",
    "Path",
    "parse_filter",
]

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
FUNCTIONS = frozenset({"startswith", "endswith", "contains"})
MAX_FILTER_LENGTH = 4000
MAX_DEPTH = 50

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_@][A-Za-z0-9_.@]*)
      | (?P<punct>[(),:/])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Path:
    """A property path: ``vendorInformation/provider`` (``name``), or inside a lambda the range variable
    (``variable`` set) with an optional member (``u/userPrincipalName``: ``name="userPrincipalName"``)."""

    name: str
    variable: str | None = None
    position: int = 0


@dataclass(frozen=True)
class Compare:
    op: str
    path: Path
    value: Any


@dataclass(frozen=True)
class In:
    path: Path
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Function:
    name: str
    path: Path
    value: Any


@dataclass(frozen=True)
class Lambda:
    path: Path
    quantifier: str  # "any" | "all"
    variable: str
    body: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | In | Function | Lambda | And | Or | Not


@dataclass(frozen=True)
class _Token:
    kind: str  # string | datetime | number | name | punct | end
    text: str
    position: int  # 1-based character position


def _error(position: int, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"$filter: at character {position}: {message}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            if text[index] == "'":
                raise _error(index + 1, "unterminated string literal (a quote inside one is written '')")
            raise _error(index + 1, f"unexpected character {text[index]!r}")
        kind = match.lastgroup or "space"
        if kind != "space":
            tokens.append(_Token(kind, match.group(), index + 1))
        index = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _literal(token: _Token) -> Any:
    """The Python value of a literal token, or raise when the token is not a literal."""
    if token.kind == "string":
        return token.text[1:-1].replace("''", "'")
    if token.kind == "number":
        return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
    if token.kind == "datetime":
        return _datetime(token)
    if token.kind == "name" and token.text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[token.text]
    shown = token.text or "the end of the filter"
    raise _error(
        token.position, f"expected a value (a 'string', number, true, false, null or datetime), got {shown}"
    )


def _datetime(token: _Token) -> datetime:
    text = token.text.replace("Z", "+00:00")
    # Python keeps microseconds; Graph sends up to 7 fractional digits (spec section 1, "Dates").
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise _error(token.position, f"{token.text} is not a valid datetime") from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.variables: list[str] = []

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "name" and self.token.text in words

    def expect(self, text: str) -> _Token:
        if self.token.text != text or self.token.kind not in ("punct", "name"):
            shown = self.token.text or "the end of the filter"
            raise _error(self.token.position, f"expected {text!r}, got {shown}")
        return self.take()

    def parse(self) -> Node:
        node = self.or_expr()
        if self.token.kind != "end":
            raise _error(
                self.token.position, f"expected 'and', 'or' or the end of the filter, got {self.token.text}"
            )
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.is_word("and"):
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.token.position, f"nested deeper than {MAX_DEPTH} levels")
        try:
            if self.is_word("not"):
                self.take()
                return Not(self.unary())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        if self.token.kind == "punct" and self.token.text == "(":
            self.take()
            node = self.or_expr()
            self.expect(")")
            return node
        if self.is_word(*FUNCTIONS) and self.tokens[self.index + 1].text == "(":
            return self.function()
        return self.predicate(self.path())

    def function(self) -> Function:
        name = self.take().text
        self.expect("(")
        path = self.path()
        self.expect(",")
        value = _literal(self.take())
        self.expect(")")
        return Function(name, path, value)

    def path(self) -> Path:
        start = self.token
        if start.kind != "name" or start.text in ("and", "or", "not", "true", "false", "null"):
            shown = start.text or "the end of the filter"
            raise _error(start.position, f"expected a property name, got {shown}")
        parts = [self.take().text]
        while self.token.text == "/" and self.tokens[self.index + 1].text not in ("any", "all"):
            self.take()
            if self.token.kind != "name":
                raise _error(self.token.position, "expected a property name after '/'")
            parts.append(self.take().text)
        if parts[0] in self.variables:
            return Path("/".join(parts[1:]), variable=parts[0], position=start.position)
        return Path("/".join(parts), position=start.position)

    def predicate(self, path: Path) -> Node:
        if self.token.text == "/":
            return self.lambda_(path)
        if self.is_word(*COMPARISONS):
            op = self.take().text
            return Compare(op, path, _literal(self.take()))
        if self.is_word("in"):
            return In(path, self.in_list())
        if self.token.kind in ("end", "punct") or self.is_word("and", "or"):
            return Compare("eq", path, True)  # a bare boolean property
        raise _error(
            self.token.position, f"expected an operator (eq, ne, gt, ge, lt, le, in), got {self.token.text}"
        )

    def in_list(self) -> tuple[Any, ...]:
        self.take()
        self.expect("(")
        values = [_literal(self.take())]
        while self.token.text == ",":
            self.take()
            values.append(_literal(self.take()))
        self.expect(")")
        return tuple(values)

    def lambda_(self, path: Path) -> Lambda:
        self.take()  # "/"
        quantifier = self.take().text
        self.expect("(")
        variable = self.token
        if variable.kind != "name":
            raise _error(variable.position, "expected a range variable name (as in any(u: u eq 'x'))")
        self.take()
        self.expect(":")
        self.variables.append(variable.text)
        try:
            body = self.or_expr()
        finally:
            self.variables.pop()
        self.expect(")")
        return Lambda(path, quantifier, variable.text, body)


def parse_filter(text: str) -> Node:
    """The syntax tree of a ``$filter`` value; :class:`InvalidRequestError` with the position on bad syntax."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidRequestError(f"$filter is {len(text)} characters long; the limit is {MAX_FILTER_LENGTH}")
    if not text.strip():
        raise InvalidRequestError("$filter is empty")
    return _Parser(text).parse()
