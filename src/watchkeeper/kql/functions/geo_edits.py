"""Shapes made from shapes: densify, simplify and buffer lines, polygons and points.

* densify: GeoJSON edges are straight in longitude/latitude, Kusto's are geodesics; an edge is
  halved (at its planar midpoint) until the planar edge is within ``tolerance`` meters of the
  geodesic chain (the documented example: a 130 km edge at 10 m becomes 8 equal parts).
  ``preserve_crossing`` keeps an edge that crosses the antimeridian on the short side.
* simplify: vertices closer than ``tolerance`` meters merge (S2Builder's snapping with the input
  vertices as sites), then vertices whose removal moves the shape by less than ``tolerance`` go
  (Douglas-Peucker); a line or polygon that collapses is null.
* buffer: S2's buffer operation (``error_fraction`` = tolerance / radius, at least 1e-6 as Kusto's
  "0.0001% of the radius"). A line is buffered as the union of paper-thin polygons along its edges.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import s2geometry as s2

from watchkeeper.kql.functions.geo_math import EARTH_RADIUS, valid_point
from watchkeeper.kql.functions.geo_register import geo_function
from watchkeeper.kql.functions.geo_shapes import (
    Coord,
    Rings,
    lines_of,
    polygon_json,
    polygons_of,
    rings_of_s2,
    s2_point,
    s2_polygon,
    s2_polylines,
    shape_json,
)
from watchkeeper.schema.types import KqlType

__all__ = ["buffer_points", "buffer_polygon", "densify_edge", "simplify_chain"]

_T = KqlType
_R, _B, _D = _T.REAL, _T.BOOL, _T.DYNAMIC
_MAX_POINTS = 10485760  # Kusto's limit on a densified shape
_THIN = 1e-9  # radians (6 mm): the width of the polygon standing in for a line edge


def _meters(a: Any, b: Any) -> float:
    return float(s2.S1Angle(a, b).radians()) * EARTH_RADIUS


def _edge_distance(point: Any, a: Any, b: Any) -> float:
    edge = s2.S2Polyline()
    edge.InitFromS2Points([a, b])
    return _meters(point, edge.Project(point)[0])


# ---------------------------------------------------------------------------- densify


def _wrap(lng: float) -> float:
    return lng if -180.0 <= lng <= 180.0 else (lng + 180.0) % 360.0 - 180.0


def densify_edge(a: Coord, b: Coord, tolerance: float, out: list[Coord]) -> None:
    """Append the points strictly between ``a`` and ``b`` that bring the geodesics within tolerance."""
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    ends = (_wrap(a[0]), a[1]), (_wrap(b[0]), b[1])
    if (
        ends[0] == ends[1]
        or _edge_distance(s2_point((_wrap(mid[0]), mid[1])), *map(s2_point, ends)) <= tolerance
    ):
        return
    if len(out) > _MAX_POINTS:
        raise ValueError("densified shape too large")
    densify_edge(a, mid, tolerance, out)
    out.append((_wrap(mid[0]), mid[1]))
    densify_edge(mid, b, tolerance, out)


def _densify(points: tuple[Coord, ...], tolerance: float, preserve_crossing: bool) -> tuple[Coord, ...]:
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        target = b
        if preserve_crossing and abs(b[0] - a[0]) > 180.0:  # the short way, across the antimeridian
            target = (b[0] - math.copysign(360.0, b[0] - a[0]), b[1])
        densify_edge(a, target, tolerance, out)
        out.append(b)
    return tuple(out)


def _tolerance(value: Any, low: float, high: float) -> float | None:
    return float(value) if value is not None and low <= value <= high else None


@geo_function("geo_line_densify", [_D, _R, _B], _D, defaults=[10.0, False])
def line_densify(line: Any, tolerance: Any, preserve_crossing: Any) -> dict[str, Any] | None:
    """A line whose planar edges are replaced by geodesic chains within ``tolerance`` meters."""
    lines, tol = lines_of(line) if isinstance(line, str) else None, _tolerance(tolerance, 0.1, 10000.0)
    if lines is None or tol is None:
        return None
    return shape_json([_densify(part, tol, bool(preserve_crossing)) for part in lines])


@geo_function("geo_polygon_densify", [_D, _R, _B], _D, defaults=[10.0, False])
def polygon_densify(polygon: Any, tolerance: Any, preserve_crossing: Any) -> dict[str, Any] | None:
    """A polygon whose planar edges are replaced by geodesic chains within ``tolerance`` meters."""
    polygons, tol = (
        polygons_of(polygon) if isinstance(polygon, str) else None,
        _tolerance(tolerance, 0.1, 10000.0),
    )
    if polygons is None or tol is None:
        return None
    return polygon_json([tuple(_densify(ring, tol, bool(preserve_crossing)) for ring in p) for p in polygons])


# ---------------------------------------------------------------------------- simplify


def _snap(points: list[Coord], sites: list[Any], tolerance: float) -> list[Coord]:
    """Each vertex moved to the first site within ``tolerance`` (a new site when there is none)."""
    out: list[Coord] = []
    for coord in points:
        p = s2_point(coord)
        site = next((s for s in sites if _meters(p, s[1]) <= tolerance), None)
        if site is None:
            site = (coord, p)
            sites.append(site)
        if not out or out[-1] != site[0]:
            out.append(site[0])
    return out


def simplify_chain(points: list[Coord], tolerance: float) -> list[Coord]:
    """Douglas-Peucker on the sphere: keep the ends, and any vertex farther than tolerance."""
    if len(points) < 3:
        return points
    a, b = s2_point(points[0]), s2_point(points[-1])
    far, index = max((_edge_distance(s2_point(p), a, b) if points[0] != points[-1] else _meters(s2_point(p), a), i)
                     for i, p in enumerate(points[1:-1], 1))  # fmt: skip
    if far <= tolerance:
        return [points[0], points[-1]]
    return simplify_chain(points[: index + 1], tolerance)[:-1] + simplify_chain(points[index:], tolerance)


def _simplify_ring(ring: tuple[Coord, ...], sites: list[Any], tolerance: float) -> tuple[Coord, ...] | None:
    snapped = _snap(list(ring[:-1]), sites, tolerance)
    while len(snapped) > 1 and snapped[-1] == snapped[0]:
        snapped.pop()
    if len(snapped) < 3:
        return None
    start = s2_point(snapped[0])
    far = max(range(len(snapped)), key=lambda i: _meters(start, s2_point(snapped[i])))
    closed = [*snapped, snapped[0]]
    kept = simplify_chain(closed[: far + 1], tolerance)[:-1] + simplify_chain(closed[far:], tolerance)
    return tuple(kept) if len(set(kept)) >= 3 else None


@geo_function("geo_line_simplify", [_D, _R], _D, defaults=[10.0])
def line_simplify(line: Any, tolerance: Any) -> dict[str, Any] | None:
    """A line with the vertices within ``tolerance`` meters of the simplified line removed."""
    lines, tol = lines_of(line) if isinstance(line, str) else None, _tolerance(tolerance, 0.0, 1e6)
    if lines is None or tol is None:
        return None
    sites: list[Any] = []
    parts = [simplify_chain(_snap(list(part), sites, tol), tol) for part in lines]
    return None if any(len(p) < 2 for p in parts) else shape_json([tuple(p) for p in parts])


def _simplify_polygon(rings: Rings, sites: list[Any], tolerance: float) -> Rings | None:
    shell = _simplify_ring(rings[0], sites, tolerance)
    if shell is None:
        return None
    holes = [_simplify_ring(r, sites, tolerance) for r in rings[1:]]
    return (shell, *[h for h in holes if h is not None])


def simplified_polygons(polygons: tuple[Rings, ...], tolerance: float) -> dict[str, Any] | None:
    """The GeoJSON of simplified polygons; parts that collapse are dropped (null if all do)."""
    sites: list[Any] = []
    parts = [_simplify_polygon(p, sites, tolerance) for p in polygons]
    return polygon_json([p for p in parts if p is not None])


@geo_function("geo_polygon_simplify", [_D, _R], _D, defaults=[10.0])
def polygon_simplify(polygon: Any, tolerance: Any) -> dict[str, Any] | None:
    """A polygon with the vertices within ``tolerance`` meters of the simplified rings removed."""
    polygons, tol = (
        polygons_of(polygon) if isinstance(polygon, str) else None,
        _tolerance(tolerance, 0.0, 1e6),
    )
    if polygons is None or tol is None:
        return None
    return simplified_polygons(polygons, tol)


# ---------------------------------------------------------------------------- buffer


def _buffer(radius: float, tolerance: float, add: Any) -> dict[str, Any] | None:
    result = s2.S2Polygon()
    options = s2.S2BufferOperationOptions()
    options.set_buffer_radius(s2.S1Angle.Radians(radius / EARTH_RADIUS))
    options.set_error_fraction(min(max(tolerance / radius, 1e-6), 0.999999))
    operation = s2.S2BufferOperation(s2.S2PolygonLayer(result), options)
    add(operation)
    if not operation.Build() or result.is_empty():
        return None
    return polygon_json(rings_of_s2(result))


def _radius_ok(radius: Any, tolerance: Any) -> bool:
    return radius is not None and tolerance is not None and radius > 0 and tolerance > 0


def _thin_edge(a: Any, b: Any) -> Any:
    """A polygon 6 mm wide along the geodesic from ``a`` to ``b`` (S2 buffers polygons and points)."""
    ax, bx = (a.x(), a.y(), a.z()), (b.x(), b.y(), b.z())
    n = (ax[1] * bx[2] - ax[2] * bx[1], ax[2] * bx[0] - ax[0] * bx[2], ax[0] * bx[1] - ax[1] * bx[0])
    scale = _THIN / math.sqrt(sum(c * c for c in n))

    def shifted(p: tuple[float, float, float]) -> Any:
        return s2.S2Point_FromRaw(*(p[i] + n[i] * scale for i in range(3))).Normalize()

    loop = s2.S2Loop([a, b, shifted(bx), shifted(ax)])
    loop.Normalize()
    return s2.S2Polygon(loop)


def buffer_points(
    points: list[Coord], edges: list[tuple[Any, Any]], radius: float, tolerance: float
) -> dict[str, Any] | None:
    """The buffer of points and geodesic edges."""

    def add(operation: Any) -> None:
        for coord in points:
            operation.AddPoint(s2_point(coord))
        for a, b in edges:
            operation.AddPolygon(_thin_edge(a, b))

    return _buffer(radius, tolerance, add)


def buffer_polygon(shape: Any, radius: float, tolerance: float) -> dict[str, Any] | None:
    """The buffer of an S2Polygon (a copy: the operation takes ownership of what it is given)."""
    return _buffer(radius, tolerance, lambda operation: operation.AddPolygon(s2.S2Polygon(shape)))


@geo_function("geo_point_buffer", [_R, _R, _R, _R], _D, defaults=[10.0])
def point_buffer(lng: Any, lat: Any, radius: Any, tolerance: Any) -> dict[str, Any] | None:
    """The polygon of the points within ``radius`` meters of a point."""
    if not valid_point(lng, lat) or not _radius_ok(radius, tolerance):
        return None
    return buffer_points([(lng, lat)], [], float(radius), float(tolerance))


@geo_function("geo_line_buffer", [_D, _R, _R], _D, defaults=[10.0])
def line_buffer(line: Any, radius: Any, tolerance: Any) -> dict[str, Any] | None:
    """The polygon of the points within ``radius`` meters of a line or multiline."""
    polylines = s2_polylines(line) if isinstance(line, str) else None
    if polylines is None or not _radius_ok(radius, tolerance):
        return None
    edges = [(p.vertex(i), p.vertex(i + 1)) for p in polylines for i in range(p.num_vertices() - 1)]
    return buffer_points([], edges, float(radius), float(tolerance))


@geo_function("geo_polygon_buffer", [_D, _R, _R], _D, defaults=[10.0])
def polygon_buffer(polygon: Any, radius: Any, tolerance: Any) -> dict[str, Any] | None:
    """The polygon of the points within ``radius`` meters of a polygon or multipolygon."""
    shape = s2_polygon(polygon) if isinstance(polygon, str) else None
    if shape is None or not _radius_ok(radius, tolerance):
        return None
    return buffer_polygon(shape, float(radius), float(tolerance))
