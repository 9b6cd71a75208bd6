"""The pieces every built-in ASIM parser shares: the time window and the filtering parameters.

ASIM's filtering parsers take the same kinds of parameters (learn.microsoft.com/azure/sentinel/
normalization-about-parsers, "Filtering parser parameters"): ``starttime``/``endtime`` on
``TimeGenerated``; ``*_has_any`` lists matched as terms; ``*_has_any_prefix`` lists of address
prefixes; ``*_in`` lists matched exactly. An empty list or ``'*'`` means "no filter".
"""

from __future__ import annotations

__all__ = ["IN_TIME", "TIME_PARAMS", "any_prefix", "dynamic_params", "has_any", "in_list"]

TIME_PARAMS = "starttime:datetime=datetime(null), endtime:datetime=datetime(null)"
IN_TIME = (
    "(isnull(starttime) or TimeGenerated >= starttime) and (isnull(endtime) or TimeGenerated <= endtime)"
)


def dynamic_params(*names: str) -> str:
    """Parameter declarations for list parameters, each defaulting to an empty list."""
    return ", ".join(f"{name}:dynamic=dynamic([])" for name in names)


def has_any(parameter: str, *columns: str) -> str:
    """An ASIM ``*_has_any`` filter: a row passes when any of ``columns`` has one of the terms."""
    tests = " or ".join(f"{column} has_any ({parameter})" for column in columns)
    return f"(array_length({parameter}) == 0 or {tests})"


def any_prefix(parameter: str, *columns: str) -> str:
    """An ASIM ``*_has_any_prefix`` filter: a row passes when any of ``columns`` is an address
    starting with one of the prefixes."""
    tests = " or ".join(f"has_any_ipv4_prefix({column}, {parameter})" for column in columns)
    return f"(array_length({parameter}) == 0 or {tests})"


def in_list(parameter: str, column: str) -> str:
    """An ASIM ``*_in`` filter: exact, case-sensitive membership as Kusto's ``in``. Rules also pass
    one value instead of a list (``eventresultdetails_in="403"``): that value alone is matched."""
    single = f"(isnull(array_length({parameter})) and {column} == tostring({parameter}))"
    return f"(array_length({parameter}) == 0 or {column} in ({parameter}) or {single})"
