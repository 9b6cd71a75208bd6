"""A let value used twice becomes one CTE. A sorted one carries the columns its order is made of,
so every use sees the rows in order (golden cases under ``cases/let/``); an unsorted one costs
nothing more than before, and a join, which keeps no order, does not sort its inputs."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from watchkeeper import kql


def _ctes(sql: str, dialect: str) -> dict[str, exp.Select]:
    tree = sqlglot.parse_one(sql, dialect=dialect)
    return {cte.alias: cte.this for cte in tree.find_all(exp.CTE)}


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
def test_an_unsorted_shared_let_is_a_cte_of_its_columns(dialect: str) -> None:
    sql = kql.compile(
        "let Fails = SecurityEvent | where EventID == 4625 | project Computer, Account;"
        " Fails | summarize n = count() by Computer"
        " | join kind=inner (Fails | summarize a = dcount(Account) by Computer) on Computer",
        dialect=dialect,
    )
    bodies = list(_ctes(sql, dialect).values())  # one CTE per step of the let value, itself last
    assert [e.alias_or_name for e in bodies[-1].expressions] == ["Computer", "Account"]
    assert all(body.args.get("order") is None for body in bodies)


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
def test_a_sorted_shared_let_keeps_its_hidden_sort_key_and_joins_do_not_sort(dialect: str) -> None:
    sql = kql.compile(
        'let S = datatable(name:string)["ccc", "a"] | sort by strlen(name) asc;'
        " S | serialize r = row_number() | join kind=inner (S | serialize b = prev(name)) on name",
        dialect=dialect,
    )
    bodies = list(_ctes(sql, dialect).values())
    # the CTE of S outputs the computed sort key next to the name, and does not sort
    assert any("__wk_s1" in [e.alias_or_name for e in body.expressions] for body in bodies)
    assert all(body.args.get("order") is None for body in bodies)
    # each use numbers (or looks back over) the rows in that order; the join's inputs are not sorted
    tree = sqlglot.parse_one(sql, dialect=dialect)
    windows = list(tree.find_all(exp.Window))
    assert len(windows) == 2
    assert all("__wk_s1" in w.args["order"].sql(dialect=dialect) for w in windows)
    join = tree.find(exp.Join)
    assert join is not None
    select = join.parent_select
    assert select is not None
    sides = [select.args["from_"].this, join.this]
    assert all(isinstance(side, exp.Subquery) and side.this.args.get("order") is None for side in sides)
