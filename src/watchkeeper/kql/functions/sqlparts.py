"""Small sqlglot builders shared by the function families (patterns, escapes, null handling)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from watchkeeper.kql.plan import BExpr, BLiteral

if TYPE_CHECKING:
    from watchkeeper.kql.dialects import Dialect

__all__ = [
    "RE2_META",
    "add",
    "bind_value",
    "const",
    "div",
    "is_const",
    "lam",
    "like_escape",
    "lit",
    "mod",
    "mul",
    "not_",
    "num",
    "or_empty",
    "paren",
    "re2_escape",
    "sub",
    "term_regex",
]

RE2_META = frozenset("\\.+*?()|[]{}^$-/#&~ ")


def lit(value: str) -> exp.Literal:
    """A SQL string literal (quoted and escaped by sqlglot)."""
    return exp.Literal.string(value)


def num(value: int | float) -> exp.Expression:
    return exp.Literal.number(value)


def is_const(arg: BExpr) -> bool:
    return isinstance(arg, BLiteral)


def const(arg: BExpr) -> Any:
    """The Python value of a constant argument (the binder guarantees it for ``constant`` params)."""
    assert isinstance(arg, BLiteral), "argument is not a constant"
    return arg.value


def not_(expr: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=expr))


def paren(expr: exp.Expression) -> exp.Expression:
    """``expr`` in parentheses when it is an operator: sqlglot prints trees without adding any, so
    ``Mul(Add(a, b), c)`` would otherwise read ``a + b * c``."""
    if isinstance(expr, (exp.Binary, exp.Unary, exp.Connector)) and not isinstance(expr, exp.Paren):
        return exp.Paren(this=expr)
    return expr


def add(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """``(left + right)``; these helpers parenthesise their result too, so it nests safely anywhere."""
    return exp.Paren(this=exp.Add(this=paren(left), expression=paren(right)))


def sub(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    return exp.Paren(this=exp.Sub(this=paren(left), expression=paren(right)))


def mul(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    return exp.Paren(this=exp.Mul(this=paren(left), expression=paren(right)))


def div(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """SQL ``/`` (real division on DuckDB and ClickHouse alike)."""
    return exp.Paren(this=exp.Div(this=paren(left), expression=paren(right)))


def mod(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """SQL ``%``: the remainder takes the sign of ``left`` on both engines (as in C# and Kusto)."""
    return exp.Paren(this=exp.Mod(this=paren(left), expression=paren(right)))


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


def lam(body: exp.Expression, *params: str) -> exp.Lambda:
    """A SQL lambda ``(params) -> body`` (list_transform, list_filter, list_reduce)."""
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


_PENDING = itertools.count()


def _binding_numbers(expr: exp.Expression) -> list[int]:
    names = (i.name for i in expr.find_all(exp.Identifier))
    return [int(n[5:]) for n in names if n.startswith("_wk_v") and n[5:].isdigit()]


_CHEAP = frozenset({"list_extract", "arrayelement", "struct_extract", "tupleelement"})
_LEAVES = (exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.Cast, exp.Paren)


def _is_simple(value: exp.Expression) -> bool:
    """Cheaper to repeat than to bind: a column, a constant, or an element of a bound list."""
    nodes = list(value.walk())
    if len(nodes) > 8:
        return False
    return all(isinstance(n, _LEAVES) or (isinstance(n, exp.Anonymous) and n.name.lower() in _CHEAP)
               for n in nodes)  # fmt: skip


def bind_value(
    d: Dialect, value: exp.Expression, body: Callable[[exp.Expression], exp.Expression]
) -> exp.Expression:
    """``body(v)`` with ``v`` bound to ``value`` once: a one-element list mapped through a lambda.

    SQL has no ``let`` inside an expression; without this, a value used n times is written (and
    computed) n times, and nested helpers grow the SQL exponentially. The lambda parameter is
    ``_wk_v<n>`` with ``n`` above every binding inside, so nested bindings never shadow each other.
    """
    if _is_simple(value):  # a column or a constant costs nothing to repeat
        return body(value)
    pending = f"_wk_pending{next(_PENDING)}"  # a placeholder until the final name is known
    inner = body(exp.column(pending))
    name = f"_wk_v{max(_binding_numbers(inner) + _binding_numbers(value), default=0) + 1}"

    def rename(node: exp.Expression) -> exp.Expression:
        return exp.to_identifier(name) if isinstance(node, exp.Identifier) and node.name == pending else node

    mapped = d.call("list_transform", exp.Array(expressions=[value]), lam(inner.transform(rename), name))
    return d.call("list_extract", mapped, exp.Literal.number(1))
