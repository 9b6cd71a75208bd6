"""Host functions: scalar functions implemented in Python that an engine runs as a UDF.

Some KQL functions have no SQL spelling on an engine (``parse_xml``, the ``geo_*`` family on
DuckDB). The compiler calls them by name; a store that can run Python registers them. This is the
neutral description both sides share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from watchkeeper.schema.types import KqlType

__all__ = ["HostFunction"]


@dataclass(frozen=True)
class HostFunction:
    """A scalar function ``name(params...) -> returns`` computed by ``call`` on Python values.

    Values cross in storage form: strings, numbers, bools; dynamic as JSON text; datetimes as
    aware UTC datetimes; timespans as ticks. ``call`` gets None for a null argument unless
    ``handles_nulls`` is False, in which case a null argument gives a null result without a call.
    """

    name: str
    call: Callable[..., Any]
    params: tuple[KqlType, ...]
    returns: KqlType
    handles_nulls: bool = False
