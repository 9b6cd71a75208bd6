"""How DuckDB is asked a LIKE: the spelling a pattern takes decides whether DuckDB's fast matcher
or its generic one runs (see :func:`duckdb_like`)."""

from __future__ import annotations

from sqlglot import exp

__all__ = ["duckdb_like"]


def duckdb_like(
    kind: type[exp.ILike] | type[exp.Like], value: exp.Expression, pattern: str
) -> exp.Expression:
    """DuckDB's fast spelling of a LIKE: an ``ESCAPE`` clause sends DuckDB down a generic matcher
    about ten times slower than its plain LIKE (which has no escape character, so a backslash is
    an ordinary character there). So a pattern without a literal ``%`` or ``_`` drops its escapes;
    one with them that is a plain substring, prefix or suffix test becomes ``contains``/
    ``starts_with``/``ends_with`` (on ``lower`` of both sides for ILIKE); only the rest keeps the
    clause."""
    tokens = _like_tokens(pattern)
    if not any(literal and char in "%_" for char, literal in tokens):
        return kind(this=value, expression=exp.Literal.string("".join(c for c, _ in tokens)))
    head = not tokens[0][1] and tokens[0][0] == "%"
    tail = len(tokens) > 1 and not tokens[-1][1] and tokens[-1][0] == "%"
    middle = tokens[1 if head else 0 : len(tokens) - (1 if tail else 0)]
    if (head or tail) and all(literal for _, literal in middle):
        name = "contains" if head and tail else "ends_with" if head else "starts_with"
        term: exp.Expression = exp.Literal.string("".join(c for c, _ in middle))
        if kind is exp.ILike:
            value, term = _call("lower", value), _call("lower", term)
        return _call(name, value, term)
    like = kind(this=value, expression=exp.Literal.string(pattern))
    return exp.Escape(this=like, expression=exp.Literal.string("\\"))


def _like_tokens(pattern: str) -> list[tuple[str, bool]]:
    """``pattern`` (``\\`` escaping) as characters, each with whether it stands for itself."""
    tokens: list[tuple[str, bool]] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            tokens.append((next(chars, "\\"), True))
        else:
            tokens.append((char, char not in "%_"))
    return tokens


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))
