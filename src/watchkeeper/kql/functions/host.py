"""The host functions the compiler may call (see :mod:`watchkeeper.schema.host`).

Families register the Python side here with :func:`host_function`; their lowering calls the
function by name through the dialect (an engine that cannot run it refuses in its dialect).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import KqlType

__all__ = ["HOST_FUNCTIONS", "host_function", "host_functions"]

HOST_FUNCTIONS: dict[str, HostFunction] = {}


def host_function(
    name: str, params: Sequence[KqlType], returns: KqlType, *, handles_nulls: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated Python function as host function ``name``."""

    def decorate(call: Callable[..., Any]) -> Callable[..., Any]:
        HOST_FUNCTIONS[name] = HostFunction(name, call, tuple(params), returns, handles_nulls)
        return call

    return decorate


def host_functions() -> list[HostFunction]:
    """Every registered host function (the function modules are imported by ``watchkeeper.kql``)."""
    return list(HOST_FUNCTIONS.values())
