"""String and encoding functions on DuckDB and chdb: documented behaviour, and the SQL of each
engine checked against the function's own Python reference (its constant-folding ``fold``)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.errors import KqlError
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.functions.xxhash import xxh64

_TABLES = itertools.count()
# any text but NUL and lone surrogates; combining marks and astral characters included
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
SMALL = st.integers(min_value=-15, max_value=15)
PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rows_of(ws: Workspace, rows: list[dict[str, Any]], *exprs: str) -> list[tuple[Any, ...]]:
    """The values of ``exprs`` over ``rows`` stored in a fresh table (so nothing is constant-folded)."""
    table = f"S{next(_TABLES)}_CL"
    ws.ingest(table, [{"i": i, **row} for i, row in enumerate(rows)])
    names = ", ".join(f"r{k} = {e}" for k, e in enumerate(exprs))
    return ws.query(f"{table} | order by i asc | project {names}").rows


def one(ws: Workspace, expr: str) -> Any:
    """The value of a constant expression, computed by the engine (through a one-row table)."""
    return rows_of(ws, [{"x": 1}], expr)[0][0]


def reference(name: str) -> Any:
    return SCALARS[name].extra["fold"]


# ---------------------------------------------------------------------------- documented behaviour


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("strlen('hello')", 5),
        ("strlen('⒦⒰⒮⒯⒪')", 5),
        ("strlen('C\u0327edilla')", 8),  # C + combining cedilla: code points, not graphemes
        ("string_size('⒦')", 3),
        ("substring('123456', 1)", "23456"),
        ("substring('123456', 2, 2)", "34"),
        ("substring('ABCD', 0, 2)", "AB"),
        ("substring('123456', -2, 2)", "56"),
        ("substring('123', 5)", ""),
        ("toupper('héllo')", "HÉLLO"),
        ("strcat('hello', ' ', 'world')", "hello world"),
        ("strcat_delim('-', 'a', 'b', 1)", "a-b-1"),
        ("strrep('ABC', 2)", "ABCABC"),
        ("strrep(123, 3, '.')", "123.123.123"),
        ("strrep('x', 0, ',')", ""),
        ("reverse('Kusto')", "otsuK"),
        ("reverse(datetime(2017-10-15 12:00))", "Z0000000.00:00:21T51-01-7102"),
        ("strcmp('abc', 'abd')", -1),
        ("strcmp('b', 'a')", 1),
        ("isascii('some string')", True),
        ("isascii('é')", False),
        ("isutf8('é')", True),
        ("regex_quote('(so$me.Te^xt)')", "\\(so\\$me\\.Te\\^xt\\)"),
    ],
)
def test_documented_values(engine_ws: Workspace, expr: str, expected: Any) -> None:
    assert one(engine_ws, expr) == expected


def test_indexof_follows_the_documented_examples(engine_ws: Workspace) -> None:
    exprs = ['indexof("abcdefg","cde")', 'indexof("abcdefg","cde",1,4)', 'indexof("abcdefg","cde",1,2)',
             'indexof("abcdefg","cde",3,4)', 'indexof("abcdefg","cde",-5)', "indexof(1234567,5,1,4)",
             'indexof("abcdefg","cde",2,-1)', 'indexof("abcdefgabcdefg", "cde", 1, 10, 2)',
             'indexof("abcdefgabcdefg", "cde", 1, -1, 3)', 'indexof("abc", "c", -10)', 'indexof("abc", "c", 0, -2)']  # fmt: skip
    assert rows_of(engine_ws, [{"x": 1}], *exprs) == [(2, 2, -1, -1, 2, 4, 2, 9, -1, None, None)]


def test_indexof_regex_finds_the_leftmost_match(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"s": "abcabc"}], 'indexof_regex(s, "c+")', 'indexof_regex(s, "b|c", 0, -1, 3)',
                   'indexof_regex(s, "x")', 'indexof_regex(s, "a", 1)')  # fmt: skip
    assert rows == [(2, 4, -1, 3)]


def test_countof_counts_plain_matches_overlapping_and_regex_matches_not(engine_ws: Workspace) -> None:
    exprs = ['countof(s, "a")', 'countof("aaaa", "aa")', 'countof(s, "ab", "normal")', 'countof("ababa", "aba")',
             'countof("ababa", "aba", "regex")', 'countof("abcabc", "a.c", "regex")', 'countof(s, t)']  # fmt: skip
    assert rows_of(engine_ws, [{"s": "ababa", "t": "aba"}], *exprs) == [(3, 3, 2, 2, 1, 2, 2)]


def test_countof_rejects_an_unknown_kind(engine_ws: Workspace) -> None:
    with pytest.raises(KqlError, match=r"normal.*regex"):
        engine_ws.query('print countof("a", "a", "fuzzy")')


def test_trim_functions_strip_a_regular_expression(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"s": "-  Te st1// $"}], "trim(@'[^\\w]+', s)", "trim_start(@'[^\\w]+', s)",
                   "trim_end(@'[^\\w]+', s)", "trim('--', '--a--')", "trim_end('.com', 'bing.com')")  # fmt: skip
    assert rows == [("Te st1", "Te st1// $", "-  Te st1", "a", "bing")]


def test_trim_by_a_regex_from_a_column(engine_ws: Workspace) -> None:
    query = ["trim(r, s)", "trim_start(r, s)"]
    if engine_ws.store.dialect == "clickhouse":
        with pytest.raises(KqlError, match="regular expression computed per row, on ClickHouse"):
            rows_of(engine_ws, [{"s": "xxaxx", "r": "x"}], *query)
    else:
        assert rows_of(engine_ws, [{"s": "xxaxx", "r": "x"}], *query) == [("a", "axx")]


def test_replace_functions(engine_ws: Workspace) -> None:
    rows = rows_of(
        engine_ws, [{"s": "A magic trick can turn a cat into a dog"}],
        "replace_strings(s, dynamic(['cat', 'dog']), dynamic(['dog', 'pigeon']))",
        "replace_strings('This is an example', dynamic(['This', 'is']), dynamic([12345, 'was']))",
        "replace_strings('This is an example', dynamic(['is', 'This']), dynamic(['was', 'This']))",
        "replace_regex(s, @'(a) (c)', @'\\2 \\1')", "replace(@'(c)at', @'[\\1]', s)", "replace_string(s, 'a ', '')",
    )  # fmt: skip
    assert rows == [("A magic trick can turn a dog into a pigeon", "This was an example", "Thwas was an example",
                     "A magic trick can turn c aat into a dog", "A magic trick can turn a [c] into a dog",
                     "A magic trick can turn cat into dog")]  # fmt: skip


def test_translate_maps_characters_and_repeats_the_last_replacement(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"x": 1}], "translate('krasp', 'otsku', 'spark')", "translate('abc', 'x', 'abc')",
                   "translate('abc', '', 'ab')", "translate('aé', 'bè', 'éa')")  # fmt: skip
    assert rows == [("kusto", "xxx", "", "èb")]


def test_translate_with_lists_from_columns(engine_ws: Workspace) -> None:
    row = {"f": "krasp", "t": "otsk", "s": "spark"}
    if engine_ws.store.dialect == "clickhouse":
        with pytest.raises(KqlError, match=r"translate.*ClickHouse"):
            rows_of(engine_ws, [row], "translate(f, t, s)")
    else:
        assert rows_of(engine_ws, [row], "translate(f, t, s)") == [("kksto",)]


def test_extract_returns_groups_typed_or_text(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"s": "Duration: 300 ms"}, {"s": "none"}],
                   "extract(@'(\\d+) ms', 1, s)", "extract(@'(\\d+) ms', 1, s, typeof(long)) + 1",
                   "extract(@'Dur\\w+', 0, s)", "extract('(x)', 2, s)", "extract(@'(\\d+)', 1, s, typeof(real))")  # fmt: skip
    assert rows == [("300", 301, "Duration", "", 300.0), ("", None, "", "", None)]


# ---------------------------------------------------------------------------- encodings


def test_base64(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"s": "Kusto", "b": "S3VzdG8="}, {"s": "€😀", "b": "S3VzdG8"}],
                   "base64_encode_tostring(s)", "base64_decode_tostring(b)", "base64_decode_toarray(b)",
                   "base64_encode_fromarray(to_utf8(s))")  # fmt: skip
    assert rows == [("S3VzdG8=", "Kusto", [75, 117, 115, 116, 111], "S3VzdG8="),
                    ("4oKs8J+YgA==", "", None, "4oKs8J+YgA==")]  # fmt: skip
    assert one(engine_ws, 'base64_decode_tostring("U3RyaW5n0KHR0tGA0L7Rh9C60LA=")') == ""  # not UTF-8


def test_base64_guids_use_dotnet_byte_order(engine_ws: Workspace) -> None:
    rows = rows_of(
        engine_ws,
        [{"g": "ae3133f2-6e22-49ae-b06a-16e6a9b212eb"}],
        "base64_encode_fromguid(toguid(g))",
        "tostring(base64_decode_toguid('8jMxriJurkmwahbmqbIS6w=='))",
    )
    assert rows == [("8jMxriJurkmwahbmqbIS6w==", "ae3133f2-6e22-49ae-b06a-16e6a9b212eb")]


def test_url_encoding(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"u": "https://www.bing.com/hello world/é~"}],
                   "url_encode(u)", "url_encode_component(u)", "url_decode(url_encode(u))",
                   "url_decode('https%3a%2f%2fwww.bing.com%2f')", "url_decode('100%+sure%zz')")  # fmt: skip
    assert rows == [("https%3a%2f%2fwww.bing.com%2fhello+world%2f%c3%a9%7e",
                     "https%3a%2f%2fwww.bing.com%2fhello%20world%2f%c3%a9%7e",
                     "https://www.bing.com/hello world/é~", "https://www.bing.com/", "100% sure%zz")]  # fmt: skip


def test_digests_hash_the_text_of_the_value(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"s": "World"}], "hash_md5(s)", "hash_sha1(s)", "hash_sha256(s)",
                   "hash_md5(datetime(2020-01-01))")  # fmt: skip
    assert rows == [(hashlib.md5(b"World").hexdigest(), hashlib.sha1(b"World").hexdigest(),
                     hashlib.sha256(b"World").hexdigest(), "786c530672d1f8db31fee25ea8a9390b")]  # fmt: skip


def test_hash_is_xxhash64(engine_ws: Workspace) -> None:
    long_text = "a longer line of text, so that the 32-byte stripes of xxHash64 are used"
    rows = rows_of(engine_ws, [{"s": "World", "t": long_text, "n": -5}],
                   "hash(s, 100)", "hash(t)", "hash(n)", "hash(datetime(2015-01-01))", "hash(n, 7)")  # fmt: skip
    signed = xxh64(long_text.encode()) - (1 << 64) * (xxh64(long_text.encode()) >= 1 << 63)
    n_hash = xxh64(struct.pack("<q", -5))
    assert rows == [(51, signed, n_hash - (1 << 64) * (n_hash >= 1 << 63), 1380966698541616202, n_hash % 7)]


def test_hex_bytes_and_code_points(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"n": -546, "s": "€x"}],
                   "tohex(256)", "tohex(n)", "tohex(n, 20)", "tohex(256, 8)", "to_utf8(s)",
                   "unicode_codepoints_from_string(s)", "unicode_codepoints_to_string(dynamic([75, 117, 115]), 116, 111)",
                   "make_string(unicode_codepoints_from_string(s), 33)")  # fmt: skip
    assert rows == [("100", "fffffffffffffdde", "0000fffffffffffffdde", "00000100", [226, 130, 172, 120],
                     [8364, 120], "Kusto", "€x!")]  # fmt: skip


def test_format_bytes(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"n": 20010332}], "format_bytes(564)", "format_bytes(10332, 1)", "format_bytes(n)",
                   "format_bytes(n, 2)", "format_bytes(n, 0, 'KB')", "format_bytes(1500, 1, '', 1000)")  # fmt: skip
    assert rows == [("564 Bytes", "10.1 KB", "19 MB", "19.08 MB", "19541 KB", "1.5 KB")]


# ---------------------------------------------------------------------------- SQL == Python reference


@PROPERTY
@given(data=st.lists(st.tuples(TEXT, TEXT, SMALL, st.integers(-3, 12)), min_size=1, max_size=10))
def test_text_functions_match_their_reference(
    engine_ws: Workspace, data: list[tuple[str, str, int, int]]
) -> None:
    rows = [{"s": s, "t": t, "a": a, "b": b} for s, t, a, b in data]
    got = rows_of(engine_ws, rows, "strlen(s)", "string_size(s)", "substring(s, a)", "substring(s, a, b)",
                  "reverse(s)", "strcmp(s, t)", "strrep(s, b, t)", "replace_string(s, t, '<>')")  # fmt: skip
    want = [(reference("strlen")(s), reference("string_size")(s), reference("substring")(s, a),
             reference("substring")(s, a, b), s[::-1], reference("strcmp")(s, t), reference("strrep")(s, b, t),
             reference("replace_string")(s, t, "<>")) for s, t, a, b in data]  # fmt: skip
    assert got == want


@PROPERTY
@given(data=st.lists(st.tuples(st.text("abc", max_size=10), st.text("abc", min_size=1, max_size=3), SMALL,
                               st.integers(-1, 8), st.integers(1, 3)), min_size=1, max_size=10))  # fmt: skip
def test_indexof_and_countof_match_their_reference(
    engine_ws: Workspace, data: list[tuple[str, str, int, int, int]]
) -> None:
    rows = [{"s": s, "t": t, "a": a, "b": b} for s, t, a, b, _ in data]
    for occurrence in sorted({o for *_, o in data}):
        got = rows_of(engine_ws, rows, "indexof(s, t)", "indexof(s, t, a)", f"indexof(s, t, a, b, {occurrence})",
                      "countof(s, t)", f"indexof_regex(s, 'ab|c', a, b, {occurrence})")  # fmt: skip
        fold = reference("indexof")
        want = [(fold(s, t), fold(s, t, a), fold(s, t, a, b, occurrence), reference("countof")(s, t),
                 _regex_index(s, a, b, occurrence)) for s, t, a, b, _ in data]  # fmt: skip
        assert got == want


def _regex_index(s: str, start: int, length: int, occurrence: int) -> int | None:
    """indexof_regex(s, 'ab|c', ...) by hand: the first of the two alternatives found in each window."""
    fold = reference("indexof")
    firsts = [fold(s, "ab", start, length, 1), fold(s, "c", start, length, 1)]
    if None in firsts:
        return None
    position, result = start, -1
    for _ in range(occurrence):
        found = [
            f
            for f in (fold(s, "ab", position, length), fold(s, "c", position, length))
            if f is not None and f >= 0
        ]
        if not found or position > len(s):
            return -1
        result = min(found)
        position = result + 1
    return result


def test_a_regex_computed_per_row_is_refused_on_clickhouse(engine_ws: Workspace) -> None:
    query = "S_CL | project indexof_regex(s, t)"
    engine_ws.ingest("S_CL", [{"s": "abc", "t": "b"}])
    if engine_ws.store.dialect == "clickhouse":
        with pytest.raises(KqlError, match="regular expression computed per row, on ClickHouse"):
            engine_ws.query(query)
    else:
        assert engine_ws.query(query).rows == [(1,)]


@PROPERTY
@given(data=st.lists(TEXT, min_size=1, max_size=10))
def test_encodings_round_trip(engine_ws: Workspace, data: list[str]) -> None:
    got = rows_of(engine_ws, [{"s": s} for s in data], "base64_encode_tostring(s)",
                  "base64_decode_tostring(base64_encode_tostring(s))", "url_encode_component(s)",
                  "url_decode(url_encode(s))", "to_utf8(s)", "unicode_codepoints_to_string(unicode_codepoints_from_string(s))",
                  "hash_sha256(s)", "hash(s)")  # fmt: skip
    want = [(base64.b64encode(s.encode()).decode(), s, reference("url_encode_component")(s), s, list(s.encode()), s,
             hashlib.sha256(s.encode()).hexdigest(), xxh64(s.encode()) - (1 << 64) * (xxh64(s.encode()) >= 1 << 63))
            for s in data]  # fmt: skip
    assert got == want


@PROPERTY
@given(data=st.lists(st.tuples(TEXT, st.sampled_from(["ab", "b", "xy"])), min_size=1, max_size=10))
def test_replace_strings_and_translate_match_their_reference(
    engine_ws: Workspace, data: list[tuple[str, str]]
) -> None:
    lookups, rewrites = ["ab", "b", "é"], ["b", "ab", ""]
    got = rows_of(
        engine_ws,
        [{"s": s, "t": t} for s, t in data],
        f"replace_strings(s, dynamic({lookups}), dynamic({rewrites}))",
        "translate('abé', 'xy', s)",
    )
    want = [(reference("replace_strings")(s, lookups, rewrites), reference("translate")("abé", "xy", s))
            for s, _ in data]  # fmt: skip
    assert got == want


def test_every_string_function_compiles_for_both_dialects() -> None:
    from watchkeeper import kql

    calls = ["strlen(s)", "substring(s, 1, 2)", "indexof(s, 'a', 1, 2, 2)", "indexof_regex(s, 'a')", "countof(s, 'aa')",
             "trim(@'\\s', s)", "replace_strings(s, dynamic(['a']), dynamic(['b']))", "translate('a', 'b', s)",
             "extract('(a)', 1, s, typeof(int))", "url_encode(s)", "hash(s)", "tohex(strlen(s))", "make_string(65)",
             "format_bytes(strlen(s))", "base64_decode_toguid(s)", "parse_csv(s)", "parse_url(s)", "parse_path(s)"]  # fmt: skip
    for dialect in ("duckdb", "clickhouse"):
        for call in calls:
            assert kql.compile(f"T_CL | project v = {call}", dialect=dialect)
