"""Small sqlglot builders shared by the function families (patterns, escapes, null handling)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from watchkeeper.kql.plan import BExpr, BLiteral

__all__ = [
    "RE2_META",
    "const",
    "is_const",
    "like_escape",
    "lit",
    "not_",
    "num",
    "or_empty",
    "re2_escape",
    "term_regex",
]

RE2_META = frozenset("\\.+*?()|[]{}^$-/#&~ ")


def lit(value: str) -> exp.Literal:
    """A SQL string literal (quoted and escaped by sqlglot)."""
    return exp.Literal.string(value)


def num(value: int | float) -> exp.Literal:
    return exp.Literal.number(value)


def is_const(arg: BExpr) -> bool:
    return isinstance(arg, BLiteral)


def const(arg: BExpr) -> Any:
    """The Python value of a constant argument (the binder guarantees it for ``constant`` params)."""
    assert isinstance(arg, BLiteral), "argument is not a constant"
    return arg.value


def not_(expr: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=expr))


def or_empty(expr: exp.Expression) -> exp.Expression:
    """Kusto strings are never null: a SQL NULL string becomes ''."""
    return exp.Coalesce(this=expr, expressions=[lit("")])


def like_escape(value: str) -> str:
    """Escape ``%``, ``_`` and ``\\`` for a LIKE pattern with ``\\`` as the escape character."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def re2_escape(value: str) -> str:
    """Escape regex metacharacters (RE2 and ClickHouse's re2 accept a backslash before them)."""
    return "".join("\\" + c if c in RE2_META and c != " " else c for c in value)


def term_regex(terms: list[str], *, case_sensitive: bool, prefix: bool = True, suffix: bool = True) -> str:
    """A regex matching any of ``terms`` as whole terms (Kusto's ``has``).

    A term is delimited by characters that are not ASCII letters or digits (or the string ends).
    """
    body = "|".join(re2_escape(t) for t in terms)
    head = "(?:^|[^0-9A-Za-z])" if prefix else ""
    tail = "(?:[^0-9A-Za-z]|$)" if suffix else ""
    flags = "" if case_sensitive else "(?i)"
    return f"{flags}{head}(?:{body}){tail}"
