"""Punycode (RFC 3492): ``punycode_from_string``, ``punycode_to_string``,
``punycode_domain_to_string`` and ``punycode_domain_from_string``.

Kusto's documented behaviour: ``punycode_from_string`` encodes a whole string (no ``xn--``
prefix); the domain forms work label by label, a label with non-ASCII characters becoming
``xn--`` + its Punycode, and the ideographic full stops (``。``, ``．``, ``｡``) separating labels
like ``.``. Labels are encoded as written: no IDNA case folding or validation (the documented
``Lê Lợi`` gives ``xn--L Li-gpa4517b``). A failed encoding or decoding gives ``""``.

The engines have no Punycode codec, so these are host functions run in Python (DuckDB); the
ClickHouse dialect refuses them with that reason.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.host import host_function
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import or_empty
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["domain_from_punycode", "domain_to_punycode", "from_punycode", "to_punycode"]

_S = KqlType.STRING
_LABEL_SEPARATORS = re.compile("[.\u3002\uff0e\uff61]")
_PREFIX = "xn--"


def to_punycode(text: str | None) -> str:
    """The Punycode of ``text`` (without ``xn--``); ``""`` when it cannot be encoded."""
    try:
        return (text or "").encode("punycode").decode("ascii")
    except UnicodeError:
        return ""


def from_punycode(text: str | None) -> str:
    """The text whose Punycode is ``text``; ``""`` when ``text`` is not Punycode."""
    try:
        return (text or "").encode("ascii").decode("punycode")
    except UnicodeError:
        return ""


def domain_to_punycode(domain: str | None) -> str:
    """A domain name with each non-ASCII label as ``xn--`` + Punycode (``""`` on failure)."""
    labels = []
    for label in _LABEL_SEPARATORS.split(domain or ""):
        if label.isascii():
            labels.append(label)
            continue
        encoded = to_punycode(label)
        if not encoded:
            return ""
        labels.append(_PREFIX + encoded)
    return ".".join(labels)


def domain_from_punycode(domain: str | None) -> str:
    """A domain name with each ``xn--`` label decoded (``""`` when one does not decode)."""
    labels = []
    for label in (domain or "").split("."):
        if not label.lower().startswith(_PREFIX):
            labels.append(label)
            continue
        decoded = from_punycode(label[len(_PREFIX) :])
        if not decoded:
            return ""
        labels.append(decoded)
    return ".".join(labels)


def _register(name: str, call: Any) -> None:
    host = "wk_" + name
    host_function(host, [_S], _S, handles_nulls=True)(call)

    def lower(ctx: LowerContext, bcall: BCall, args: list[exp.Expression]) -> exp.Expression:
        return or_empty(ctx.dialect.call(host, args[0]))

    scalar(name, args=1, returns=_S, params=[_S], fold=call)(lower)


for _name, _call in (
    ("punycode_from_string", to_punycode),
    ("punycode_to_string", from_punycode),
    ("punycode_domain_to_string", domain_to_punycode),
    ("punycode_domain_from_string", domain_from_punycode),
):
    _register(_name, _call)
