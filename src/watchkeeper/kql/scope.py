"""Name scopes of the binder: ``let`` bindings, user functions and their lexical nesting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from watchkeeper.kql import ast
from watchkeeper.kql.plan import BExpr, Relation, Schema

__all__ = ["Binding", "ExprContext", "LazyLet", "Scope", "StoredFunction", "UserFunction"]


@dataclass
class LazyLet:
    """A ``let`` value bound on first use, in the scope where it was defined."""

    expr: ast.Expr
    scope: Scope
    bound: BExpr | Relation | None = None
    binding: bool = False


@dataclass(frozen=True)
class UserFunction:
    """``let f = (params) { body }``: expanded where it is called."""

    let: ast.Let
    scope: Scope


@dataclass(frozen=True)
class StoredFunction:
    """A function stored in a workspace (``.create function``), e.g. an ASIM parser."""

    name: str
    body: str
    params: str = ""


Binding = BExpr | Relation | LazyLet | UserFunction


@dataclass
class Scope:
    """One level of names; lookups walk outwards to the query's top level."""

    parent: Scope | None = None
    entries: dict[str, Binding] = field(default_factory=dict)

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.entries.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def child(self) -> Scope:
        return Scope(self)

    def define(self, name: str, value: Binding) -> None:
        self.entries[name] = value

    def names(self) -> list[str]:
        out: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            out.extend(scope.entries)
            scope = scope.parent
        return out


@dataclass(frozen=True)
class ExprContext:
    """Where a scalar expression is bound: the row it sees and what it may call.

    ``row`` is None outside a row context (``let`` constants, ``print``). ``left``/``right`` are
    the two inputs of a join condition (``$left.A == $right.B``). ``aggregates`` allows aggregate
    functions (``summarize``), ``window`` allows ``row_number``/``prev``/``next``.
    """

    scope: Scope
    row: Schema | None = None
    aggregates: bool = False
    window: bool = False
    left: Schema | None = None
    right: Schema | None = None
    on_window: Callable[[], None] | None = None

    def with_row(self, row: Schema | None) -> ExprContext:
        return ExprContext(
            self.scope, row, self.aggregates, self.window, self.left, self.right, self.on_window
        )
