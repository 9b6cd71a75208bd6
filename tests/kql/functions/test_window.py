"""Window functions over serialized rows on DuckDB and chdb."""

from __future__ import annotations

from tests.kql.functions.datatables import table
from watchkeeper import Workspace

AIRPORTS = table({"Airport": "string", "Airline": "string", "Departures": "long"},
                 [("SEA", "LH", 3), ("SEA", "LY", 100), ("SEA", "UA", 3), ("SEA", "BA", 2), ("SEA", "EL", 3),
                  ("AMS", "EL", 1), ("AMS", "BA", 1)])  # fmt: skip


# A restart is a partition by the running count of restarts: a window function inside another one,
# which SQL refuses until the lowering computes the inner one in an inner SELECT first.
def test_row_number_prev_and_next(engine_ws: Workspace) -> None:
    rows = engine_ws.query(f"{AIRPORTS} | sort by Departures asc, Airline asc | extend n = row_number(), "
                           "m = row_number(10), p = prev(Departures), p2 = prev(Departures, 2, -1), "
                           "nx = next(Airline), nx2 = next(Airline, 2, 'none') | project Airline, n, m, p, p2, nx, nx2").rows  # fmt: skip
    assert rows == [
        ("BA", 1, 10, None, -1, "EL", "BA"), ("EL", 2, 11, 1, -1, "BA", "EL"), ("BA", 3, 12, 1, 1, "EL", "LH"),
        ("EL", 4, 13, 2, 1, "LH", "UA"), ("LH", 5, 14, 3, 2, "UA", "LY"), ("UA", 6, 15, 3, 3, "LY", "none"),
        ("LY", 7, 16, 3, 3, "", "none"),
    ]  # fmt: skip


def test_row_cumsum(engine_ws: Workspace) -> None:
    rows = engine_ws.query(f"{table({'a': 'long'}, [(v,) for v in range(1, 11)])} | where a % 2 == 0 "
                           "| order by a asc | extend cs = row_cumsum(a) | project a, cs").rows  # fmt: skip
    assert rows == [(2, 2), (4, 6), (6, 12), (8, 20), (10, 30)]


def test_a_restart_column_restarts_numbering_and_sums(engine_ws: Workspace) -> None:
    rows = engine_ws.query(f"{AIRPORTS} | sort by Airport asc, Departures desc | extend first = Airport != "
                           "prev(Airport) | extend r = row_number(1, first), s = row_cumsum(Departures, first) "
                           "| project Airport, Departures, r, s").rows  # fmt: skip
    assert [(a, r, s) for a, _, r, s in rows] == [
        ("AMS", 1, 1), ("AMS", 2, 2), ("SEA", 1, 100), ("SEA", 2, 103), ("SEA", 3, 106), ("SEA", 4, 109),
        ("SEA", 5, 111),
    ]  # fmt: skip


def test_a_restart_predicate_may_use_prev(engine_ws: Workspace) -> None:
    rows = engine_ws.query(f"{AIRPORTS} | sort by Airport asc, Departures desc "
                           "| extend Rank = row_number(1, prev(Airport) != Airport) | project Airport, Rank").rows  # fmt: skip
    assert rows == [("AMS", 1), ("AMS", 2), ("SEA", 1), ("SEA", 2), ("SEA", 3), ("SEA", 4), ("SEA", 5)]


def test_row_rank_dense_and_min_follow_the_documented_examples(engine_ws: Workspace) -> None:
    rows = engine_ws.query(f"{AIRPORTS} | sort by Airport desc, Departures asc "
                           "| extend Dense = row_rank_dense(Departures, prev(Airport) != Airport), "
                           "Min = row_rank_min(Departures, prev(Airport) != Airport) "
                           "| project Airport, Departures, Dense, Min").rows  # fmt: skip
    assert rows == [("SEA", 2, 1, 1), ("SEA", 3, 2, 2), ("SEA", 3, 2, 2), ("SEA", 3, 2, 2), ("SEA", 100, 3, 5),
                    ("AMS", 1, 1, 1), ("AMS", 1, 1, 1)]  # fmt: skip
