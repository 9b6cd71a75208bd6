"""Graph semantics (make-graph, graph-match, graph-shortest-paths, graph-to-table).

The documented examples are golden cases (``cases/graph/``). Here: ``graph-match`` over
variable-length edges is compared with a plain depth-first search written from Kusto's definition
(every path of ``lo..hi`` edges; ``cycles=unique_edges`` uses no edge twice, ``none`` visits no
node twice, ``all`` allows both) on hypothesis-generated small graphs, and the forms that are
refused say so with their position.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.errors import KqlError, UnsupportedError
from watchkeeper.kql.bind_graph_match import MAX_HOPS

Edge = tuple[str, str, str]


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def ws(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """One workspace per engine for the module (hypothesis runs many queries on it)."""
    if request.param == "duckdb":
        workspace = Workspace.open(None)
    else:
        pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")
        from watchkeeper.store.clickhouse import ChdbEventStore

        workspace = Workspace(ChdbEventStore())
    yield workspace
    workspace.close()


def _steps(edges: list[Edge], direction: str) -> list[tuple[int, str, str, str]]:
    """(edge index, from, to, label) for every way a pattern edge can walk an edge."""
    out = [(i, s, d, label) for i, (s, d, label) in enumerate(edges)] if direction != "in" else []
    if direction == "in":
        out = [(i, d, s, label) for i, (s, d, label) in enumerate(edges)]
    if direction == "any":
        out += [(i, d, s, label) for i, (s, d, label) in enumerate(edges) if s != d]
    return out


def reference_paths(
    edges: list[Edge], direction: str, lo: int, hi: int, cycles: str
) -> Counter[tuple[str, ...]]:
    """Every match of ``(a)-[e*lo..hi]-(b)`` as (a, b, labels joined by commas), by DFS."""
    steps = _steps(edges, direction)
    found: Counter[tuple[str, ...]] = Counter()

    def walk(nodes: list[str], used: list[int], labels: list[str]) -> None:
        if lo <= len(used):
            found[(nodes[0], nodes[-1], ",".join(labels))] += 1
        if len(used) == hi:
            return
        for i, frm, to, label in steps:
            if frm != nodes[-1] or (cycles != "all" and i in used) or (cycles == "none" and to in nodes):
                continue
            walk([*nodes, to], [*used, i], [*labels, label])

    for start in sorted({n for s, d, _ in edges for n in (s, d)}):
        walk([start], [], [])
    return found


CONDITIONS: dict[str, Callable[[str, list[str]], bool]] = {
    "": lambda a, labels: True,
    'all(e, label == "x")': lambda a, labels: all(x == "x" for x in labels),
    'any(e, label == "y")': lambda a, labels: any(x == "y" for x in labels),
    'a.id == "a"': lambda a, labels: a == "a",
    'a.id != "b" and all(e, label != "y")': lambda a, labels: a != "b" and "y" not in labels,
}


def _query(edges: list[Edge], direction: str, lo: int, hi: int, cycles: str, where: str = "") -> str:
    rows = ", ".join(json.dumps(v) for edge in edges for v in edge)
    arrow = {"out": "-[e*{}..{}]->", "in": "<-[e*{}..{}]-", "any": "-[e*{}..{}]-"}[direction].format(lo, hi)
    return (
        f"datatable(s:string, d:string, label:string) [{rows}]\n"
        "| make-graph s --> d with_node_id=id\n"
        f"| graph-match cycles={cycles} (a){arrow}(b)\n"
        + (f"  where {where}\n" if where else "")
        + '  project a = a.id, b = b.id, labels = strcat_array(map(e, label), ",")'
    )


graphs = st.lists(
    st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd"), st.sampled_from("xy")), min_size=1, max_size=6
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edges=graphs,
    direction=st.sampled_from(["out", "in", "any"]),
    bounds=st.sampled_from([(1, 1), (1, 2), (2, 3), (1, 3)]),
    cycles=st.sampled_from(["unique_edges", "none", "all"]),
    where=st.sampled_from(sorted(CONDITIONS)),
)
def test_variable_length_matches_equal_a_depth_first_search(
    ws: Workspace, edges: list[Edge], direction: str, bounds: tuple[int, int], cycles: str, where: str
) -> None:
    lo, hi = bounds
    result = ws.query(_query(edges, direction, lo, hi, cycles, where))
    assert result.column_names == ["a", "b", "labels"]
    keep = CONDITIONS[where]
    expected = Counter(
        {
            k: n
            for k, n in reference_paths(edges, direction, lo, hi, cycles).items()
            if keep(k[0], k[2].split(","))
        }
    )
    assert Counter(tuple(row) for row in result.rows) == expected


def test_shortest_paths_any_gives_one_shortest_path_per_pair(ws: Workspace) -> None:
    result = ws.query(
        'datatable(s:string, d:string) ["a", "b", "b", "c", "a", "x", "x", "c", "c", "d", "a", "d"]\n'
        "| make-graph s --> d with_node_id=id\n"
        "| graph-shortest-paths (p)-[e*1..3]->(q) where p.id == 'a'\n"
        "  project q = q.id, hops = array_length(map(e, s))"
    )
    assert sorted(tuple(r) for r in result.rows) == [("b", 1), ("c", 2), ("d", 1), ("x", 1)]


def _error(ws: Workspace, query: str) -> KqlError:
    with pytest.raises(KqlError) as caught:
        ws.query(query)
    return caught.value


EDGES = 'datatable(s:string, d:string) ["a", "b"]\n'


def test_a_graph_must_be_consumed_by_a_graph_operator(ws: Workspace) -> None:
    err = _error(ws, EDGES + "| make-graph s --> d\n| where s == 'a'")
    assert "must be followed by graph-match, graph-shortest-paths or graph-to-table" in str(err)
    assert "line 3" in str(err)


def test_mark_components_does_not_overwrite_a_property(ws: Workspace) -> None:
    err = _error(ws, EDGES + "| make-graph s --> d with_node_id=n\n| graph-mark-components with_component_id=n\n"
                 "| graph-to-table nodes")  # fmt: skip
    assert "the nodes already have a property 'n'" in str(err)


def test_path_length_limits_are_reported(ws: Workspace) -> None:
    too_long = _error(
        ws, EDGES + f"| make-graph s --> d\n| graph-match (a)-[e*1..{MAX_HOPS + 1}]->(b) project 1"
    )
    assert isinstance(too_long, UnsupportedError)
    assert f"1..{MAX_HOPS}" in str(too_long)


def test_unknown_property_names_the_variable(ws: Workspace) -> None:
    err = _error(ws, EDGES + "| make-graph s --> d with_node_id=n\n| graph-match (a)-->(b) project a.nope")
    assert "the node 'a' has no property 'nope'" in str(err)


def test_comma_separated_patterns_are_refused(ws: Workspace) -> None:
    err = _error(
        ws, EDGES + "| make-graph s --> d with_node_id=n\n| graph-match (a)-->(b), (b)-->(c) project a.n"
    )
    assert "comma-separated" in str(err)


def test_a_graph_operator_needs_make_graph_before_it(ws: Workspace) -> None:
    err = _error(ws, EDGES + "| graph-match (a)-->(b) project a.n")
    assert "graph-match reads a graph: write it after make-graph in the same pipeline" in str(err)
    assert "line 2, column 3" in str(err)
