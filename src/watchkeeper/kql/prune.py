"""A pure pass between binding and lowering: drop the columns nobody reads.

``SecurityEvent | where ... | summarize count() by Account`` reads two of the table's 228
columns. Without this pass every intermediate SELECT would list all of them: the engines would
prune them again, but generating and parsing that SQL costs milliseconds per query. Each
relation keeps only the columns its consumer needs plus the ones its own expressions read.
Grouping keys, ``distinct`` inputs, ``mv-expand`` columns and relations a query uses twice
(``let`` values, which become CTEs) are never pruned, because that would change their meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from watchkeeper.kql import plan as p

__all__ = ["prune"]


def prune(root: p.Relation, keep: Collection[str] | None = None) -> p.Relation:
    """``root`` with unread columns removed everywhere below it; its own schema is unchanged,
    unless ``keep`` names the result columns wanted (KQL names): then the others are dropped
    where nothing else reads them (at least one column stays), with the same rows."""
    columns = root.schema.columns
    if keep is not None:
        columns = tuple(c for c in columns if c.name in keep) or columns[:1]
    return _Pruner(_shared(root)).relation(root, {c.sql for c in columns})


def _shared(root: p.Relation) -> set[int]:
    counts: dict[int, int] = {}
    stack: list[p.Relation] = [root]
    while stack:
        rel = stack.pop()
        counts[id(rel)] = counts.get(id(rel), 0) + 1
        if counts[id(rel)] == 1:
            stack.extend(_children(rel))
    return {key for key, n in counts.items() if n > 1}


def _children(rel: p.Relation) -> list[p.Relation]:
    if isinstance(rel, p.Join):
        return [rel.left, rel.right]
    if isinstance(rel, p.UnionAll):
        return [r for r, _ in rel.inputs]
    child = getattr(rel, "input", None)
    return [child] if isinstance(child, p.Relation) else []


def _reads(*exprs: p.BExpr | None) -> set[str]:
    return {c.sql for e in exprs if e is not None for c in p.columns_used(e)}


class _Pruner:
    def __init__(self, shared: set[int]) -> None:
        self.shared = shared
        self.memo: dict[int, p.Relation] = {}

    def relation(self, rel: p.Relation, need: set[str]) -> p.Relation:
        if id(rel) in self.memo:
            return self.memo[id(rel)]
        if id(rel) in self.shared or rel.schema.open:
            need = {c.sql for c in rel.schema.columns}
        handler = _HANDLERS.get(type(rel))
        result = handler(self, rel, need) if handler is not None else rel
        if id(rel) in self.shared:
            self.memo[id(rel)] = result
        return result

    def expr(self, expr: p.BExpr) -> p.BExpr:
        """Prune the subqueries inside an expression (each against its own result)."""
        if isinstance(expr, p.BSubquery):
            columns = expr.relation.schema.columns
            need = {c.sql for c in (columns if expr.mode == "table" else columns[:1])}
            return p.BSubquery(expr.type, self.relation(expr.relation, need), expr.mode)
        if isinstance(expr, p.BCall) and any(isinstance(a, (p.BCall, p.BSubquery)) for a in expr.args):
            args = tuple(self.expr(a) for a in expr.args)
            return p.BCall(expr.type, expr.fn, args, expr.options, expr.span)
        return expr


def _keep_columns(schema: p.Schema, need: set[str]) -> p.Schema:
    return p.Schema(tuple(c for c in schema.columns if c.sql in need), schema.open)


def _table_scan(pr: _Pruner, rel: p.TableScan, need: set[str]) -> p.Relation:
    sources = tuple((c, s) for c, s in rel.sources if c.sql in need)
    if not sources and rel.sources:  # `T | count` still needs a row source
        preferred = [cs for cs in rel.sources if cs[0].name == "TimeGenerated"] or list(rel.sources[:1])
        sources = (preferred[0],)
    return p.TableScan(p.Schema(tuple(c for c, _ in sources), rel.schema.open), rel.table, sources)


def _filter(pr: _Pruner, rel: p.Filter, need: set[str]) -> p.Relation:
    child = pr.relation(rel.input, need | _reads(rel.predicate))
    return p.Filter(child.schema, child, pr.expr(rel.predicate))


def _projection(pr: _Pruner, rel: p.Projection, need: set[str]) -> p.Relation:
    kept = [(c, e) for c, e in zip(rel.schema.columns, rel.items, strict=True) if c.sql in need]
    if not kept:
        kept = [(rel.schema.columns[0], rel.items[0])] if rel.items else []
    child = pr.relation(rel.input, _reads(*[e for _, e in kept]))
    schema = p.Schema(tuple(c for c, _ in kept), rel.schema.open)
    return p.Projection(schema, child, tuple(pr.expr(e) for _, e in kept))


def _aggregate(pr: _Pruner, rel: p.Aggregate, need: set[str]) -> p.Relation:
    items = tuple(i for i in rel.aggregates if any(c.sql in need for c in i.columns)) or rel.aggregates[:1]
    if not rel.keys:
        items = rel.aggregates  # a keyless summarize always returns its row; keep it whole
    child = pr.relation(rel.input, _reads(*rel.keys, *[i.call for i in items]))
    calls = tuple(p.AggregateItem(_as_call(pr.expr(i.call)), i.columns) for i in items)
    schema = p.Schema(rel.key_columns + tuple(c for i in items for c in i.columns))
    return p.Aggregate(schema, child, tuple(pr.expr(k) for k in rel.keys), rel.key_columns, calls)


def _as_call(expr: p.BExpr) -> p.BCall:
    assert isinstance(expr, p.BCall)
    return expr


def _distinct(pr: _Pruner, rel: p.Distinct, need: set[str]) -> p.Relation:
    child = pr.relation(rel.input, {c.sql for c in rel.input.schema.columns})
    return p.Distinct(child.schema, child)


def _sort(pr: _Pruner, rel: p.Sort, need: set[str]) -> p.Relation:
    child = pr.relation(rel.input, need | _reads(*[k.expr for k in rel.keys]))
    keys = tuple(p.SortSpec(pr.expr(k.expr), k.descending, k.nulls_first) for k in rel.keys)
    return p.Sort(child.schema, child, keys)


def _limit(pr: _Pruner, rel: p.Limit, need: set[str]) -> p.Relation:
    child = pr.relation(rel.input, need)
    return p.Limit(child.schema, child, rel.count)


def _sample(pr: _Pruner, rel: p.Sample, need: set[str]) -> p.Relation:
    child = pr.relation(rel.input, need)
    return p.Sample(child.schema, child, rel.count)


def _join(pr: _Pruner, rel: p.Join, need: set[str]) -> p.Relation:
    left_cols = rel.left.schema.columns
    if rel.kind in ("rightsemi", "rightanti"):
        left_need = {lc.sql for lc, _ in rel.conditions}
        right_need = need | {rc.sql for _, rc in rel.conditions}
    else:
        left_out = (
            rel.schema.columns[: len(left_cols)] if rel.kind not in ("leftsemi", "leftanti") else left_cols
        )
        left_need = {src.sql for out, src in zip(left_out, left_cols, strict=True) if out.sql in need}
        left_need |= {lc.sql for lc, _ in rel.conditions}
        right_out = rel.schema.columns[len(left_cols) :]
        right_need = {
            src.sql for out, src in zip(right_out, rel.right_columns, strict=True) if out.sql in need
        }
        right_need |= {rc.sql for _, rc in rel.conditions}
    left = pr.relation(rel.left, left_need)
    right = pr.relation(rel.right, right_need)
    return _rebuild_join(rel, left, right)


def _rebuild_join(rel: p.Join, left: p.Relation, right: p.Relation) -> p.Relation:
    if rel.kind in ("leftsemi", "leftanti"):
        return p.Join(left.schema, left, right, rel.kind, rel.conditions, ())
    if rel.kind in ("rightsemi", "rightanti"):
        return p.Join(right.schema, left, right, rel.kind, rel.conditions, right.schema.columns)
    left_kept = {c.sql for c in left.schema.columns}
    right_kept = {c.sql for c in right.schema.columns}
    old_left = rel.left.schema.columns
    out_left = [
        o for o, s in zip(rel.schema.columns[: len(old_left)], old_left, strict=True) if s.sql in left_kept
    ]
    pairs = [(o, s) for o, s in zip(rel.schema.columns[len(old_left) :], rel.right_columns, strict=True)
             if s.sql in right_kept]  # fmt: skip
    schema = p.Schema(tuple(out_left) + tuple(o for o, _ in pairs), rel.schema.open)
    return p.Join(schema, left, right, rel.kind, rel.conditions, tuple(s for _, s in pairs), rel.lookup)


def _union(pr: _Pruner, rel: p.UnionAll, need: set[str]) -> p.Relation:
    keep = [i for i, c in enumerate(rel.schema.columns) if c.sql in need] or list(
        range(min(1, len(rel.schema.columns)))
    )
    inputs = []
    for source, items in rel.inputs:
        kept_items = tuple(items[i] for i in keep)
        child = pr.relation(source, _reads(*kept_items))
        inputs.append((child, tuple(pr.expr(e) if e is not None else None for e in kept_items)))
    schema = p.Schema(tuple(rel.schema.columns[i] for i in keep), rel.schema.open)
    return p.UnionAll(schema, tuple(inputs))


def _mv_expand(pr: _Pruner, rel: p.MvExpand, need: set[str]) -> p.Relation:
    expanded = {c.sql for c, _, _ in rel.expanded}
    index = {rel.item_index.sql} if rel.item_index is not None else set()
    keep = need | expanded | index
    passthrough = {c.sql for c in rel.input.schema.columns} & (keep - expanded - index)
    child = pr.relation(rel.input, passthrough | _reads(*[e for _, e, _ in rel.expanded]))
    schema = _keep_columns(rel.schema, keep)
    items = tuple((c, pr.expr(e), t) for c, e, t in rel.expanded)
    return p.MvExpand(schema, child, items, rel.bag_expansion, rel.item_index, rel.limit)


def _make_series(pr: _Pruner, rel: p.MakeSeries, need: set[str]) -> p.Relation:
    reads = _reads(rel.axis, *rel.keys, *[a.call for a, _ in rel.aggregates])
    child = pr.relation(rel.input, reads)
    fields: dict[str, Any] = {f: getattr(rel, f) for f in rel.__dataclass_fields__}
    fields["input"] = child
    return p.MakeSeries(**fields)


_HANDLERS: dict[type, Callable[[_Pruner, Any, set[str]], p.Relation]] = {
    p.TableScan: _table_scan,
    p.Filter: _filter,
    p.Projection: _projection,
    p.Aggregate: _aggregate,
    p.Distinct: _distinct,
    p.Sort: _sort,
    p.Limit: _limit,
    p.Sample: _sample,
    p.Join: _join,
    p.UnionAll: _union,
    p.MvExpand: _mv_expand,
    p.MakeSeries: _make_series,
}
