"""Dynamic values on DuckDB and chdb: arrays, bags, sets, ``range()``/``repeat``/``zip``, types.

Inputs are stored rows (nothing constant-folds), so each case checks the SQL the engine runs; the
property tests compare that SQL with a small Python model of Kusto's rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.errors import UnsupportedError

from .dynamic_helpers import rows_of, shared, value

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SCALAR = st.one_of(st.integers(-5, 5), st.sampled_from(["a", "b", "c", "A"]), st.booleans())
ARRAY = st.lists(SCALAR, max_size=6)
INDEX = st.integers(-8, 8)


# ---------------------------------------------------------------------------- arrays


@pytest.mark.parametrize(
    ("x", "expr", "expected"),
    [
        ([1, 2, 3, 4, 5], "array_length(x)", 5),
        ({"a": 1}, "array_length(x)", None),
        ([1, 2, 3, 4, 5], "array_slice(x, 2, -1)", [3, 4, 5]),
        ([1, 2, 3, 4, 5], "array_slice(x, 1, 2)", [2, 3]),
        ([1, 2, 3], "array_slice(x, 5, 9)", []),
        ([1, 2, 3], "array_reverse(x)", [3, 2, 1]),
        ([1, 2, 3, 4, 5], "array_rotate_left(x, 2)", [3, 4, 5, 1, 2]),
        ([1, 2, 3, 4, 5], "array_rotate_left(x, -1)", [5, 1, 2, 3, 4]),
        ([1, 2, 3, 4, 5], "array_rotate_right(x, 7)", [4, 5, 1, 2, 3]),
        ([1, 2, 3, 4, 5], "array_shift_left(x, 2)", [3, 4, 5, None, None]),
        ([1, 2, 3, 4, 5], "array_shift_left(x, -2, -1)", [-1, -1, 1, 2, 3]),
        ([1, 2, 3, 4, 5], "array_shift_right(x, 1, 0)", [0, 1, 2, 3, 4]),
        ([1, 2, 3, 4, 5], "array_split(x, dynamic([1, 3]))", [[1], [2, 3], [4, 5]]),
        ([1, 2, 3, 4, 5], "array_split(x, 2)", [[1, 2], [3, 4, 5]]),
        ([1, 2.5, 3], "array_sum(x)", 6.5),
        ([1, "a"], "array_sum(x)", None),
        ([1, 0, 50], "array_iff(x, 'yes', 'no')", ["yes", "no", "yes"]),
        ([True, False, None], "array_iff(x, dynamic([1, 2, 3]), 0)", [1, 0, None]),
        ([3, None, 1, "b", "a", True], "array_sort_asc(x)", [1, 3, "a", "b", True, None]),
        ([3, None, 1, "b", "a"], "array_sort_desc(x)", ["b", "a", 3, 1, None]),
        ([3, None, 1], "array_sort_asc(x, false)", [None, 1, 3]),
        ("abc", "array_reverse(x)", None),
    ],
)
def test_array_functions(engine_ws: Workspace, x: Any, expr: str, expected: Any) -> None:
    assert value(engine_ws, {"x": x}, expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('array_index_of(arr, "an")', 2),
        ('array_index_of(arr, "example", 1, 3)', 3),
        ('array_index_of(arr, "example", 1, 2)', -1),
        ('array_index_of(arr, "is", 2, 4)', -1),
        ('array_index_of(arr, "an", 1, -1, 2)', 4),
        ('array_index_of(arr, "an", 1, -1, 3)', -1),
        ('array_index_of(arr, "an", -3)', 4),
        ('array_index_of(arr, "an", 0, -2)', None),
    ],
)
def test_array_index_of(engine_ws: Workspace, expr: str, expected: Any) -> None:
    arr = ["this", "is", "an", "example", "an", "example"]
    assert value(engine_ws, {"arr": arr}, expr) == expected


def test_array_sort_several_arrays_reorders_them_alike(engine_ws: Workspace) -> None:
    row = {"t": [3, 1, 2], "c": ["c", "a", "b"], "short": [1]}
    assert value(engine_ws, row, "array_sort_asc(t, c)") == [[1, 2, 3], ["a", "b", "c"]]
    assert value(engine_ws, row, "array_sort_desc(t, c)[1]") == ["c", "b", "a"]
    assert value(engine_ws, row, "array_sort_asc(t, short)") is None


def test_arrays_sorted_together_get_a_column_each(engine_ws: Workspace) -> None:
    query = (
        'let array1 = dynamic([1,3,4,5,2]); let array2 = dynamic(["a","b","c","d","e"]); '
        "print array_sort_desc(array1, array2), n = 1"
    )
    result = engine_ws.query(query)
    assert result.column_names == ["array1_sorted", "array2_sorted", "n"]
    assert result.rows == [([5, 4, 3, 2, 1], ["d", "c", "b", "e", "a"], 1)]
    named = engine_ws.query('print (x, y) = array_sort_asc(dynamic([2, 1]), dynamic(["b", "a"]), false)')
    assert (named.column_names, named.rows) == (["x", "y"], [([1, 2], ["a", "b"])])


def test_zip_repeat_range(engine_ws: Workspace) -> None:
    row = {"a": [1, 2, 3], "b": ["x", "y"], "n": 3}
    assert value(engine_ws, row, "zip(a, b)") == [[1, "x"], [2, "y"], [3, None]]
    assert value(engine_ws, row, "repeat('ab', n)") == ["ab", "ab", "ab"]
    assert value(engine_ws, row, "repeat(1, n - 5)") == []
    assert value(engine_ws, row, "range(1, n * 3, n)") == [1, 4, 7]
    assert value(engine_ws, row, "range(n, 1, -1)") == [3, 2, 1]
    assert value(engine_ws, row, "range(1.0, n, 0.5)") == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert value(engine_ws, row, "range(1h, n * 1h, 1h)") == ["01:00:00", "02:00:00", "03:00:00"]
    days = value(engine_ws, row, "range(datetime(2024-01-30), datetime(2024-02-01), 1d)")
    assert days == [
        "2024-01-30T00:00:00.0000000Z",
        "2024-01-31T00:00:00.0000000Z",
        "2024-02-01T00:00:00.0000000Z",
    ]


def test_range_is_capped_like_kusto(ws: Workspace) -> None:
    assert ws.query("print r = range(1, 1000000000) | mv-expand r | count").rows == [(1_048_576,)]


def _slice(arr: list[Any], start: int, end: int | None) -> list[Any]:
    n = len(arr)
    s = max(start + n if start < 0 else start, 0)
    e = (end + n if end < 0 else end) if end is not None else n - 1
    return arr[s : max(e + 1, 0)]


@given(arr=ARRAY, start=INDEX, end=INDEX)
@PROPERTY
def test_array_slice_matches_kusto_rules(arr: list[Any], start: int, end: int) -> None:
    ws = shared("duckdb")
    assert value(ws, {"x": arr}, f"array_slice(x, {start}, {end})") == _slice(arr, start, end)


@given(a=ARRAY, b=ARRAY)
@PROPERTY
def test_array_concat_matches_python(a: list[Any], b: list[Any]) -> None:
    ws = shared("duckdb")
    assert value(ws, {"a": a, "b": b}, "array_concat(a, b, a)") == a + b + a


@pytest.mark.chdb
@given(arr=ARRAY, start=INDEX, end=INDEX)
@PROPERTY
def test_array_slice_and_concat_on_clickhouse(arr: list[Any], start: int, end: int) -> None:
    pytest.importorskip("chdb")
    ws = shared("clickhouse")
    got = rows_of(ws, [{"x": arr}], f"array_slice(x, {start}, {end})", "array_concat(x, x)")[0]
    assert got == (_slice(arr, start, end), arr + arr)


# ---------------------------------------------------------------------------- sets


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _unique(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(_key(v), v)
    return list(seen.values())


@given(a=ARRAY, b=ARRAY)
@PROPERTY
def test_set_functions_match_python(a: list[Any], b: list[Any]) -> None:
    ws = shared("duckdb")
    got = rows_of(ws, [{"a": a, "b": b}], "set_union(a, b)", "set_intersect(a, b)", "set_difference(a, b)",
                  "jaccard_index(a, b)")[0]  # fmt: skip
    in_b = {_key(x) for x in b}
    union, inter = _unique(a + b), [x for x in _unique(a) if _key(x) in in_b]
    assert got[0] == union
    assert got[1] == inter
    assert got[2] == [x for x in _unique(a) if _key(x) not in in_b]
    assert got[3] == (len(inter) / len(union) if union else None)


def test_sets_keep_first_occurrence_order(engine_ws: Workspace) -> None:
    row = {"a": ["A4", "A2", "A7", "A2"], "b": [5, 1], "c": [1, 2, 2, 3]}
    got = rows_of(engine_ws, [row], "set_union(a, a)", "set_union(c, b)", "set_intersect(c, dynamic([3, 2]))",
                  "set_difference(c, b)", "set_has_element(c, 2)", "set_has_element(a, 'A9')", "jaccard_index(c, b)")  # fmt: skip
    assert got == [(["A4", "A2", "A7"], [1, 2, 3, 5], [2, 3], [2, 3], True, False, 0.25)]


# ---------------------------------------------------------------------------- bags


BAG = {"key1": 123, "key2": {"prop1": "abc", "prop2": "xyz"}, "key3": [100, 200]}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("bag_keys(b)", ["key1", "key2", "key3"]),
        ("bag_has_key(b, 'key2')", True),
        ("bag_has_key(b, 'nope')", False),
        ("bag_has_key(b, '$.key2.prop1')", True),
        ("bag_has_key(b, '$.key2.prop9')", False),
        ("bag_remove_keys(b, dynamic(['key2', 'key4']))", {"key1": 123, "key3": [100, 200]}),
        ("bag_remove_keys(b, dynamic(['$.key2.prop1', 'key3']))", {"key1": 123, "key2": {"prop2": "xyz"}}),
        ("bag_set_key(b, 'key1', 'v')", {**BAG, "key1": "v"}),
        ("bag_set_key(b, '$.key2.prop1', 1)", {**BAG, "key2": {"prop1": 1, "prop2": "xyz"}}),
        ("bag_set_key(b, '$.new.deep', true)", {**BAG, "new": {"deep": True}}),
        ("bag_merge(b, dynamic({'key1': 0, 'key9': 9}))", {**BAG, "key9": 9}),
        ("bag_pack('a', 1, 'b', 'x')", {"a": 1, "b": "x"}),
        ("dynamic_to_json(dynamic({'b': 1, 'a': [2]}))", '{"a":[2],"b":1}'),
    ],
)
def test_bag_functions(engine_ws: Workspace, expr: str, expected: Any) -> None:
    assert value(engine_ws, {"b": BAG}, expr) == expected


def test_bag_functions_return_null_for_non_bags(engine_ws: Workspace) -> None:
    got = rows_of(engine_ws, [{"x": [1]}], "bag_keys(x)", "bag_merge(x, x)", "bag_set_key(x, 'a', 1)",
                  "bag_remove_keys(x, dynamic(['a']))", "bag_has_key(x, 'a')")  # fmt: skip
    assert got == [(None, {}, None, None, False)]


def test_bag_zip_and_dynamic_to_json(engine_ws: Workspace) -> None:
    row = {"k": ["a", "b", 3, "a"], "v": [1, "2", 2.5], "d": {"z": 1, "y": {"b": 2}}}
    got = rows_of(engine_ws, [row], "bag_zip(k, v)", "dynamic_to_json(d)", "dynamic_to_json(k)")
    assert got[0][0] == {"a": 1, "b": "2"}
    assert json.loads(got[0][1]) == row["d"]
    assert got[0][1].startswith('{"y":')
    assert json.loads(got[0][2]) == row["k"]


def test_pack_all_ignoring_nulls_and_empties(engine_ws: Workspace) -> None:
    query = """datatable(Source:string, Target:string, CharsCount:long)['555-1313', '', 42, '', '5', long(null)]
               | extend All = pack_all(), Present = pack_all(true)"""
    rows = engine_ws.query(query).rows
    assert rows[0][3] == {"Source": "555-1313", "Target": "", "CharsCount": 42}
    assert rows[0][4] == {"Source": "555-1313", "CharsCount": 42}
    assert rows[1][4] == {"Target": "5"}


# ---------------------------------------------------------------------------- types, text


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([1], "array"),
        ({"a": 1}, "dictionary"),
        ("s", "string"),
        (1, "int"),
        (2**40, "long"),
        (1.5, "real"),
        (True, "bool"),
        (None, "null"),
    ],
)
def test_gettype_of_dynamic_values(engine_ws: Workspace, x: Any, expected: str) -> None:
    assert value(engine_ws, {"x": [x]}, "gettype(x[0])") == expected


def test_gettype_of_typed_values_and_constants(ws: Workspace) -> None:
    query = "print a=gettype('x'), b=gettype(1s), c=gettype(now()), d=gettype(dynamic([])), e=gettype(parse_json('1'))"
    assert ws.query(query).rows == [("string", "timespan", "datetime", "array", "int")]


def test_treepath_of_constants(ws: Workspace) -> None:
    query = """print a = treepath(parse_json('{"prop1":[1,2,3,4], "prop2":"value2"}')),
                     b = treepath(parse_json('{"listProperty":[100,200,300,"abcde",{"x":"y"}]}'))"""
    assert ws.query(query).rows == [(["['prop1']", "['prop1'][0]", "['prop2']"],
                                     ["['listProperty']", "['listProperty'][0]", "['listProperty'][0]['x']"])]  # fmt: skip


def test_treepath_of_stored_values_says_unsupported(ws: Workspace) -> None:
    with pytest.raises(UnsupportedError, match="treepath"):
        rows_of(ws, [{"x": {"a": 1}}], "treepath(x)")


def test_strcat_array_and_split(engine_ws: Workspace) -> None:
    got = rows_of(engine_ws, [{"x": ["a", 1, None, {"b": 2}], "s": "John,Paul,Jane"}],
                  "strcat_array(x, '-')", "strcat_array(array_sort_asc(split(s, ',')), ',')")  # fmt: skip
    assert got == [('a-1--{"b":2}', "Jane,John,Paul")]


def test_extract_json_with_a_type(engine_ws: Workspace) -> None:
    row = {"s": '{"a": {"b": 42}, "t": "x"}'}
    got = rows_of(engine_ws, [row], "extract_json('$.a.b', s, typeof(long))", "extract_json('$.t', s)",
                  "extractjson('$.t', s, typeof(string))")  # fmt: skip
    assert got == [(42, "x", "x")]
