"""GeoJSON shapes as Kusto reads them, and as the geometry libraries need them.

Kusto's rules for the ``dynamic`` shapes its geo functions take (the same on every function page):
a coordinate is ``[longitude, latitude]`` within [-180, 180] x [-90, 90]; a LineString has at least
two points and no edge of 180 degrees or more; a Polygon's rings have at least four entries, the
first equal to the last, at least three distinct vertices, and do not cross; a ring encloses the
smaller of the two regions it bounds (orientation does not matter), the first ring is the shell and
the others are holes; a MultiPolygon is the union of its polygons. Edges are geodesics on a sphere.
Anything else is invalid, and the function gives null.

Shapes arrive as JSON text (a host function's argument) and are parsed once per distinct text: the
caches keep the parsed S2 objects, so a literal polygon is built once for a whole column.
"""

from __future__ import annotations

import itertools
import json
import math
from functools import lru_cache, reduce
from typing import Any

import s2geometry as s2
import spherely

from watchkeeper.kql.functions.geo_math import EARTH_RADIUS, valid_point

__all__ = [
    "Coord",
    "Line",
    "Rings",
    "geography",
    "latlng",
    "lines_of",
    "lnglat",
    "load",
    "meters",
    "point_json",
    "polygon_json",
    "polygons_of",
    "rings_of_s2",
    "s2_point",
    "s2_polygon",
    "s2_polylines",
    "shape_json",
    "tidy",
]

Coord = tuple[float, float]
Line = tuple[Coord, ...]
Rings = tuple[tuple[Coord, ...], ...]  # shell, then holes; each closed (first == last)
_CACHE = 512


@lru_cache(maxsize=_CACHE)
def load(text: str) -> Any:
    """The JSON value of ``text``; None when it is not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _coord(value: Any) -> Coord | None:
    if not isinstance(value, list) or len(value) not in (2, 3) or not valid_point(value[0], value[1]):
        return None
    return (float(value[0]), float(value[1]))


def _coords(values: Any) -> list[Coord] | None:
    if not isinstance(values, list):
        return None
    points = [_coord(v) for v in values]
    return None if any(p is None for p in points) else [p for p in points if p is not None]


def _dedup(points: list[Coord]) -> list[Coord]:
    """Drop vertices equal to the one before (a zero-length edge adds nothing)."""
    return [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]


def _edges_ok(points: list[Coord]) -> bool:
    """Every edge shorter than 180 degrees, so the geodesic between its ends is unique."""
    return all(
        s2.S1Angle(s2_point(a), s2_point(b)).radians() < math.pi - 1e-12
        for a, b in itertools.pairwise(points)
    )


def _line(values: Any) -> Line | None:
    points = _coords(values)
    if points is None or len(points) < 2:
        return None
    points = _dedup(points)
    return tuple(points) if len(points) >= 2 and _edges_ok(points) else None


def _ring(values: Any) -> tuple[Coord, ...] | None:
    points = _coords(values)
    if points is None or len(points) < 4 or points[0] != points[-1]:
        return None
    points = _dedup(points)
    if len(set(points)) < 3 or not _edges_ok(points):
        return None
    return tuple(points)


@lru_cache(maxsize=_CACHE)
def lines_of(text: str) -> tuple[Line, ...] | None:
    """The lines of a LineString or MultiLineString; None when invalid."""
    shape = load(text)
    if not isinstance(shape, dict):
        return None
    coords = shape.get("coordinates")
    if shape.get("type") == "LineString":
        line = _line(coords)
        return None if line is None else (line,)
    if shape.get("type") == "MultiLineString" and isinstance(coords, list) and coords:
        parts = [_line(c) for c in coords]
        return None if any(p is None for p in parts) else tuple(p for p in parts if p is not None)
    return None


def _polygon(values: Any) -> Rings | None:
    if not isinstance(values, list) or not values:
        return None
    rings = [_ring(r) for r in values]
    return None if any(r is None for r in rings) else tuple(r for r in rings if r is not None)


@lru_cache(maxsize=_CACHE)
def polygons_of(text: str) -> tuple[Rings, ...] | None:
    """The polygons of a Polygon or MultiPolygon; None when invalid."""
    shape = load(text)
    if not isinstance(shape, dict):
        return None
    coords = shape.get("coordinates")
    if shape.get("type") == "Polygon":
        polygon = _polygon(coords)
        return None if polygon is None else (polygon,)
    if shape.get("type") == "MultiPolygon" and isinstance(coords, list) and coords:
        parts = [_polygon(c) for c in coords]
        return None if any(p is None for p in parts) else tuple(p for p in parts if p is not None)
    return None


# ---------------------------------------------------------------------------- S2


def s2_point(coord: Coord) -> Any:
    """The unit vector of ``(lng, lat)``."""
    return s2.S2LatLng.FromDegrees(coord[1], coord[0]).ToPoint()


def lnglat(point: Any) -> Coord:
    """``(lng, lat)`` in degrees of an S2 point."""
    ll = s2.S2LatLng(point)
    return (ll.lng().degrees(), ll.lat().degrees())


def latlng(coord: Coord) -> Any:
    """The S2LatLng of ``(lng, lat)``."""
    return s2.S2LatLng.FromDegrees(coord[1], coord[0])


def _loop(ring: tuple[Coord, ...]) -> Any | None:
    loop = s2.S2Loop([s2_point(c) for c in ring[:-1]])
    if not loop.IsValid():
        return None
    loop.Normalize()  # Kusto: a ring bounds the smaller of its two regions
    return loop


def _s2_rings(rings: Rings) -> Any | None:
    loops = [_loop(r) for r in rings]
    if any(loop is None for loop in loops):
        return None
    polygon = s2.S2Polygon()
    polygon.InitNested(loops)
    return polygon if polygon.IsValid() else None


def _union(a: Any, b: Any) -> Any:
    union = s2.S2Polygon()
    union.InitToUnion(a, b)
    return union


@lru_cache(maxsize=_CACHE)
def s2_polygon(text: str) -> Any | None:
    """The S2Polygon of a Polygon or MultiPolygon (the union of its parts); None when invalid."""
    polygons = polygons_of(text)
    if polygons is None:
        return None
    parts = [_s2_rings(p) for p in polygons]
    if any(p is None for p in parts):
        return None
    return reduce(_union, parts)


@lru_cache(maxsize=_CACHE)
def s2_polylines(text: str) -> tuple[Any, ...] | None:
    """One S2Polyline per line of a LineString or MultiLineString; None when invalid."""
    lines = lines_of(text)
    if lines is None:
        return None
    polylines = []
    for line in lines:
        polyline = s2.S2Polyline()
        polyline.InitFromS2Points([s2_point(c) for c in line])
        polylines.append(polyline)
    return tuple(polylines)


def rings_of_s2(polygon: Any) -> list[Rings]:
    """The polygons of an S2Polygon as GeoJSON rings: shells counterclockwise, holes clockwise."""
    out: list[list[tuple[Coord, ...]]] = []
    for i in range(polygon.num_loops()):
        loop = polygon.loop(i)
        ring = [lnglat(loop.vertex(k)) for k in range(loop.num_vertices())]
        if loop.is_hole():
            ring.reverse()
        ring.append(ring[0])
        if loop.depth() % 2 == 0 or not out:
            out.append([tuple(ring)])
        else:
            out[-1].append(tuple(ring))
    return [tuple(p) for p in out]


# ---------------------------------------------------------------------------- spherely


@lru_cache(maxsize=_CACHE)
def geography(text: str) -> Any | None:
    """A spherely geography of a line or polygon shape (polygons unioned); None when invalid."""
    lines = lines_of(text)
    if lines is not None:
        parts = [spherely.create_linestring(list(line)) for line in lines]
        return parts[0] if len(parts) == 1 else spherely.create_multilinestring(parts)
    polygons = polygons_of(text)
    if polygons is None or s2_polygon(text) is None:
        return None
    made = [spherely.create_polygon(list(p[0]), [list(h) for h in p[1:]] or None) for p in polygons]
    return reduce(spherely.union, made)


# ---------------------------------------------------------------------------- GeoJSON out


def tidy(value: float) -> float | int:
    """A coordinate as Kusto prints it: whole numbers without a fraction."""
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def _xy(coord: Coord) -> list[float | int]:
    return [tidy(coord[0]), tidy(coord[1])]


def point_json(coord: Coord) -> dict[str, Any]:
    """A GeoJSON Point."""
    return {"type": "Point", "coordinates": _xy(coord)}


def polygon_json(polygons: list[Rings]) -> dict[str, Any] | None:
    """A GeoJSON Polygon (one part) or MultiPolygon; None for no part."""
    coords = [[[_xy(c) for c in ring] for ring in p] for p in polygons]
    if not coords:
        return None
    return (
        {"type": "Polygon", "coordinates": coords[0]}
        if len(coords) == 1
        else {"type": "MultiPolygon", "coordinates": coords}
    )


def shape_json(lines: list[Line]) -> dict[str, Any] | None:
    """A GeoJSON LineString (one part) or MultiLineString; None for no part."""
    coords = [[_xy(c) for c in line] for line in lines]
    if not coords:
        return None
    return (
        {"type": "LineString", "coordinates": coords[0]}
        if len(coords) == 1
        else {"type": "MultiLineString", "coordinates": coords}
    )


def meters(angle_radians: float) -> float:
    """Meters on Kusto's sphere of an angle in radians."""
    return angle_radians * EARTH_RADIUS
