"""Measures of lines and polygons on Kusto's sphere: distances, containment, lengths, areas,
perimeters, centroids, points along a line, closest points, and whether two shapes intersect.

Distances are meters and areas square meters on the sphere of radius 6,371,010 m; edges are
geodesics; a MultiPolygon is the union of its polygons (so overlapping parts count once). Shapes
are parsed and checked by :mod:`geo_shapes`; an invalid shape or coordinate gives null.
"""

from __future__ import annotations

import math
from typing import Any

import s2geometry as s2
import spherely

from watchkeeper.kql.functions.geo_math import EARTH_RADIUS, valid_point
from watchkeeper.kql.functions.geo_register import geo_function
from watchkeeper.kql.functions.geo_shapes import (
    Coord,
    geography,
    lines_of,
    lnglat,
    load,
    point_json,
    polygons_of,
    s2_point,
    s2_polygon,
    s2_polylines,
)
from watchkeeper.schema.types import KqlType

__all__ = ["closest_on_lines", "vector_lnglat"]

_T = KqlType
_R, _B, _D = _T.REAL, _T.BOOL, _T.DYNAMIC


def _angle(a: Any, b: Any) -> float:
    return float(s2.S1Angle(a, b).radians())


def vector_lnglat(x: float, y: float, z: float) -> Coord | None:
    """``(lng, lat)`` of the direction of a vector; None for the zero vector."""
    if x == y == z == 0:
        return None
    return (math.degrees(math.atan2(y, x)), math.degrees(math.atan2(z, math.hypot(x, y))))


def _sum(vectors: list[Any]) -> tuple[float, float, float]:
    return (sum(v.x() for v in vectors), sum(v.y() for v in vectors), sum(v.z() for v in vectors))


def closest_on_lines(polylines: tuple[Any, ...], point: Any) -> tuple[Any, int, Any]:
    """The closest point to ``point`` on any of ``polylines``: (point, next vertex, polyline)."""
    best = None
    for polyline in polylines:
        projected, next_vertex = polyline.Project(point)
        if best is None or _angle(point, projected) < _angle(point, best[0]):
            best = (projected, next_vertex, polyline)
    assert best is not None  # a valid shape has at least one line
    return best


# ---------------------------------------------------------------------------- points and shapes


@geo_function("geo_distance_point_to_line", [_R, _R, _D], _R)
def distance_point_to_line(lng: Any, lat: Any, line: Any) -> float | None:
    """Meters from a point to the nearest point of a line or multiline."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    if polylines is None or not valid_point(lng, lat):
        return None
    point = s2_point((lng, lat))
    return _angle(point, closest_on_lines(polylines, point)[0]) * EARTH_RADIUS


@geo_function("geo_distance_point_to_polygon", [_R, _R, _D], _R)
def distance_point_to_polygon(lng: Any, lat: Any, polygon: Any) -> float | None:
    """Meters from a point to a polygon or multipolygon; 0 inside it."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    if shape is None or not valid_point(lng, lat):
        return None
    return float(shape.GetDistance(s2_point((lng, lat))).radians()) * EARTH_RADIUS


@geo_function("geo_point_in_polygon", [_R, _R, _D], _B)
def point_in_polygon(lng: Any, lat: Any, polygon: Any) -> bool | None:
    """Whether a point is inside a polygon or multipolygon (S2's semi-open boundary rule)."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    if shape is None or not valid_point(lng, lat):
        return None
    return bool(shape.Contains(s2_point((lng, lat))))


@geo_function("geo_closest_point_on_line", [_R, _R, _D], _D)
def closest_point_on_line(lng: Any, lat: Any, line: Any) -> dict[str, Any] | None:
    """The point of a line or multiline nearest to a point, as a GeoJSON Point."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    if polylines is None or not valid_point(lng, lat):
        return None
    return point_json(lnglat(closest_on_lines(polylines, s2_point((lng, lat)))[0]))


@geo_function("geo_closest_point_on_polygon", [_R, _R, _D], _D)
def closest_point_on_polygon(lng: Any, lat: Any, polygon: Any) -> dict[str, Any] | None:
    """The point of a polygon nearest to a point (the point itself when inside), as a GeoJSON Point."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    if shape is None or not valid_point(lng, lat):
        return None
    return point_json(lnglat(shape.Project(s2_point((lng, lat)))))


# ---------------------------------------------------------------------------- lines


@geo_function("geo_line_length", [_D], _R)
def line_length(line: Any) -> float | None:
    """Total meters of a line or multiline."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    return None if polylines is None else sum(p.GetLength().radians() for p in polylines) * EARTH_RADIUS


@geo_function("geo_line_centroid", [_D], _D)
def line_centroid(line: Any) -> dict[str, Any] | None:
    """The length-weighted centroid of a line or multiline, as a GeoJSON Point."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    center = None if polylines is None else vector_lnglat(*_sum([p.GetCentroid() for p in polylines]))
    return None if center is None else point_json(center)


def _single_line(line: Any) -> Any | None:
    """The S2Polyline of a LineString (these functions take one line, not a multiline)."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    return None if polylines is None or load(line).get("type") != "LineString" else polylines[0]


@geo_function("geo_line_interpolate_point", [_D, _R], _D)
def line_interpolate_point(line: Any, fraction: Any) -> dict[str, Any] | None:
    """The point at ``fraction`` (0 to 1) of a line's length, as a GeoJSON Point."""
    polyline = _single_line(line)
    if polyline is None or fraction is None or not 0.0 <= fraction <= 1.0:
        return None
    return point_json(lnglat(polyline.Interpolate(float(fraction))))


@geo_function("geo_line_locate_point", [_D, _R, _R], _R)
def line_locate_point(line: Any, lng: Any, lat: Any) -> float | None:
    """The fraction (0 to 1) of a line's length at the point of the line nearest to a point."""
    polyline = _single_line(line)
    if polyline is None or not valid_point(lng, lat):
        return None
    projected, next_vertex = polyline.Project(s2_point((lng, lat)))
    return float(polyline.UnInterpolate(projected, next_vertex))


# ---------------------------------------------------------------------------- polygons


@geo_function("geo_polygon_area", [_D], _R)
def polygon_area(polygon: Any) -> float | None:
    """Square meters of a polygon or multipolygon."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    return None if shape is None else float(shape.GetArea()) * EARTH_RADIUS**2


@geo_function("geo_polygon_perimeter", [_D], _R)
def polygon_perimeter(polygon: Any) -> float | None:
    """Meters around the boundary (holes included) of a polygon or multipolygon."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    if shape is None:
        return None
    total = 0.0
    for i in range(shape.num_loops()):
        loop = shape.loop(i)
        n = loop.num_vertices()
        total += sum(_angle(loop.vertex(k), loop.vertex((k + 1) % n)) for k in range(n))
    return total * EARTH_RADIUS


@geo_function("geo_polygon_centroid", [_D], _D)
def polygon_centroid(polygon: Any) -> dict[str, Any] | None:
    """The area-weighted centroid of a polygon or multipolygon, as a GeoJSON Point."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    center = None if shape is None else vector_lnglat(*_sum([shape.GetCentroid()]))
    return None if center is None else point_json(center)


# ---------------------------------------------------------------------------- intersects


def _shape(text: Any, kind: str) -> Any | None:
    if not isinstance(text, str):
        return None
    parsed = lines_of(text) if kind == "line" else polygons_of(text)
    return None if parsed is None else geography(text)


def _intersects(a: Any, a_kind: str, b: Any, b_kind: str) -> bool | None:
    first, second = _shape(a, a_kind), _shape(b, b_kind)
    return None if first is None or second is None else bool(spherely.intersects(first, second))


@geo_function("geo_intersects_2lines", [_D, _D], _B)
def intersects_2lines(line1: Any, line2: Any) -> bool | None:
    """Whether two lines or multilines share a point."""
    return _intersects(line1, "line", line2, "line")


@geo_function("geo_intersects_2polygons", [_D, _D], _B)
def intersects_2polygons(polygon1: Any, polygon2: Any) -> bool | None:
    """Whether two polygons or multipolygons share a point."""
    return _intersects(polygon1, "polygon", polygon2, "polygon")


@geo_function("geo_intersects_line_with_polygon", [_D, _D], _B)
def intersects_line_with_polygon(line: Any, polygon: Any) -> bool | None:
    """Whether a line or multiline and a polygon or multipolygon share a point."""
    return _intersects(line, "line", polygon, "polygon")
