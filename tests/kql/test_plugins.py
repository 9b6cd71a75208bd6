"""``evaluate`` plugins (``bag_unpack``, ``pivot``, ``narrow``) and ``parse-kv`` on DuckDB and chdb."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper import Workspace, kql
from watchkeeper.errors import KqlError, UnsupportedError

PEOPLE = """datatable(Name:string, d:dynamic)
['James', dynamic({"Name": "John", "Age": 20}), 'David', dynamic({"Age": 40}), 'Emily', dynamic({"Name": "Jasmine", "Age": 30})]"""


def run(ws: Workspace, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = ws.query(query)
    return [c[0] for c in result.columns], sorted(result.rows, key=repr)


# ---------------------------------------------------------------------------- bag_unpack


def test_bag_unpack_columns_and_their_types_come_from_the_data(engine_ws: Workspace) -> None:
    q = "datatable(d:dynamic)[dynamic({'b': 1, 'a': 'x'}), dynamic({'c': [1]})] | evaluate bag_unpack(d)"
    cols, rows = run(engine_ws, q)
    assert cols == ["a", "b", "c"]
    assert [t.value for _, t in engine_ws.query(q).columns] == ["string", "long", "dynamic"]
    assert rows == sorted([("x", 1, None), ("", None, [1])], key=repr)  # typed by their values


def test_bag_unpack_conflicts(engine_ws: Workspace) -> None:
    replaced = run(engine_ws, PEOPLE + " | evaluate bag_unpack(d, columnsConflict='replace_source')")
    assert replaced == (["Name", "Age"], sorted([("", 40), ("Jasmine", 30), ("John", 20)], key=repr))
    kept = run(engine_ws, PEOPLE + " | evaluate bag_unpack(d, columnsConflict='keep_source')")
    assert kept == (["Name", "Age"], [("David", 40), ("Emily", 30), ("James", 20)])
    with pytest.raises(KqlError, match="collides"):
        engine_ws.query(PEOPLE + " | evaluate bag_unpack(d)")


def test_bag_unpack_prefix_and_ignored_properties(engine_ws: Workspace) -> None:
    query = PEOPLE + " | evaluate bag_unpack(d, 'p_', ignoredProperties=dynamic(['Age']))"
    assert run(engine_ws, query) == (
        ["Name", "p_Name"],
        [("David", ""), ("Emily", "Jasmine"), ("James", "John")],
    )


# ---------------------------------------------------------------------------- pivot, narrow

EVENTS = """datatable(Key:string, Value:string, Computer:string, Id:long)
["a","1","h1",1, "b","2","h1",1, "a","3","h2",2, "c","x","h2",2, "a","4","h2",2]"""


def test_bag_unpack_with_a_declared_schema_compiles_without_looking_at_the_data() -> None:
    # a rule compiled without a workspace still knows its columns, as the schema declares them
    compiled = kql.translate(
        PEOPLE + " | evaluate bag_unpack(d, columnsConflict='replace_source') : (*, Age:long)"
    )
    assert [(n, t.value) for n, t in compiled[0].columns] == [("Name", "string"), ("Age", "long")]


def test_an_output_schema_on_other_plugins_is_refused() -> None:
    with pytest.raises(UnsupportedError, match=r"an output schema for evaluate pivot\(\)"):
        kql.translate("datatable(a:string)['x'] | evaluate pivot(a) : (*, x:long)")


def test_partition_refuses_operators_that_would_need_one_run_per_partition() -> None:
    query = "datatable(k:string, v:long)['a', 1, 'b', 2] | partition by k ( top 1 by v )"
    with pytest.raises(UnsupportedError, match="partition with 'top' in its subquery"):
        kql.translate(query)


def test_partition_column_must_not_clash_with_the_subquery_columns() -> None:
    query = "range x from 1 to 2 step 1 | partition by x { datatable(x:long)[1] | where x > 0 }"
    with pytest.raises(UnsupportedError, match="has its own 'x' column"):
        kql.translate(query)


def test_pivot_counts_by_the_other_columns(engine_ws: Workspace) -> None:
    cols, rows = run(engine_ws, EVENTS + " | project Key, Computer | evaluate pivot(Key)")
    assert cols == ["Computer", "a", "b", "c"]
    assert rows == [("h1", 1, 1, 0), ("h2", 2, 0, 1)]


def test_pivot_with_an_aggregation_and_columns(engine_ws: Workspace) -> None:
    cols, rows = run(engine_ws, EVENTS + " | evaluate pivot(Key, make_set(Value), Computer)")
    assert cols == ["Computer", "a", "b", "c"]
    assert rows == [("h1", ["1"], ["2"], []), ("h2", ["3", "4"], [], ["x"])]


def test_pivot_compiles_with_an_open_schema_without_a_workspace() -> None:
    assert "SELECT" in kql.compile(EVENTS + " | evaluate pivot(Key, any(Value), Computer)")


def test_narrow_unpivots_every_cell_as_text(engine_ws: Workspace) -> None:
    query = "datatable(a:long, b:string, c:dynamic, t:timespan)[1, 'x', dynamic([1]), 1s, 2, 'y', dynamic(null), 2d] | evaluate narrow()"
    cols, rows = run(engine_ws, query)
    assert cols == ["Row", "Column", "Value"]
    assert rows == sorted([(0, "a", "1"), (0, "b", "x"), (0, "c", "[1]"), (0, "t", "00:00:01"),
                           (1, "a", "2"), (1, "b", "y"), (1, "c", ""), (1, "t", "2.00:00:00")], key=repr)  # fmt: skip


@pytest.mark.parametrize(
    "plugin", ["sequence_detect(TimeGenerated, 5s, 8s, a=(x == 1))", "basket()", "autocluster()"]
)
def test_plugins_that_do_not_compile_say_why(plugin: str) -> None:
    with pytest.raises(UnsupportedError, match=r"evaluate \w+\(\): "):
        kql.compile(f"datatable(x:long, TimeGenerated:datetime)[1, now()] | evaluate {plugin}")


# ---------------------------------------------------------------------------- parse-kv


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("ThreadId:458745723, Machine:Node001, Text: The service is up, Level: Info",
         "pair_delimiter=',', kv_delimiter=':'", ("The service is up", 458745723, "Node001")),
        ("Text=name=John Doe ThreadId=555 Machine=New York", "pair_delimiter=' ', kv_delimiter='='", ("name=John", 555, "New")),
        ("Text=John Doe ThreadId=555 Machine=New York", "pair_delimiter=' ', kv_delimiter='=', greedy=true",
         ("John Doe", 555, "New York")),
        ('Text="a, b", ThreadId=7', "pair_delimiter=',', kv_delimiter='=', quote='\"'", ("a, b", 7, "")),
        ("Machine:M1; Text:hi; ThreadId:9", "regex=@'(\\w+):\\s*([^;]*)'", ("hi", 9, "M1")),
        ("Machine=M1 & Text=hi & ThreadId=3", "quote='\"'", ("hi", 3, "M1")),
    ],
)  # fmt: skip
def test_parse_kv(engine_ws: Workspace, text: str, options: str, expected: tuple[Any, ...]) -> None:
    query = f"print s={text!r} | parse-kv s as (Text: string, ThreadId: long, Machine: string) with ({options}) | project-away s"
    cols, rows = run(engine_ws, query.replace("\\\\", "\\"))
    assert cols == ["Text", "ThreadId", "Machine"]
    assert rows == [expected]


def test_parse_kv_missing_keys(engine_ws: Workspace) -> None:
    query = "print s='a=1' | parse-kv s as (a: long, b: long, c: string) with (pair_delimiter=' ', kv_delimiter='=')"
    assert run(engine_ws, query)[1] == [("a=1", 1, None, "")]


# ---------------------------------------------------------------------------- ipv4_lookup

NETWORKS = """let IP_Data = datatable(network:string, country:string, zone:string)
["5.8.0.0/19", "RU", "a", "2.20.183.0/24", "GB", "a", "2.20.183.0/24", "GB-b", "b"];
let IPs = datatable(ip:string, zone:string)["2.20.183.12", "a", "5.8.1.2", "a", "192.165.12.17", "a", "5.8.1.3", "b"];"""


def test_ipv4_lookup_matches_ranges(engine_ws: Workspace) -> None:
    cols, rows = run(engine_ws, NETWORKS + " IPs | evaluate ipv4_lookup(IP_Data, ip, network)")
    assert cols == ["ip", "zone", "network", "country", "zone1"]
    assert [(r[0], r[3]) for r in rows] == [("2.20.183.12", "GB"), ("2.20.183.12", "GB-b"), ("5.8.1.2", "RU"),
                                            ("5.8.1.3", "RU")]  # fmt: skip


def test_ipv4_lookup_extra_keys_and_unmatched_rows(engine_ws: Workspace) -> None:
    query = NETWORKS + " IPs | evaluate ipv4_lookup(IP_Data, ip, network, zone, zone, return_unmatched=true)"
    rows = run(engine_ws, query)[1]
    assert [(r[0], r[3]) for r in rows] == sorted([("2.20.183.12", "GB"), ("5.8.1.2", "RU"), ("192.165.12.17", ""),
                                                   ("5.8.1.3", "")], key=repr)  # fmt: skip
