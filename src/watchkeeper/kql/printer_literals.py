"""KQL spellings of names and literal values, for the printer (:mod:`watchkeeper.kql.printer`).

Every function returns text the tokenizer reads back to the same value: names bracketed when they
are not plain identifiers (or could be read as keywords), strings quoted and escaped, typed literals
(``datetime(...)``, ``time(...)``, ``real(nan)``, ``long(null)``) in their canonical form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from watchkeeper.kql.literals import format_timespan
from watchkeeper.schema.types import KqlType

__all__ = [
    "dynamic_text",
    "format_name",
    "format_pattern",
    "is_identifier",
    "literal_text",
    "property_name",
    "quote_string",
    "set_statement",
]

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

# Words a bare name could be mistaken for (operator words, clause keywords, source keywords).
# Bracketing them (['by']) is always valid KQL, so the list errs on the side of caution.
_KEYWORDS = frozenset(
    {
        "and", "or", "not", "in", "between", "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix",
        "hassuffix_cs", "contains", "contains_cs", "startswith", "startswith_cs", "endswith",
        "endswith_cs", "matches", "regex", "has_any", "has_all", "has_any_cs", "has_all_cs",
        "notcontains", "notcontainscs", "containscs", "notstartswith", "notendswith", "true", "false",
        "by", "on", "with", "asc", "desc", "nulls", "first", "last", "of", "from", "to", "step",
        "limit", "default", "kind", "hint", "typeof", "others", "as", "let", "set", "declare", "alias",
        "restrict", "datatable", "range", "union", "evaluate", "externaldata", "view", "find",
        "search", "print", "bagexpansion", "with_itemindex", "withsource", "isfuzzy", "flags",
        "dynamic", "granny-asc", "granny-desc",
    }
)  # fmt: skip

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}

# Timespan literal units, largest first: a literal prints in the largest unit dividing it exactly.
_TIMESPAN_UNITS = (
    ("d", 864_000_000_000), ("h", 36_000_000_000), ("m", 600_000_000), ("s", 10_000_000),
    ("ms", 10_000), ("microsecond", 10), ("tick", 1),
)  # fmt: skip
_EXACT_FLOAT_LIMIT = 2**53  # the tokenizer scales unit literals through a float

_NULL_NAMES = {
    KqlType.BOOL: "bool", KqlType.INT: "int", KqlType.LONG: "long", KqlType.REAL: "real",
    KqlType.DECIMAL: "decimal", KqlType.DATETIME: "datetime", KqlType.TIMESPAN: "time",
    KqlType.GUID: "guid", KqlType.DYNAMIC: "dynamic",
}  # fmt: skip


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a plain identifier (letters, digits, ``_``, ``$``)."""
    return _IDENTIFIER.fullmatch(name) is not None


def format_name(name: str) -> str:
    """A name as KQL spells it: bare when it is a plain identifier, else ``['...']``."""
    if _IDENTIFIER.fullmatch(name) and name not in _KEYWORDS and name.lower() not in ("true", "false"):
        return name
    return f"[{quote_string(name)}]"


def property_name(name: str) -> str:
    """A name after ``.``: keywords are plain there."""
    return name if _IDENTIFIER.fullmatch(name) else f"[{quote_string(name)}]"


def format_pattern(pattern: str) -> str:
    """A column wildcard pattern (``Account*``); name parts that need brackets get them."""
    return "*".join(format_name(part) if part else "" for part in pattern.split("*"))


def quote_string(value: str) -> str:
    """A double-quoted KQL string literal; control characters are escaped."""
    return '"' + "".join(_escape_char(c) for c in value) + '"'


def _escape_char(c: str) -> str:
    if c in _STRING_ESCAPES:
        return _STRING_ESCAPES[c]
    if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029":
        return f"\\u{ord(c):04x}"
    return c


# ------------------------------------------------------------------------------------ literals


def literal_text(value: Any, kql_type: KqlType) -> str:
    """The KQL literal for a Python ``value`` of ``kql_type`` (typed ``null`` for None)."""
    if value is None:
        return '""' if kql_type is KqlType.STRING else f"{_NULL_NAMES[kql_type]}(null)"
    return _LITERALS[kql_type](value)


def _real_text(value: float) -> str:
    if math.isnan(value):
        return "real(nan)"
    if math.isinf(value):
        return "real(inf)" if value > 0 else "real(-inf)"
    return repr(float(value))


def _datetime_text(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
        text += f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        text += f".{value.microsecond:06d}".rstrip("0") + "Z" if value.microsecond else "Z"
    return f"datetime({text})"


def _timespan_text(ticks: int) -> str:
    if ticks == 0:
        return "0s"
    if abs(ticks) < _EXACT_FLOAT_LIMIT:
        for unit, size in _TIMESPAN_UNITS:
            # sub-millisecond units only for tiny spans: time(1.02:03:04.5) beats 937840500000tick
            if ticks % size == 0 and (size >= 10_000 or abs(ticks) < 10_000):
                return f"{ticks // size}{unit}"
    return f"time({format_timespan(ticks)})"


def _decimal_text(value: Decimal) -> str:
    return f"decimal({value:f})"


def dynamic_text(value: Any) -> str:
    """``dynamic(...)`` around a JSON value, written with KQL literals."""
    return f"dynamic({_json_text(value)})"


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _real_text(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dict):
        pairs = (f"{quote_string(str(k))}: {_json_text(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} inside dynamic()")


_LITERALS: dict[KqlType, Callable[[Any], str]] = {
    KqlType.BOOL: lambda v: "true" if v else "false",
    KqlType.INT: lambda v: f"int({v})",
    KqlType.LONG: str,
    KqlType.REAL: _real_text,
    KqlType.DECIMAL: _decimal_text,
    KqlType.STRING: quote_string,
    KqlType.DATETIME: _datetime_text,
    KqlType.TIMESPAN: _timespan_text,
    KqlType.GUID: lambda v: f"guid({v})",
    KqlType.DYNAMIC: dynamic_text,
}


def set_statement(name: str, value: Any) -> str:
    """A ``set`` statement; the parser keeps option values in their JSON form. Option names are
    plain identifiers, written bare even when they are keywords (``set as``)."""
    option = name if is_identifier(name) else format_name(name)
    if value is True:
        return f"set {option}"
    text = dynamic_text(value) if isinstance(value, dict | list) else _json_text(value)
    return f"set {option} = {text}"
