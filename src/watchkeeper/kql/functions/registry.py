"""The function tables: every KQL scalar function, aggregate, window function and operator.

A :class:`FunctionSpec` is data: its name, arity, how its result type follows from its argument
types, which argument types it expects (the binder inserts Kusto's implicit conversions), and a
``lower`` callable that builds the sqlglot expression. Families register themselves from their own
modules (``strings.py``, ``datetime.py``, ...); :func:`lookup` finds them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from sqlglot import exp

from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.dialects import Dialect
    from watchkeeper.kql.plan import BCall, BExpr

__all__ = [
    "AGGREGATES",
    "NOT_CONSTANT",
    "OPERATORS",
    "SCALARS",
    "FunctionKind",
    "FunctionSpec",
    "LowerContext",
    "aggregate",
    "first_arg",
    "fixed",
    "lookup",
    "operator",
    "scalar",
    "window",
]


class FunctionKind(Enum):
    SCALAR = "scalar"
    AGGREGATE = "aggregate"
    WINDOW = "window"
    OPERATOR = "operator"


class LowerContext(Protocol):
    """What a function's ``lower`` may use: the target dialect and the query's fixed ``now()``."""

    @property
    def dialect(self) -> Dialect: ...

    def now(self) -> exp.Expression: ...

    def lower_expr(self, expr: BExpr) -> exp.Expression: ...

    def window_order(self) -> list[exp.Ordered]: ...


Lowerer = Callable[["LowerContext", "BCall", list[exp.Expression]], exp.Expression]
Typer = Callable[[Sequence["BExpr"]], KqlType]


@dataclass(frozen=True)
class FunctionSpec:
    """One KQL function.

    ``params`` lists the expected type of each argument (None = any); the last entry repeats for
    variadic functions. ``constant`` lists argument positions that must be constants (their values
    reach ``lower`` through ``BCall.options``). ``column_name`` is the aggregate's output-name
    prefix (``dcount`` -> ``dcount_Account``).
    """

    name: str
    kind: FunctionKind
    min_args: int
    max_args: int | None
    returns: Typer
    lower: Lowerer
    params: tuple[KqlType | None, ...] = ()
    constant: frozenset[int] = frozenset()
    column_name: str | None = None
    deterministic: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def param_type(self, index: int) -> KqlType | None:
        if not self.params:
            return None
        return self.params[min(index, len(self.params) - 1)]


# A fold function returns this when the value cannot be computed at compile time.
NOT_CONSTANT: Any = object()

SCALARS: dict[str, FunctionSpec] = {}
AGGREGATES: dict[str, FunctionSpec] = {}
OPERATORS: dict[str, FunctionSpec] = {}


def fixed(kql_type: KqlType) -> Typer:
    """Result type that does not depend on the arguments."""
    return lambda _args: kql_type


def first_arg(args: Sequence[BExpr]) -> KqlType:
    """Result type of the first argument (``min``, ``coalesce``, ``take_any``...)."""
    return args[0].type if args else KqlType.UNKNOWN


def _register(
    table: dict[str, FunctionSpec],
    kind: FunctionKind,
    names: str | Sequence[str],
    *,
    args: int | tuple[int, int | None],
    returns: Typer | KqlType,
    params: Sequence[KqlType | None] = (),
    constant: Sequence[int] = (),
    column_name: str | None = None,
    deterministic: bool = True,
    **extra: Any,
) -> Callable[[Lowerer], Lowerer]:
    all_names = [names] if isinstance(names, str) else list(names)
    low, high = (args, args) if isinstance(args, int) else args
    typer = fixed(returns) if isinstance(returns, KqlType) else returns

    def decorate(fn: Lowerer) -> Lowerer:
        for name in all_names:
            table[name] = FunctionSpec(
                name=name, kind=kind, min_args=low, max_args=high, returns=typer, lower=fn,
                params=tuple(params), constant=frozenset(constant),
                column_name=column_name if column_name is not None else all_names[0],
                deterministic=deterministic, extra=dict(extra),
            )  # fmt: skip
        return fn

    return decorate


def scalar(names: str | Sequence[str], **kw: Any) -> Callable[[Lowerer], Lowerer]:
    """Register a scalar function under one or more names (aliases such as ``iif``/``iff``)."""
    return _register(SCALARS, FunctionKind.SCALAR, names, **kw)


def aggregate(names: str | Sequence[str], **kw: Any) -> Callable[[Lowerer], Lowerer]:
    """Register an aggregate function (usable in ``summarize`` and ``make-series``)."""
    return _register(AGGREGATES, FunctionKind.AGGREGATE, names, **kw)


def window(names: str | Sequence[str], **kw: Any) -> Callable[[Lowerer], Lowerer]:
    """Register a window function (needs serialized input: ``row_number``, ``prev``...)."""
    return _register(SCALARS, FunctionKind.WINDOW, names, **kw)


def operator(names: str | Sequence[str], **kw: Any) -> Callable[[Lowerer], Lowerer]:
    """Register a binary/unary operator (``==``, ``has``, ``+``...)."""
    return _register(OPERATORS, FunctionKind.OPERATOR, names, **kw)


def lookup(name: str) -> FunctionSpec | None:
    """A scalar/window function or aggregate called ``name``."""
    return SCALARS.get(name) or AGGREGATES.get(name)
