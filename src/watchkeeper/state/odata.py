"""OData query options (``$filter $select $orderby $top $skip $count $expand $skiptoken``) checked
against a resource's fields and compiled to parameterised SQL (``../shared/specs/graph-security-api.md``
section 1).

A resource describes each Graph property it can filter or sort on as a :class:`Field` (the SQL column
or expression holding it and its kind). :func:`parse_options` turns the request's ``$``-options into an
:class:`ODataQuery` or raises :class:`InvalidRequestError` with a precise message (Graph answers 400 for
an unknown system query option, property or value); :func:`select_page` runs one page of a statement.

Every user value reaches SQL as a bound parameter. Comparisons use two-valued logic as OData does:
``x eq 'a'`` is false and ``x ne 'a'`` true when ``x`` is null, and ``not`` inverts exactly.
``startswith``/``endswith``/``contains`` ignore case (ASCII) on every backend; ``eq`` is exact.
Lambdas over JSON arrays are ``EXISTS`` over ``json_each`` (SQLite) or ``jsonb_array_elements`` (PostgreSQL);
a value that is not an array counts as an empty one. ``$orderby`` sorts a field's column as stored
(strings in the database's collation; an enum whose Graph order differs from its spelling needs a column
expression that ranks it, such as a ``CASE``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import UnaryExpression

from watchkeeper.errors import InvalidRequestError
from watchkeeper.state.odata_filter import (
    And,
    Compare,
    Function,
    In,
    Lambda,
    Node,
    Not,
    Or,
    Path,
    parse_filter,
)

__all__ = [
    "KINDS",
    "Field",
    "Node",
    "ODataQuery",
    "Page",
    "SqlExpression",
    "check_filter",
    "decode_skiptoken",
    "encode_skiptoken",
    "filter_clause",
    "parse_options",
    "select_page",
]

KINDS = frozenset({"string", "enum", "datetime", "number", "bool", "strings", "objects"})
OPTIONS = frozenset({"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand", "$skiptoken"})
_COLLECTIONS = frozenset({"strings", "objects"})
_MEMBER = "member"  # the kind of a member of an object inside an "objects" lambda (any JSON scalar)
_SQL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
}


SqlExpression = ColumnElement[Any] | QueryableAttribute[Any]  # a column, expression or ORM attribute


def _sql(expression: SqlExpression) -> ColumnElement[Any]:
    return expression.expression if isinstance(expression, QueryableAttribute) else expression


@dataclass(frozen=True)
class Field:
    """How one Graph property is stored: ``kind`` is one of :data:`KINDS`; ``encode`` maps a Graph literal
    to the stored value (``"medium"`` -> ``"Medium"``) and may raise ``ValueError``/``KeyError`` to refuse it."""

    column: SqlExpression
    kind: str
    encode: Callable[[Any], Any] | None = None
    filterable: bool = True
    sortable: bool = True

    @property
    def sql(self) -> ColumnElement[Any]:
        """The column as a SQL expression (an ORM attribute gives its column)."""
        return _sql(self.column)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}; expected one of {sorted(KINDS)}")


@dataclass(frozen=True)
class ODataQuery:
    """A request's checked query options. ``filter`` is the checked syntax tree (values already encoded)."""

    filter: Node | None
    select: tuple[str, ...] | None
    orderby: tuple[tuple[str, bool], ...]  # (field name, descending)
    top: int
    skip: int
    count: bool
    expand: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """One page: ``total`` rows match the filter (only with ``$count=true``); ``next_skip`` is the offset of
    the next page, or None on the last one."""

    rows: list[Any]
    total: int | None
    next_skip: int | None


# -- skiptoken ---------------------------------------------------------------------------------------


def encode_skiptoken(offset: int) -> str:
    """The opaque ``$skiptoken`` of the page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"skip:{offset}".encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    """The offset a ``$skiptoken`` from :func:`encode_skiptoken` stands for."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = re.fullmatch(r"skip:(\d{1,12})", text)
    if match is None:
        raise InvalidRequestError(
            "$skiptoken is not one this service issued; follow @odata.nextLink as given"
        )
    return int(match.group(1))


# -- options -----------------------------------------------------------------------------------------


def parse_options(
    params: Mapping[str, str],
    *,
    fields: Mapping[str, Field],
    max_top: int = 1000,
    default_top: int = 100,
    max_skip: int | None = None,
    expandable: Collection[str] = (),
) -> ODataQuery:
    """Check the ``$``-options of a request against ``fields``; :class:`InvalidRequestError` names the
    first problem (an unknown option, property or value, a limit exceeded, a syntax error's position)."""
    unknown = sorted(name for name in params if name not in OPTIONS)
    if unknown:
        raise InvalidRequestError(
            f"unsupported query option {unknown[0]}; supported: {', '.join(sorted(OPTIONS))}"
        )
    text = params.get("$filter")
    return ODataQuery(
        filter=check_filter(parse_filter(text), fields) if text is not None else None,
        select=_select(params.get("$select"), fields),
        orderby=_orderby(params.get("$orderby"), fields),
        top=_top(params.get("$top"), max_top, default_top),
        skip=_skip(params, max_skip),
        count=_count(params.get("$count")),
        expand=_expand(params.get("$expand"), expandable),
    )


def _names(text: str, option: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise InvalidRequestError(f"{option} has an empty item: {text!r}")
    return names


def _select(text: str | None, fields: Mapping[str, Field]) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = _names(text, "$select")
    for name in names:
        if name not in fields:
            raise InvalidRequestError(
                f"$select: unknown property {name!r}; known: {', '.join(sorted(fields))}"
            )
    return tuple(dict.fromkeys(names))


def _orderby(text: str | None, fields: Mapping[str, Field]) -> tuple[tuple[str, bool], ...]:
    if text is None:
        return ()
    keys: list[tuple[str, bool]] = []
    for item in _names(text, "$orderby"):
        name, _, direction = item.partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise InvalidRequestError(f"$orderby: {item!r}: the direction is asc or desc")
        field = _field(fields, name, "$orderby")
        if not field.sortable or field.kind in _COLLECTIONS:
            raise InvalidRequestError(f"$orderby: property {name!r} cannot be sorted on")
        keys.append((name, direction == "desc"))
    return tuple(keys)


def _integer(text: str, option: str) -> int:
    if not re.fullmatch(r"\d{1,12}", text.strip()):
        raise InvalidRequestError(f"{option} must be a non-negative whole number, got {text!r}")
    return int(text)


def _top(text: str | None, max_top: int, default_top: int) -> int:
    if text is None:
        return min(default_top, max_top)
    top = _integer(text, "$top")
    if top > max_top:
        raise InvalidRequestError(f"$top={top} exceeds the maximum of {max_top}")
    return top


def _skip(params: Mapping[str, str], max_skip: int | None) -> int:
    token, text = params.get("$skiptoken"), params.get("$skip")
    if token is not None and text is not None:
        raise InvalidRequestError("give $skip or $skiptoken, not both")
    if token is not None:
        return decode_skiptoken(token)  # our own token: max_skip limits what a client asks for, not paging
    skip = 0 if text is None else _integer(text, "$skip")
    if max_skip is not None and skip > max_skip:
        raise InvalidRequestError(f"$skip={skip} exceeds the maximum of {max_skip}")
    return skip


def _count(text: str | None) -> bool:
    if text is None or text.strip().lower() == "false":
        return False
    if text.strip().lower() == "true":
        return True
    raise InvalidRequestError(f"$count must be true or false, got {text!r}")


def _expand(text: str | None, expandable: Collection[str]) -> tuple[str, ...]:
    if text is None:
        return ()
    names = _names(text, "$expand")
    for name in names:
        if name not in expandable:
            known = ", ".join(sorted(expandable)) or "nothing"
            raise InvalidRequestError(f"$expand: {name!r} cannot be expanded; expandable: {known}")
    return tuple(dict.fromkeys(names))


def _field(fields: Mapping[str, Field], name: str, option: str) -> Field:
    field = fields.get(name)
    if field is None:
        raise InvalidRequestError(f"{option}: unknown property {name!r}; known: {', '.join(sorted(fields))}")
    return field


# -- $filter: names and types ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """The lambda being checked: its range variable and the kind of the collection it ranges over."""

    variable: str
    collection: str  # "strings" | "objects"


def check_filter(node: Node, fields: Mapping[str, Field], scope: _Scope | None = None) -> Node:
    """``node`` with every name checked against ``fields`` and every value checked and encoded."""
    if isinstance(node, And | Or):
        return type(node)(check_filter(node.left, fields, scope), check_filter(node.right, fields, scope))
    if isinstance(node, Not):
        return Not(check_filter(node.operand, fields, scope))
    if isinstance(node, Lambda):
        return _check_lambda(node, fields, scope)
    kind, encode = _kind(node.path, fields, scope)
    if isinstance(node, Compare):
        return Compare(node.op, node.path, _value(node.path, kind, encode, node.value, node.op))
    if isinstance(node, In):
        return In(node.path, tuple(_value(node.path, kind, encode, value, "in") for value in node.values))
    if kind not in ("string", _MEMBER) or not isinstance(node.value, str):
        raise InvalidRequestError(f"$filter: {node.name}() takes a string property and a 'string' value")
    return node


def _check_lambda(node: Lambda, fields: Mapping[str, Field], scope: _Scope | None) -> Lambda:
    if node.path.variable is not None:
        raise InvalidRequestError("$filter: a lambda inside a lambda is not supported")
    field = _field(fields, node.path.name, "$filter")
    if field.kind not in _COLLECTIONS:
        raise InvalidRequestError(
            f"$filter: {node.quantifier}() needs a collection; {node.path.name!r} is not one"
        )
    if not field.filterable:
        raise InvalidRequestError(f"$filter: property {node.path.name!r} cannot be filtered on")
    body = check_filter(node.body, fields, _Scope(node.variable, field.kind))
    return Lambda(node.path, node.quantifier, node.variable, body)


def _kind(
    path: Path, fields: Mapping[str, Field], scope: _Scope | None
) -> tuple[str, Callable[[Any], Any] | None]:
    if path.variable is not None:
        assert scope is not None  # the parser only makes variable paths inside a lambda
        if scope.collection == "strings" and path.name:
            raise InvalidRequestError(f"$filter: {path.variable} is a string; it has no member {path.name!r}")
        if scope.collection == "objects" and not path.name:
            raise InvalidRequestError(
                f"$filter: compare a member of {path.variable} (as {path.variable}/name)"
            )
        return ("string" if scope.collection == "strings" else _MEMBER), None
    field = _field(fields, path.name, "$filter")
    if not field.filterable:
        raise InvalidRequestError(f"$filter: property {path.name!r} cannot be filtered on")
    if field.kind in _COLLECTIONS:
        raise InvalidRequestError(
            f"$filter: {path.name!r} is a collection; use {path.name}/any(x: ...) or {path.name}/all(x: ...)"
        )
    return field.kind, field.encode


_ACCEPTS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "enum": (str,),
    "datetime": (datetime,),
    "number": (int, float),
    "bool": (bool,),
    _MEMBER: (str, int, float, bool),
}
_EXPECTED = {
    "string": "a 'string'",
    "enum": "a 'string'",
    "datetime": "an unquoted ISO 8601 datetime (2018-11-11T00:00:00Z)",
    "number": "a number",
    "bool": "true or false",
    _MEMBER: "a 'string', number, true or false",
}


def _value(path: Path, kind: str, encode: Callable[[Any], Any] | None, value: Any, op: str) -> Any:
    shown = f"{path.variable}/{path.name}" if path.variable and path.name else (path.variable or path.name)
    if value is None:
        if op not in ("eq", "ne"):
            raise InvalidRequestError(f"$filter: {shown}: null can only be compared with eq or ne")
        return None
    wrong_bool = isinstance(value, bool) and kind == "number"
    if not isinstance(value, _ACCEPTS[kind]) or wrong_bool:
        raise InvalidRequestError(f"$filter: {shown} takes {_EXPECTED[kind]}, got {value!r}")
    if (kind == "bool" or isinstance(value, bool)) and op not in ("eq", "ne", "in"):
        raise InvalidRequestError(f"$filter: {shown}: true and false can only be compared with eq or ne")
    if encode is None:
        return value
    try:
        return encode(value)
    except (ValueError, KeyError, TypeError):
        raise InvalidRequestError(f"$filter: {value!r} is not a valid value of {shown}") from None


# -- $filter: SQL ------------------------------------------------------------------------------------


_SQLITE_JSON_TYPES = {"boolean": ("true", "false"), "number": ("integer", "real"), "string": ("text",)}


def _json_type(value: Any) -> str:
    """The JSON type (PostgreSQL's ``jsonb_typeof`` name) of a filter literal."""
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


@dataclass(frozen=True)
class _Element:
    """The SQL of a lambda's range variable: the array element (JSON on PostgreSQL, SQL on SQLite)."""

    variable: str
    value: ColumnElement[Any]


def filter_clause(node: Node, fields: Mapping[str, Field], dialect: str) -> ColumnElement[bool]:
    """The SQL boolean of a checked filter (from :func:`parse_options`) for ``dialect`` ("sqlite" or
    "postgresql"), with every value a bound parameter."""
    return _Compiler(fields, dialect).clause(node, None)


class _Compiler:
    def __init__(self, fields: Mapping[str, Field], dialect: str) -> None:
        self.fields = fields
        self.postgres = dialect == "postgresql"

    def clause(self, node: Node, element: _Element | None) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self.clause(node.left, element), self.clause(node.right, element))
        if isinstance(node, Or):
            return or_(self.clause(node.left, element), self.clause(node.right, element))
        if isinstance(node, Not):
            return not_(self.clause(node.operand, element))
        if isinstance(node, Lambda):
            return self.lambda_(node)
        if isinstance(node, In):
            column = self.operand(node.path, element, node.values[0])
            return and_(column.is_not(None), column.in_(node.values))
        if isinstance(node, Function):
            return self.function(node, self.operand(node.path, element, node.value))
        return self.compare(node, element)

    def compare(self, node: Compare, element: _Element | None) -> ColumnElement[bool]:
        column = self.operand(node.path, element, node.value)
        if node.value is None:
            return column.is_(None) if node.op == "eq" else column.is_not(None)
        if node.op == "ne":
            return or_(column.is_(None), column != node.value)
        return and_(column.is_not(None), _SQL_OPS[node.op](column, node.value))

    @staticmethod
    def function(node: Function, column: ColumnElement[Any]) -> ColumnElement[bool]:
        lowered, value = func.lower(column), str(node.value).lower()
        if node.name == "startswith":
            test = lowered.startswith(value, autoescape=True)
        elif node.name == "endswith":
            test = lowered.endswith(value, autoescape=True)
        else:
            test = lowered.contains(value, autoescape=True)
        return and_(column.is_not(None), test)

    def operand(self, path: Path, element: _Element | None, value: Any) -> ColumnElement[Any]:
        if path.variable is None:
            return self.fields[path.name].sql
        assert element is not None
        if not path.name:
            return element.value  # an element of a "strings" collection, as text
        return self.member(element.value, path.name.split("/"), value)

    def member(self, element: ColumnElement[Any], keys: list[str], value: Any) -> ColumnElement[Any]:
        """A member of a JSON object, typed by the literal it meets: a string member never equals a
        number, nor a number a string (the same on both backends); ``null`` meets a JSON null or a
        missing member."""
        json_type = _json_type(value)
        if self.postgres:
            keys_param = literal(keys, ARRAY(Text))
            text = element.op("#>>")(keys_param)
            if value is None:
                return text
            is_type = func.jsonb_typeof(element.op("#>")(keys_param)) == json_type
            typed = {"boolean": cast(text, Boolean), "number": cast(text, Float), "string": text}[json_type]
            return case((is_type, typed), else_=None)
        # keys are [A-Za-z0-9_.@] (the tokenizer says so); the path is a bound parameter all the same
        json_path = "$" + "".join(f'."{key}"' for key in keys)
        if value is None:
            return func.json_extract(element, json_path)
        is_type = func.json_type(element, json_path).in_(_SQLITE_JSON_TYPES[json_type])
        return case((is_type, func.json_extract(element, json_path)), else_=None)

    def lambda_(self, node: Lambda) -> ColumnElement[bool]:
        field = self.fields[node.path.name]
        elements = self.elements(field)
        body = self.clause(node.body, _Element(node.variable, elements.c.value))
        if node.quantifier == "any":
            return select(literal(1)).select_from(elements).where(body).exists()
        return not_(select(literal(1)).select_from(elements).where(not_(body)).exists())

    def elements(self, field: Field) -> Any:
        """The table of a collection's elements (a value that is not an array has none)."""
        if self.postgres:
            document = cast(field.sql, JSONB)
            array = case((func.jsonb_typeof(document) == "array", document), else_=func.jsonb_build_array())
            each = func.jsonb_array_elements_text if field.kind == "strings" else func.jsonb_array_elements
            return each(array).table_valued("value")
        array = case((func.json_type(field.sql) == "array", field.sql), else_=func.json_array())
        return func.json_each(array).table_valued("value")


# -- paging ------------------------------------------------------------------------------------------


def _order(query: ODataQuery, fields: Mapping[str, Field], key: SqlExpression) -> list[UnaryExpression[Any]]:
    """``$orderby`` then ``key``: a total order, so pages neither repeat nor skip rows. Nulls sort first
    ascending and last descending on every backend."""
    keys = [
        fields[name].sql.desc().nulls_last() if descending else fields[name].sql.asc().nulls_first()
        for name, descending in query.orderby
    ]
    return [*keys, _sql(key).asc()]


def select_page(
    session: Session,
    statement: Select[Any],
    query: ODataQuery,
    fields: Mapping[str, Field],
    *,
    key: SqlExpression,
) -> Page:
    """One page of ``statement`` under ``query``'s filter, order and paging. Without ``$orderby`` the
    statement's own order is kept (then ``key``). Rows are entities when the statement selects one entity
    or column, else :class:`Row` objects."""
    if query.filter is not None:
        dialect = session.get_bind().dialect.name
        statement = statement.where(filter_clause(query.filter, fields, dialect))
    total = None
    if query.count:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(session.scalar(counted) or 0)
    if query.top == 0:
        return Page(rows=[], total=total, next_skip=None)
    if query.orderby:
        statement = statement.order_by(None)
    ordered = statement.order_by(*_order(query, fields, key)).offset(query.skip).limit(query.top + 1)
    result = session.execute(ordered)
    rows: list[Any] = list(result.scalars() if len(statement.column_descriptions) == 1 else result)
    more = len(rows) > query.top
    return Page(rows=rows[: query.top], total=total, next_skip=query.skip + query.top if more else None)
