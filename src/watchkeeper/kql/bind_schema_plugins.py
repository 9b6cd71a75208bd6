"""Binding of the schema ``evaluate`` plugins: ``schema_merge`` and ``infer_storage_schema``.

``schema_merge`` is a ``summarize`` per column name over ``getschema`` rows (a fixed KQL pipeline
over names of our own, like :mod:`bind_analytics_plugins`). ``infer_storage_schema`` would list
and read files in cloud storage to guess their columns; a query here does not reach storage, so
the plugin is refused with that reason once its options are known to be well formed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.analytics_templates import template
from watchkeeper.kql.bind_operators import _CLR_TYPES, project_columns, row_context
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.plan import BExpr, BLiteral, Relation
from watchkeeper.kql.scope import Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["SCHEMA_PLUGINS"]

_T = KqlType


def _clr_case() -> str:
    """``case(...)`` giving the .NET type name ``getschema`` reports for a merged type name."""
    arms = [f'__wk_merged == "{t.value}", "{clr}"' for t, clr in _CLR_TYPES.items() if t is not _T.UNKNOWN]
    return f'case({", ".join(arms)}, "System.Object")'


# A column's types reduce to one when they are equal, or all integers (long), integers and reals
# (real) or integers and decimals (decimal); otherwise the column is an error, in the form of the
# documented "columns are out of order" error. Columns come in the order of their greatest
# ordinal, then of first appearance (the documented outputs: a later schema's order wins when
# PreserveOrder is false); ordinals are renumbered over the columns that merged.
_SCHEMA_MERGE = """__wk_in
| extend __wk_row = row_number()
| summarize __wk_ords = dcount(__wk_ord), __wk_max = max(__wk_ord), __wk_first = min(__wk_row),
    __wk_types = make_set(__wk_type) by __wk_name
| extend __wk_merged = case(
    array_length(__wk_types) == 1, tostring(__wk_types[0]),
    array_length(set_difference(__wk_types, dynamic(["int", "long"]))) == 0, "long",
    array_length(set_difference(__wk_types, dynamic(["int", "long", "real"]))) == 0, "real",
    array_length(set_difference(__wk_types, dynamic(["int", "long", "decimal"]))) == 0, "decimal",
    "")
| extend __wk_err = case(
    __wk_p_preserve and __wk_ords > 1, "columns are out of order",
    __wk_merged == "", strcat("column types differ: ", strcat_array(array_sort_asc(__wk_types), ", ")),
    "")
| sort by __wk_max asc, __wk_first asc
| extend __wk_ok = __wk_err == ""
| extend __wk_n = row_cumsum(iff(__wk_ok, 1, 0)) - 1
| project ColumnName = __wk_name, ColumnOrdinal = toint(iff(__wk_ok, __wk_n, -1)),
    DataType = iff(__wk_ok, {clr_case}, strcat("ERROR(unknown CSL type:ERROR(", __wk_err, "))")),
    ColumnType = iff(__wk_ok, __wk_merged, strcat("ERROR(", __wk_err, ")"))"""


def _schema_merge(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``schema_merge([PreserveOrder])``: the ``getschema`` rows of several schemas (a ``union`` of
    ``getschema`` outputs) merged into one schema, ``getschema``'s columns. With ``PreserveOrder``
    (the default) a column whose ordinal differs between schemas is an error row, ordinal -1."""
    preserve_expr = _named(call, "PreserveOrder") or (call.args[0] if call.args else None)
    if len(call.args) > 1 or (call.args and _named(call, "PreserveOrder")):
        raise b.error("schema_merge() takes one argument, PreserveOrder", call)
    ctx = row_context(rel, scope)
    preserve: BExpr = BLiteral(_T.BOOL, True)
    if preserve_expr is not None:
        value = b.constant(preserve_expr, ctx, "schema_merge's PreserveOrder")
        if not isinstance(value, bool):
            raise b.error("schema_merge(): PreserveOrder must be true or false", preserve_expr)
        preserve = BLiteral(_T.BOOL, value)
    items: list[tuple[str, BExpr]] = []
    for internal, name, convert in (("__wk_name", "ColumnName", "tostring"), ("__wk_ord", "ColumnOrdinal", "tolong"),
                                    ("__wk_type", "ColumnType", "tostring")):  # fmt: skip
        found = b.column_ref(name, ctx, call)
        if found is None:
            raise b.error(f"schema_merge() reads getschema rows: the input has no column '{name}'", call)
        items.append((internal, b.make_call(SCALARS[convert], [found], call)))
    inner = scope.child()
    inner.define("__wk_in", project_columns(rel, items))
    inner.define("__wk_p_preserve", preserve)
    return b.tabular(template(_SCHEMA_MERGE.replace("{clr_case}", _clr_case())).results[0], inner)


def _named(call: ast.Call, name: str) -> ast.Expr | None:
    return next((value for key, value in call.named if key.lower() == name.lower()), None)


# ---------------------------------------------------------------------------- infer_storage_schema


def _infer_storage_schema(b: Binder, rel: Relation, call: ast.Call, scope: Scope) -> Relation:
    """``infer_storage_schema(Options)``: refused, with the reason, once the options are checked.

    Inferring means listing the storage containers and reading their files, and a query here reads
    no cloud storage (``externaldata`` reads only locations on the workspace's allowlist, and
    declares its columns). The containers are named in the message without their credentials
    (the text after ``;`` or ``?`` in a storage connection string is a key or a SAS token)."""
    if len(call.args) != 1 or call.named:
        raise b.error("infer_storage_schema() takes one argument, the options property bag", call)
    options = b.constant(call.args[0], row_context(rel, scope), "infer_storage_schema's options")
    if isinstance(options, str):
        options = _json_or_none(options)
    if not isinstance(options, dict):
        raise b.error("infer_storage_schema(): the options must be a dynamic property bag", call.args[0])
    containers = options.get("StorageContainers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, str) for c in containers):
        raise b.error("infer_storage_schema(): 'StorageContainers' must be an array of storage URIs", call)
    if not isinstance(options.get("DataFormat"), str):
        raise b.error("infer_storage_schema(): 'DataFormat' (csv, parquet, json...) is required", call)
    where = ", ".join(_without_secret(c) for c in containers)
    raise b.unsupported(
        f"evaluate infer_storage_schema(): it lists and reads the files of {where} to guess their "
        "columns, and queries here read no cloud storage; declare the columns with externaldata "
        "(allowlisted locations) or ingest the files into a table",
        call,
    )


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _without_secret(uri: str) -> str:
    """A storage connection string without its key (``;key``) or SAS token (``?sig=...``)."""
    return uri.split(";", 1)[0].split("?", 1)[0]


SCHEMA_PLUGINS: dict[str, Callable[[Binder, Relation, ast.Call, Scope], Relation]] = {
    "schema_merge": _schema_merge,
    "infer_storage_schema": _infer_storage_schema,
}
