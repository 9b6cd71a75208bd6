"""The public surface is explicit and pinned: other tools and benchmarks rely on these names."""

from __future__ import annotations

import inspect

import pyarrow as pa

import watchkeeper
from watchkeeper import Catalog, KqlType, QueryResult, Workspace, kql


def test_every_exported_name_exists() -> None:
    missing = [name for name in watchkeeper.__all__ if not hasattr(watchkeeper, name)]
    assert missing == []


def test_pinned_entry_points_keep_their_signatures() -> None:
    assert list(inspect.signature(Workspace.open).parameters)[:1] == ["path"]
    compile_params = inspect.signature(kql.compile).parameters
    assert list(compile_params) == ["kql", "catalog", "dialect"]
    assert compile_params["catalog"].default is None
    assert compile_params["dialect"].default == "duckdb"
    assert watchkeeper.compile is kql.compile


def test_workspace_query_returns_typed_columns_rows_and_conversions() -> None:
    with Workspace.open(None) as ws:
        result = ws.query('datatable(a:int, b:string)[1,"x",2,"y"] | summarize count() by b | order by b asc')
        assert isinstance(result, QueryResult)
        assert result.columns == [("b", KqlType.STRING), ("count_", KqlType.LONG)]
        assert result.rows == [("x", 1), ("y", 1)]
        table = result.to_arrow()
        assert isinstance(table, pa.Table)
        assert table.column_names == ["b", "count_"]
        frame = result.to_pandas()
        assert list(frame["b"]) == ["x", "y"]


def test_sentinel_catalog_is_the_shipped_schemas() -> None:
    catalog = Catalog.sentinel()
    assert len(catalog) >= 898
    assert catalog["SecurityEvent"].column("EventID") is not None
