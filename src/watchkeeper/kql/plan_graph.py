"""Plan relation of ``graph-mark-components`` (Kusto's reference): a component number per node."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.errors import SourceSpan
from watchkeeper.kql.plan import Relation

__all__ = ["GraphComponents"]


@dataclass(frozen=True, slots=True)
class GraphComponents(Relation):
    """Each node of ``nodes`` (its id, then its partition if any) with the zero-based number of
    its component (the last output column). ``adjacency`` holds (from, to[, partition]) pairs:
    both directions of every edge for weak components, the edges as they are for strong ones
    (then two nodes share a component when each reaches the other). Components are numbered in
    the order of their smallest node id, from 0 in each partition."""

    nodes: Relation
    adjacency: Relation
    strong: bool
    span: SourceSpan | None = field(default=None, compare=False)  # the operator, for errors
