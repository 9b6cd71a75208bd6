"""Geospatial math in plain SQL (the same on every engine): ``geo_distance_2points``,
``geo_point_in_circle``, ``geo_angle`` and ``geo_azimuth``.

Kusto measures on a sphere of radius 6,371,010 m (the S2 library's Earth), with haversine
distances; a coordinate out of range ([-180, 180] longitude, [-90, 90] latitude) gives null.
``use_spheroid`` asks for the WGS-84 ellipsoid instead, computed by GeographicLib in a host function.
Each ``fold`` is the Python reference, used for constant arguments and by the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.host import host_function
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, bind_value, mul, num, sub
from watchkeeper.kql.plan import BCall, BLiteral
from watchkeeper.schema.types import KqlType

__all__ = [
    "EARTH_RADIUS",
    "angle",
    "azimuth",
    "distance",
    "point_in_circle",
    "spheroid_distance",
    "valid_point",
]

EARTH_RADIUS = 6371010.0  # meters: S2Earth::RadiusMeters(), which Kusto's results follow
_R = KqlType.REAL
_B = KqlType.BOOL
Sql = exp.Expression
Args = list[exp.Expression]
_TWO_PI = 2 * math.pi


# ---------------------------------------------------------------------------- Python reference


def valid_point(lng: Any, lat: Any) -> bool:
    """A WGS-84 coordinate Kusto accepts: finite numbers within [-180, 180] x [-90, 90]."""
    return (
        isinstance(lng, int | float) and isinstance(lat, int | float)
        and not isinstance(lng, bool) and not isinstance(lat, bool)
        and -180.0 <= lng <= 180.0 and -90.0 <= lat <= 90.0
    )  # fmt: skip


def _haversine(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """The central angle in radians (S2LatLng::GetDistance)."""
    p1, p2, l1, l2 = map(math.radians, (lat1, lat2, lng1, lng2))
    dlat, dlng = math.sin(0.5 * (p2 - p1)), math.sin(0.5 * (l2 - l1))
    return 2 * math.asin(math.sqrt(min(1.0, dlat * dlat + dlng * dlng * math.cos(p1) * math.cos(p2))))


def distance(lng1: Any, lat1: Any, lng2: Any, lat2: Any, use_spheroid: Any = False) -> float | None:
    """Meters between two points on Kusto's sphere (or on the WGS-84 ellipsoid)."""
    if not (valid_point(lng1, lat1) and valid_point(lng2, lat2)):
        return None
    if use_spheroid:
        meters = spheroid_distance(lng1, lat1, lng2, lat2)
        return None if meters is None else float(meters)
    return _haversine(lng1, lat1, lng2, lat2) * EARTH_RADIUS


@host_function("wk_geo_distance_spheroid", [_R, _R, _R, _R], _R)
def spheroid_distance(lng1: float, lat1: float, lng2: float, lat2: float) -> float | None:
    """Geodesic meters on the WGS-84 ellipsoid (Karney's algorithm)."""
    from geographiclib.geodesic import Geodesic

    if not (valid_point(lng1, lat1) and valid_point(lng2, lat2)):
        return None
    return float(Geodesic.WGS84.Inverse(lat1, lng1, lat2, lng2)["s12"])


def point_in_circle(lng: Any, lat: Any, c_lng: Any, c_lat: Any, radius: Any) -> bool | None:
    """Whether a point lies within ``radius`` meters of the circle's center."""
    meters = distance(lng, lat, c_lng, c_lat)
    if meters is None or radius is None or not radius >= 0:
        return None
    return bool(meters <= radius)


def azimuth(lng1: Any, lat1: Any, lng2: Any, lat2: Any) -> float | None:
    """Clockwise radians from true north to the great circle from point 1 to point 2."""
    if not (valid_point(lng1, lat1) and valid_point(lng2, lat2)) or (lng1, lat1) == (lng2, lat2):
        return None
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lng2 - lng1)
    bearing = math.atan2(
        math.sin(dl) * math.cos(p2), math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    )
    return bearing + _TWO_PI if bearing < 0 else bearing


def angle(*coords: Any) -> float | None:
    """Clockwise radians at point 2 from the line to point 1 to the line to point 3."""
    first = azimuth(coords[2], coords[3], coords[0], coords[1])
    second = azimuth(coords[2], coords[3], coords[4], coords[5])
    if first is None or second is None:
        return None
    turn = second - first
    return turn + _TWO_PI if turn < 0 else turn


# ---------------------------------------------------------------------------- SQL


def _all(*conds: Sql) -> Sql:
    """``c1 AND c2 ...``, each parenthesised."""
    parts: list[Sql] = [exp.Paren(this=c) for c in conds]
    return reduce(lambda a, b: exp.And(this=a, expression=b), parts)


def _valid_sql(lng: Sql, lat: Sql) -> Sql:
    in_lng = exp.Between(this=lng.copy(), low=num(-180.0), high=num(180.0))
    return _all(in_lng, exp.Between(this=lat.copy(), low=num(-90.0), high=num(90.0)))


def _radians(value: Sql) -> Sql:
    return mul(value.copy(), num(math.pi / 180.0))


def _when(cond: Sql, value: Sql) -> Sql:
    return exp.Case(ifs=[exp.If(this=cond, true=value)])


def _bound(ctx: LowerContext, args: Args, body: Callable[[list[Sql]], Sql]) -> Sql:
    """``body`` over the arguments, each computed once however often ``body`` uses it."""
    d = ctx.dialect

    def step(i: int, done: list[Sql]) -> Sql:
        if i == len(args):
            return body(done)
        return bind_value(d, d.cast(args[i], _R), lambda v: step(i + 1, [*done, v]))

    return step(0, [])


def _central_angle(ctx: LowerContext, lng1: Sql, lat1: Sql, lng2: Sql, lat2: Sql) -> Sql:
    d = ctx.dialect
    p1, p2 = _radians(lat1), _radians(lat2)
    dlat = d.call("sin", mul(num(0.5), sub(p2, p1)))
    dlng = d.call("sin", mul(num(0.5), sub(_radians(lng2), _radians(lng1))))
    x = add(
        mul(dlat, dlat.copy()),
        mul(mul(dlng, dlng.copy()), mul(d.call("cos", p1.copy()), d.call("cos", p2.copy()))),
    )
    return mul(num(2.0), d.call("asin", d.call("sqrt", d.call("least", num(1.0), x))))


def _distance_sql(ctx: LowerContext, v: list[Sql]) -> Sql:
    valid = _all(_valid_sql(v[0], v[1]), _valid_sql(v[2], v[3]))
    return _when(valid, mul(_central_angle(ctx, *v[:4]), num(EARTH_RADIUS)))


@scalar("geo_distance_2points", args=(4, 5), returns=_R, params=[_R, _R, _R, _R, _B], fold=distance)
def _geo_distance_2points(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    sphere = _bound(ctx, args[:4], lambda v: _distance_sql(ctx, v))
    if len(args) == 4 or (isinstance(call.args[4], BLiteral) and not call.args[4].value):
        return sphere  # the usual case compiles to SQL alone, so every engine runs it
    spheroid = ctx.dialect.call("wk_geo_distance_spheroid", *[ctx.dialect.cast(a, _R) for a in args[:4]])
    return exp.Case(ifs=[exp.If(this=args[4], true=spheroid)], default=sphere)


@scalar("geo_point_in_circle", args=5, returns=_B, params=[_R] * 5, fold=point_in_circle)
def _geo_point_in_circle(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    def body(v: list[Sql]) -> Sql:
        radius_ok = exp.GTE(this=v[4], expression=num(0.0))
        inside = exp.LTE(this=_distance_sql(ctx, v[:4]), expression=v[4].copy())
        return _when(radius_ok, inside)

    return _bound(ctx, args, body)


def _azimuth_sql(ctx: LowerContext, lng1: Sql, lat1: Sql, lng2: Sql, lat2: Sql) -> Sql:
    """Initial bearing in [0, 2pi); null for invalid or identical points."""
    d = ctx.dialect
    p1, p2, dl = _radians(lat1), _radians(lat2), _radians(sub(lng2, lng1))
    y = mul(d.call("sin", dl), d.call("cos", p2))
    x = sub(mul(d.call("cos", p1), d.call("sin", p2.copy())),
            mul(mul(d.call("sin", p1.copy()), d.call("cos", p2.copy())), d.call("cos", dl.copy())))  # fmt: skip
    bearing = d.call("atan2", y, x)
    wrapped = exp.Case(ifs=[exp.If(this=exp.LT(this=bearing, expression=num(0.0)), true=add(bearing.copy(), num(_TWO_PI)))],
                       default=bearing.copy())  # fmt: skip
    distinct = exp.Or(this=exp.NEQ(this=lng1.copy(), expression=lng2.copy()),
                      expression=exp.NEQ(this=lat1.copy(), expression=lat2.copy()))  # fmt: skip
    return _when(_all(_valid_sql(lng1, lat1), _valid_sql(lng2, lat2), distinct), wrapped)


@scalar("geo_azimuth", args=4, returns=_R, params=[_R] * 4, fold=azimuth)
def _geo_azimuth(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _bound(ctx, args, lambda v: _azimuth_sql(ctx, *v))


@scalar("geo_angle", args=6, returns=_R, params=[_R] * 6, fold=angle)
def _geo_angle(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    def body(v: list[Sql]) -> Sql:
        first = _azimuth_sql(ctx, v[2], v[3], v[0], v[1])
        turn = sub(_azimuth_sql(ctx, v[2], v[3], v[4], v[5]), first)
        negative = exp.LT(this=turn, expression=num(0.0))
        return exp.Case(ifs=[exp.If(this=negative, true=add(turn.copy(), num(_TWO_PI)))], default=turn.copy())

    return _bound(ctx, args, body)
