"""xxHash64 (seed 0), the hash behind Kusto's ``hash()``: ``hash("World", 100)`` is
``xxhash64(b"World") % 100`` = 51, and ``hash(datetime(2015-01-01))`` hashes the 8 little-endian
bytes of its ticks.

ClickHouse has ``xxHash64``; DuckDB does not, so :func:`xxhash64_bytes_sql` and
:func:`xxhash64_int_sql` spell the algorithm in DuckDB SQL: 128-bit integers hold the 64-bit
state, every multiplication is by one of the five primes (split in 32-bit halves so the product
fits), and ``list_reduce`` walks the 32-byte stripes and the tail. :func:`xxh64` is the reference.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from watchkeeper.kql.dialects import fn
from watchkeeper.kql.functions.sqlparts import add, bind_value, lam, lit, mul, num
from watchkeeper.kql.functions.sqlparts import sub as minus

__all__ = ["xxh64", "xxhash64_bytes_sql", "xxhash64_int_sql"]

_M = 1 << 64
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161, 9650029242287828579,
                      2870177450012600261)  # fmt: skip
Sql = exp.Expression


def _uhugeint() -> exp.DataType:
    """The state's type: HUGEINT, whose arithmetic DuckDB runs several times faster than UHUGEINT's."""
    return exp.DataType.build("HUGEINT", dialect="duckdb")


def _hugeint() -> exp.DataType:
    return exp.DataType.build("HUGEINT", dialect="duckdb")


# ---------------------------------------------------------------------------- Python reference


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) % _M


def _round(acc: int, lane: int) -> int:
    return _rotl((acc + lane * P2) % _M, 31) * P1 % _M


def xxh64(data: bytes) -> int:
    """The unsigned 64-bit xxHash64 of ``data`` with seed 0."""
    n, i = len(data), 0
    if n >= 32:
        v = [(P1 + P2) % _M, P2, 0, (_M - P1) % _M]
        while i + 32 <= n:
            v = [_round(v[k], int.from_bytes(data[i + 8 * k : i + 8 * k + 8], "little")) for k in range(4)]
            i += 32
        acc = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) % _M
        for lane in v:
            acc = ((acc ^ _round(0, lane)) * P1 + P4) % _M
    else:
        acc = P5
    acc = (acc + n) % _M
    while i + 8 <= n:
        acc = (_rotl(acc ^ _round(0, int.from_bytes(data[i : i + 8], "little")), 27) * P1 + P4) % _M
        i += 8
    if i + 4 <= n:
        acc = (_rotl(acc ^ (int.from_bytes(data[i : i + 4], "little") * P1 % _M), 23) * P2 + P3) % _M
        i += 4
    for byte in data[i:]:
        acc = _rotl(acc ^ (byte * P5 % _M), 11) * P1 % _M
    return _avalanche(acc)


def _avalanche(acc: int) -> int:
    acc = (acc ^ (acc >> 33)) * P2 % _M
    acc = (acc ^ (acc >> 29)) * P3 % _M
    return acc ^ (acc >> 32)


# ---------------------------------------------------------------------------- DuckDB SQL


class _Sql:
    """64-bit arithmetic on DuckDB HUGEINTs in [0, 2**64) (faster than UHUGEINT in DuckDB)."""

    def __init__(self, dialect: object) -> None:
        self.d = dialect

    def let(self, value: Sql, body: Callable[[Sql], Sql]) -> Sql:
        return bind_value(self.d, value, body)  # type: ignore[arg-type]

    @staticmethod
    def big(value: int) -> Sql:
        return exp.Cast(this=num(value), to=_uhugeint())

    def wrap(self, value: Sql) -> Sql:
        return exp.Mod(this=exp.Paren(this=value), expression=self.big(_M))

    def times(self, value: Sql, prime: int) -> Sql:
        """``value * prime mod 2**64`` from 32-bit halves, so no product leaves the signed 128 bits."""
        low_p, high_p = prime % (1 << 32), prime >> 32

        def body(v: Sql) -> Sql:
            low = exp.Mod(this=exp.Paren(this=v), expression=self.big(1 << 32))
            high = exp.IntDiv(this=exp.Paren(this=v), expression=self.big(1 << 32))
            cross = exp.Mod(this=exp.Paren(this=add(mul(high, num(low_p)), mul(low, num(high_p)))),
                            expression=self.big(1 << 32))  # fmt: skip
            return self.wrap(add(mul(low, num(low_p)), mul(cross, self.big(1 << 32))))

        return self.let(value, body)

    def rotl(self, value: Sql, bits: int) -> Sql:
        return self.let(
            value,
            lambda v: add(
                self.wrap(mul(v, self.big(1 << bits))),
                exp.IntDiv(this=exp.Paren(this=v), expression=self.big(1 << (64 - bits))),
            ),
        )

    def xor(self, a: Sql, b: Sql) -> Sql:
        return fn("xor", a, b)

    def shr(self, value: Sql, bits: int) -> Sql:
        return exp.IntDiv(this=exp.Paren(this=value), expression=self.big(1 << bits))

    def round(self, acc: Sql, lane: Sql) -> Sql:
        return self.times(self.rotl(self.wrap(add(acc, self.times(lane, P2))), 31), P1)

    def avalanche(self, acc: Sql) -> Sql:
        first = self.let(acc, lambda a: self.times(self.xor(a, self.shr(a, 33)), P2))
        second = self.let(first, lambda a: self.times(self.xor(a, self.shr(a, 29)), P3))
        return self.let(second, lambda a: self.xor(a, self.shr(a, 32)))

    def eight(self, acc: Sql, lane: Sql) -> Sql:
        return self.wrap(
            add(self.times(self.rotl(self.xor(acc, self.round(self.big(0), lane)), 27), P1), self.big(P4))
        )


def _as_long(s: _Sql, unsigned: Sql, modulo: Sql | None) -> Sql:
    """The unsigned hash as Kusto's long: two's complement, or its remainder by ``modulo``."""
    bigint = exp.DataType.build("BIGINT", dialect="duckdb")
    if modulo is not None:
        divisor = exp.Cast(this=modulo, to=_uhugeint())
        return exp.Cast(this=exp.Mod(this=exp.Paren(this=unsigned), expression=divisor), to=bigint)

    def signed(h: Sql) -> Sql:
        wide = exp.Cast(this=h, to=_hugeint())
        folded = minus(wide, exp.Cast(this=num(_M), to=_hugeint()))
        return exp.Cast(
            this=exp.If(this=exp.GTE(this=h, expression=s.big(1 << 63)), true=folded, false=wide), to=bigint
        )

    return s.let(unsigned, signed)


def xxhash64_int_sql(dialect: object, value: Sql, modulo: Sql | None = None) -> Sql:
    """xxHash64 of the 8 little-endian bytes of a BIGINT, as a BIGINT (see :func:`_as_long`)."""
    s = _Sql(dialect)
    two_complement = exp.Mod(this=exp.Paren(this=add(exp.Cast(this=value, to=_hugeint()), exp.Cast(this=num(_M), to=_hugeint()))),
                             expression=exp.Cast(this=num(_M), to=_hugeint()))  # fmt: skip
    lane = exp.Cast(this=two_complement, to=_uhugeint())
    return _as_long(s, s.avalanche(s.eight(s.big(P5 + 8), lane)), modulo)


def xxhash64_bytes_sql(dialect: object, hex_text: Sql, modulo: Sql | None = None) -> Sql:
    """xxHash64 of the bytes written as ``hex_text`` (DuckDB's ``hex(blob)``), as a BIGINT."""
    s = _Sql(dialect)
    unsigned = s.let(hex_text, lambda h: s.let(fn("len", h), lambda chars: _hash_hex(s, h, exp.IntDiv(
        this=exp.Paren(this=chars), expression=num(2)))))  # fmt: skip
    return _as_long(s, unsigned, modulo)


def _lane(h: Sql, offset: Sql, width: int) -> Sql:
    """The little-endian number of ``width`` bytes at byte ``offset``."""
    pairs = [
        fn("substring", h, add(mul(add(offset, num(k)), num(2)), num(1)), num(2))
        for k in reversed(range(width))
    ]
    digits = exp.Concat(expressions=[lit("0x"), *pairs])
    return exp.Cast(
        this=exp.Cast(this=digits, to=exp.DataType.build("UBIGINT", dialect="duckdb")), to=_uhugeint()
    )


def _reduce(items: Sql, body: Sql, initial: Sql, acc: str, item: str) -> Sql:
    return fn("list_reduce", items, lam(body, acc, item), initial)


def _hash_hex(s: _Sql, h: Sql, n: Sql) -> Sql:
    stripes = exp.IntDiv(this=exp.Paren(this=n), expression=num(32))
    acc, i = exp.column("_wk_acc"), exp.column("_wk_i")
    start = [
        s.round(fn("list_extract", acc, num(k + 1)), _lane(h, add(mul(i, num(32)), num(8 * k)), 8))
        for k in range(4)
    ]
    seeds = exp.Array(expressions=[s.big((P1 + P2) % _M), s.big(P2), s.big(0), s.big((_M - P1) % _M)])
    lanes = _reduce(fn("range", stripes), exp.Array(expressions=start), seeds, "_wk_acc", "_wk_i")

    def merged(v: Sql) -> Sql:
        total: Sql = s.big(0)
        for k, bits in enumerate((1, 7, 12, 18)):
            total = add(total, s.rotl(fn("list_extract", v, num(k + 1)), bits))
        result = s.wrap(total)
        for k in range(4):
            result = s.let(result, lambda a, k=k: s.wrap(add(s.times(s.xor(a, s.round(s.big(0), fn(  # type: ignore[misc]
                "list_extract", v, num(k + 1)))), P1), s.big(P4))))  # fmt: skip
        return result

    long_start = exp.If(this=exp.GTE(this=n, expression=num(32)), true=s.let(lanes, merged), false=s.big(P5))
    return s.let(
        s.wrap(add(long_start, exp.Cast(this=n, to=_uhugeint()))),
        lambda a: _tail(s, h, n, mul(stripes, num(32)), a),
    )


def _tail(s: _Sql, h: Sql, n: Sql, at: Sql, acc: Sql) -> Sql:
    acc_col, j = exp.column("_wk_acc"), exp.column("_wk_j")
    words = exp.IntDiv(this=exp.Paren(this=minus(n, at)), expression=num(8))
    after_words = _reduce(
        fn("range", words), s.eight(acc_col, _lane(h, add(at, mul(j, num(8))), 8)), acc, "_wk_acc", "_wk_j"
    )
    pos = add(at, mul(words, num(8)))

    def half(a: Sql) -> Sql:
        mixed = s.wrap(add(s.times(s.rotl(s.xor(a, s.times(_lane(h, pos, 4), P1)), 23), P2), s.big(P3)))
        return exp.If(this=exp.GTE(this=minus(n, pos), expression=num(4)), true=mixed, false=a)

    rest = add(pos, exp.If(this=exp.GTE(this=minus(n, pos), expression=num(4)), true=num(4), false=num(0)))
    byte = exp.Cast(this=exp.Concat(expressions=[lit("0x"), fn("substring", h, add(mul(add(rest, j), num(2)), num(1)),
                                                                   num(2))]), to=_uhugeint())  # fmt: skip
    step = s.times(s.rotl(s.xor(acc_col, s.times(byte, P5)), 11), P1)
    final = s.let(
        s.let(after_words, half), lambda a: _reduce(fn("range", minus(n, rest)), step, a, "_wk_acc", "_wk_j")
    )
    return s.avalanche(final)
