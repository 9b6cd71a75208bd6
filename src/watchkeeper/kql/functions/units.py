"""Unit conversions: ``convert_angle``, ``convert_energy``, ``convert_force``, ``convert_length``,
``convert_mass``, ``convert_speed``, ``convert_temperature`` and ``convert_volume``.

Each family lists the units Kusto's documentation names (the .NET UnitsNet names), each as the
affine map to the family's base unit: ``base = value * scale + offset``. Only temperature has
offsets; the angle unit ``Tilt`` is the sine of the angle. A unit Kusto does not know gives null
(documented: "Invalid units return null"). Unit names match case-insensitively (a decision: Kusto's
pages spell them in PascalCase and say nothing of case). Constant units, the usual spelling, fold
into one multiply-add; units from columns become a ``CASE`` over the family's names.
"""

from __future__ import annotations

import math
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, const, div, is_const, lit, mul, num, sub
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["FAMILIES", "convert_units"]

_R = KqlType.REAL
_S = KqlType.STRING
Sql = exp.Expression
Unit = tuple[float, float]  # (scale, offset): base = value * scale + offset

_TILT = "tilt"  # the angle whose sine is the value (UnitsNet's Tilt)
_FOOT, _INCH, _YARD, _SURVEY_FOOT = 0.3048, 0.0254, 0.9144, 1200 / 3937
_LIGHT_YEAR, _PARSEC = 9.46073047258e15, 3.08567758128e16
_BTU, _EV = 1055.05585262, 1.602176565e-19
_US_GALLON, _IMPERIAL_GALLON, _CUBIC_FOOT = 3.785411784e-3, 4.54609e-3, 2.8316846592e-2


def _linear(scales: dict[str, float]) -> dict[str, Unit]:
    return {name.lower(): (scale, 0.0) for name, scale in scales.items()}


_LENGTH = _linear({  # metres
    "Angstrom": 1e-10, "AstronomicalUnit": 1.4959787070e11, "Centimeter": 1e-2, "Chain": 20.1168,
    "DataMile": 1828.8, "Decameter": 10.0, "Decimeter": 0.1, "DtpPica": _INCH / 6, "DtpPoint": _INCH / 72,
    "Fathom": 1.8288, "Foot": _FOOT, "Hand": 0.1016, "Hectometer": 100.0, "Inch": _INCH,
    "KilolightYear": _LIGHT_YEAR * 1e3, "Kilometer": 1e3, "Kiloparsec": _PARSEC * 1e3,
    "LightYear": _LIGHT_YEAR, "MegalightYear": _LIGHT_YEAR * 1e6, "Megaparsec": _PARSEC * 1e6, "Meter": 1.0,
    "Microinch": _INCH * 1e-6, "Micrometer": 1e-6, "Mil": _INCH * 1e-3, "Mile": 1609.344, "Millimeter": 1e-3,
    "Nanometer": 1e-9, "NauticalMile": 1852.0, "Parsec": _PARSEC, "PrinterPica": 1 / 237.106301584,
    "PrinterPoint": _INCH / 72.27, "Shackle": 27.432, "SolarRadius": 6.95510e8, "Twip": _INCH / 1440,
    "UsSurveyFoot": _SURVEY_FOOT, "Yard": _YARD,
})  # fmt: skip

_ANGLE = _linear({  # degrees
    "Arcminute": 1 / 60, "Arcsecond": 1 / 3600, "Centiradian": 0.018 / math.pi, "Deciradian": 18 / math.pi,
    "Degree": 1.0, "Gradian": 0.9, "Microdegree": 1e-6, "Microradian": 180e-6 / math.pi,
    "Millidegree": 1e-3, "Milliradian": 0.18 / math.pi, "Nanodegree": 1e-9, "Nanoradian": 180e-9 / math.pi,
    "NatoMil": 9 / 160, "Radian": 180 / math.pi, "Revolution": 360.0,
})  # fmt: skip
_ANGLE[_TILT] = (1.0, 0.0)  # scale unused: Tilt goes through asin/sin, see _to_base and _from_base

_ENERGY = _linear({  # joules
    "BritishThermalUnit": _BTU, "Calorie": 4.184, "DecathermEc": 1.05505585262e9,
    "DecathermImperial": 1.05505585257348e9, "DecathermUs": 1.054804e9, "ElectronVolt": _EV, "Erg": 1e-7,
    "FootPound": 1.355817948, "GigabritishThermalUnit": _BTU * 1e9, "GigaelectronVolt": _EV * 1e9,
    "Gigajoule": 1e9, "GigawattDay": 8.64e13, "GigawattHour": 3.6e12, "HorsepowerHour": 2.6845195377e6,
    "Joule": 1.0, "KilobritishThermalUnit": _BTU * 1e3, "Kilocalorie": 4184.0, "KiloelectronVolt": _EV * 1e3,
    "Kilojoule": 1e3, "KilowattDay": 8.64e7, "KilowattHour": 3.6e6, "MegabritishThermalUnit": _BTU * 1e6,
    "Megacalorie": 4.184e6, "MegaelectronVolt": _EV * 1e6, "Megajoule": 1e6, "MegawattDay": 8.64e10,
    "MegawattHour": 3.6e9, "Millijoule": 1e-3, "TeraelectronVolt": _EV * 1e12, "TerawattDay": 8.64e16,
    "TerawattHour": 3.6e15, "ThermEc": 1.05505585262e8, "ThermImperial": 1.05505585257348e8,
    "ThermUs": 1.054804e8, "WattDay": 86400.0, "WattHour": 3600.0,
})  # fmt: skip

_FORCE = _linear({  # newtons
    "Decanewton": 10.0, "Dyn": 1e-5, "KilogramForce": 9.80665, "Kilonewton": 1e3, "KiloPond": 9.80665,
    "KilopoundForce": 4448.2216152605, "Meganewton": 1e6, "Micronewton": 1e-6, "Millinewton": 1e-3,
    "Newton": 1.0, "OunceForce": 0.27801385095378125, "Poundal": 0.138254954376,
    "PoundForce": 4.4482216152605, "ShortTonForce": 8896.443230521, "TonneForce": 9806.65,
})  # fmt: skip

_MASS = _linear({  # kilograms
    "Centigram": 1e-5, "Decagram": 1e-2, "Decigram": 1e-4, "EarthMass": 5.9722e24, "Grain": 64.79891e-6,
    "Gram": 1e-3, "Hectogram": 0.1, "Kilogram": 1.0, "Kilopound": 453.59237, "Kilotonne": 1e6,
    "LongHundredweight": 50.80234544, "LongTon": 1016.0469088, "Megapound": 453592.37, "Megatonne": 1e9,
    "Microgram": 1e-9, "Milligram": 1e-6, "Nanogram": 1e-12, "Ounce": 0.028349523125, "Pound": 0.45359237,
    "ShortHundredweight": 45.359237, "ShortTon": 907.18474, "Slug": 14.593902937206364,
    "SolarMass": 1.98947e30, "Stone": 6.35029318, "Tonne": 1e3,
})  # fmt: skip


def _per_time(lengths: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, metres in lengths.items():
        out.update(
            {f"{name}PerHour": metres / 3600, f"{name}PerMinute": metres / 60, f"{name}PerSecond": metres}
        )
    return out


_SPEED = _linear({  # metres per second
    **_per_time({"Centimeter": 1e-2, "Foot": _FOOT, "Inch": _INCH, "Kilometer": 1e3, "Meter": 1.0,
                 "Millimeter": 1e-3, "UsSurveyFoot": _SURVEY_FOOT, "Yard": _YARD}),
    "DecimeterPerMinute": 0.1 / 60, "DecimeterPerSecond": 0.1, "Knot": 0.514444,
    "MicrometerPerMinute": 1e-6 / 60, "MicrometerPerSecond": 1e-6, "MilePerHour": 0.44704,
    "NanometerPerMinute": 1e-9 / 60, "NanometerPerSecond": 1e-9,
})  # fmt: skip

_TEMPERATURE = {  # kelvins
    name.lower(): unit for name, unit in {
        "DegreeCelsius": (1.0, 273.15), "DegreeDelisle": (-2 / 3, 373.15), "DegreeFahrenheit": (5 / 9, 459.67 * 5 / 9),
        "DegreeNewton": (100 / 33, 273.15), "DegreeRankine": (5 / 9, 0.0), "DegreeReaumur": (5 / 4, 273.15),
        "DegreeRoemer": (40 / 21, 273.15 - 7.5 * 40 / 21), "Kelvin": (1.0, 0.0),
        "MillidegreeCelsius": (1e-3, 273.15), "SolarTemperature": (5778.0, 0.0),
    }.items()
}  # fmt: skip

_VOLUME = _linear({  # cubic metres
    "AcreFoot": 1 / 0.000810714, "AuTablespoon": 2e-5, "BoardFoot": 2.3597372158e-3, "Centiliter": 1e-5,
    "CubicCentimeter": 1e-6, "CubicDecimeter": 1e-3, "CubicFoot": _CUBIC_FOOT, "CubicHectometer": 1e6,
    "CubicInch": 1.6387064e-5, "CubicKilometer": 1e9, "CubicMeter": 1.0, "CubicMicrometer": 1e-18,
    "CubicMile": 4.16818182544058e9, "CubicMillimeter": 1e-9, "CubicYard": 0.764554858, "Decaliter": 1e-2,
    "DecausGallon": _US_GALLON * 10, "Deciliter": 1e-4, "DeciusGallon": _US_GALLON / 10,
    "HectocubicFoot": _CUBIC_FOOT * 100, "HectocubicMeter": 100.0, "Hectoliter": 0.1,
    "HectousGallon": _US_GALLON * 100, "ImperialBeerBarrel": 0.16365924, "ImperialGallon": _IMPERIAL_GALLON,
    "ImperialOunce": 2.84130625e-5, "ImperialPint": 5.6826125e-4, "KilocubicFoot": _CUBIC_FOOT * 1e3,
    "KilocubicMeter": 1e3, "KiloimperialGallon": _IMPERIAL_GALLON * 1e3, "Kiloliter": 1.0,
    "KilousGallon": _US_GALLON * 1e3, "Liter": 1e-3, "MegacubicFoot": _CUBIC_FOOT * 1e6,
    "MegaimperialGallon": _IMPERIAL_GALLON * 1e6, "Megaliter": 1e3, "MegausGallon": _US_GALLON * 1e6,
    "MetricCup": 2.5e-4, "MetricTeaspoon": 5e-6, "Microliter": 1e-9, "Milliliter": 1e-6,
    "OilBarrel": 0.158987294928, "UkTablespoon": 1.5e-5, "UsBeerBarrel": 0.1173477658,
    "UsCustomaryCup": 2.365882365e-4, "UsGallon": _US_GALLON, "UsLegalCup": 2.4e-4, "UsOunce": 2.95735295625e-5,
    "UsPint": 4.73176473e-4, "UsQuart": 9.46352946e-4, "UsTablespoon": 1.478676478125e-5,
    "UsTeaspoon": 4.92892159375e-6,
})  # fmt: skip

FAMILIES: dict[str, dict[str, Unit]] = {
    "convert_angle": _ANGLE, "convert_energy": _ENERGY, "convert_force": _FORCE, "convert_length": _LENGTH,
    "convert_mass": _MASS, "convert_speed": _SPEED, "convert_temperature": _TEMPERATURE, "convert_volume": _VOLUME,
}  # fmt: skip


# ---------------------------------------------------------------------------- Python reference


def convert_units(family: str, value: float | None, source: str | None, target: str | None) -> float | None:
    """``value`` in unit ``source`` expressed in unit ``target`` (None for an unknown unit or null)."""
    units = FAMILIES[family]
    source_name, target_name = (source or "").lower(), (target or "").lower()
    a, b = units.get(source_name), units.get(target_name)
    if value is None or a is None or b is None:
        return None
    base = math.degrees(math.asin(value)) if source_name == _TILT else value * a[0] + a[1]
    if target_name == _TILT:
        return math.sin(math.radians(base))
    return (base - b[1]) / b[0]


# ---------------------------------------------------------------------------- SQL


def _column(unit: Sql, units: dict[str, Unit], index: int) -> Sql:
    """``CASE lower(unit) WHEN name THEN number ... END``: the unit's scale (0) or offset (1)."""
    ifs = [exp.If(this=lit(name), true=num(u[index])) for name, u in units.items()]
    return exp.Case(this=exp.Lower(this=unit.copy()), ifs=ifs, default=exp.Null())


def _is_tilt(unit: Sql) -> Sql:
    return exp.EQ(this=exp.Lower(this=unit.copy()), expression=lit(_TILT))


def _to_base(ctx: LowerContext, value: Sql, unit: Sql, units: dict[str, Unit]) -> Sql:
    linear = add(mul(value.copy(), _column(unit, units, 0)), _column(unit, units, 1))
    if _TILT not in units:
        return linear
    d = ctx.dialect
    tilt = d.call("degrees", d.call("asin", value.copy()))
    return exp.Case(ifs=[exp.If(this=_is_tilt(unit), true=tilt)], default=linear)


def _from_base(ctx: LowerContext, base: Sql, unit: Sql, units: dict[str, Unit]) -> Sql:
    linear = div(sub(base.copy(), _column(unit, units, 1)), _column(unit, units, 0))
    if _TILT not in units:
        return linear
    d = ctx.dialect
    tilt = d.call("sin", d.call("radians", base.copy()))
    return exp.Case(ifs=[exp.If(this=_is_tilt(unit), true=tilt)], default=linear)


def _constant_units(ctx: LowerContext, call: BCall, value: Sql, units: dict[str, Unit]) -> Sql | None:
    """One multiply-add when both units are constant linear units (None when they are not)."""
    names = [const(call.args[i]) if is_const(call.args[i]) else None for i in (1, 2)]
    if not all(isinstance(n, str) for n in names):
        return None
    lowered = [str(n).lower() for n in names]
    a, b = units.get(lowered[0]), units.get(lowered[1])
    if a is None or b is None:
        return ctx.dialect.null(_R)
    if _TILT in lowered:
        return None
    scaled = mul(value, num(a[0] / b[0]))
    shift = (a[1] - b[1]) / b[0]
    return add(scaled, num(shift)) if shift else scaled


def _register(family: str) -> None:
    units = FAMILIES[family]

    def lower(ctx: LowerContext, call: BCall, args: list[Sql]) -> Sql:
        value = ctx.dialect.cast(args[0], _R)
        folded = _constant_units(ctx, call, value, units)
        if folded is not None:
            return folded
        return _from_base(ctx, _to_base(ctx, value, args[1], units), args[2], units)

    def fold(value: Any, source: Any, target: Any) -> Any:
        return convert_units(family, None if value is None else float(value), source, target)

    scalar(family, args=3, returns=_R, params=[_R, _S, _S], fold=fold)(lower)


for _family in FAMILIES:
    _register(_family)
