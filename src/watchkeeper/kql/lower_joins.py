"""``_lower_<Relation>`` for ``join``/``lookup`` and ``union``."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from watchkeeper.kql import plan as p
from watchkeeper.kql.functions.sqlparts import lit
from watchkeeper.kql.lower import _RELATIONS, Lowered, Lowerer, col, ident
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_SQL_JOIN = {"inner": "INNER", "innerunique": "INNER", "leftouter": "LEFT", "rightouter": "RIGHT",
             "fullouter": "FULL"}  # fmt: skip


def _aliased(expr: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=expr, alias=ident(name))


def _side(lw: Lowerer, low: Lowered, keys: list[str] | None = None) -> tuple[exp.Expression, str]:
    """A join input as ``(subquery) AS alias``; ``keys`` deduplicates it (Kusto's innerunique).
    A join does not keep its inputs' order, so an ordered input is not sorted here."""
    select = lw.finish(replace(low, order=[])) if low.hidden or low.order else low.select
    if keys:
        alias = lw.alias()
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col(k, alias) for k in keys])
        select = exp.select(exp.Star()).from_(select.subquery(alias, copy=False), copy=False).qualify(
            exp.EQ(this=rank, expression=exp.Literal.number(1)), copy=False)  # fmt: skip
    alias = lw.alias()
    return select.subquery(alias, copy=False), alias


def _join(lw: Lowerer, rel: p.Join) -> Lowered:
    left = lw.relation(rel.left)
    right = lw.relation(rel.right)
    kind = rel.kind
    left_keys = [lc.sql for lc, _ in rel.conditions]
    left_from, la = _side(lw, left, left_keys if kind == "innerunique" else None)
    right_from, ra = _side(lw, right)
    on = _on(rel, la, ra)
    if kind in ("leftsemi", "leftanti", "rightsemi", "rightanti"):
        return _semi(lw, rel, kind, (left_from, la), (right_from, ra), on)
    outputs: dict[str, exp.Expression] = {}
    columns = rel.schema.columns
    left_nullable = kind in ("rightouter", "fullouter")
    right_nullable = kind in ("leftouter", "fullouter")
    for out, source in zip(columns[: len(rel.left.schema.columns)], rel.left.schema.columns, strict=True):
        outputs[out.sql] = _maybe_empty(col(source.sql, la), source.type, left_nullable)
    for out, source in zip(columns[len(rel.left.schema.columns) :], rel.right_columns, strict=True):
        outputs[out.sql] = _maybe_empty(col(source.sql, ra), source.type, right_nullable)
    select = exp.select(*[_aliased(e, n) for n, e in outputs.items()]).from_(left_from, copy=False)
    select = select.join(right_from, on=on, join_type=_SQL_JOIN[kind], copy=False)
    names = [c.sql for c in columns]
    return Lowered(select, names, {n: col(n) for n in names})


def _maybe_empty(expr: exp.Expression, kql_type: KqlType, nullable: bool) -> exp.Expression:
    """Unmatched rows of an outer join have empty strings, not nulls (Kusto strings are never null)."""
    if nullable and kql_type is _T.STRING:
        return exp.Coalesce(this=expr, expressions=[lit("")])
    return expr


def _on(rel: p.Join, la: str, ra: str) -> exp.Expression:
    conds = [exp.EQ(this=col(lc.sql, la), expression=col(rc.sql, ra)) for lc, rc in rel.conditions]
    on: exp.Expression = conds[0]
    for c in conds[1:]:
        on = exp.And(this=on, expression=c)
    return on


def _semi(
    lw: Lowerer,
    rel: p.Join,
    kind: str,
    left: tuple[exp.Expression, str],
    right: tuple[exp.Expression, str],
    on: exp.Expression,
) -> Lowered:
    keep, other = (left, right) if kind.startswith("left") else (right, left)
    join_type = "LEFT ANTI" if kind.endswith("anti") else "LEFT SEMI"
    kept_alias = keep[1]
    names = [c.sql for c in rel.schema.columns]
    select = exp.select(*[_aliased(col(n, kept_alias), n) for n in names]).from_(keep[0], copy=False)
    select = select.join(other[0], on=on, join_type=join_type, copy=False)
    return Lowered(select, names, {n: col(n) for n in names})


def _union(lw: Lowerer, rel: p.UnionAll) -> Lowered:
    if rel.schema.open:
        return _open_union(lw, rel)
    d = lw.dialect
    names = [c.sql for c in rel.schema.columns]
    legs: list[exp.Select] = []
    for source, items in rel.inputs:
        low = lw.relation(source)
        select, resolve, _ = lw.wrap(low)
        outputs = []
        for column, item in zip(rel.schema.columns, items, strict=True):
            if item is None:
                value = lit("") if column.type is _T.STRING else d.null(column.type)
            else:
                value = lw.expr(item, resolve)
                if (
                    item.type is not column.type
                    and column.type is not _T.UNKNOWN
                    and item.type is not _T.UNKNOWN
                ):
                    value = d.cast(value, column.type)
            outputs.append(_aliased(value, column.sql))
        legs.append(select.select(*outputs, copy=False))
    union: exp.Expression = legs[0]
    for leg in legs[1:]:
        union = exp.union(union, leg, distinct=False, copy=False)
    alias = lw.alias()
    select = exp.select(*[col(n, alias) for n in names]).from_(
        exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias))), copy=False
    )
    return Lowered(select, names, {n: col(n, alias) for n in names})


def _open_union(lw: Lowerer, rel: p.UnionAll) -> Lowered:
    """A union over tables whose columns are not all known: the engine lines the legs up by
    column name (``UNION ALL BY NAME``), which is Kusto's outer union."""
    legs: list[exp.Select] = []
    for source, items in rel.inputs:
        low = lw.relation(source)
        select, resolve, _ = lw.wrap(low)
        extra = [_aliased(lw.expr(item, resolve), column.sql) for column, item in zip(rel.schema.columns, items,
                 strict=True) if item is not None and not isinstance(item, p.BColumn)]  # fmt: skip
        legs.append(select.select(exp.Star(), *extra, copy=False))
    union: exp.Expression = legs[0]
    for leg in legs[1:]:
        union = lw.dialect.union_by_name(union, leg)
    alias = lw.alias()
    select = exp.select(exp.Star()).from_(exp.Subquery(this=union, alias=exp.TableAlias(
        this=exp.to_identifier(alias))), copy=False)  # fmt: skip
    names = [c.sql for c in rel.schema.columns]
    return Lowered(select, names, {n: col(n) for n in names}, open=True)


_RELATIONS.update({p.Join: _join, p.UnionAll: _union})
