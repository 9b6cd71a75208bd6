"""Set operations on shapes, and shapes as grid cells.

Intersections and unions are computed on the sphere by s2geography (spherely), the S2-based
library whose results match Kusto's documented vertices; an empty intersection is an empty
GeometryCollection. A union of lines is returned as the fewest lines through its distinct edges.
Coverings: ``geo_polygon_to_s2cells``/``geo_line_to_s2cells`` are S2RegionCoverer coverings at one
level (at most 65,536 cells, else null); ``geo_polygon_to_h3cells`` is H3's polygon fill (cells
whose centroids are inside, planar edges, at most 61,680 cells). A positive ``radius`` buffers the
shape first.
"""

from __future__ import annotations

import json
from functools import reduce
from typing import Any

import h3
import s2geometry as s2
import spherely

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.geo_edits import buffer_points, buffer_polygon, simplified_polygons
from watchkeeper.kql.functions.geo_math import EARTH_RADIUS
from watchkeeper.kql.functions.geo_register import geo_function
from watchkeeper.kql.functions.geo_shapes import (
    Coord,
    Line,
    Rings,
    geography,
    lines_of,
    load,
    polygon_json,
    polygons_of,
    rings_of_s2,
    s2_polygon,
    s2_polylines,
    shape_json,
)
from watchkeeper.kql.functions.geo_wkt import geojson_of, parse_wkt
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["chain_edges"]

_T = KqlType
_R, _L, _D = _T.REAL, _T.LONG, _T.DYNAMIC
_MAX_S2_CELLS = 65536
_MAX_H3_CELLS = 61680


def _shape(text: Any, kind: str) -> Any | None:
    if not isinstance(text, str):
        return None
    parsed = lines_of(text) if kind == "line" else polygons_of(text)
    return None if parsed is None else geography(text)


def _intersection(a: Any, a_kind: str, b: Any, b_kind: str) -> dict[str, Any] | None:
    first, second = _shape(a, a_kind), _shape(b, b_kind)
    return None if first is None or second is None else geojson_of(spherely.intersection(first, second))


@geo_function("geo_intersection_2lines", [_D, _D], _D)
def intersection_2lines(line1: Any, line2: Any) -> dict[str, Any] | None:
    """The points and segments two lines share."""
    return _intersection(line1, "line", line2, "line")


@geo_function("geo_intersection_2polygons", [_D, _D], _D)
def intersection_2polygons(polygon1: Any, polygon2: Any) -> dict[str, Any] | None:
    """The region two polygons share."""
    return _intersection(polygon1, "polygon", polygon2, "polygon")


@geo_function("geo_intersection_line_with_polygon", [_D, _D], _D)
def intersection_line_with_polygon(line: Any, polygon: Any) -> dict[str, Any] | None:
    """The parts of a line inside a polygon."""
    return _intersection(line, "line", polygon, "polygon")


# ---------------------------------------------------------------------------- unions


def _members(array: Any, kind: str) -> list[Any] | None:
    """The geographies of a dynamic array of shapes; None if it is not one or any member is invalid."""
    items = load(array) if isinstance(array, str) else None
    if not isinstance(items, list) or not items:
        return None
    shapes = [_shape(json.dumps(item), kind) for item in items]
    return None if any(s is None for s in shapes) else shapes


def chain_edges(edges: list[tuple[Coord, Coord]]) -> list[Line]:
    """The fewest lines through distinct undirected edges, each line starting at a dead end if any."""
    unique: dict[frozenset[Coord], tuple[Coord, Coord]] = {}
    for a, b in edges:
        unique.setdefault(frozenset((a, b)), (a, b))
    links: dict[Coord, list[Coord]] = {}
    for a, b in unique.values():
        links.setdefault(a, []).append(b)
        links.setdefault(b, []).append(a)
    starts = [v for v, n in links.items() if len(n) != 2] + list(links)
    lines: list[Line] = []
    for start in starts:
        while links.get(start):
            line = [start]
            while links.get(line[-1]):
                nxt = links[line[-1]].pop(0)
                links[nxt].remove(line[-1])
                line.append(nxt)
            lines.append(tuple(line))
    return lines


def _edges_of(geometry: dict[str, Any]) -> list[tuple[Coord, Coord]]:
    kind, coords = geometry["type"], geometry.get("coordinates", [])
    parts = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else []
    members = geometry.get("geometries", [])
    edges = [(tuple(p[i][:2]), tuple(p[i + 1][:2])) for p in parts for i in range(len(p) - 1)]
    return edges + [e for m in members for e in _edges_of(m)]


@geo_function("geo_union_lines_array", [_D], _D)
def union_lines_array(lines: Any) -> dict[str, Any] | None:
    """The union of an array of lines, as a LineString or MultiLineString."""
    shapes = _members(lines, "line")
    if shapes is None:
        return None
    union = parse_wkt(str(spherely.to_wkt(reduce(spherely.union, shapes), precision=17)))
    return shape_json(chain_edges(_edges_of(union)))


def _union_polygons(polygons: Any) -> Any | None:
    shapes = _members(polygons, "polygon")
    return None if shapes is None else reduce(spherely.union, shapes)


@geo_function("geo_union_polygons_array", [_D], _D)
def union_polygons_array(polygons: Any) -> dict[str, Any] | None:
    """The union of an array of polygons, as a Polygon or MultiPolygon."""
    union = _union_polygons(polygons)
    return None if union is None else geojson_of(union)


@geo_function("geo_simplify_polygons_array", [_D, _R], _D, defaults=[10.0])
def simplify_polygons_array(polygons: Any, tolerance: Any) -> dict[str, Any] | None:
    """The union of an array of polygons, simplified within ``tolerance`` meters."""
    union = _union_polygons(polygons)
    if union is None or tolerance is None or not 0 <= tolerance <= 1e6:
        return None
    parsed = polygons_of(json.dumps(geojson_of(union)))
    return None if parsed is None else simplified_polygons(parsed, float(tolerance))


# ---------------------------------------------------------------------------- coverings


def _level(value: Any, high: int) -> int | None:
    return int(value) if value is not None and 0 <= value <= high and float(value).is_integer() else None


def _buffered(shape_text: str, radius: float) -> Any | None:
    """The S2Polygon of a shape grown by ``radius`` meters (the shape itself for 0)."""
    shape = s2_polygon(shape_text)
    if shape is None or radius == 0:
        return shape
    grown = buffer_polygon(shape, radius, radius * 0.01)
    return None if grown is None else s2_polygon(json.dumps(grown))


def _covering(region: Any, level: int, estimate: float) -> list[str] | None:
    if estimate > 4 * _MAX_S2_CELLS:  # far too many cells: do not enumerate them
        return None
    coverer = s2.S2RegionCoverer()
    coverer.set_min_level(level)
    coverer.set_max_level(level)
    coverer.set_max_cells(_MAX_S2_CELLS)
    cells = coverer.GetCovering(region)
    return None if len(cells) > _MAX_S2_CELLS else [str(c.ToToken()) for c in cells]


@geo_function("geo_polygon_to_s2cells", [_D, _L, _R], _D, defaults=[11, 0.0])
def polygon_to_s2cells(polygon: Any, level: Any, radius: Any) -> list[str] | None:
    """The S2 cells of one level covering a polygon (grown by ``radius`` meters)."""
    at = _level(level, 30)
    if not isinstance(polygon, str) or at is None or radius is None or radius < 0:
        return None
    region = _buffered(polygon, float(radius))
    if region is None:
        return None
    return _covering(region, at, region.GetArea() / s2.S2Cell.AverageArea(at))


@geo_function("geo_line_to_s2cells", [_D, _L, _R], _D, defaults=[11, 0.0])
def line_to_s2cells(line: Any, level: Any, radius: Any) -> list[str] | None:
    """The S2 cells of one level covering a line (grown by ``radius`` meters)."""
    at = _level(level, 30)
    polylines = s2_polylines(line) if isinstance(line, str) else None
    if polylines is None or at is None or radius is None or radius < 0:
        return None
    edge = (s2.S2Cell.AverageArea(at) ** 0.5) * EARTH_RADIUS
    length = sum(p.GetLength().radians() for p in polylines) * EARTH_RADIUS
    if radius == 0:
        cells = [_covering(p, at, length / edge) for p in polylines]
        if any(c is None for c in cells):
            return None
        return sorted(
            {t for c in cells if c is not None for t in c}, key=lambda t: s2.S2CellId.FromToken(t).id()
        )
    edges = [(p.vertex(i), p.vertex(i + 1)) for p in polylines for i in range(p.num_vertices() - 1)]
    grown = buffer_points([], edges, float(radius), float(radius) * 0.01)
    region = None if grown is None else s2_polygon(json.dumps(grown))
    return None if region is None else _covering(region, at, region.GetArea() / s2.S2Cell.AverageArea(at))


def _h3_polygon(rings: Rings) -> Any:
    return h3.LatLngPoly(
        [(lat, lng) for lng, lat in rings[0]], *[[(lat, lng) for lng, lat in r] for r in rings[1:]]
    )


@geo_function("geo_polygon_to_h3cells", [_D, _L, _R], _D, defaults=[6, 0.0])
def polygon_to_h3cells(polygon: Any, resolution: Any, radius: Any) -> list[str] | None:
    """The H3 cells whose centers are inside a polygon (grown by ``radius`` meters)."""
    res = _level(resolution, 15)
    if not isinstance(polygon, str) or res is None or radius is None or radius < 0:
        return None
    region = _buffered(polygon, float(radius))
    if region is None:
        return None
    if region.GetArea() * EARTH_RADIUS**2 / h3.average_hexagon_area(res, "m^2") > 4 * _MAX_H3_CELLS:
        return None
    parts = (
        polygons_of(polygon) if radius == 0 else polygons_of(json.dumps(polygon_json(rings_of_s2(region))))
    )
    if not parts:
        return None
    cells = h3.h3shape_to_cells(h3.LatLngMultiPoly(*[_h3_polygon(p) for p in parts]), res)
    return None if len(cells) > _MAX_H3_CELLS else sorted(str(c) for c in cells)


# ---------------------------------------------------------------------------- IP geolocation


@scalar("geo_info_from_ip_address", args=1, returns=_D, params=[_T.STRING])
def _geo_info_from_ip_address(ctx: LowerContext, call: BCall, args: list[Any]) -> Any:
    """Refused precisely: Kusto looks addresses up in its own GeoIP database, and watchkeeper ships none."""
    raise UnsupportedError(
        "geo_info_from_ip_address(): it needs a GeoIP database (country, region, city, coordinates), "
        "and watchkeeper ships none"
    )
