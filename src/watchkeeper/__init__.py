"""watchkeeper: a self-hosted security operations platform.

The public Python API::

    from watchkeeper import Workspace, Catalog, kql
    ws = Workspace.open(None)                      # in memory, or a folder path
    ws.ingest("SecurityEvent", rows)               # list of dicts, pyarrow Table, pandas DataFrame
    result = ws.query("SecurityEvent | count")     # QueryResult: .columns, .rows, .to_arrow(), .to_pandas()
    sql = kql.compile("SecurityEvent | take 1", Catalog.sentinel(), dialect="clickhouse")
"""

from watchkeeper import kql
from watchkeeper.errors import (
    CatalogError,
    IngestError,
    KqlBindError,
    KqlError,
    KqlSyntaxError,
    QueryExecutionError,
    QueryLimitError,
    QueryTimeout,
    RowLimitExceeded,
    UnsupportedError,
    WatchkeeperError,
)
from watchkeeper.kql import compile
from watchkeeper.schema import Catalog, KqlType
from watchkeeper.store import QueryLimits, QueryResult
from watchkeeper.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "CatalogError",
    "IngestError",
    "KqlBindError",
    "KqlError",
    "KqlSyntaxError",
    "KqlType",
    "QueryExecutionError",
    "QueryLimitError",
    "QueryLimits",
    "QueryResult",
    "QueryTimeout",
    "RowLimitExceeded",
    "UnsupportedError",
    "WatchkeeperError",
    "Workspace",
    "__version__",
    "compile",
    "kql",
]
