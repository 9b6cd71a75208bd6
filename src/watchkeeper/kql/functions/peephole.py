"""Functions the binder substitutes for common KQL shapes that have a cheaper SQL spelling.

``split(s, sep)[i]`` builds an array only to pick one element; ``split_part`` picks it directly.
The substitute is typed ``string``: the element of a split is always a string (or empty).
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import num, or_empty
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []


def _fold_split_part(text: str, sep: str, index: int) -> str:
    parts = text.split(sep) if sep else [text]
    return parts[index] if -len(parts) <= index < len(parts) else ""


@scalar("_split_part", args=3, returns=KqlType.STRING, params=[KqlType.STRING, KqlType.STRING, KqlType.LONG],
        constant=[2], fold=_fold_split_part)  # fmt: skip
def _split_part(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    index = int(call.args[2].value)  # type: ignore[attr-defined]
    position = num(index + 1 if index >= 0 else index)  # SQL counts parts from 1; -1 is the last
    return or_empty(ctx.dialect.call("split_part", or_empty(args[0]), args[1], position))
