"""``parse_version``: a version string as a decimal that compares like the version.

Kusto's rules (parse_version): one to four parts of up to eight digits each (0..99999999),
separated by dots; missing parts are trailing zeros (``1.0`` == ``1.0.0.0``); the value is
``p1 * 10^24 + p2 * 10^16 + p3 * 10^8 + p4``; anything else gives null. The value needs up to 32
digits, more than the ``decimal(38, 18)`` columns hold, so the SQL keeps it as ``DECIMAL(38, 0)``,
where every partial sum fits.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, lit, mul, num
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["VERSION_PATTERN", "parse_version_value"]

VERSION_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,8}){0,3}$"
_PARTS = 4
_PART_SCALE = 10**8


def parse_version_value(text: str | None) -> Decimal | None:
    """The comparable decimal of a version string (None when it is not one)."""
    if text is None or not re.fullmatch(VERSION_PATTERN, text, flags=re.ASCII):
        return None
    parts = [int(p) for p in text.split(".")] + [0] * (_PARTS - text.count(".") - 1)
    value = 0
    for part in parts:
        value = value * _PART_SCALE + part
    return Decimal(value)


@scalar("parse_version", args=1, returns=KqlType.DECIMAL, params=[KqlType.STRING])
def _parse_version(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    wide = exp.DataType.build("DECIMAL(38, 0)")
    value = num(0)
    for position in range(1, _PARTS + 1):  # split_part gives '' past the last part: a trailing zero
        part = d.call("split_part", args[0].copy(), lit("."), num(position))
        digits = exp.Coalesce(this=exp.Nullif(this=part, expression=lit("")), expressions=[lit("0")])
        value = (
            add(mul(value, num(_PART_SCALE)), exp.cast(digits, wide))
            if position > 1
            else exp.cast(digits, wide)
        )
    valid = d.regex_match(args[0], lit(VERSION_PATTERN))
    return exp.If(this=valid, true=value, false=exp.Null())
