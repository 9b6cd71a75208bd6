"""A small reference evaluator for KQL scalar expressions, written from Kusto's documented semantics.

It evaluates a syntax tree (:mod:`watchkeeper.kql.ast`) over one row in plain Python, so the
property tests can compare the compiled SQL's answers with Kusto's rules. It covers only the
expressions ``test_properties.py`` generates: long/real/string/bool/datetime/timespan values,
arithmetic, comparisons, logic, string predicates and a few functions.

Values are Python: int (long), float (real), str (string; never None), bool, aware ``datetime``
(UTC, microseconds), and int ticks (timespan, 100 ns). None is null. Every result is a
``(KqlType, value)`` pair, so the result column's type is checked too.

Two outcomes are not answers:

* :class:`Unrepresentable` -- the engine may legitimately fail the whole query (long overflow,
  integer division by zero, a datetime out of range); the test rejects the example.
* :class:`Unspecified` -- Kusto's documentation does not pin the result down (its pages disagree),
  or the behaviour is a known compiler deviation listed in :data:`KNOWN_DEVIATIONS`; the test
  skips that row.

Kusto rules implemented (learn.microsoft.com/kusto/query):

* null-values: arithmetic with null is null; ``<``/``>``/``<=``/``>=`` with null are null;
  ``==`` on two nulls is null, on one null ``false``; ``!=`` on two nulls is null, on one null
  ``true``; ``where`` treats null as false. Strings are never null (``""``).
* logical operators: ``and``/``or`` with a null operand are only pinned down when the other
  operand decides (``false and x`` is false, ``true or x`` is true); otherwise Unspecified,
  because the docs' own tables disagree (``bool(null) and true`` is listed as ``false``).
* integer ``/`` truncates toward zero and ``%`` keeps the dividend's sign (.NET).
* ``has`` matches whole terms (maximal runs of ASCII letters and digits), case-insensitively;
  ``contains``/``startswith``/``endswith`` are case-insensitive, their ``_cs`` forms are not;
  ``==``/``in`` are case-sensitive, ``=~``/``in~`` are not.
* ``bin(x, step)`` rounds down to a multiple of ``step`` (datetimes from the Unix epoch for steps
  that divide a day); ``tolong(real)`` truncates toward zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.kql import ast
from watchkeeper.kql.literals import format_timespan
from watchkeeper.schema.types import KqlType

__all__ = [
    "KNOWN_DEVIATIONS",
    "Unrepresentable",
    "Unspecified",
    "Value",
    "evaluate",
    "kusto_tostring",
    "where_keeps",
]

Value = tuple[KqlType, Any]

# Compiler deviations from Kusto found by these tests; rows that hit them are skipped until fixed
# (remove the name from the set once the compiler is fixed):
#   "null-literal-equality": `long(null) == long(null)` must be null (null-values doc); the
#       constant folding answers true (and `real(null) != real(null)` false).
#   "where-null-inequality": `where x != 5` must keep rows where x is null (null != 5 is true);
#       inside `where`, and/or-connected `!=` lowers to SQL `<>`, which drops them.
KNOWN_DEVIATIONS: frozenset[str] = frozenset()

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TICKS_PER_MICROSECOND = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TERM = re.compile(r"[A-Za-z0-9]+")
_LONG_TEXT = re.compile(r"[+-]?\d+")
_REAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class Unrepresentable(Exception):
    """The engine may fail the whole query (overflow, integer division by zero)."""


class Unspecified(Exception):
    """Kusto's result is not pinned down for this row (or is a known deviation): skip the row."""


def evaluate(node: ast.Expr, row: Mapping[str, Value]) -> Value:
    """The value of ``node`` over ``row`` (column name -> (type, value))."""
    handler = _NODES.get(type(node))
    if handler is None:
        raise NotImplementedError(f"reference evaluator: {type(node).__name__}")
    return handler(node, row)


# ------------------------------------------------------------------------------------ leaves


def _literal(node: ast.Literal, row: Mapping[str, Value]) -> Value:
    return node.type, node.value


def _name(node: ast.Name, row: Mapping[str, Value]) -> Value:
    return row[node.name]


def _unary(node: ast.Unary, row: Mapping[str, Value]) -> Value:
    kql_type, value = evaluate(node.operand, row)
    if node.op == "+" or value is None:
        return kql_type, value
    if kql_type is KqlType.LONG:
        return kql_type, _checked(-value)
    return kql_type, -value


# ------------------------------------------------------------------------------------ binary


def _binary(node: ast.Binary, row: Mapping[str, Value]) -> Value:
    left = evaluate(node.left, row)
    right = evaluate(node.right, row)
    if node.op in ("and", "or"):
        return KqlType.BOOL, _logic(node.op, left[1], right[1])
    if node.op in _ARITHMETIC:
        return _arithmetic(node.op, left, right)
    if node.op in _COMPARE:
        return KqlType.BOOL, _compare(node.op, left, right)
    if node.op in _STRING_PREDICATES:
        return KqlType.BOOL, _STRING_PREDICATES[node.op](left[1], right[1])
    raise NotImplementedError(f"reference evaluator: operator {node.op}")


def _logic(op: str, a: bool | None, b: bool | None) -> bool | None:
    decider = op == "or"  # `true or x` is true, `false and x` is false, whatever x is
    if a is decider or b is decider:
        return decider
    if a is None or b is None:
        raise Unspecified(f"'{op}' with a null operand")
    return not decider


def _checked(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise Unrepresentable("long overflow")
    return value


def _numeric_type(a: KqlType, b: KqlType) -> KqlType:
    return KqlType.REAL if KqlType.REAL in (a, b) else KqlType.LONG


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    (lt, lv), (rt, rv) = left, right
    result_type = _ARITHMETIC_TYPES.get((lt, op, rt)) or _numeric_type(lt, rt)
    if lv is None or rv is None:
        return result_type, None
    if result_type is KqlType.DATETIME:
        return result_type, _datetime_arithmetic(op, lv, rv)
    if lt is KqlType.DATETIME:  # datetime - datetime
        return result_type, _ticks(lv - rv)
    if result_type is KqlType.TIMESPAN:
        return result_type, _checked(_integer_op(op, lv, rv))
    if result_type is KqlType.REAL:
        return result_type, _real_op(op, float(lv), float(rv))
    return result_type, _checked(_integer_op(op, lv, rv))


def _integer_op(op: str, a: int, b: int) -> int:
    if op in ("/", "%") and b == 0:
        raise Unrepresentable("integer division by zero")
    if op == "/":
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b >= 0) else -quotient  # truncates toward zero
    if op == "%":
        return a - b * _integer_op("/", a, b)  # the dividend's sign, as .NET
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def _real_op(op: str, a: float, b: float) -> float:
    if op == "/" and b == 0:
        raise Unrepresentable("real division by zero (not generated)")
    if op == "%":
        raise NotImplementedError("real %")
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]


def _datetime_arithmetic(op: str, a: Any, b: Any) -> datetime:
    base, ticks = (a, b) if isinstance(a, datetime) else (b, a)
    delta = timedelta(microseconds=ticks // TICKS_PER_MICROSECOND)
    try:
        return base + delta if op == "+" else base - delta
    except OverflowError as exc:
        raise Unrepresentable("datetime out of range") from exc


def _ticks(delta: timedelta) -> int:
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros * TICKS_PER_MICROSECOND


_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_ARITHMETIC_TYPES = {
    (KqlType.DATETIME, "+", KqlType.TIMESPAN): KqlType.DATETIME,
    (KqlType.TIMESPAN, "+", KqlType.DATETIME): KqlType.DATETIME,
    (KqlType.DATETIME, "-", KqlType.TIMESPAN): KqlType.DATETIME,
    (KqlType.DATETIME, "-", KqlType.DATETIME): KqlType.TIMESPAN,
    (KqlType.TIMESPAN, "+", KqlType.TIMESPAN): KqlType.TIMESPAN,
    (KqlType.TIMESPAN, "-", KqlType.TIMESPAN): KqlType.TIMESPAN,
    (KqlType.TIMESPAN, "*", KqlType.LONG): KqlType.TIMESPAN,
    (KqlType.LONG, "*", KqlType.TIMESPAN): KqlType.TIMESPAN,
}


# ------------------------------------------------------------------------------------ comparisons


def _compare(op: str, left: Value, right: Value) -> bool | None:
    a, b = left[1], right[1]
    if op in ("=~", "!~"):
        equal = str(a).lower() == str(b).lower()
        return equal if op == "=~" else not equal
    if a is None or b is None:
        return _null_comparison(op, a is None and b is None)
    return _ORDERINGS[op](a, b)


def _null_comparison(op: str, both: bool) -> bool | None:
    if op not in ("==", "!="):
        return None
    if both:
        if "null-literal-equality" in KNOWN_DEVIATIONS:
            raise Unspecified("==/!= on two nulls (known deviation)")
        return None
    return op == "!="


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
_COMPARE = frozenset({*_ORDERINGS, "=~", "!~"})


def _has(haystack: str, needle: str, case_sensitive: bool = False) -> bool:
    """Whole-term match: the needle's terms appear as consecutive whole terms of the haystack."""
    if not haystack.isascii():
        raise Unspecified("term boundaries of non-ASCII letters are not documented")
    if not needle.strip():
        raise Unspecified("has with an empty term")
    if not case_sensitive:
        haystack, needle = haystack.lower(), needle.lower()
    for match in re.finditer(re.escape(needle), haystack):
        start, end = match.span()
        before = haystack[start - 1 : start]
        after = haystack[end : end + 1]
        if not (before.isalnum() and needle[:1].isalnum()) and not (
            after.isalnum() and needle[-1:].isalnum()
        ):
            return True
    return False


def _contains(haystack: str, needle: str) -> bool:
    return needle.lower() in haystack.lower()


def _negated(fn: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
    return lambda a, b: not fn(a, b)


_POSITIVE_PREDICATES: dict[str, Callable[[str, str], bool]] = {
    "has": _has,
    "has_cs": lambda a, b: _has(a, b, case_sensitive=True),
    "contains": _contains,
    "contains_cs": lambda a, b: b in a,
    "startswith": lambda a, b: a.lower().startswith(b.lower()),
    "startswith_cs": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.lower().endswith(b.lower()),
    "endswith_cs": lambda a, b: a.endswith(b),
}
_STRING_PREDICATES = {
    **_POSITIVE_PREDICATES,
    **{f"!{name}": _negated(fn) for name, fn in _POSITIVE_PREDICATES.items()},
}


def where_keeps(predicate: ast.Expr, row: Mapping[str, Value]) -> bool:
    """Whether ``where predicate`` keeps ``row``: only a true predicate does (null is false)."""
    if "where-null-inequality" in KNOWN_DEVIATIONS and _null_inequality(predicate, row):
        raise Unspecified("`!=` with a null operand directly under where (known deviation)")
    return evaluate(predicate, row)[1] is True


def _null_inequality(node: ast.Expr, row: Mapping[str, Value]) -> bool:
    if isinstance(node, ast.Binary) and node.op in ("and", "or"):
        return _null_inequality(node.left, row) or _null_inequality(node.right, row)
    if isinstance(node, ast.Binary) and node.op == "!=":
        return evaluate(node.left, row)[1] is None or evaluate(node.right, row)[1] is None
    return False


# ------------------------------------------------------------------------------------ in / between


def _in_list(node: ast.InList, row: Mapping[str, Value]) -> Value:
    target = evaluate(node.target, row)[1]
    items = [evaluate(item, row)[1] for item in node.items]
    op = node.op.lstrip("!")
    if op == "in~":
        found = str(target).lower() in [str(i).lower() for i in items]
    elif op == "in":
        found = target in items
    elif op == "has_any":
        found = any(_has(target, i) for i in items)
    else:
        raise NotImplementedError(f"reference evaluator: {node.op}")
    return KqlType.BOOL, (not found) if node.op.startswith("!") else found


def _between(node: ast.Between, row: Mapping[str, Value]) -> Value:
    target = evaluate(node.target, row)[1]
    low = evaluate(node.low, row)[1]
    high = evaluate(node.high, row)[1]
    if target is None:
        return KqlType.BOOL, None
    if low is None or high is None:
        raise Unspecified("between with a null bound")
    inside = bool(low <= target <= high)
    return KqlType.BOOL, (not inside) if node.negated else inside


# ------------------------------------------------------------------------------------ functions


def _call(node: ast.Call, row: Mapping[str, Value]) -> Value:
    if node.name in ("iff", "iif"):
        return _iff(node.args, row)
    if node.name == "case":
        return _case(node.args, row)
    function = _FUNCTIONS.get(node.name)
    if function is None:
        raise NotImplementedError(f"reference evaluator: function {node.name}")
    return function(*(evaluate(arg, row) for arg in node.args))


def _iff(args: Sequence[ast.Expr], row: Mapping[str, Value]) -> Value:
    condition = evaluate(args[0], row)[1]
    return evaluate(args[1] if condition is True else args[2], row)  # null counts as false


def _case(args: Sequence[ast.Expr], row: Mapping[str, Value]) -> Value:
    for i in range(0, len(args) - 1, 2):
        if evaluate(args[i], row)[1] is True:
            return evaluate(args[i + 1], row)
    return evaluate(args[-1], row)


def kusto_tostring(kql_type: KqlType, value: Any) -> str:
    """``tostring()`` as Kusto prints each type; null is ``""``."""
    if value is None:
        return ""
    if kql_type is KqlType.BOOL:
        return "true" if value else "false"
    if kql_type is KqlType.REAL:
        return _real_text(value)
    if kql_type is KqlType.DATETIME:
        text: str = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{value.microsecond:06d}0Z" if value.microsecond else "Z")
    if kql_type is KqlType.TIMESPAN:
        return format_timespan(value)
    return str(value)


def _real_text(value: float) -> str:
    """.NET's shortest round-trip form: ``2`` for 2.0, ``0.1`` for 0.1 (no exponent in range)."""
    if value == 0 and math.copysign(1, value) < 0:
        raise Unspecified("tostring(-0.0)")
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-4):
        raise Unspecified("exponent formatting")
    if value == int(value):
        return str(int(value))
    return repr(value)


def _tostring(arg: Value) -> Value:
    return KqlType.STRING, kusto_tostring(*arg)


def _tolong(arg: Value) -> Value:
    kql_type, value = arg
    if value is None:
        return KqlType.LONG, None
    if kql_type is KqlType.STRING:
        return KqlType.LONG, _parse_long(value)
    if kql_type is KqlType.REAL:
        return KqlType.LONG, _checked(math.trunc(value))
    return KqlType.LONG, int(value)


def _parse_long(text: str) -> int | None:
    if _LONG_TEXT.fullmatch(text):
        return _checked(int(text))
    if text.strip() != text or _REAL_TEXT.fullmatch(text.strip()):
        raise Unspecified(f"tolong({text!r})")
    return None


def _toreal(arg: Value) -> Value:
    kql_type, value = arg
    if value is None:
        return KqlType.REAL, None
    if kql_type is KqlType.STRING:
        if _REAL_TEXT.fullmatch(value):
            return KqlType.REAL, float(value)
        if value.strip() != value or value.strip().lower() in ("inf", "-inf", "nan", "infinity"):
            raise Unspecified(f"toreal({value!r})")
        return KqlType.REAL, None
    return KqlType.REAL, float(value)


def _bin(arg: Value, step: Value) -> Value:
    (kql_type, value), size = arg, step[1]
    if value is None or size is None:
        return kql_type, None
    if kql_type is KqlType.DATETIME:
        ticks = _ticks(value - EPOCH)
        return kql_type, EPOCH + timedelta(microseconds=(ticks // size * size) // TICKS_PER_MICROSECOND)
    if kql_type is KqlType.REAL or step[0] is KqlType.REAL:
        return KqlType.REAL, math.floor(value / size) * size
    return kql_type, value // size * size


def _substring(text: Value, start: Value, length: Value | None = None) -> Value:
    begin = start[1]
    end = None if length is None else begin + length[1]
    return KqlType.STRING, text[1][begin:end]


def _string_fn(fn: Callable[..., Any], result: KqlType) -> Callable[..., Value]:
    return lambda *args: (result, fn(*(a[1] for a in args)))


def _null_test(expect_null: bool) -> Callable[[Value], Value]:
    return lambda arg: (KqlType.BOOL, (arg[1] is None) == expect_null)


def _empty_test(expect_empty: bool) -> Callable[[Value], Value]:
    return lambda arg: (KqlType.BOOL, (arg[1] is None or arg[1] == "") == expect_empty)


def _not(arg: Value) -> Value:
    return KqlType.BOOL, None if arg[1] is None else not arg[1]


def _abs(arg: Value) -> Value:
    return arg[0], None if arg[1] is None else abs(arg[1])


_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "strlen": _string_fn(len, KqlType.LONG),
    "tolower": _string_fn(str.lower, KqlType.STRING),
    "toupper": _string_fn(str.upper, KqlType.STRING),
    "strcat": _string_fn(lambda *parts: "".join(parts), KqlType.STRING),
    "indexof": _string_fn(str.find, KqlType.LONG),
    "substring": _substring,
    "tostring": _tostring,
    "tolong": _tolong,
    "toreal": _toreal,
    "todouble": _toreal,
    "bin": _bin,
    "floor": _bin,
    "isnull": _null_test(True),
    "isnotnull": _null_test(False),
    "isempty": _empty_test(True),
    "isnotempty": _empty_test(False),
    "not": _not,
    "abs": _abs,
}

_NODES: dict[type[ast.Node], Callable[[Any, Mapping[str, Value]], Value]] = {
    ast.Literal: _literal,
    ast.Name: _name,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.InList: _in_list,
    ast.Between: _between,
    ast.Call: _call,
}
