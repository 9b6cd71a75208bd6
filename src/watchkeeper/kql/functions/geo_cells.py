"""Grid cells: geohash, S2 and H3 tokens, their central points, polygons, neighbors and hierarchy.

Cells are strings: a geohash of 1 to 18 base-32 characters, an S2 cell token (the hexadecimal cell
id without trailing zeros, levels 0 to 30), an H3 cell index in hexadecimal (resolutions 0 to 15).
An invalid token, coordinate or level gives null ('' for a string result), as Kusto documents.
S2 comes from Google's S2 library and H3 from Uber's, the libraries Kusto's results follow (the
same tokens, vertices and neighbor order as the documented examples).
"""

from __future__ import annotations

from typing import Any

import h3
import s2geometry as s2

from watchkeeper.kql.functions.geo_math import valid_point
from watchkeeper.kql.functions.geo_register import geo_function
from watchkeeper.kql.functions.geo_shapes import Coord, lnglat, point_json, polygon_json, s2_point
from watchkeeper.schema.types import KqlType

__all__ = ["geohash_bounds", "geohash_encode", "h3_cell", "s2_cell"]

_T = KqlType
_R, _L, _S, _D = _T.REAL, _T.LONG, _T.STRING, _T.DYNAMIC
_GEOHASH = "0123456789bcdefghjkmnpqrstuvwxyz"
# the neighbor order of Kusto's documented example (geo_geohash_neighbors('sunny')): SW, NW, SE, N, W,
# NE, E, S as (longitude, latitude) steps
_GEOHASH_STEPS = ((-1, -1), (-1, 1), (1, -1), (0, 1), (-1, 0), (1, 1), (1, 0), (0, -1))
# an optional H3 resolution left out: one level up (parent) or down (children) from the cell's own
_ADJACENT = -(2**31)
_MAX_CHILDREN = 1 << 20
_MAX_RING = 142


def _level(value: Any, low: int, high: int) -> int | None:
    if value is None or isinstance(value, bool) or not float(value).is_integer():
        return None
    level = int(value)
    return level if low <= level <= high else None


# ---------------------------------------------------------------------------- geohash


def geohash_encode(lng: float, lat: float, length: int) -> str:
    """The geohash of a point: interleaved longitude/latitude bisections, five bits a character."""
    low, high = [-180.0, -90.0], [180.0, 90.0]
    out, axis = [], 0
    for _ in range(length):
        bits = 0
        for _ in range(5):
            mid = (low[axis] + high[axis]) / 2
            coord = lng if axis == 0 else lat
            bits = bits * 2 + (coord >= mid)
            (low if coord >= mid else high)[axis] = mid
            axis ^= 1
        out.append(_GEOHASH[bits])
    return "".join(out)


def geohash_bounds(geohash: Any) -> tuple[Coord, Coord] | None:
    """The ``(min lng, min lat), (max lng, max lat)`` of a geohash; None when it is not one."""
    if (
        not isinstance(geohash, str)
        or not 1 <= len(geohash) <= 18
        or any(ch not in _GEOHASH for ch in geohash)
    ):
        return None
    low, high, axis = [-180.0, -90.0], [180.0, 90.0], 0
    for ch in geohash:
        value = _GEOHASH.index(ch)
        for bit in range(4, -1, -1):
            mid = (low[axis] + high[axis]) / 2
            (low if value >> bit & 1 else high)[axis] = mid
            axis ^= 1
    return (low[0], low[1]), (high[0], high[1])


def _box(low: Coord, high: Coord) -> dict[str, Any] | None:
    ring = (low, (high[0], low[1]), high, (low[0], high[1]), low)
    return polygon_json([(ring,)])


@geo_function("geo_point_to_geohash", [_R, _R, _L], _S, defaults=[5])
def point_to_geohash(lng: Any, lat: Any, accuracy: Any) -> str | None:
    """The geohash of a point; accuracy (length) 1 to 18."""
    length = _level(accuracy, 1, 18)
    return geohash_encode(lng, lat, length) if length is not None and valid_point(lng, lat) else None


@geo_function("geo_geohash_to_central_point", [_S], _D)
def geohash_to_central_point(geohash: Any) -> dict[str, Any] | None:
    """The center of a geohash cell as a GeoJSON Point."""
    bounds = geohash_bounds(geohash)
    if bounds is None:
        return None
    (x0, y0), (x1, y1) = bounds
    return point_json(((x0 + x1) / 2, (y0 + y1) / 2))


@geo_function("geo_geohash_to_polygon", [_S], _D)
def geohash_to_polygon(geohash: Any) -> dict[str, Any] | None:
    """The rectangle of a geohash cell as a GeoJSON Polygon."""
    bounds = geohash_bounds(geohash)
    return None if bounds is None else _box(*bounds)


@geo_function("geo_geohash_neighbors", [_S], _D)
def geohash_neighbors(geohash: Any) -> list[str] | None:
    """The (up to) eight geohashes of the same length around a geohash."""
    bounds = geohash_bounds(geohash)
    if bounds is None:
        return None
    (x0, y0), (x1, y1) = bounds
    out: list[str] = []
    for dx, dy in _GEOHASH_STEPS:
        lat = (y0 + y1) / 2 + dy * (y1 - y0)
        if -90.0 < lat < 90.0:  # no cell beyond a pole
            lng = ((x0 + x1) / 2 + dx * (x1 - x0) + 180.0) % 360.0 - 180.0
            out.append(geohash_encode(lng, lat, len(geohash)))
    return [g for i, g in enumerate(out) if g not in out[:i] and g != geohash]


# ---------------------------------------------------------------------------- S2


def s2_cell(token: Any) -> Any | None:
    """The S2CellId of a token; None when it is not a valid token."""
    if not isinstance(token, str) or not 1 <= len(token) <= 16:
        return None
    cell = s2.S2CellId.FromToken(token)
    return cell if cell.is_valid() else None


@geo_function("geo_point_to_s2cell", [_R, _R, _L], _S, defaults=[11])
def point_to_s2cell(lng: Any, lat: Any, level: Any) -> str | None:
    """The token of the S2 cell at ``level`` (0 to 30) holding a point."""
    at = _level(level, 0, 30)
    if at is None or not valid_point(lng, lat):
        return None
    return str(s2.S2CellId(s2_point((lng, lat))).parent(at).ToToken())


@geo_function("geo_s2cell_to_central_point", [_S], _D)
def s2cell_to_central_point(token: Any) -> dict[str, Any] | None:
    """The center of an S2 cell as a GeoJSON Point."""
    cell = s2_cell(token)
    return None if cell is None else point_json(lnglat(cell.ToPoint()))


@geo_function("geo_s2cell_to_polygon", [_S], _D)
def s2cell_to_polygon(token: Any) -> dict[str, Any] | None:
    """The four geodesic edges of an S2 cell as a GeoJSON Polygon."""
    cell = s2_cell(token)
    if cell is None:
        return None
    corners = [lnglat(s2.S2Cell(cell).GetVertex(i)) for i in range(4)]
    return polygon_json([((*corners, corners[0]),)])


@geo_function("geo_s2cell_neighbors", [_S], _D)
def s2cell_neighbors(token: Any) -> list[str] | None:
    """The S2 cells of the same level touching a cell by an edge or a corner."""
    cell = s2_cell(token)
    return None if cell is None else [str(n.ToToken()) for n in cell.GetAllNeighbors(cell.level())]


# ---------------------------------------------------------------------------- H3


def h3_cell(cell: Any) -> str | None:
    """The H3 index of a cell token, lower case; None when it is not a valid cell."""
    if not isinstance(cell, str) or not cell or len(cell) > 16 or not h3.is_valid_cell(cell):
        return None
    return cell.lower()


@geo_function("geo_point_to_h3cell", [_R, _R, _L], _S, defaults=[6])
def point_to_h3cell(lng: Any, lat: Any, resolution: Any) -> str | None:
    """The H3 cell at ``resolution`` (0 to 15) holding a point."""
    res = _level(resolution, 0, 15)
    return str(h3.latlng_to_cell(lat, lng, res)) if res is not None and valid_point(lng, lat) else None


@geo_function("geo_h3cell_to_central_point", [_S], _D)
def h3cell_to_central_point(cell: Any) -> dict[str, Any] | None:
    """The center of an H3 cell as a GeoJSON Point."""
    index = h3_cell(cell)
    if index is None:
        return None
    lat, lng = h3.cell_to_latlng(index)
    return point_json((lng, lat))


@geo_function("geo_h3cell_to_polygon", [_S], _D)
def h3cell_to_polygon(cell: Any) -> dict[str, Any] | None:
    """The boundary of an H3 cell as a GeoJSON Polygon."""
    index = h3_cell(cell)
    if index is None:
        return None
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(index)]
    return polygon_json([((*ring, ring[0]),)])


@geo_function("geo_h3cell_level", [_S], _T.INT)
def h3cell_level(cell: Any) -> int | None:
    """The resolution of an H3 cell."""
    index = h3_cell(cell)
    return None if index is None else int(h3.get_resolution(index))


@geo_function("geo_h3cell_parent", [_S, _L], _S, defaults=[_ADJACENT])
def h3cell_parent(cell: Any, resolution: Any) -> str | None:
    """The H3 cell containing a cell at a coarser resolution (by default one level up)."""
    index = h3_cell(cell)
    if index is None:
        return None
    own = h3.get_resolution(index)
    res = own - 1 if resolution == _ADJACENT else _level(resolution, 0, 15)
    return str(h3.cell_to_parent(index, res)) if res is not None and 0 <= res <= own else None


@geo_function("geo_h3cell_children", [_S, _L], _D, defaults=[_ADJACENT])
def h3cell_children(cell: Any, resolution: Any) -> list[str] | None:
    """The H3 cells a cell holds at a finer resolution (by default one level down)."""
    index = h3_cell(cell)
    if index is None:
        return None
    own = h3.get_resolution(index)
    res = own + 1 if resolution == _ADJACENT else _level(resolution, 0, 15)
    if res is None or not own <= res <= 15 or h3.cell_to_children_size(index, res) > _MAX_CHILDREN:
        return None
    return [str(c) for c in h3.cell_to_children(index, res)]


def _rings(index: str, distance: int) -> list[list[str]]:
    """Cells by grid distance 0..distance, each ring in the library's k-ring order."""
    disk = h3.grid_disk(index, distance)
    order = {c: i for i, c in enumerate(disk)}
    seen, ring, rings = {index}, [index], [[index]]
    for _ in range(distance):
        ring = sorted(
            {n for c in ring for n in h3.grid_disk(c, 1)} - seen, key=lambda c: order.get(c, len(order))
        )
        seen.update(ring)
        rings.append(ring)
    return rings


@geo_function("geo_h3cell_neighbors", [_S], _D)
def h3cell_neighbors(cell: Any) -> list[str] | None:
    """The H3 cells sharing an edge with a cell."""
    index = h3_cell(cell)
    return None if index is None else _rings(index, 1)[1]


@geo_function("geo_h3cell_rings", [_S, _L], _D)
def h3cell_rings(cell: Any, distance: Any) -> list[list[str]] | None:
    """The rings of H3 cells at grid distance 0 to ``distance`` (at most 142) from a cell."""
    index, k = h3_cell(cell), _level(distance, 0, _MAX_RING)
    return None if index is None or k is None else _rings(index, k)
