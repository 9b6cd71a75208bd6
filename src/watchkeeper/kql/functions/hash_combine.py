"""``hash_many`` and ``hash_combine``: refused by name, with the reason.

Kusto documents that ``hash_many`` applies ``hash()`` (xxhash64) to each value and combines the
hashes, and that ``hash_combine`` combines hash values, but not how they are combined (its page
warns that the algorithm may change). None of the usual combining steps reproduces the documented
example (``hash_combine(753694413698530628, 1846988464401551951)`` is ``-1440138333540407281``),
so any answer of ours would silently differ from Kusto's: the functions fail loudly instead.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []


@scalar(["hash_many", "hash_combine"], args=(2, None), returns=KqlType.LONG)
def _refused(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    raise UnsupportedError(
        f"{call.fn.name}(): Kusto does not document how it combines the hashes, so no answer here "
        "would match Kusto's; combine hash() values with binary_xor() for a hash of your own",
        call.span,
    )
