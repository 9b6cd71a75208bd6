"""Well-known text: ``geo_from_wkt`` (WKT to GeoJSON, as Kusto converts it), and the GeoJSON of
the geometries the spherical library computes (it speaks WKT).

The grammar is OGC's: ``POINT (1 2)``, ``LINESTRING (...)``, ``POLYGON ((...), (...))``, their
``MULTI`` forms (a MULTIPOINT's points with or without parentheses), ``GEOMETRYCOLLECTION (...)``,
``EMPTY``, and ``Z``/``M``/``ZM`` coordinates (extra ordinates are kept). Text that does not parse
gives null.
"""

from __future__ import annotations

import re
from typing import Any

import spherely

from watchkeeper.kql.functions.geo_register import geo_function
from watchkeeper.kql.functions.geo_shapes import tidy
from watchkeeper.schema.types import KqlType

__all__ = ["geojson_of", "parse_wkt"]

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|([A-Za-z]+)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))")
_TYPES = {
    "POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon", "GEOMETRYCOLLECTION": "GeometryCollection",
}  # fmt: skip
_DEPTH = {"Point": 0, "LineString": 1, "Polygon": 2, "MultiPoint": 1, "MultiLineString": 2, "MultiPolygon": 3}


class _Tokens:
    """The tokens of a WKT text: '(', ')', ',', words (upper case) and numbers."""

    def __init__(self, text: str) -> None:
        self.items: list[str | float] = []
        pos, text = 0, text.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"unexpected WKT at {pos}")
            word, number = match.group(4), match.group(5)
            self.items.append(word.upper() if word else float(number) if number else match.group(0).strip())
            pos = match.end()
        self.pos = 0

    def peek(self) -> str | float | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self, expected: str | None = None) -> str | float:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected} in WKT")
        self.pos += 1
        return token


def _coordinate(tokens: _Tokens) -> list[float | int]:
    values = []
    while isinstance(tokens.peek(), float):
        values.append(tidy(float(tokens.take())))
    if not 2 <= len(values) <= 4:
        raise ValueError("a WKT coordinate has 2 to 4 numbers")
    return values


def _nested(tokens: _Tokens, depth: int) -> list[Any]:
    """``depth`` levels of parenthesised lists around coordinates (0: one bare coordinate)."""
    if depth == 0:
        if tokens.peek() == "(":  # MULTIPOINT ((1 1), (2 2))
            tokens.take("(")
            point = _coordinate(tokens)
            tokens.take(")")
            return point
        return _coordinate(tokens)
    tokens.take("(")
    items = [_nested(tokens, depth - 1)]
    while tokens.peek() == ",":
        tokens.take(",")
        items.append(_nested(tokens, depth - 1))
    tokens.take(")")
    return items


def _geometry(tokens: _Tokens) -> dict[str, Any]:
    word = tokens.take()
    kind = _TYPES.get(str(word))
    if kind is None:
        raise ValueError(f"unknown WKT geometry {word}")
    if tokens.peek() in ("Z", "M", "ZM"):
        tokens.take()
    if tokens.peek() == "EMPTY":
        tokens.take()
        return {"type": kind, "geometries" if kind == "GeometryCollection" else "coordinates": []}
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": _collection(tokens)}
    return {"type": kind, "coordinates": _nested(tokens, _DEPTH[kind])}


def _collection(tokens: _Tokens) -> list[dict[str, Any]]:
    tokens.take("(")
    members = [_geometry(tokens)]
    while tokens.peek() == ",":
        tokens.take(",")
        members.append(_geometry(tokens))
    tokens.take(")")
    return members


def parse_wkt(text: str) -> dict[str, Any]:
    """The GeoJSON of a WKT text; ValueError when it is not WKT."""
    tokens = _Tokens(text)
    geometry = _geometry(tokens)
    if tokens.peek() is not None:
        raise ValueError("text after the WKT geometry")
    return geometry


@geo_function("geo_from_wkt", [KqlType.STRING], KqlType.DYNAMIC)
def from_wkt(text: Any) -> dict[str, Any] | None:
    """GeoJSON of a WKT geometry; null when the text is not WKT."""
    if not isinstance(text, str):
        return None
    geometry = parse_wkt(text)
    if geometry["type"] == "Point" and not geometry["coordinates"]:
        return None  # GeoJSON has no empty point
    return geometry


def geojson_of(geography: Any) -> dict[str, Any]:
    """The GeoJSON of a spherely geography, through its WKT at full precision."""
    geometry = parse_wkt(str(spherely.to_wkt(geography, precision=17)))
    if geometry["type"] == "Point" and not geometry["coordinates"]:
        return {"type": "GeometryCollection", "geometries": []}
    return geometry
