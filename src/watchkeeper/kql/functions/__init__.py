"""The KQL function library: one module per family, each registering into :mod:`registry`."""

from watchkeeper.kql.functions import (  # noqa: F401  (importing registers the functions)
    aggregates,
    arrays,
    compression,
    conditional,
    conversions,
    datetime,
    dynamic,
    encodings,
    geo_cells,
    geo_edits,
    geo_math,
    geo_measures,
    geo_ops,
    geo_wkt,
    hash_combine,
    ip,
    ip_search,
    ipv6,
    math,
    operators,
    parsing,
    peephole,
    punycode,
    series,
    series_decompose,
    series_fill,
    sets,
    strings,
    text_parsers,
    units,
    versions,
    window,
)
from watchkeeper.kql.functions.registry import AGGREGATES, OPERATORS, SCALARS, FunctionSpec, lookup

__all__ = ["AGGREGATES", "OPERATORS", "SCALARS", "FunctionSpec", "lookup"]
