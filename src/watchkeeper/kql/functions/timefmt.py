"""``format_datetime`` and ``format_timespan``: .NET-style custom format strings.

A constant format is parsed once into literal text and fields (``yyyy``, ``MM``, ``fff``, ``tt``...,
a run of one letter is one field, as in .NET). Each field becomes a small SQL expression built from
calendar parts and integer arithmetic, so both engines print exactly the same text, and
:func:`render_datetime` / :func:`render_timespan` are the Python reference the fold uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import const, lit, mod, mul, num
from watchkeeper.kql.functions.timeparts import DAY_TICKS, micros_in_second
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["Field", "datetime_sql", "parse_format", "render_datetime", "render_timespan"]

_T = KqlType
_DATETIME_LETTERS = frozenset("yMdHhmsfFt")
_TIMESPAN_LETTERS = frozenset("dhHmsfF")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Field:
    """A run of one format letter: ``letter`` repeated ``width`` times."""

    letter: str
    width: int


Piece = str | Field


def parse_format(fmt: str, letters: frozenset[str]) -> list[Piece]:
    """Split a format into literal text and fields; quotes and ``\\`` escape literal text."""
    pieces: list[Piece] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c in letters:
            j = i
            while j < len(fmt) and fmt[j] == c:
                j += 1
            pieces.append(Field(c, min(j - i, 7) if c in "fF" else j - i))
            i = j
        elif c in "'\"":
            end = fmt.find(c, i + 1)
            end = len(fmt) if end < 0 else end
            _literal(pieces, fmt[i + 1 : end])
            i = end + 1
        elif c == "\\" and i + 1 < len(fmt):
            _literal(pieces, fmt[i + 1])
            i += 2
        else:
            _literal(pieces, c)
            i += 1
    return pieces


def _literal(pieces: list[Piece], text: str) -> None:
    if pieces and isinstance(pieces[-1], str):
        pieces[-1] += text
    elif text:
        pieces.append(text)


# ------------------------------------------------------------------------- Python reference


def _fraction(frac7: int, field: Field) -> str:
    digits = f"{frac7:07d}"[: field.width]
    return digits if field.letter == "f" else digits.rstrip("0")


def _join(pieces: list[Piece], value_of: Callable[[Field], str]) -> str:
    out = ""
    for piece in pieces:
        if isinstance(piece, str):
            out += piece
            continue
        text = value_of(piece)
        if piece.letter == "F" and not text and out.endswith("."):
            out = out[:-1]  # .NET drops the separator before an empty F fraction
        out += text
    return out


def _number(value: int, width: int) -> str:
    return f"{value:0{width}d}"


def render_datetime(value: datetime, fmt: str) -> str:
    """``format_datetime`` in Python (the fold and the tests' reference)."""
    v = value.astimezone(UTC)

    def field_text(f: Field) -> str:
        hour12 = v.hour % 12 or 12
        simple = {"M": v.month, "d": v.day, "H": v.hour, "h": hour12, "m": v.minute, "s": v.second}
        if f.letter == "y":
            return (
                str(v.year % 100)
                if f.width == 1
                else f"{v.year % 100:02d}"
                if f.width == 2
                else f"{v.year:0{f.width}d}"
            )
        if f.letter in "fF":
            return _fraction(v.microsecond * 10, f)
        if f.letter == "t":
            return ("AM" if v.hour < 12 else "PM")[: 1 if f.width == 1 else 2]
        if f.letter in "Md" and f.width >= 3:
            name = _MONTHS[v.month - 1] if f.letter == "M" else _DAYS[(v.weekday() + 1) % 7]
            return name[:3] if f.width == 3 else name
        return _number(simple[f.letter], min(f.width, 2))

    return _join(parse_format(fmt, _DATETIME_LETTERS), field_text)


def render_timespan(ticks: int, fmt: str) -> str:
    """``format_timespan`` in Python: fields of the absolute value (.NET prints no sign)."""
    t = abs(ticks)
    parts = {"d": t // DAY_TICKS, "h": t // 36_000_000_000 % 24, "H": t // 36_000_000_000 % 24,
             "m": t // 600_000_000 % 60, "s": t // 10_000_000 % 60}  # fmt: skip

    def field_text(f: Field) -> str:
        if f.letter in "fF":
            return _fraction(t % 10_000_000, f)
        return _number(parts[f.letter], f.width if f.letter == "d" else min(f.width, 2))

    return _join(parse_format(fmt, _TIMESPAN_LETTERS), field_text)


# ------------------------------------------------------------------------- SQL


def _text(d: Dialect, value: exp.Expression) -> exp.Expression:
    return d.cast(value, _T.STRING)


def _padded(d: Dialect, value: exp.Expression, width: int) -> exp.Expression:
    return _text(d, value) if width <= 1 else d.call("lpad", _text(d, value), num(width), lit("0"))


def _names(value: exp.Expression, names: tuple[str, ...], first: int, width: int) -> exp.Expression:
    ifs = [exp.If(this=exp.EQ(this=value.copy(), expression=num(i + first)), true=lit(n[:3] if width == 3 else n))
           for i, n in enumerate(names)]  # fmt: skip
    return exp.Case(ifs=ifs, default=lit(""))


def _sql_fraction(d: Dialect, frac7: exp.Expression, field: Field) -> exp.Expression:
    digits = exp.Substring(
        this=d.call("lpad", _text(d, frac7), num(7), lit("0")), start=num(1), length=num(field.width)
    )
    if field.letter == "f":
        return digits
    return exp.Trim(this=digits, expression=lit("0"), position="TRAILING")


def _sql_join(
    d: Dialect, pieces: list[Piece], field_sql: Callable[[Field], exp.Expression]
) -> exp.Expression:
    parts: list[exp.Expression] = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(lit(piece))
            continue
        text = field_sql(piece)
        last = parts[-1] if parts else None
        if piece.letter == "F" and isinstance(last, exp.Literal) and last.this.endswith("."):
            parts[-1] = lit(last.this[:-1])
            dot = exp.If(this=exp.EQ(this=text.copy(), expression=lit("")), true=lit(""), false=lit("."))
            parts.append(dot)
        parts.append(text)
    if not parts:
        return lit("")
    return exp.Concat(expressions=parts) if len(parts) > 1 else parts[0]


def _datetime_field(d: Dialect, value: exp.Expression, f: Field) -> exp.Expression:
    def part(unit: str) -> exp.Expression:
        return d.date_part(unit, value.copy())

    if f.letter == "y":
        year = part("year")
        return _padded(d, year, f.width) if f.width > 2 else _padded(d, mod(year, num(100)), f.width)
    if f.letter in "fF":
        micros = micros_in_second(d, value.copy())
        return _sql_fraction(d, mul(micros, num(10)), f)
    if f.letter == "t":
        am = lit("AM"[: 1 if f.width == 1 else 2])
        return exp.If(
            this=exp.LT(this=part("hour"), expression=num(12)),
            true=am,
            false=lit("PM"[: 1 if f.width == 1 else 2]),
        )
    if f.letter == "M" and f.width >= 3:
        return _names(part("month"), _MONTHS, 1, f.width)
    if f.letter == "d" and f.width >= 3:
        return _names(part("dow"), _DAYS, 0, f.width)
    if f.letter == "h":
        hour12 = exp.If(this=exp.EQ(this=mod(part("hour"), num(12)), expression=num(0)), true=num(12),
                        false=mod(part("hour"), num(12)))  # fmt: skip
        return _padded(d, hour12, min(f.width, 2))
    unit = {"M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}[f.letter]
    return _padded(d, part(unit), min(f.width, 2))


def _timespan_field(d: Dialect, ticks: exp.Expression, f: Field) -> exp.Expression:
    t = exp.Abs(this=ticks.copy())
    if f.letter in "fF":
        return _sql_fraction(d, mod(t, num(10_000_000)), f)
    if f.letter == "d":
        return _padded(d, d.int_div(t, num(DAY_TICKS)), f.width)
    scale, wrap = {"h": (36_000_000_000, 24), "H": (36_000_000_000, 24), "m": (600_000_000, 60),
                   "s": (10_000_000, 60)}[f.letter]  # fmt: skip
    return _padded(d, mod(d.int_div(t, num(scale)), num(wrap)), min(f.width, 2))


def datetime_sql(d: Dialect, value: exp.Expression, fmt: str) -> exp.Expression:
    """SQL text of a datetime in a constant .NET-style format (NULL for null)."""
    text = _sql_join(d, parse_format(fmt, _DATETIME_LETTERS), lambda f: _datetime_field(d, value, f))
    return exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null(), false=text)


def _empty_for_null(value: exp.Expression, text: exp.Expression) -> exp.Expression:
    """Kusto strings are never null: a null input formats as ``""``."""
    return exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=lit(""), false=text)


def _fold_format(render: Callable[[Any, str], str]) -> Callable[[Any, Any], Any]:
    def fold(value: Any, fmt: Any) -> Any:
        return "" if value is None else render(value, str(fmt))

    return fold


@scalar("format_datetime", args=2, returns=_T.STRING, params=[_T.DATETIME, _T.STRING], constant=[1],
        fold=_fold_format(render_datetime))  # fmt: skip
def _format_datetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    pieces = parse_format(str(const(call.args[1])), _DATETIME_LETTERS)
    text = _sql_join(ctx.dialect, pieces, lambda f: _datetime_field(ctx.dialect, args[0], f))
    return _empty_for_null(args[0], text)


@scalar("format_timespan", args=2, returns=_T.STRING, params=[_T.TIMESPAN, _T.STRING], constant=[1],
        fold=_fold_format(render_timespan))  # fmt: skip
def _format_timespan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    pieces = parse_format(str(const(call.args[1])), _TIMESPAN_LETTERS)
    text = _sql_join(ctx.dialect, pieces, lambda f: _timespan_field(ctx.dialect, args[0], f))
    return _empty_for_null(args[0], text)
