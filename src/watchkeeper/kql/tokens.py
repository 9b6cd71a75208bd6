"""Stage 1: KQL text -> tokens.

KQL keywords are contextual (a column may be called ``count``), so the tokenizer only separates
identifiers, literals and punctuation; the parser decides what an identifier means. Three lexical
forms are resolved here because their content is not made of tokens: hyphenated operator names
(``project-away``), negated word operators (``!has``, ``!in~``), and typed literals whose body is raw
text (``datetime(2024-01-01 10:00)``, ``time(1.02:03:04)``, ``guid(...)``, ``real(nan)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from watchkeeper.errors import KqlSyntaxError, SourceSpan
from watchkeeper.schema.values import TIMESPAN_UNITS

__all__ = ["Token", "TokenKind", "tokenize"]


class TokenKind(Enum):
    IDENT = "identifier"
    STRING = "string"
    INT = "integer"
    REAL = "real"
    TIMESPAN = "timespan"
    TYPED = "typed literal"
    PUNCT = "punctuation"
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    """One token. ``value`` is the decoded value (string body, number, ticks, typed-literal parts)."""

    kind: TokenKind
    text: str
    start: int
    end: int
    value: object = None

    @property
    def span(self) -> SourceSpan:
        return SourceSpan(self.start, self.end)

    def is_punct(self, *texts: str) -> bool:
        return self.kind is TokenKind.PUNCT and self.text in texts

    def is_word(self, *words: str) -> bool:
        return self.kind is TokenKind.IDENT and self.text in words


HYPHENATED = frozenset(
    {
        "project-away", "project-keep", "project-rename", "project-reorder", "project-smart", "project-by-names",
        "mv-expand", "mv-apply", "make-series", "top-nested", "top-hitters", "parse-where",
        "parse-kv", "make-graph", "graph-match", "graph-merge", "graph-to-table", "scan-ahead",
        "as-of", "sample-distinct", "granny-asc", "granny-desc", "graph-shortest-paths",
        "graph-mark-components",
    }
)  # fmt: skip
# the leading parts of the longer names above ("project-by" of "project-by-names")
_HYPHENATED_PREFIXES = frozenset(
    word.rsplit("-", cut)[0] for word in HYPHENATED for cut in range(1, word.count("-"))
)

NEGATED_WORDS = frozenset(
    {
        "has", "has_cs", "contains", "contains_cs", "startswith", "startswith_cs", "endswith",
        "endswith_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs", "in", "between",
        "has_any", "has_all", "matches",
    }
)  # fmt: skip

# Typed literals whose parenthesised body is raw text rather than an expression.
RAW_LITERALS = frozenset(
    {"datetime", "date", "time", "timespan", "guid", "uuid", "uniqueid", "real", "double", "decimal",
     "int", "long", "bool", "boolean", "int64", "int32", "float"}
)  # fmt: skip


_PUNCT = (
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "..", "|", "(", ")", "[", "]", "{",
    "}", ",", ";", ".", ":", "=", "<", ">", "+", "-", "*", "/", "%", "!", "?", "@", "~", "#",
)  # fmt: skip
_CAST_LIKE = frozenset(
    {"real", "double", "int", "long", "bool", "boolean", "int64", "int32", "float", "decimal"}
)
_PUNCT_SORTED = tuple(sorted(_PUNCT, key=len, reverse=True))

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(
    r"(0[xX][0-9A-Fa-f]+)|((\d+\.(?!\.)\d*|\.\d+|\d+)([eE][+-]?\d+)?)"
    r"(microseconds|microsecond|milliseconds|millisecond|millis|milli|micros|micro|minutes|minute|"
    r"seconds|second|hours|hour|days|day|ticks|tick|hrs|hr|min|sec|ms|d|h|m|s)?(?![A-Za-z0-9_])"
)
_WS = re.compile(r"(\s+|//[^\n]*)+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0", "/": "/"}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an EOF token. Raises :class:`KqlSyntaxError`."""
    return _Lexer(text).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def fail(self, message: str, start: int, end: int | None = None) -> KqlSyntaxError:
        return KqlSyntaxError(message, SourceSpan(start, end or start + 1), self.text)

    def run(self) -> list[Token]:
        text = self.text
        while True:
            ws = _WS.match(text, self.pos)
            if ws:
                self.pos = ws.end()
            if self.pos >= len(text):
                break
            self.tokens.append(self.next_token())
        self.tokens.append(Token(TokenKind.EOF, "", len(text), len(text)))
        return self.tokens

    def next_token(self) -> Token:
        text, pos = self.text, self.pos
        ch = text[pos]
        if ch in "'\"" or (ch in "@hH" and text[pos + 1 : pos + 2] in ("'", '"')):
            return self.string()
        if ch in "@hH" and text[pos : pos + 3] in ("@h'", '@h"', "@H'", '@H"', "h@'", 'h@"', "H@'", 'H@"'):
            return self.string()
        if ch in "`~" and text.startswith(ch * 3, pos):
            return self.multiline_string(ch * 3)
        if ch.isdigit() or (ch == "." and text[pos + 1 : pos + 2].isdigit()):
            return self.number()
        if ch == "!" and (word := _IDENT.match(text, pos + 1)):
            return self.negated_word(word)
        ident = _IDENT.match(text, pos)
        if ident:
            return self.identifier(ident)
        for p in _PUNCT_SORTED:
            if text.startswith(p, pos):
                self.pos = pos + len(p)
                return Token(TokenKind.PUNCT, p, pos, self.pos)
        raise self.fail(f"unexpected character {ch!r}", pos)

    def negated_word(self, word: re.Match[str]) -> Token:
        name = word.group()
        end = word.end()
        if name == "in" and self.text.startswith("~", end):
            end += 1
        if name not in NEGATED_WORDS:
            start = self.pos
            self.pos += 1
            return Token(TokenKind.PUNCT, "!", start, self.pos)
        start, self.pos = self.pos, end
        return Token(TokenKind.IDENT, self.text[start:end], start, end)

    def hyphenated(self, start: int, end: int, name: str) -> tuple[int, str]:
        """The longest hyphenated operator name starting at ``start`` (``project-by-names`` has
        three parts), or the plain name when none is."""
        found, at, joined = (end, name), end, name
        while self.text.startswith("-", at) and (rest := _IDENT.match(self.text, at + 1)):
            joined, at = f"{joined}-{rest.group()}", rest.end()
            if joined in HYPHENATED:
                found = (at, joined)
            elif joined not in _HYPHENATED_PREFIXES:
                break
        return found

    def identifier(self, match: re.Match[str]) -> Token:
        start, end = match.start(), match.end()
        name = match.group()
        # hyphenated operator names: project-away, mv-expand, ...
        if self.text.startswith("-", end):
            end, name = self.hyphenated(start, end, name)
        elif name == "in" and self.text.startswith("~", end):
            end += 1
            name = "in~"
        if name in RAW_LITERALS:
            raw = self.raw_literal(name, start, end)
            if raw is not None:
                return raw
        self.pos = end
        return Token(TokenKind.IDENT, name, start, end)

    def raw_literal(self, name: str, start: int, end: int) -> Token | None:
        """``datetime(...)``-style literal: the body up to the matching ')' is kept raw."""
        ws = _WS.match(self.text, end)
        open_pos = ws.end() if ws else end
        if not self.text.startswith("(", open_pos):
            return None
        close = self.text.find(")", open_pos)
        if close < 0:
            raise self.fail(f"'{name}(' is not closed", start, open_pos + 1)
        body = self.text[open_pos + 1 : close]
        # these are also casts when applied to expressions: only a plain literal body is raw
        if name in _CAST_LIKE and not re.fullmatch(
            r"\s*([+-]?[\w.]+([eE][+-]?\d+)?|[+-]?inf|nan|null)\s*", body
        ):
            return None
        if '"' in body or "'" in body:
            inner = body.strip()
            if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                body = inner[1:-1]
            else:
                return None
        self.pos = close + 1
        return Token(TokenKind.TYPED, self.text[start : close + 1], start, close + 1, (name, body.strip()))

    def number(self) -> Token:
        m = _NUMBER.match(self.text, self.pos)
        if not m:
            raise self.fail("malformed number", self.pos)
        start, end = m.start(), m.end()
        self.pos = end
        text = m.group()
        if m.group(1):
            return Token(TokenKind.INT, text, start, end, int(text, 16))
        body, unit = m.group(2), m.group(5)
        if unit:
            ticks = round(float(body) * TIMESPAN_UNITS[unit])
            return Token(TokenKind.TIMESPAN, text, start, end, ticks)
        if any(c in body for c in ".eE"):
            return Token(TokenKind.REAL, text, start, end, float(body))
        return Token(TokenKind.INT, text, start, end, int(body))

    def string(self) -> Token:
        start = self.pos
        text = self.text
        pos = start
        verbatim = False
        if text[pos] in "hH":
            pos += 1  # obfuscated string: h"secret" is still just a string here
        if text[pos] == "@":
            verbatim = True
            pos += 1
            if text[pos] in "hH":
                pos += 1
        quote = text[pos]
        pos += 1
        out: list[str] = []
        while True:
            if pos >= len(text) or text[pos] == "\n":
                raise self.fail("string literal is not closed", start, pos)
            c = text[pos]
            if c == quote:
                if verbatim and text.startswith(quote, pos + 1):
                    out.append(quote)
                    pos += 2
                    continue
                pos += 1
                break
            if c == "\\" and not verbatim:
                pos = self.escape(pos, out, start)
                continue
            out.append(c)
            pos += 1
        self.pos = pos
        return Token(TokenKind.STRING, text[start:pos], start, pos, "".join(out))

    def escape(self, pos: int, out: list[str], start: int) -> int:
        nxt = self.text[pos + 1 : pos + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            return pos + 2
        if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[pos + 2 : pos + 6]):
            out.append(chr(int(self.text[pos + 2 : pos + 6], 16)))
            return pos + 6
        if nxt == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", self.text[pos + 2 : pos + 4]):
            out.append(chr(int(self.text[pos + 2 : pos + 4], 16)))
            return pos + 4
        if not nxt:
            raise self.fail("string literal is not closed", start, pos + 1)
        # Kusto keeps an unknown escape as written (a regex like "\d" in a plain string works)
        out.append("\\" + nxt)
        return pos + 2

    def multiline_string(self, fence: str) -> Token:
        start = self.pos
        end = self.text.find(fence, start + 3)
        if end < 0:
            raise self.fail("multi-line string literal is not closed", start, start + 3)
        self.pos = end + 3
        return Token(
            TokenKind.STRING, self.text[start : self.pos], start, self.pos, self.text[start + 3 : end]
        )
