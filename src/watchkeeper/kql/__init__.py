"""Layer 1: the KQL compiler. Pure: text in, SQL (or a sqlglot tree) out; no store, no I/O.

Stages, each a module: :mod:`tokens` -> :mod:`parser` (syntax tree, :mod:`ast`) -> :mod:`binder`
(typed plan, :mod:`plan`) -> :mod:`prune` (unread columns dropped) -> :mod:`share` (shared
subexpressions computed once) -> :mod:`lower` (sqlglot tree)
-> SQL text for a :mod:`dialects` entry.

>>> from watchkeeper import kql
>>> kql.compile('datatable(a:int)[1, 2] | where a > 1')  # doctest: +ELLIPSIS
'SELECT ...'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from watchkeeper.errors import KqlError, KqlSyntaxError, UnsupportedError
from watchkeeper.kql import functions as _functions  # noqa: F401  (registers the function library)
from watchkeeper.kql import lower_apply as _lower_apply  # noqa: F401  (registers lowerings)
from watchkeeper.kql import lower_grouping as _lower_grouping  # noqa: F401
from watchkeeper.kql import lower_joins as _lower_joins  # noqa: F401
from watchkeeper.kql import lower_relations as _lower_relations  # noqa: F401
from watchkeeper.kql.ast import Query
from watchkeeper.kql.binder import Binder, BoundQuery, ColumnProbe
from watchkeeper.kql.functions.host import host_functions
from watchkeeper.kql.literals import parse_datetime_text
from watchkeeper.kql.lower import Lowerer
from watchkeeper.kql.parser import parse
from watchkeeper.kql.plan import BExpr, Relation, external_sources, tables_read
from watchkeeper.kql.prune import prune
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.kql.share import share
from watchkeeper.kql.targets import get_dialect
from watchkeeper.schema.catalog import Catalog
from watchkeeper.schema.types import KqlType

__all__ = [
    "ColumnProbe",
    "CompiledQuery",
    "StoredFunction",
    "bind",
    "compile",
    "host_functions",
    "keys_sql",
    "lower",
    "parse",
    "translate",
]


@dataclass(frozen=True)
class CompiledQuery:
    """One tabular result of a query: its SQL and the KQL schema of its rows."""

    sql: str
    columns: tuple[tuple[str, KqlType], ...]
    dialect: str
    options: dict[str, Any] = field(default_factory=dict)
    tables: tuple[str, ...] = ()
    external: tuple[str, ...] = ()  # files/URLs read by externaldata


def bind(
    text: str,
    catalog: Catalog | None = None,
    *,
    open_tables: bool = True,
    functions: Mapping[str, StoredFunction] | None = None,
    probe: ColumnProbe | None = None,
    now: datetime | None = None,
    stored: Callable[[str], bool] | None = None,
    time_range: tuple[datetime, datetime] | None = None,
) -> BoundQuery:
    """Parse and bind ``text``: the typed plan of every tabular statement.

    ``set query_now = datetime(...)`` in the query fixes ``now()`` like the ``now`` argument.
    """
    syntax = parse(text)
    fixed = dict(syntax.options).get("query_now")
    if isinstance(fixed, str):
        try:
            now = parse_datetime_text(fixed)
        except ValueError:
            raise KqlSyntaxError(f"query_now is not a datetime: {fixed!r}", None, text) from None
    return _bind_syntax(syntax, text, catalog, open_tables, functions, probe, now, stored, time_range)


def _bind_syntax(
    syntax: Query,
    text: str,
    catalog: Catalog | None,
    open_tables: bool,
    functions: Mapping[str, StoredFunction] | None,
    probe: ColumnProbe | None,
    now: datetime | None,
    stored: Callable[[str], bool] | None = None,
    time_range: tuple[datetime, datetime] | None = None,
) -> BoundQuery:
    binder = Binder(
        catalog if catalog is not None else Catalog.sentinel(),
        text,
        now=now or datetime.now(UTC),
        open_tables=open_tables,
        functions=functions,
        probe=probe,
        stored=stored,
        time_range=time_range,
    )
    return binder.bind_query(syntax)


def translate(
    text: str,
    catalog: Catalog | None = None,
    dialect: str = "duckdb",
    *,
    open_tables: bool = True,
    functions: Mapping[str, StoredFunction] | None = None,
    probe: ColumnProbe | None = None,
    now: datetime | None = None,
    stored: Callable[[str], bool] | None = None,
    time_range: tuple[datetime, datetime] | None = None,
) -> list[CompiledQuery]:
    """Compile every tabular statement of ``text``.

    ``open_tables`` lets tables the catalog does not know compile with an open schema (a rule for
    a table not yet ingested still translates); a workspace passes False so that a typo in a
    table name is an error. ``now`` fixes ``now()``/``ago()`` (default: the current time).
    ``stored`` tells which tables have storage: a known table without any reads as empty rows.
    ``time_range`` (start, end) limits every table with a ``TimeGenerated`` to that interval.
    Raises :class:`~watchkeeper.errors.KqlError` (with line, column and caret via ``render()``).
    """
    try:
        target = get_dialect(dialect)
        bound = bind(
            text,
            catalog,
            open_tables=open_tables,
            functions=functions,
            probe=probe,
            now=now,
            stored=stored,
            time_range=time_range,
        )
        out = []
        for bound_relation in bound.relations:
            relation = share(prune(bound_relation))
            tree = Lowerer(target, bound.now).query(relation)
            sql = tree.sql(dialect=target.sqlglot_dialect)
            columns = tuple((c.name, c.type) for c in relation.schema.columns)
            tables = tuple(tables_read(relation))
            external = tuple(external_sources(relation))
            out.append(CompiledQuery(sql, columns, target.name, bound.options, tables, external))
        return out
    except KqlError as exc:
        raise exc.with_text(text) from None
    except RecursionError:
        raise KqlSyntaxError("the query is nested too deeply", None, text) from None
    except Exception as exc:  # a compiler bug must not surface as a traceback to the user
        raise UnsupportedError(f"internal compiler error ({type(exc).__name__}: {exc})", None, text) from exc


def compile(kql: str, catalog: Catalog | None = None, dialect: str = "duckdb") -> str:
    """Compile a KQL query to SQL for ``dialect`` (``duckdb`` or ``clickhouse``).

    ``catalog`` defaults to :meth:`Catalog.sentinel`. A query with several tabular statements
    compiles to the SQL of the first (Kusto's primary result).
    """
    return translate(kql, catalog, dialect)[0].sql


def keys_sql(relation: Relation, bag: BExpr, dialect: str, now: datetime) -> str:
    """SQL listing the distinct property names of a dynamic expression over a relation (what
    ``bag_unpack`` needs to know about the data before it can name its columns)."""
    return (
        Lowerer(get_dialect(dialect), now)
        .distinct_keys(relation, bag)
        .sql(dialect=get_dialect(dialect).sqlglot_dialect)
    )


def lower(kql: str, catalog: Catalog | None = None, dialect: str = "duckdb") -> exp.Query:
    """Like :func:`compile`, but return the sqlglot expression tree."""
    target = get_dialect(dialect)
    try:
        bound = bind(kql, catalog)
        return Lowerer(target, bound.now).query(share(prune(bound.relations[0])))
    except KqlError as exc:
        raise exc.with_text(kql) from None
