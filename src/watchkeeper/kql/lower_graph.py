"""Lowering of ``graph-mark-components``: reachability as a recursive CTE, then a number per component.

``reach(s, d)`` holds every node ``d`` that node ``s`` reaches (itself included); it grows one
edge at a time and ends when a step adds no new pair, which needs the distinct ``UNION`` form of a
recursive CTE (each pair is kept once, so cycles end). A node's component is the smallest id it
reaches (weak: the edges both ways) or that reaches it back (strong); components are numbered by
that id with ``DENSE_RANK() - 1``. ClickHouse runs recursive CTEs with ``UNION ALL`` only, where a
cycle would never end, so the operator is refused there.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.lower import _RELATIONS, Lowered, Lowerer, col, ident
from watchkeeper.kql.plan_graph import GraphComponents

__all__ = ["UNSUPPORTED_REASON"]

UNSUPPORTED_REASON = (
    "graph-mark-components on ClickHouse (reachability needs a recursive query that keeps each "
    "pair once, and ClickHouse's recursive queries only append)"
)


def _aliased(expr: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=expr, alias=ident(name))


def _table(name: str, alias: str) -> exp.Table:
    return exp.Table(this=ident(name), alias=exp.TableAlias(this=ident(alias)))


def _and(*conditions: exp.Expression) -> exp.Expression:
    out = conditions[0]
    for more in conditions[1:]:
        out = exp.And(this=out, expression=more)
    return out


def _components(lw: Lowerer, rel: GraphComponents) -> Lowered:
    if not getattr(lw.dialect, "recursive_union_distinct", True):
        raise UnsupportedError(UNSUPPORTED_REASON, rel.span)
    nodes = [c.sql for c in rel.nodes.schema.columns]
    pairs = [c.sql for c in rel.adjacency.schema.columns]
    parted = len(nodes) > 1
    reach, node_src, adj_src = lw.alias(), lw.alias(), lw.alias()
    anchor = exp.select(
        _aliased(col(nodes[0], "n"), "s"), _aliased(col(nodes[0], "n"), "d"),
        *([_aliased(col(nodes[1], "n"), "p")] if parted else []),
    ).from_(_table(node_src, "n"))  # fmt: skip
    on = [exp.EQ(this=col(pairs[0], "a"), expression=col("d", "r"))]
    if parted:
        on.append(exp.EQ(this=col(pairs[2], "a"), expression=col("p", "r")))
    step = (
        exp.select(col("s", "r"), _aliased(col(pairs[1], "a"), "d"), *([col("p", "r")] if parted else []))
        .from_(_table(reach, "r"))
        .join(_table(adj_src, "a"), on=_and(*on))
    )
    labels = _labels(reach, rel.strong, parted)
    number = exp.Sub(
        this=exp.Window(
            this=exp.Anonymous(this="DENSE_RANK", expressions=[]),
            partition_by=[col("p")] if parted else None,
            order=exp.Order(expressions=[exp.Ordered(this=col("lab"))]),
        ),
        expression=exp.Literal.number(1),
    )
    out = [c.sql for c in rel.schema.columns]
    outputs = [_aliased(col("s"), out[0]), *([_aliased(col("p"), out[1])] if parted else [])]
    select = exp.select(*outputs, _aliased(lw.dialect.cast(number, rel.schema.columns[-1].type), out[-1]))
    select = select.from_(labels.subquery(lw.alias(), copy=False))
    select = select.with_(node_src, as_=lw.finish(lw.relation(rel.nodes)), copy=False)
    select = select.with_(adj_src, as_=lw.finish(lw.relation(rel.adjacency)), copy=False)
    select = select.with_(reach, as_=exp.union(anchor, step, distinct=True), recursive=True, copy=False)
    return Lowered(select, out, {n: col(n) for n in out})


def _labels(reach: str, strong: bool, parted: bool) -> exp.Select:
    """Each node's smallest id it reaches (and, when ``strong``, that reaches it back)."""
    keys = [col("s", "r"), *([col("p", "r")] if parted else [])]
    select = exp.select(
        _aliased(col("s", "r"), "s"), *([_aliased(col("p", "r"), "p")] if parted else []),
        _aliased(exp.Min(this=col("d", "r")), "lab"),
    ).from_(_table(reach, "r"))  # fmt: skip
    if strong:
        back = [exp.EQ(this=col("s", "b"), expression=col("d", "r")),
                exp.EQ(this=col("d", "b"), expression=col("s", "r"))]  # fmt: skip
        if parted:
            back.append(exp.EQ(this=col("p", "b"), expression=col("p", "r")))
        select = select.join(_table(reach, "b"), on=_and(*back))
    return select.group_by(*keys, copy=False)


_RELATIONS[GraphComponents] = _components
