"""The bound ``scan`` operator: a state machine over the serialized rows of its input.

Kusto's scan reference ("Scan logic"): each step keeps a state holding one record per step up to
itself (``s1 .. sk``); a row is checked against the steps from the last to the first, matching a
step either by promoting the previous step's state (check 1) or within the step's own active
sequence (check 2). Conditions and assignments read the current row's columns and state values
``sJ.Col``, which the binder turns into :class:`StateRef` columns of the step's row schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchkeeper.kql.plan import BExpr, Column, Relation

__all__ = ["ScanPlan", "ScanStepPlan", "StateRef"]


@dataclass(frozen=True, slots=True)
class StateRef:
    """``sJ.Col`` as a column of the step expressions: the value ``source`` (an input or declared
    column) had in the record step ``step`` (0-based) holds in the state being read."""

    column: Column
    step: int
    source: Column


@dataclass(frozen=True, slots=True)
class ScanStepPlan:
    """One step: ``output`` is ``all`` or ``none``; assignments set declared (output) columns."""

    name: str
    output: str
    condition: BExpr
    assignments: tuple[tuple[Column, BExpr], ...]


@dataclass(frozen=True, slots=True)
class ScanPlan(Relation):
    """Output schema: the input's columns, the declared columns, then the match id column."""

    input: Relation
    declared: tuple[tuple[Column, BExpr], ...]  # output column, default value (a constant)
    match_id: Column | None
    steps: tuple[ScanStepPlan, ...]
    refs: tuple[StateRef, ...]
    partition: Column | None = None  # ``partition by C (... | scan ...)``: one state machine per C value
