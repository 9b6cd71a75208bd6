"""IPv4/IPv6 functions on DuckDB and chdb: documented examples, and the SQL checked against the
Python references (``fold_ipv4``/``fold_ipv6`` and each function's ``fold``) on random addresses."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.kql.functions.registry import SCALARS

_TABLES = itertools.count()
PROPERTY = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# IPv6 SQL is large: each query costs a second or two to plan, so fewer (but larger) examples
PROPERTY_V6 = settings(PROPERTY, max_examples=4)


def rows_of(ws: Workspace, rows: list[dict[str, Any]], *exprs: str) -> list[tuple[Any, ...]]:
    table = f"I{next(_TABLES)}_CL"
    ws.ingest(table, [{"i": i, **row} for i, row in enumerate(rows)])
    names = ", ".join(f"r{k} = {e}" for k, e in enumerate(exprs))
    return ws.query(f"{table} | order by i asc | project {names}").rows


def fold(name: str, *args: Any) -> Any:
    return SCALARS[name].extra["fold"](*args)


# ---------------------------------------------------------------------------- IPv4


def test_parse_and_format_ipv4(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"ip": "192.168.1.1", "m": 24}, {"ip": "192.168.1.1/24", "m": 32},
                               {"ip": "255.255.255.255/31", "m": 30}, {"ip": "192.168.1.1/24", "m": -1},
                               {"ip": "1.2.3", "m": 8}],
                   "parse_ipv4(ip)", "parse_ipv4_mask(ip, m)", "format_ipv4(ip, m)", "format_ipv4_mask(ip, m)",
                   "ipv4_netmask_suffix(ip)")  # fmt: skip
    assert rows == [
        (3232235777, 3232235776, "192.168.1.0", "192.168.1.0/24", 32),
        (3232235776, 3232235776, "192.168.1.0", "192.168.1.0/24", 24),
        (4294967294, 4294967292, "255.255.255.252", "255.255.255.252/30", 31),
        (3232235776, None, "", "", 24),
        (None, None, "", "", None),
    ]


def test_format_ipv4_takes_a_number(engine_ws: Workspace) -> None:
    assert rows_of(engine_ws, [{"n": 3232236031}], "format_ipv4(n)", "format_ipv4_mask(n, 24)") == [
        ("192.168.1.255", "192.168.1.0/24")
    ]


def test_ipv4_comparisons_use_the_shortest_prefix(engine_ws: Workspace) -> None:
    pairs = [("192.168.1.0", "192.168.1.0"), ("192.168.1.1/24", "192.168.1.255"), ("192.168.1.1", "192.168.1.255/24"),
             ("192.168.1.1/30", "192.168.1.255/24"), ("10.0.0.1", "10.0.0.2"), ("10.0.0.9", "10.0.0.2"),
             ("bad", "10.0.0.2")]  # fmt: skip
    rows = rows_of(engine_ws, [{"a": a, "b": b} for a, b in pairs], "ipv4_compare(a, b)", "ipv4_is_match(a, b)",
                   "ipv4_is_match(a, b, 24)", "ipv4_is_in_range(a, b)")  # fmt: skip
    assert rows == [(0, True, True, True), (0, True, True, True), (0, True, True, True), (0, True, True, True),
                    (-1, False, True, False), (1, False, True, False), (None, None, None, None)]  # fmt: skip


def test_ipv4_private_and_any_range(engine_ws: Workspace) -> None:
    ips = ["10.1.2.3", "172.16.0.1", "172.32.0.1", "192.168.255.1/24", "8.8.8.8", "10.0.0.0/7", "x"]
    rows = rows_of(engine_ws, [{"ip": ip} for ip in ips], "ipv4_is_private(ip)",
                   "ipv4_is_in_any_range(ip, '8.8.0.0/16', '172.16.0.0/12')",
                   "ipv4_is_in_any_range(ip, dynamic(['10.0.0.0/8', '192.168.1.1/16']))",
                   "ipv4_is_in_any_range(ip, pack_array('8.8.8.8'))")  # fmt: skip
    assert rows == [(True, False, True, False), (True, True, False, False), (False, False, False, False),
                    (True, False, True, False), (False, True, False, True), (False, False, True, False),
                    (None, False, False, False)]  # fmt: skip


def test_has_ipv4_finds_delimited_valid_addresses(engine_ws: Workspace) -> None:
    texts = ["05:04:54 127.0.0.1 GET /favicon.ico 404", "05:04:54127.0.0.1 GET", "from: 192.168.1.1, 10.1.1.115.",
             "x 127.0.0.256 y"]  # fmt: skip
    rows = rows_of(engine_ws, [{"s": s, "ip": "127.0.0.1", "p": "127.0."} for s in texts],
                   "has_ipv4(s, '127.0.0.1')", "has_ipv4(s, ip)", "has_ipv4_prefix(s, '127.0.')", "has_ipv4_prefix(s, '127.0')",
                   "has_ipv4_prefix(s, p)", "has_any_ipv4(s, '10.1.1.115', '127.0.0.2')",
                   "has_any_ipv4(s, dynamic(['127.0.0.256', '192.168.1.1']))", "has_any_ipv4_prefix(s, dynamic(['127.0.', '10.']))",
                   "has_any_ipv4(s, pack_array(ip))")  # fmt: skip
    assert rows == [(True, True, True, False, True, False, False, True, True),
                    (False, False, False, False, False, False, False, False, False),
                    (False, False, False, False, False, True, True, True, False),
                    (False, False, False, False, False, False, False, False, False)]  # fmt: skip


@PROPERTY
@given(
    data=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 32)), min_size=1, max_size=12
    )
)
def test_ipv4_text_round_trips(engine_ws: Workspace, data: list[tuple[int, int, int]]) -> None:
    rows = [{"n": n, "t": str(ipaddress.IPv4Address(n)), "p": p, "q": q} for n, p, q in data]
    got = rows_of(engine_ws, rows, "parse_ipv4(format_ipv4(n))", "parse_ipv4(strcat(t, '/', p))",
                  "format_ipv4_mask(t, p)", "ipv4_compare(strcat(t, '/', p), format_ipv4(n + 1), q)")  # fmt: skip
    want = [(r["n"], fold("parse_ipv4", f"{r['t']}/{r['p']}"), fold("format_ipv4_mask", r["t"], r["p"]),
             fold("ipv4_compare", f"{r['t']}/{r['p']}", str(ipaddress.IPv4Address((r["n"] + 1) % 2**32)), r["q"])
             if r["n"] < 2**32 - 1 else got[i][3])
            for i, r in enumerate(rows)]  # fmt: skip
    assert got == want


# ---------------------------------------------------------------------------- IPv6


def test_ipv6_documented_comparisons(engine_ws: Workspace) -> None:
    pairs = [("192.168.1.1", "192.168.1.1"), ("192.168.1.1/24", "192.168.1.255"),
             ("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998"), ("192.168.1.1", "::ffff:c0a8:0101"),
             ("::ffff:c0a8:0101", "192.168.1.255/24"), ("::192.168.1.1/30", "192.168.1.255/24"),
             ("fe80::1", "fe80::2"), ("x", "::1")]  # fmt: skip
    rows = rows_of(engine_ws, [{"a": a, "b": b} for a, b in pairs], "ipv6_compare(a, b)", "ipv6_is_match(a, b)",
                   "ipv6_is_match(a, b, 127)")  # fmt: skip
    assert rows == [(0, True, True), (0, True, True), (0, True, True), (0, True, True), (0, True, True),
                    (0, True, True), (-1, False, False), (None, None, None)]  # fmt: skip


def test_parse_ipv6_gives_the_canonical_text(engine_ws: Workspace) -> None:
    cases = [("192.168.255.255", 120, "0000:0000:0000:0000:0000:ffff:c0a8:ff00"),
             ("192.168.255.255/24", 124, "0000:0000:0000:0000:0000:ffff:c0a8:ff00"),
             ("fe80::85d:e82c:9446:7994/120", 124, "fe80:0000:0000:0000:085d:e82c:9446:7900"),
             ("::192.168.255.255", 128, "0000:0000:0000:0000:0000:ffff:c0a8:ffff"),
             ("::192.168.255.255/24", 128, "0000:0000:0000:0000:0000:ffff:c0a8:ff00"),
             ("1::2::3", 128, ""), ("1:2:3:4:5:6:7:8:9", 128, "")]  # fmt: skip
    rows = rows_of(engine_ws, [{"ip": ip, "m": m} for ip, m, _ in cases], "parse_ipv6_mask(ip, m)")
    assert rows == [(text,) for *_, text in cases]
    assert rows_of(engine_ws, [{"ip": "FE80::1"}], "parse_ipv6(ip)") == [
        ("fe80:0000:0000:0000:0000:0000:0000:0001",)
    ]


def test_ipv6_ranges(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"ip": "a5e:f127:8a9d:146d:e102:b5d3:c755:abcd"}],
                   "ipv6_is_in_range(ip, 'a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112')",
                   "ipv6_is_in_range(ip, '0:0:0:0:0:ffff:c0a8:ac/60')",
                   "ipv6_is_in_any_range(ip, 'fe80::/10', 'a5e:f127::/32')")  # fmt: skip
    assert rows == [(True, False, True)]


ADDRESSES = st.one_of(
    st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).compressed),
    st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded.upper()),
    st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.integers(0, 2**32 - 1).map(lambda n: "::ffff:" + str(ipaddress.IPv4Address(n))),
    st.integers(0, 2**16).map(lambda n: f"fe80::{n:x}"),
)


@PROPERTY_V6
@given(data=st.lists(st.tuples(ADDRESSES, ADDRESSES, st.integers(0, 128)), min_size=1, max_size=25))
def test_ipv6_functions_match_their_reference(engine_ws: Workspace, data: list[tuple[str, str, int]]) -> None:
    rows = [{"a": a, "b": b, "p": p} for a, b, p in data]
    got = rows_of(engine_ws, rows, "parse_ipv6(a)", "parse_ipv6_mask(a, p)", "ipv6_compare(a, b, p)",
                  "ipv6_is_match(a, b)")  # fmt: skip
    want = [(fold("parse_ipv6", a), fold("parse_ipv6_mask", a, p), fold("ipv6_compare", a, b, p),
             fold("ipv6_is_match", a, b)) for a, b, p in data]  # fmt: skip
    assert got == want


@pytest.mark.parametrize(
    "text", ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "64:ff9b::1.2.3.4"]
)
def test_reference_parser_agrees_with_ipaddress(text: str) -> None:
    from watchkeeper.kql.functions.ip import fold_ipv6

    parsed = fold_ipv6(text)
    assert parsed is not None
    value = int(ipaddress.IPv6Address(text))
    assert parsed == ((value | 0xFFFF << 32) if "." in text and value >> 32 == 0 else value, 128)


def test_ipv4_range_to_cidr_list(engine_ws: Workspace) -> None:
    pairs = [("10.0.0.0", "10.0.0.13"), ("1.2.3.4", "1.2.3.4"), ("0.0.0.0", "255.255.255.255"), ("10.0.0.5", "10.0.0.1"),
             ("x", "1.1.1.1")]  # fmt: skip
    rows = rows_of(engine_ws, [{"a": a, "b": b} for a, b in pairs], "ipv4_range_to_cidr_list(a, b)")
    assert rows == [(["10.0.0.0/29", "10.0.0.8/30", "10.0.0.12/31"],), (["1.2.3.4/32"],), (["0.0.0.0/0"],), ([],),
                    (None,)]  # fmt: skip


@PROPERTY
@given(data=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**20)), min_size=1, max_size=8))
def test_cidr_blocks_cover_exactly_the_range(engine_ws: Workspace, data: list[tuple[int, int]]) -> None:
    rows = [
        {"a": str(ipaddress.IPv4Address(n)), "b": str(ipaddress.IPv4Address(min(n + w, 2**32 - 1)))}
        for n, w in data
    ]
    got = rows_of(engine_ws, rows, "ipv4_range_to_cidr_list(a, b)")
    for (blocks,), row in zip(got, rows, strict=True):
        networks = [ipaddress.IPv4Network(b) for b in blocks]
        assert networks == list(ipaddress.summarize_address_range(ipaddress.IPv4Address(row["a"]),
                                                                   ipaddress.IPv4Address(row["b"])))  # fmt: skip
