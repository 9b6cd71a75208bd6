"""How a geo function computed in Python becomes a KQL function.

:func:`geo_function` registers the Python implementation twice: as the host function
``wk_<name>`` (a store that runs Python calls it per row; ClickHouse refuses it in its dialect
unless the dialect maps it to a native function) and as the function's constant folder, so a call
on constants is computed once at compile time, on any engine.

The implementation takes plain Python values, dynamic arguments as JSON text, and returns Python
values (dicts and lists for dynamic). Invalid input gives None; Kusto's strings are never null, so a
string result of None becomes ''. Optional arguments are filled with their documented defaults, so
the host function always takes every parameter.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import h3
from sqlglot import exp

from watchkeeper.kql.functions.host import host_function
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["GeoImpl", "geo_function"]

GeoImpl = Callable[..., Any]
_D = KqlType.DYNAMIC
# what malformed input may raise inside the geometry libraries: Kusto answers null instead
_INVALID = (ValueError, TypeError, RuntimeError, KeyError, IndexError, OverflowError, h3.H3BaseException)


def _safe(impl: GeoImpl, returns: KqlType) -> GeoImpl:
    @functools.wraps(impl)  # keeps the signature: DuckDB counts the parameters of a UDF
    def call(*values: Any) -> Any:
        try:
            result = impl(*values)
        except _INVALID:
            result = None
        return "" if result is None and returns is KqlType.STRING else result

    return call


def _host(impl: GeoImpl, returns: KqlType) -> GeoImpl:
    """The implementation as a UDF: dynamic results leave as JSON text."""
    safe = _safe(impl, returns)
    if returns is not _D:
        return safe

    @functools.wraps(impl)
    def as_json(*values: Any) -> Any:
        result = safe(*values)
        return None if result is None else json.dumps(result)

    return as_json


def _fold(impl: GeoImpl, params: Sequence[KqlType], returns: KqlType, defaults: Sequence[Any]) -> GeoImpl:
    """The implementation on constant arguments: dynamic values enter as JSON text, as in SQL."""
    safe = _safe(impl, returns)

    def fold(*values: Any) -> Any:
        full = (
            [*values, *defaults[len(defaults) - (len(params) - len(values)) :]]
            if len(values) < len(params)
            else list(values)
        )
        return safe(
            *[json.dumps(v) if t is _D and v is not None else v for v, t in zip(full, params, strict=True)]
        )

    return fold


def geo_function(
    name: str, params: Sequence[KqlType], returns: KqlType, *, defaults: Sequence[Any] = ()
) -> Callable[[GeoImpl], GeoImpl]:
    """Register KQL scalar ``name`` computed by the decorated Python function.

    ``defaults`` are the values of the trailing optional parameters, in order.
    """
    host_name = f"wk_{name}"
    required = len(params) - len(defaults)

    def decorate(impl: GeoImpl) -> GeoImpl:
        host_function(host_name, params, returns, handles_nulls=True)(_host(impl, returns))

        @scalar(name, args=(required, len(params)), returns=returns, params=list(params),
                fold=_fold(impl, params, returns, defaults))  # fmt: skip
        def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
            d = ctx.dialect
            given = [
                a if call.args[i].type is params[i] else d.cast(a, params[i]) for i, a in enumerate(args)
            ]
            filled = [
                d.literal(v, t)
                for v, t in zip(defaults[len(args) - required :], params[len(args) :], strict=True)
            ]
            result = d.call(host_name, *given, *filled)
            return d.cast(result, _D) if returns is _D else result

        return impl

    return decorate
