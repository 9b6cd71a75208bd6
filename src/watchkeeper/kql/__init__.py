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

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
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
from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.host import host_functions
from watchkeeper.kql.literals import parse_datetime_text
from watchkeeper.kql.lower import Lowerer
from watchkeeper.kql.moments import MomentParameter, parameter_values
from watchkeeper.kql.parser import parse
from watchkeeper.kql.plan import BExpr, Relation, columns_scanned, external_sources, tables_read
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
    "tally_sql",
    "translate",
    "translate_parameterised",
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
    # request moments the SQL takes as parameters (see translate_parameterised)
    parameters: tuple[MomentParameter, ...] = ()
    # per stored table read, the stored columns (SQL names) read; None: any (an open schema)
    scanned: tuple[tuple[str, frozenset[str] | None], ...] = ()

    def parameter_values(
        self, now: datetime, time_range: tuple[datetime, datetime] | None = None
    ) -> dict[str, datetime]:
        """The values of this query's parameters for a run at ``now`` over ``time_range``."""
        return parameter_values(self.parameters, now, time_range)


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
    symbolic_time: bool | str = False,
) -> BoundQuery:
    """Parse and bind ``text``: the typed plan of every tabular statement.

    ``set query_now = datetime(...)`` in the query fixes ``now()`` like the ``now`` argument.
    ``symbolic_time`` binds the request moments as parameters (see :mod:`watchkeeper.kql.moments`).
    """
    syntax = parse(text)
    fixed = dict(syntax.options).get("query_now")
    if isinstance(fixed, str):
        try:
            now = parse_datetime_text(fixed)
        except ValueError:
            raise KqlSyntaxError(f"query_now is not a datetime: {fixed!r}", None, text) from None
        symbolic_time = symbolic_time and "range"  # its now() is its own: only the range is symbolic
    return _bind_syntax(
        syntax, text, catalog, open_tables, functions, probe, now, stored, time_range, symbolic_time
    )


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
    symbolic_time: bool | str = False,
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
        symbolic_time=symbolic_time,
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
    keep: Collection[str] | None = None,
) -> list[CompiledQuery]:
    """Compile every tabular statement of ``text``.

    ``open_tables`` lets tables the catalog does not know compile with an open schema (a rule for
    a table not yet ingested still translates); a workspace passes False so that a typo in a
    table name is an error. ``now`` fixes ``now()``/``ago()`` (default: the current time).
    ``stored`` tells which tables have storage: a known table without any reads as empty rows.
    ``time_range`` (start, end) limits every table with a ``TimeGenerated`` to that interval.
    ``keep`` names the result columns wanted (a detection reads a few of a wide result): others
    may be left out of the SQL (those a filter or sort reads stay), which then costs less to
    plan; the rows are the same.
    Raises :class:`~watchkeeper.errors.KqlError` (with line, column and caret via ``render()``).
    """
    options = _Options(open_tables, functions, probe, stored, None if keep is None else frozenset(keep))
    return _translate(text, catalog, dialect, options, now, time_range, symbolic=False)[0]


@dataclass(frozen=True)
class _Options:
    open_tables: bool
    functions: Mapping[str, StoredFunction] | None
    probe: ColumnProbe | None
    stored: Callable[[str], bool] | None
    keep: frozenset[str] | None = None


def _translate(
    text: str,
    catalog: Catalog | None,
    dialect: str,
    options: _Options,
    now: datetime | None,
    time_range: tuple[datetime, datetime] | None,
    *,
    symbolic: bool,
) -> tuple[list[CompiledQuery], bool]:
    """The compiled statements, and whether a request moment's value was compiled in."""
    try:
        target = get_dialect(dialect)
        bound = bind(text, catalog, open_tables=options.open_tables, functions=options.functions,
                     probe=options.probe, now=now, stored=options.stored, time_range=time_range,
                     symbolic_time=symbolic)  # fmt: skip
        return [
            _compiled(relation, bound, target, symbolic, options.keep) for relation in bound.relations
        ], bound.moment_folded
    except KqlError as exc:
        raise exc.with_text(text) from None
    except RecursionError:
        raise KqlSyntaxError("the query is nested too deeply", None, text) from None
    except Exception as exc:  # a compiler bug must not surface as a traceback to the user
        raise UnsupportedError(f"internal compiler error ({type(exc).__name__}: {exc})", None, text) from exc


def _compiled(
    bound_relation: Relation, bound: BoundQuery, target: Dialect, symbolic: bool, keep: frozenset[str] | None
) -> CompiledQuery:
    relation = share(prune(bound_relation, keep))
    parameters: dict[str, MomentParameter] | None = {} if symbolic else None
    tree = Lowerer(target, bound.now, parameters).query(relation)
    sql = tree.sql(dialect=target.sqlglot_dialect)
    columns = tuple((c.name, c.type) for c in relation.schema.columns)
    return CompiledQuery(sql, columns, target.name, bound.options, tuple(tables_read(relation)),
                         tuple(external_sources(relation)), tuple(sorted((parameters or {}).values(),
                                                                         key=lambda m: m.name)),
                         tuple(columns_scanned(relation).items()))  # fmt: skip


# How far the second, checking compilation moves each request moment: a different year, month,
# day, weekday, hour, minute, second and microsecond for each, and a range of another length.
_PROBE_SHIFTS = {
    "now": timedelta(days=417, hours=3, minutes=3, seconds=3, microseconds=3),
    "start": timedelta(days=400, hours=1, minutes=1, seconds=1, microseconds=1),
    "end": timedelta(days=433, hours=2, minutes=2, seconds=2, microseconds=2),
}


def translate_parameterised(
    text: str,
    catalog: Catalog | None = None,
    dialect: str = "duckdb",
    *,
    now: datetime,
    time_range: tuple[datetime, datetime] | None = None,
    open_tables: bool = True,
    functions: Mapping[str, StoredFunction] | None = None,
    probe: ColumnProbe | None = None,
    stored: Callable[[str], bool] | None = None,
    keep: Collection[str] | None = None,
) -> tuple[list[CompiledQuery], bool]:
    """Compile ``text`` once for every run: ``now()``, ``ago(x)`` and the time range become query
    parameters (``CompiledQuery.parameters``; values from ``parameter_values``).

    Returns the statements and whether they are parameterised. A query that needs a moment's
    value while it compiles (a ``range`` from ``ago(7d)``, ``startofday(now())``...) is not: the
    statements returned are then compiled with ``now``/``time_range`` as literals, good for this
    run only. A query is checked by compiling it a second time with other moments: any difference
    in the SQL means a value was compiled in. ``keep`` as for :func:`translate`.
    """
    options = _Options(open_tables, functions, probe, stored, None if keep is None else frozenset(keep))
    first, folded = _translate(text, catalog, dialect, options, now, time_range, symbolic=True)
    if not folded:
        moved_now = now + _PROBE_SHIFTS["now"]
        moved_range = None if time_range is None else (
            time_range[0] + _PROBE_SHIFTS["start"], time_range[1] + _PROBE_SHIFTS["end"])  # fmt: skip
        second, folded = _translate(text, catalog, dialect, options, moved_now, moved_range, symbolic=True)
        if not folded and [c.sql for c in first] == [c.sql for c in second]:
            return first, True
    return _translate(text, catalog, dialect, options, now, time_range, symbolic=False)[0], False


def tally_sql(compiled: CompiledQuery, time_column: str) -> tuple[str, list[tuple[str, KqlType]]]:
    """SQL counting ``compiled``'s rows with the least and greatest ``time_column`` (NULL when the
    result has no such datetime column), and that SQL's columns."""
    timed = dict(compiled.columns).get(time_column) is KqlType.DATETIME
    columns = [("n", KqlType.LONG), ("first", KqlType.DATETIME), ("last", KqlType.DATETIME)]
    return _tally_sql(compiled.sql, compiled.dialect, time_column if timed else None), columns


@lru_cache(maxsize=1024)
def _tally_sql(sql: str, dialect: str, time_column: str | None) -> str:
    """Kept per query: rules run again and again, and generating the SQL costs about a millisecond."""
    moment = exp.column(exp.to_identifier(time_column, quoted=True)) if time_column else exp.null()
    # the inner SQL is the compiled query's own text; only aggregates of a quoted name wrap it
    inner = exp.Subquery(this=exp.Var(this=sql), alias=exp.TableAlias(this=exp.to_identifier("_wk_rows")))
    outer = exp.select(
        exp.alias_(exp.Count(this=exp.Star()), "n"),
        exp.alias_(exp.Min(this=moment), "first"),
        exp.alias_(exp.Max(this=moment.copy()), "last"),
    ).from_(inner)
    return outer.sql(dialect=get_dialect(dialect).sqlglot_dialect)


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
