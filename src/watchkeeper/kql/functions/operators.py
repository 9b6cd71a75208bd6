"""Operators: arithmetic, comparison, logical, string predicates, ``in``, ``between``.

Kusto semantics bridged here: ``==`` on strings is case-sensitive and ``=~`` is not; ``contains``
and ``startswith`` are case-insensitive; ``has`` matches whole terms; integer ``/`` truncates;
datetime - datetime is a timespan and datetime + timespan a datetime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, operator
from watchkeeper.kql.functions.sqlparts import like_escape, lit, not_, term_regex
from watchkeeper.kql.functions.timeparts import ticks_to_micros
from watchkeeper.kql.plan import BCall, BExpr, BLiteral, BSubquery
from watchkeeper.schema.types import KqlType

__all__ = ["arithmetic_type", "unify"]

_T = KqlType
_NUMERIC_RANK = {_T.INT: 0, _T.LONG: 1, _T.DECIMAL: 2, _T.REAL: 3}


def unify(types: Sequence[KqlType]) -> KqlType:
    """The common type of branches (``iff``, ``case``, ``coalesce``): numeric types promote."""
    known = [t for t in types if t is not _T.UNKNOWN]
    if not known:
        return _T.UNKNOWN
    if all(t.is_numeric for t in known):
        return max(known, key=lambda t: _NUMERIC_RANK[t])
    return known[0]


def arithmetic_type(op: str, left: KqlType, right: KqlType) -> KqlType:
    if _T.UNKNOWN in (left, right):
        other = right if left is _T.UNKNOWN else left
        return other if other in (_T.DATETIME, _T.TIMESPAN) or other.is_numeric else _T.UNKNOWN
    pair = (left, right)
    if op == "+" and _T.DATETIME in pair and _T.TIMESPAN in pair:
        return _T.DATETIME
    if op == "-" and pair == (_T.DATETIME, _T.DATETIME):
        return _T.TIMESPAN
    if op == "-" and pair == (_T.DATETIME, _T.TIMESPAN):
        return _T.DATETIME
    if _T.TIMESPAN in pair:
        if op == "/" and pair == (_T.TIMESPAN, _T.TIMESPAN):
            return _T.REAL
        return _T.TIMESPAN
    if left.is_numeric and right.is_numeric:
        return unify(pair)
    if _T.DYNAMIC in pair:
        return _T.REAL
    return _T.UNKNOWN


def _arith(op: str) -> Callable[[Sequence[BExpr]], KqlType]:
    return lambda args: arithmetic_type(op, args[0].type, args[1].type)


def _fold_add(a: object, b: object) -> object:
    if isinstance(a, datetime) and isinstance(b, int):
        return a + timedelta(microseconds=b // 10)
    if isinstance(b, datetime) and isinstance(a, int):
        return b + timedelta(microseconds=a // 10)
    return a + b  # type: ignore[operator]


def _fold_sub(a: object, b: object) -> object:
    if isinstance(a, datetime) and isinstance(b, datetime):
        delta = a - b
        return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    if isinstance(a, datetime) and isinstance(b, int):
        return a + timedelta(microseconds=-b // 10)  # rounding down, as _micros
    return a - b  # type: ignore[operator]


def _fold_mul(a: object, b: object) -> object:
    if isinstance(a, bool) or isinstance(b, bool):
        raise TypeError("bool")
    return a * b  # type: ignore[operator]


def _micros(
    ctx: LowerContext, arg: BExpr, lowered: exp.Expression, *, negate: bool = False
) -> exp.Expression:
    """Ticks (negated for a subtraction) -> microseconds, rounding down: a datetime moved by a span
    finer than a microsecond lands on the microsecond at or before the exact instant, so
    ``End - 1tick`` is before ``End`` (an exclusive bound stays exclusive); constants divided here."""
    if isinstance(arg, BLiteral) and isinstance(arg.value, int):
        return exp.Literal.number((-arg.value if negate else arg.value) // 10)
    return ticks_to_micros(ctx.dialect, exp.Neg(this=exp.Paren(this=lowered)) if negate else lowered)


def _ticks_between(ctx: LowerContext, a: exp.Expression, b: exp.Expression) -> exp.Expression:
    d = ctx.dialect
    diff = exp.Sub(this=d.epoch_micros(a), expression=d.epoch_micros(b))
    return exp.Mul(this=exp.Paren(this=diff), expression=exp.Literal.number(10))


@operator("+", args=2, returns=_arith("+"), fold=_fold_add)
def _add(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    left, right = call.args
    if left.type is _T.DATETIME and right.type is _T.TIMESPAN:
        return ctx.dialect.add_micros(args[0], _micros(ctx, right, args[1]))
    if right.type is _T.DATETIME and left.type is _T.TIMESPAN:
        return ctx.dialect.add_micros(args[1], _micros(ctx, left, args[0]))
    return exp.Add(this=args[0], expression=args[1])


@operator("-", args=2, returns=_arith("-"), fold=_fold_sub)
def _sub(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    left, right = call.args
    if left.type is _T.DATETIME and right.type is _T.DATETIME:
        return _ticks_between(ctx, args[0], args[1])
    if left.type is _T.DATETIME and right.type is _T.TIMESPAN:
        return ctx.dialect.add_micros(args[0], _micros(ctx, right, args[1], negate=True))
    return exp.Sub(this=args[0], expression=args[1])


@operator("*", args=2, returns=_arith("*"), fold=_fold_mul)
def _mul(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    product: exp.Expression = exp.Mul(this=args[0], expression=args[1])
    if call.type is _T.TIMESPAN and _T.REAL in (call.args[0].type, call.args[1].type):
        product = ctx.dialect.cast(exp.Round(this=product), _T.LONG)
    return product


def _fold_div(a: object, b: object) -> object:
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b == 0:
            raise ArithmeticError("division by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    return a / b  # type: ignore[operator]


def _fold_div_typed(args: Sequence[BLiteral]) -> object:
    left, right = args
    if left.type is _T.TIMESPAN and right.type is _T.TIMESPAN:
        return left.value / right.value  # a ratio of durations is a real
    if left.type is _T.TIMESPAN and right.type is not _T.TIMESPAN:
        return int(left.value / right.value)
    return _fold_div(left.value, right.value)


@operator("/", args=2, returns=_arith("/"), fold_args=_fold_div_typed)
def _div(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    lt, rt = call.args[0].type, call.args[1].type
    d = ctx.dialect
    if lt is _T.TIMESPAN and rt is _T.TIMESPAN:
        return exp.Div(this=d.cast(args[0], _T.REAL), expression=args[1])
    if lt is _T.TIMESPAN:
        return d.cast(exp.Div(this=d.cast(args[0], _T.REAL), expression=args[1]), _T.LONG)
    if lt.is_integer and rt.is_integer:
        return d.int_div(args[0], args[1])
    return exp.Div(this=d.cast(args[0], _T.REAL) if lt.is_integer else args[0], expression=args[1])


@operator("%", args=2, returns=_arith("%"))
def _mod(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Mod(this=args[0], expression=args[1])


@operator("neg", args=1, returns=lambda a: a[0].type, fold=lambda v: -v)
def _neg(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Neg(this=exp.Paren(this=args[0]))


@operator("and", args=2, returns=_T.BOOL, params=[_T.BOOL])
def _and(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.And(this=args[0], expression=args[1])


@operator("or", args=2, returns=_T.BOOL, params=[_T.BOOL])
def _or(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Or(this=exp.Paren(this=args[0]), expression=exp.Paren(this=args[1]))


# ------------------------------------------------------------------------- comparisons

_COMPARE: dict[str, type[exp.Expression]] = {
    "==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE,
}  # fmt: skip


def _plain(ctx: LowerContext, arg: BExpr, lowered: exp.Expression) -> exp.Expression:
    """Integer literals compare as bare numbers (no cast) so the engine can use them as constants."""
    if isinstance(arg, BLiteral) and arg.type in (_T.LONG, _T.INT) and arg.value is not None:
        return exp.Literal.number(int(arg.value))
    return lowered


def _comparison(op: str) -> None:
    cls = _COMPARE[op]

    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        left = _plain(ctx, call.args[0], args[0])
        right = _plain(ctx, call.args[1], args[1])
        # in a `where`, a null `==` and a false one drop the row alike, so `==` stays plain SQL
        # (index and pushdown friendly); `!=` keeps rows whose value is null (5 != null is true)
        in_where = getattr(ctx, "predicate", False)
        if op == "!=" or (op == "==" and not in_where):
            nullable = [_nullable(a) for a in call.args]
            if all(nullable) and not in_where:
                return _null_aware_equality(op, left, right)
            if any(nullable):
                return (exp.NullSafeEQ if op == "==" else exp.NullSafeNEQ)(this=left, expression=right)
        return cls(this=left, expression=right)

    py = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
          "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]  # fmt: skip
    operator(op, args=2, returns=_T.BOOL, fold=_null_rule(op, py))(lower)


def _null_rule(op: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    """Kusto's comparisons with null: null with null is null; a value with null is unequal
    (``==`` false, ``!=`` true); an ordering with null is null."""

    def fold(a: Any, b: Any) -> Any:
        if a is None and b is None:
            return None
        if a is None or b is None:
            return {"==": False, "!=": True}.get(op)
        return compare(a, b)

    return fold


def _nullable(arg: BExpr) -> bool:
    """Whether a value can be null (Kusto strings and non-null constants cannot)."""
    return arg.type is not _T.STRING and not (isinstance(arg, BLiteral) and arg.value is not None)


def _null_aware_equality(op: str, left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """Kusto: a value compared with null is unequal (``5 == null`` is false, ``5 != null`` true);
    null compared with null is null."""
    both_null = exp.And(this=exp.Is(this=left.copy(), expression=exp.Null()),
                        expression=exp.Is(this=right.copy(), expression=exp.Null()))  # fmt: skip
    same: exp.Expression = exp.NullSafeEQ(this=left, expression=right)
    if op == "!=":
        same = exp.NullSafeNEQ(this=left, expression=right)
    return exp.If(this=both_null, true=exp.Null(), false=same)


for _op in _COMPARE:
    _comparison(_op)


def _lower_ci(ctx: LowerContext, arg: BExpr, lowered: exp.Expression) -> exp.Expression:
    if isinstance(arg, BLiteral) and isinstance(arg.value, str):
        return lit(arg.value.lower())
    return ctx.dialect.call("lower", lowered)


@operator("=~", args=2, returns=_T.BOOL, params=[_T.STRING], fold=lambda a, b: a.lower() == b.lower())
def _eq_ci(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.EQ(
        this=_lower_ci(ctx, call.args[0], args[0]), expression=_lower_ci(ctx, call.args[1], args[1])
    )


@operator("!~", args=2, returns=_T.BOOL, params=[_T.STRING], fold=lambda a, b: a.lower() != b.lower())
def _neq_ci(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.NEQ(
        this=_lower_ci(ctx, call.args[0], args[0]), expression=_lower_ci(ctx, call.args[1], args[1])
    )


# ------------------------------------------------------------------------- string predicates

_Pred = Callable[[LowerContext, BCall, list[exp.Expression]], exp.Expression]


def _string_predicate(names: list[str], fold: Callable[[str, str], bool]) -> Callable[[_Pred], _Pred]:
    """Register a predicate and its negation (``!name``) in one go."""

    def decorate(lower: _Pred) -> _Pred:
        operator(names, args=2, returns=_T.BOOL, params=[_T.STRING], fold=fold)(lower)
        negated = [f"!{n}" for n in names]

        def lower_not(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
            return not_(lower(ctx, call, args))

        operator(negated, args=2, returns=_T.BOOL, params=[_T.STRING], fold=lambda a, b: not fold(a, b))(
            lower_not
        )
        return lower

    return decorate


def _literal(call: BCall) -> str | None:
    right = call.args[1]
    return right.value if isinstance(right, BLiteral) and isinstance(right.value, str) else None


@_string_predicate(["contains"], lambda a, b: b.lower() in a.lower())
def _contains(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    value = _literal(call)
    if value is not None:
        return ctx.dialect.ilike(args[0], f"%{like_escape(value)}%")
    return ctx.dialect.call(
        "contains", ctx.dialect.call("lower", args[0]), ctx.dialect.call("lower", args[1])
    )


@_string_predicate(["contains_cs"], lambda a, b: b in a)
def _contains_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("contains", args[0], args[1])


@_string_predicate(["startswith"], lambda a, b: a.lower().startswith(b.lower()))
def _startswith(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    value = _literal(call)
    if value is not None:
        return ctx.dialect.ilike(args[0], f"{like_escape(value)}%")
    return ctx.dialect.call(
        "starts_with", ctx.dialect.call("lower", args[0]), ctx.dialect.call("lower", args[1])
    )


@_string_predicate(["startswith_cs"], lambda a, b: a.startswith(b))
def _startswith_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("starts_with", args[0], args[1])


@_string_predicate(["endswith"], lambda a, b: a.lower().endswith(b.lower()))
def _endswith(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    value = _literal(call)
    if value is not None:
        return ctx.dialect.ilike(args[0], f"%{like_escape(value)}")
    return ctx.dialect.call(
        "ends_with", ctx.dialect.call("lower", args[0]), ctx.dialect.call("lower", args[1])
    )


@_string_predicate(["endswith_cs"], lambda a, b: a.endswith(b))
def _endswith_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("ends_with", args[0], args[1])


def _term_match(
    ctx: LowerContext, call: BCall, args: list[exp.Expression], *, cs: bool, prefix: bool, suffix: bool
) -> exp.Expression:
    value = _literal(call)
    d = ctx.dialect
    if value is None:
        escaped = d.call("regexp_escape", args[1])
        head = lit(("" if cs else "(?i)") + ("(?:^|[^0-9A-Za-z])" if prefix else ""))
        tail = lit("(?:[^0-9A-Za-z]|$)" if suffix else "")
        pattern = exp.DPipe(this=exp.DPipe(this=head, expression=escaped), expression=tail)
        return d.regex_match(args[0], pattern)
    if value == "":
        return exp.true()
    regex = d.regex_match(args[0], lit(term_regex([value], case_sensitive=cs, prefix=prefix, suffix=suffix)))
    # the substring test is cheap and rejects most rows before the regex runs
    quick = d.like(args[0], f"%{like_escape(value)}%") if cs else d.ilike(args[0], f"%{like_escape(value)}%")
    return exp.And(this=quick, expression=regex)


def _has_fold(a: str, b: str, cs: bool, prefix: bool = True, suffix: bool = True) -> bool:
    import re

    pattern = term_regex([b], case_sensitive=cs, prefix=prefix, suffix=suffix).replace("(?i)", "")
    return re.search(pattern, a, 0 if cs else re.IGNORECASE) is not None


@_string_predicate(["has"], lambda a, b: _has_fold(a, b, False))
def _has(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=False, prefix=True, suffix=True)


@_string_predicate(["has_cs"], lambda a, b: _has_fold(a, b, True))
def _has_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=True, prefix=True, suffix=True)


@_string_predicate(["hasprefix"], lambda a, b: _has_fold(a, b, False, suffix=False))
def _hasprefix(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=False, prefix=True, suffix=False)


@_string_predicate(["hasprefix_cs"], lambda a, b: _has_fold(a, b, True, suffix=False))
def _hasprefix_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=True, prefix=True, suffix=False)


@_string_predicate(["hassuffix"], lambda a, b: _has_fold(a, b, False, prefix=False))
def _hassuffix(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=False, prefix=False, suffix=True)


@_string_predicate(["hassuffix_cs"], lambda a, b: _has_fold(a, b, True, prefix=False))
def _hassuffix_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_match(ctx, call, args, cs=True, prefix=False, suffix=True)


@_string_predicate(["matches regex"], lambda a, b: __import__("re").search(b, a) is not None)
def _matches(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.regex_match(args[0], args[1])


# ------------------------------------------------------------------------- between, in, has_any


@operator("between", args=3, returns=_T.BOOL, fold=lambda x, lo, hi: lo <= x <= hi)
def _between(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    low = _plain(ctx, call.args[1], args[1])
    high = _plain(ctx, call.args[2], args[2])
    return exp.Between(this=args[0], low=low, high=high)


@operator("!between", args=3, returns=_T.BOOL, fold=lambda x, lo, hi: not lo <= x <= hi)
def _not_between(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return not_(_between(ctx, call, args))


def _dynamic_items(items: list[object], fold_case: bool) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, bool):
            out.append(exp.true() if item else exp.false())
        elif isinstance(item, (int, float)):
            out.append(exp.Literal.number(item))
        else:
            out.append(lit(str(item).lower() if fold_case else str(item)))
    return out


def _in(ctx: LowerContext, call: BCall, args: list[exp.Expression], fold_case: bool) -> exp.Expression:
    target = ctx.dialect.call("lower", args[0]) if fold_case else args[0]
    values: list[exp.Expression] = []
    tests: list[exp.Expression] = []
    for arg, lowered in zip(call.args[1:], args[1:], strict=True):
        if isinstance(arg, BSubquery):
            query = lowered.this if isinstance(lowered, exp.Subquery) else lowered
            if fold_case:
                query = _lowercase_first_column(ctx, query)
            tests.append(exp.In(this=target, query=exp.Subquery(this=query)))
        elif isinstance(arg, BLiteral) and arg.type is _T.DYNAMIC and isinstance(arg.value, list):
            values.extend(_dynamic_items(arg.value, fold_case))
        elif arg.type is _T.DYNAMIC:
            text: exp.Expression = exp.Cast(this=args[0], to=ctx.dialect.type(_T.STRING))
            if fold_case:
                text = ctx.dialect.call("lower", text)
            tests.append(_array_has_text(ctx, ctx.dialect.json_elements(lowered), text, fold_case))
        else:
            values.append(_lower_ci(ctx, arg, lowered) if fold_case else _plain(ctx, arg, lowered))
    if values:
        tests.insert(0, exp.In(this=target, expressions=values))
    if not tests:
        return exp.false()
    result = tests[0]
    for t in tests[1:]:
        result = exp.Or(this=result, expression=t)
    return exp.Paren(this=result) if len(tests) > 1 else result


def _lowercase_first_column(ctx: LowerContext, query: exp.Expression) -> exp.Expression:
    assert isinstance(query, exp.Select), "an `in` subquery is a SELECT"
    inner = query.subquery("_in")
    return exp.select(ctx.dialect.call("lower", exp.column(query.selects[0].alias_or_name))).from_(inner)


def _array_has_text(
    ctx: LowerContext, elements: exp.Expression, text: exp.Expression, fold_case: bool
) -> exp.Expression:
    """Whether a JSON array has ``text`` among its elements (compared as strings)."""
    element = exp.column("_e")
    as_text = ctx.dialect.json_text(element)
    if fold_case:
        as_text = ctx.dialect.call("lower", as_text)
    lam = exp.Lambda(this=exp.EQ(this=as_text, expression=text), expressions=[exp.to_identifier("_e")])
    return ctx.dialect.call("list_bool_or", ctx.dialect.call("list_transform", elements, lam))


@operator("in", args=(2, None), returns=_T.BOOL)
def _in_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _in(ctx, call, args, fold_case=False)


@operator("!in", args=(2, None), returns=_T.BOOL)
def _not_in_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return not_(_in(ctx, call, args, fold_case=False))


@operator("in~", args=(2, None), returns=_T.BOOL, params=[_T.STRING])
def _in_ci(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _in(ctx, call, args, fold_case=True)


@operator("!in~", args=(2, None), returns=_T.BOOL, params=[_T.STRING])
def _not_in_ci(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return not_(_in(ctx, call, args, fold_case=True))


def _term_list(
    ctx: LowerContext, call: BCall, args: list[exp.Expression], *, cs: bool, all_terms: bool
) -> exp.Expression:
    target = args[0]
    d = ctx.dialect
    terms: list[str] = []
    runtime: list[tuple[BExpr, exp.Expression]] = []
    for arg, lowered in zip(call.args[1:], args[1:], strict=True):
        if isinstance(arg, BLiteral) and arg.type is _T.DYNAMIC and isinstance(arg.value, list):
            terms.extend(str(v) for v in arg.value if v is not None)
        elif isinstance(arg, BLiteral) and arg.value is not None:
            terms.append(str(arg.value))
        elif arg.type not in (_T.DYNAMIC, _T.UNKNOWN) and not isinstance(arg, BSubquery):
            runtime.append((arg, ctx.dialect.json_array([lowered])))  # one term from a column
        else:
            runtime.append((arg, lowered))
    tests: list[exp.Expression] = []
    if terms and not all_terms:
        tests.append(d.regex_match(target, lit(term_regex(terms, case_sensitive=cs))))
    elif terms:
        tests.extend(d.regex_match(target, lit(term_regex([t], case_sensitive=cs))) for t in terms)
    for arg, lowered in runtime:
        tests.append(_runtime_terms(ctx, target, arg, lowered, cs=cs, all_terms=all_terms))
    if not tests:
        return exp.false()
    combine = exp.And if all_terms else exp.Or
    result = tests[0]
    for t in tests[1:]:
        result = combine(this=result, expression=t)
    return exp.Paren(this=result)


def _runtime_terms(
    ctx: LowerContext,
    target: exp.Expression,
    arg: BExpr,
    lowered: exp.Expression,
    *,
    cs: bool,
    all_terms: bool,
) -> exp.Expression:
    d = ctx.dialect
    term = exp.column("_t")
    head = lit(("" if cs else "(?i)") + "(?:^|[^0-9A-Za-z])")
    pattern = exp.DPipe(this=exp.DPipe(this=head, expression=d.call("regexp_escape", term)),
                        expression=lit("(?:[^0-9A-Za-z]|$)"))  # fmt: skip
    test = d.regex_match(target, pattern)
    if isinstance(arg, BSubquery):
        sub = lowered.this if isinstance(lowered, exp.Subquery) else lowered
        assert isinstance(sub, exp.Select)
        first = sub.selects[0].alias_or_name
        inner = exp.select(exp.column(first).as_("_t")).from_(sub.subquery("_terms"))
        probe = exp.select(exp.Literal.number(1)).from_(inner.subquery("_tt")).where(
            exp.Not(this=test) if all_terms else test)  # fmt: skip
        exists = exp.Exists(this=probe)
        return exp.Not(this=exists) if all_terms else exists
    elements = d.json_elements(lowered)
    lam = exp.Lambda(this=d.regex_match(target, exp.DPipe(this=exp.DPipe(this=head, expression=d.call(
        "regexp_escape", d.json_text(exp.column("_t")))), expression=lit("(?:[^0-9A-Za-z]|$)"))),
        expressions=[exp.to_identifier("_t")])  # fmt: skip
    agg = "list_bool_and" if all_terms else "list_bool_or"
    return d.call(agg, d.call("list_transform", elements, lam))


@operator("has_any", args=(2, None), returns=_T.BOOL, params=[_T.STRING, None])
def _has_any(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_list(ctx, call, args, cs=False, all_terms=False)


@operator("has_all", args=(2, None), returns=_T.BOOL, params=[_T.STRING, None])
def _has_all(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_list(ctx, call, args, cs=False, all_terms=True)


@operator("has_any_cs", args=(2, None), returns=_T.BOOL, params=[_T.STRING, None])
def _has_any_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_list(ctx, call, args, cs=True, all_terms=False)


@operator("has_all_cs", args=(2, None), returns=_T.BOOL, params=[_T.STRING, None])
def _has_all_cs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _term_list(ctx, call, args, cs=True, all_terms=True)
