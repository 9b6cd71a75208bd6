"""The geo_* family on DuckDB and chdb: values Kusto documents, Kusto's invalid-input rules, and
properties (distances are a metric, cells hold their points, lines and fractions invert).

Plain-SQL functions (distance, circle, angle, azimuth) run on both engines. The others run as Python
host functions on DuckDB; ClickHouse refuses them by name on stored rows, and computes them on
constants, which the compiler folds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tests.kql.functions.dynamic_helpers import close, rows_of, shared
from watchkeeper import Workspace
from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.dialect_clickhouse import ClickHouseDialect
from watchkeeper.kql.functions.geo_math import distance
from watchkeeper.kql.functions.host import HOST_FUNCTIONS

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CENTRAL_PARK = {"type": "Polygon", "coordinates": [[[-73.9495, 40.7969], [-73.95807266235352, 40.80068603561921],
                [-73.98201942443848, 40.76825672305777], [-73.97317886352539, 40.76455136505513], [-73.9495, 40.7969]]]}  # fmt: skip
OVERLAP = {"type": "Polygon", "coordinates": [[[-73.94262313842773, 40.775991804565585], [-73.98107528686523, 40.791849155467695],
           [-73.99600982666016, 40.77092185281977], [-73.96150588989258, 40.75609977566361], [-73.94262313842773, 40.775991804565585]]]}  # fmt: skip
LINE = {"type": "LineString", "coordinates": [[-73.95807266235352, 40.800426144169315], [-73.94966125488281, 40.79691751000055],
        [-73.97317886352539, 40.764486356930334], [-73.98210525512695, 40.76786669510221], [-73.96004676818848, 40.7980870753293]]}  # fmt: skip
LNG = st.floats(-179.0, 179.0)
LAT = st.floats(-80.0, 80.0)


def one(ws: Workspace, expr: str, **row: Any) -> Any:
    """``expr`` over one stored row (never constant-folded)."""
    return rows_of(ws, [{"k": 0, **row}], expr)[0][0]


# ---------------------------------------------------------------------------- plain SQL, both engines


def test_distance_is_haversine_on_kustos_sphere(engine_ws: Workspace) -> None:
    got = one(
        engine_ws, "geo_distance_2points(a, b, c, d)", a=-122.407628, b=47.578557, c=-118.275287, d=34.019056
    )
    assert math.isclose(got, 1546754.35197381, rel_tol=1e-12)


def test_distance_of_invalid_coordinates_is_null(engine_ws: Workspace) -> None:
    assert one(engine_ws, "geo_distance_2points(a, 1.0, 1.0, 1.0)", a=300.0) is None
    assert one(engine_ws, "geo_point_in_circle(a, 1.0, 1.0, 1.0, -1.0)", a=1.0) is None


def test_point_in_circle_of_documented_places(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"x": -122.143564, "y": 47.535677}, {"x": -122.137575, "y": 47.630683}],
                   "geo_point_in_circle(x, y, -122.100896, 47.527351, 3500)")  # fmt: skip
    assert rows == [(True,), (False,)]


def test_angle_and_azimuth(engine_ws: Workspace) -> None:
    assert math.isclose(
        one(engine_ws, "geo_angle(a, 10, 0, 5, 3, -10)", a=0.0), 2.94493843406882, rel_tol=1e-12
    )
    assert one(engine_ws, "geo_angle(a, 10, 0, 10, 3, -10)", a=0.0) is None
    assert math.isclose(one(engine_ws, "geo_azimuth(a, 0, 0, 1)", a=0.0), 0.0, abs_tol=1e-12)
    assert math.isclose(one(engine_ws, "geo_azimuth(a, 0, 1, 0)", a=0.0), math.pi / 2, rel_tol=1e-12)
    assert one(engine_ws, "geo_azimuth(a, 10, 5, 10)", a=5.0) is None


def test_spheroid_distance_is_wgs84_geodesic(ws: Workspace) -> None:
    got = one(ws, "geo_distance_2points(a, 47.578557, -118.275287, 34.019056, true)", a=-122.407628)
    assert math.isclose(got, 1545043.6438616, rel_tol=1e-9)


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
@PROPERTY
@given(st.tuples(LNG, LAT), st.tuples(LNG, LAT), st.tuples(LNG, LAT), st.floats(0, 3e6))
def test_distance_is_a_metric_and_circles_agree(engine: str, a: tuple[float, float], b: tuple[float, float],
                                                c: tuple[float, float], radius: float) -> None:  # fmt: skip
    ws = shared(engine)
    row = {"ax": a[0], "ay": a[1], "bx": b[0], "by": b[1], "cx": c[0], "cy": c[1], "r": radius}
    ab, ba, bc, ac, inside = rows_of(ws, [row], "geo_distance_2points(ax, ay, bx, by)", "geo_distance_2points(bx, by, ax, ay)",
                                     "geo_distance_2points(bx, by, cx, cy)", "geo_distance_2points(ax, ay, cx, cy)",
                                     "geo_point_in_circle(ax, ay, bx, by, r)")[0]  # fmt: skip
    assert math.isclose(ab, ba, rel_tol=1e-9, abs_tol=1e-6)
    assert ac <= ab + bc + 1e-6
    assert close(ab, distance(*a, *b), 1e-9)
    if abs(ab - radius) > 1e-6:
        assert inside == (ab <= radius)


# ---------------------------------------------------------------------------- cells


def test_host_functions_fold_on_constants_on_every_engine(engine_ws: Workspace) -> None:
    rows = engine_ws.query("print s = geo_point_to_s2cell(-80.195829, 25.802215, 8), "
                           "h = geo_point_to_h3cell(-74.04450446039874, 40.689250859314974, 6), g = geo_point_to_geohash(200, 1, 8)").rows  # fmt: skip
    assert rows == [("88d9b", "862a1072fffffff", "")]


def test_s2_cells(ws: Workspace) -> None:
    assert one(ws, "geo_point_to_s2cell(x, 25.802215, 8)", x=-80.195829) == "88d9b"
    assert one(ws, "geo_point_to_s2cell(x, 1.0, 35)", x=1.0) == ""
    assert one(ws, "geo_s2cell_to_central_point(t)", t="1234567") == {
        "type": "Point", "coordinates": [pytest.approx(9.86830731850408), pytest.approx(27.468392925827604)]}  # fmt: skip
    assert one(ws, "geo_s2cell_to_central_point(t)", t="a") is None
    assert sorted(one(ws, "geo_s2cell_neighbors(t)", t="89c259")) == sorted(
        ["89c25d", "89c2f9", "89c251", "89c257", "89c25f", "89c25b", "89c2f7", "89c2f5"])  # fmt: skip
    polygon = one(ws, "geo_s2cell_to_polygon(t)", t="89c259")["coordinates"][0]
    assert len(polygon) == 5
    assert close(polygon[0], [-74.030012249838478, 40.8012684339439])


def test_h3_cells(ws: Workspace) -> None:
    cell = "862a1072fffffff"
    assert one(ws, "geo_h3cell_parent(t)", t=cell) == "852a1073fffffff"
    assert one(ws, "geo_h3cell_neighbors(t)", t=cell) == [
        "862a10727ffffff", "862a10707ffffff", "862a1070fffffff", "862a10777ffffff", "862a100dfffffff", "862a100d7ffffff"]  # fmt: skip
    assert one(ws, "geo_h3cell_children(t)", t=cell)[0] == "872a10728ffffff"
    assert one(ws, "array_length(geo_h3cell_children(t, geo_h3cell_level(t) + 3))", t=cell) == 343
    assert one(ws, "geo_h3cell_parent(t, 15)", t=cell) == ""
    assert one(ws, "geo_h3cell_level(t)", t="abc") is None
    assert one(ws, "geo_h3cell_rings(t, 150)", t=cell) is None
    rings = one(ws, "geo_h3cell_rings(t, 2)", t="861f8894fffffff")
    assert [len(r) for r in rings] == [1, 6, 12]
    assert rings[1][0] == "861f88947ffffff"
    assert one(ws, "geo_point_to_h3cell(x, 1.0, 16)", x=1.0) == ""


def test_geohash_cells(ws: Workspace) -> None:
    assert one(ws, "geo_geohash_to_central_point(g)", g="sunny") == {
        "type": "Point", "coordinates": [42.47314453125, 23.70849609375]}  # fmt: skip
    assert one(ws, "geo_geohash_to_polygon(g)", g="dr5ru")["coordinates"][0][:2] == [
        [-74.00390625, 40.7373046875], [-73.9599609375, 40.7373046875]]  # fmt: skip
    assert one(ws, "geo_geohash_neighbors(g)", g="sunny") == [
        "sunnt", "sunpj", "sunnx", "sunpn", "sunnv", "sunpp", "sunnz", "sunnw"]  # fmt: skip
    assert one(ws, "geo_geohash_neighbors(g)", g="a") is None
    assert one(ws, "geo_point_to_geohash(x, 1.0, 19)", x=1.0) == ""


@PROPERTY
@given(LNG, LAT, st.integers(0, 30), st.integers(0, 15), st.integers(1, 12))
def test_a_point_lies_in_its_cells(
    ws: Workspace, lng: float, lat: float, s2_level: int, h3_res: int, length: int
) -> None:
    row = {"x": lng, "y": lat, "l": s2_level, "r": h3_res, "n": length}
    s2_back, h3_back, in_h3, box, g = rows_of(ws, [row],
        "geo_point_to_s2cell(todouble(geo_s2cell_to_central_point(geo_point_to_s2cell(x, y, l)).coordinates[0]), "
        "todouble(geo_s2cell_to_central_point(geo_point_to_s2cell(x, y, l)).coordinates[1]), l) == geo_point_to_s2cell(x, y, l)",
        "geo_point_to_h3cell(todouble(geo_h3cell_to_central_point(geo_point_to_h3cell(x, y, r)).coordinates[0]), "
        "todouble(geo_h3cell_to_central_point(geo_point_to_h3cell(x, y, r)).coordinates[1]), r) == geo_point_to_h3cell(x, y, r)",
        "geo_h3cell_level(geo_point_to_h3cell(x, y, r)) == r",
        "geo_geohash_to_polygon(geo_point_to_geohash(x, y, n)).coordinates[0]", "geo_point_to_geohash(x, y, n)")[0]  # fmt: skip
    assert s2_back
    assert h3_back
    assert in_h3
    assert len(g) == length
    (x0, y0), (x1, y1) = box[0], box[2]
    assert x0 <= lng <= x1
    assert y0 <= lat <= y1


def test_host_function_on_stored_rows_is_refused_on_clickhouse() -> None:
    ws = shared("clickhouse")
    with pytest.raises(UnsupportedError, match=r"geo_polygon_area\(\) on ClickHouse"):
        rows_of(ws, [{"p": CENTRAL_PARK}], "geo_polygon_area(p)")


@pytest.mark.parametrize("name", sorted(n for n in HOST_FUNCTIONS if n.startswith("wk_geo_")))
def test_every_geo_host_function_is_refused_by_name_on_clickhouse(name: str) -> None:
    arity = len(HOST_FUNCTIONS[name].params)
    with pytest.raises(UnsupportedError, match=rf"{name.removeprefix('wk_')}\(\) on ClickHouse"):
        ClickHouseDialect().call(name, *[exp.null() for _ in range(arity)])


# ---------------------------------------------------------------------------- measures


def test_area_perimeter_and_length(ws: Workspace) -> None:
    both = {"type": "MultiPolygon", "coordinates": [CENTRAL_PARK["coordinates"], OVERLAP["coordinates"]]}
    assert close(one(ws, "geo_polygon_area(p)", p=CENTRAL_PARK), 3475207.28346606, 1e-9)
    assert close(one(ws, "geo_polygon_area(p)", p=both), 10889971.5343487, 1e-9)  # the union
    assert close(one(ws, "geo_polygon_perimeter(p)", p=both), 15943.5384578745, 1e-9)
    multiline = {"type": "MultiLineString", "coordinates": [[[-73.95798683166502, 40.800556090021466], [-73.98193359375, 40.76819171855746]],
                 [[-73.94940376281738, 40.79691751000055], [-73.97317886352539, 40.76435634049001]]]}  # fmt: skip
    assert close(one(ws, "geo_line_length(l)", l=multiline), 8262.24339753741, 1e-9)
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 10], [0, 0]]]}
    assert one(ws, "geo_polygon_perimeter(p)", p=bad) is None


def test_points_against_polygons_and_lines(ws: Workspace) -> None:
    assert close(
        one(ws, "geo_distance_point_to_polygon(-73.9839, 40.7705, p)", p=CENTRAL_PARK), 259.940756070596, 1e-9
    )
    assert one(ws, "geo_distance_point_to_polygon(-73.965, 40.78, p)", p=CENTRAL_PARK) == 0
    assert one(ws, "geo_point_in_polygon(-73.965, 40.78, p)", p=CENTRAL_PARK) is True
    assert one(ws, "geo_point_in_polygon(200.0, 1.0, p)", p=CENTRAL_PARK) is None
    road = {
        "type": "LineString",
        "coordinates": [[-115.115385, 36.229195], [-115.136995, 36.200366], [-115.140252, 36.192470]],
    }
    assert one(ws, "geo_distance_point_to_line(-115.13, 36.2, l)", l=road) < 700
    closest = one(ws, "geo_closest_point_on_polygon(-73.9839, 40.7705, p)", p=CENTRAL_PARK)["coordinates"]
    assert close(distance(-73.9839, 40.7705, *closest), 259.940756070596, 1e-6)


def test_line_centroid_interpolate_and_locate(ws: Workspace) -> None:
    assert close(one(ws, "todouble(geo_line_centroid(l).coordinates[0])", l=LINE), -73.9660675626837, 1e-12)
    assert close(
        one(ws, "todouble(geo_line_interpolate_point(l, 0.9).coordinates[0])", l=LINE),
        -73.96556545832799,
        1e-12,
    )
    assert one(ws, "geo_line_interpolate_point(l, 1.5)", l=LINE) is None


@PROPERTY
@given(st.floats(0.0, 1.0))
def test_locate_inverts_interpolate(ws: Workspace, fraction: float) -> None:
    got = one(ws, "geo_line_locate_point(l, todouble(geo_line_interpolate_point(l, f).coordinates[0]), "
                  "todouble(geo_line_interpolate_point(l, f).coordinates[1]))", l=LINE, f=fraction)  # fmt: skip
    assert math.isclose(got, fraction, abs_tol=1e-7)


# ---------------------------------------------------------------------------- edits


def test_densify_halves_edges_until_within_tolerance(ws: Workspace) -> None:
    line = {"type": "LineString", "coordinates": [[50, 50], [51, 51]]}
    got = one(ws, "geo_line_densify(l)", l=line)["coordinates"]
    assert got == [[50 + i / 8, 50 + i / 8] for i in range(9)]
    assert one(ws, "geo_line_densify(l, 0)", l=line) is None
    short = {"type": "Polygon", "coordinates": [[[-73.958244, 40.800719], [-73.949146, 40.79695], [-73.973093, 40.764226],
             [-73.982062, 40.768159], [-73.958244, 40.800719]]]}  # fmt: skip
    assert one(ws, "geo_polygon_densify(p)", p=short) == short


def test_simplify_keeps_far_vertices_and_collapses_to_null(ws: Workspace) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[-73.94885122776031, 40.79673476355657], [-73.94885927438736, 40.79692258628347],
               [-73.94887939095497, 40.79692055577034], [-73.9488673210144, 40.79693476936093], [-73.94888743758202, 40.79693476936093],
               [-73.9488834142685, 40.796959135509105], [-73.94890084862709, 40.79695304397289], [-73.94906312227248, 40.79710736271788],
               [-73.94923612475395, 40.7968708081794], [-73.94885122776031, 40.79673476355657]]]}  # fmt: skip
    assert one(ws, "geo_polygon_simplify(p)", p=polygon)["coordinates"][0] == [
        [-73.94885122776031, 40.79673476355657], [-73.94906312227248, 40.79710736271788],
        [-73.94923612475395, 40.7968708081794], [-73.94885122776031, 40.79673476355657]]  # fmt: skip
    tiny = {"type": "LineString", "coordinates": [[1.1, 1.1], [1.2, 1.2]]}
    assert one(ws, "geo_line_simplify(l, 100000)", l=tiny) is None
    assert one(ws, "geo_line_simplify(l, 10)", l=tiny) == tiny


def test_buffers_hold_their_shapes(ws: Workspace) -> None:
    circle = one(ws, "geo_point_buffer(x, 25.27, 5000)", x=-80.32)
    area = one(ws, "geo_polygon_area(p)", p=circle)
    assert math.pi * 5000**2 * 0.99 < area < math.pi * 5000**2
    road = {
        "type": "LineString",
        "coordinates": [[14.429214068940496, 50.10043066548272], [14.431184174126173, 50.10046525983731]],
    }
    strip = one(ws, "geo_line_buffer(l, 2, 0.1)", l=road)
    assert one(ws, "geo_point_in_polygon(14.43, 50.10044, p)", p=strip) is True
    assert one(ws, "geo_polygon_buffer(p, 0)", p=CENTRAL_PARK) is None
    grown = one(ws, "geo_polygon_buffer(p, 100)", p=CENTRAL_PARK)
    assert one(ws, "geo_polygon_area(p)", p=grown) > 3475207.28346606


def test_intersections_and_unions(ws: Workspace) -> None:
    a = {"type": "LineString", "coordinates": [[-73.978929, 40.785155], [-73.980903, 40.782621]]}
    b = {"type": "LineString", "coordinates": [[-73.985195, 40.788275], [-73.974552, 40.779761]]}
    point = one(ws, "geo_intersection_2lines(a, b)", a=a, b=b)
    assert close(point, {"type": "Point", "coordinates": [-73.979837116670978, 40.783989289772165]})
    far = {"type": "LineString", "coordinates": [[3, 3], [4, 4]]}
    assert one(ws, "geo_intersection_2lines(a, b)", a={"type": "LineString", "coordinates": [[1, 1], [2, 2]]}, b=far) == {
        "type": "GeometryCollection", "geometries": []}  # fmt: skip
    assert one(ws, "geo_intersects_2lines(a, b)", a=a, b=b) is True
    assert one(ws, "geo_intersects_2polygons(a, b)", a={"type": "Polygon"}, b=CENTRAL_PARK) is None
    union = one(ws, "geo_union_polygons_array(pack_array(a, b))", a=CENTRAL_PARK, b=OVERLAP)
    assert close(one(ws, "geo_polygon_area(p)", p=union), 10889971.5343487, 1e-9)
    l1 = {"type": "LineString", "coordinates": [[0, 0], [1, 1], [2, 1]]}
    l2 = {"type": "LineString", "coordinates": [[1, 1], [2, 1], [3, 0]]}
    merged = one(ws, "geo_union_lines_array(pack_array(a, b))", a=l1, b=l2)
    assert merged["type"] == "LineString"
    assert len(merged["coordinates"]) == 4


def test_coverings(ws: Workspace) -> None:
    tokens = one(ws, "geo_polygon_to_s2cells(p, 14)", p=CENTRAL_PARK)
    assert tokens
    assert {len(t) for t in tokens} == {8}
    assert one(ws, "geo_point_to_s2cell(-73.965, 40.78, 14)", p=CENTRAL_PARK) in tokens
    big = {"type": "Polygon", "coordinates": [[[0, 0], [0, 50], [100, 50], [0, 0]]]}
    assert one(ws, "geo_polygon_to_s2cells(p, 30)", p=big) is None
    cells = one(ws, "geo_polygon_to_h3cells(p, 9)", p=CENTRAL_PARK)
    assert "892a100d2c7ffff" in cells or len(cells) > 10
    line = {"type": "LineString", "coordinates": [[-73.97, 40.78], [-73.96, 40.79]]}
    assert len(one(ws, "geo_line_to_s2cells(l, 16)", l=line)) > 5


def test_from_wkt(ws: Workspace) -> None:
    assert one(ws, "geo_from_wkt(w)", w="POINT (1 2)") == {"type": "Point", "coordinates": [1, 2]}
    assert one(ws, "geo_from_wkt(w)", w="MULTIPOINT ((1 1), (2 2))") == {
        "type": "MultiPoint",
        "coordinates": [[1, 1], [2, 2]],
    }
    assert one(ws, "geo_from_wkt(w)", w="GEOMETRYCOLLECTION (POINT (1 1),LINESTRING (2 2, 3.5 3))") == {
        "type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 1]},
                                                     {"type": "LineString", "coordinates": [[2, 2], [3.5, 3]]}]}  # fmt: skip
    assert one(ws, "geo_from_wkt(w)", w="LINESTRING") is None


# ---------------------------------------------------------------------------- plugins


def test_geo_lookup_plugins(ws: Workspace) -> None:
    ws.ingest("Shapes_CL", [{"name": "park", "shape": CENTRAL_PARK}, {"name": "road", "shape": LINE}])
    ws.ingest(
        "Places_CL", [{"place": "inside", "x": -73.965, "y": 40.78}, {"place": "far", "x": 0.0, "y": 0.0}]
    )
    polygons = ws.query("Places_CL | evaluate geo_polygon_lookup((Shapes_CL | where name == 'park'), shape, x, y, "
                        "return_unmatched = true) | project place, name").rows  # fmt: skip
    assert sorted(polygons, key=str) == [("far", ""), ("inside", "park")]
    lines = ws.query("Places_CL | evaluate geo_line_lookup((Shapes_CL | where name == 'road'), shape, x, y, 2000, "
                     "return_lookup_key = true) | project place, name, shape").rows  # fmt: skip
    assert lines == [("inside", "road", LINE)]


def test_dynamic_results_are_json(ws: Workspace) -> None:
    text = one(ws, "tostring(geo_s2cell_to_polygon(t))", t="89c259")
    assert json.loads(text)["type"] == "Polygon"


def test_ip_geolocation_is_refused_precisely(engine_ws: Workspace) -> None:
    with pytest.raises(UnsupportedError, match=r"geo_info_from_ip_address\(\): it needs a GeoIP database"):
        engine_ws.query('print geo_info_from_ip_address("20.53.203.50")')
