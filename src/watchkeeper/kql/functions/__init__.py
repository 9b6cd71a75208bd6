"""The KQL function library: one module per family, each registering into :mod:`registry`."""

from watchkeeper.kql.functions import (  # noqa: F401  (importing registers the functions)
    aggregates,
    conditional,
    conversions,
    datetime,
    dynamic,
    math,
    operators,
    parsing,
    peephole,
    strings,
    window,
)
from watchkeeper.kql.functions.registry import AGGREGATES, OPERATORS, SCALARS, FunctionSpec, lookup

__all__ = ["AGGREGATES", "OPERATORS", "SCALARS", "FunctionSpec", "lookup"]
