"""``_lower_<Relation>`` for ``mv-apply`` (:class:`~watchkeeper.kql.plan.Apply`).

Kusto runs the subquery once per input row. SQL says the same with a LATERAL join::

    SELECT o.context..., s.* FROM (input) AS o, LATERAL (subquery over o's row) AS s

The subquery reads the current row through :class:`~watchkeeper.kql.plan.ApplyRow`, which lowers
to a FROM-less ``SELECT o.c1 AS c1, ...``; the ``mv-expand`` the binder put on top of it turns
that row into the per-row table. An engine without LATERAL joins (ClickHouse) cannot run it.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql import plan as p
from watchkeeper.kql.lower import _RELATIONS, Lowered, Lowerer, col, ident

__all__: list[str] = []


def _row_aliases(lw: Lowerer) -> dict[int, str]:
    """The outer alias each :class:`ApplyRow` being lowered reads from (by relation identity)."""
    aliases: dict[int, str] = lw.__dict__.setdefault("_apply_rows", {})
    return aliases


def _apply(lw: Lowerer, rel: p.Apply) -> Lowered:
    if not lw.dialect.supports_lateral:
        raise UnsupportedError(
            f"mv-apply on {lw.dialect.name} (it needs a LATERAL join, which the engine lacks)"
        )
    source, _, outer = lw.source(lw.relation(rel.input))
    _row_aliases(lw)[id(rel.row)] = outer
    inner = lw.finish(lw.relation(rel.subquery))
    applied = lw.alias()
    lateral = exp.Lateral(this=inner.subquery(), alias=exp.TableAlias(this=exp.to_identifier(applied)))
    names = [c.sql for c in rel.schema.columns]
    width = len(rel.context)
    outputs = [
        exp.Alias(this=col(c.sql, outer), alias=ident(n))
        for c, n in zip(rel.context, names[:width], strict=True)
    ]
    outputs += [exp.Alias(this=col(c.sql, applied), alias=ident(n))
                for c, n in zip(rel.subquery.schema.columns, names[width:], strict=True)]  # fmt: skip
    select = exp.select(*outputs).from_(source).join(lateral)
    return Lowered(select, names, {n: col(n) for n in names})


def _apply_row(lw: Lowerer, rel: p.ApplyRow) -> Lowered:
    outer = _row_aliases(lw).get(id(rel))
    if outer is None:
        raise UnsupportedError("the mv-apply row outside its mv-apply")
    names = [c.sql for c in rel.schema.columns]
    select = exp.select(*[exp.Alias(this=col(n, outer), alias=ident(n)) for n in names])
    return Lowered(select, names, {n: col(n, outer) for n in names})


_RELATIONS.update({p.Apply: _apply, p.ApplyRow: _apply_row})
