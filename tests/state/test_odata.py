"""OData query options compiled to SQL, run on a real table in the state database (SQLite, and
PostgreSQL when WK_TEST_POSTGRES_URL is set): every operator, lambdas over JSON arrays, datetimes, enums,
precedence, paging that returns every row once, ``$count``, each error message, values that stay values,
and a differential property test (the SQL answer equals a Python evaluation of the same filter)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from tests.state_fixtures import database
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import Database, UtcDateTime
from watchkeeper.state.odata import Field, ODataQuery, Page, filter_clause, parse_options, select_page
from watchkeeper.state.odata_filter import And, Compare, Function, In, Lambda, Node, Not, Or, Path

__all__ = ["database"]

METADATA = MetaData()
SAMPLES = Table(
    "odata_samples",
    METADATA,
    Column("id", String(40), primary_key=True),
    Column("batch", String(40), nullable=False, index=True),
    Column("name", String(100)),
    Column("severity", String(20)),
    Column("created", UtcDateTime()),
    Column("score", Integer),
    Column("active", Boolean),
    Column("provider", String(60)),
    Column("tags", JSON),
    Column("users", JSON),
    Column("secret", String(60)),
)
SEVERITIES = {"low": "Low", "medium": "Medium", "high": "High"}


def _severity(value: str) -> str:
    return SEVERITIES[value.lower()]


FIELDS: dict[str, Field] = {
    "id": Field(SAMPLES.c.id, "string"),
    "name": Field(SAMPLES.c.name, "string"),
    "severity": Field(SAMPLES.c.severity, "enum", encode=_severity),
    "created": Field(SAMPLES.c.created, "datetime"),
    "score": Field(SAMPLES.c.score, "number"),
    "active": Field(SAMPLES.c.active, "bool"),
    "vendorInformation/provider": Field(SAMPLES.c.provider, "string"),
    "tags": Field(SAMPLES.c.tags, "strings"),
    "users": Field(SAMPLES.c.users, "objects"),
    "secret": Field(SAMPLES.c.secret, "string", filterable=False, sortable=False),
}
T0 = datetime(2024, 3, 1, tzinfo=UTC)
ROWS = [
    {"name": "Alpha", "severity": "Low", "created": T0, "score": 1, "active": True, "provider": "ASC",
     "tags": ["red", "blue"], "users": [{"upn": "ana@x", "admin": True, "logons": 3}]},
    {"name": "beta", "severity": "Medium", "created": T0 + timedelta(days=1), "score": 5, "active": False,
     "provider": "MCAS", "tags": ["blue"], "users": [{"upn": "bob@x", "admin": False, "logons": 1}]},
    {"name": "o'hara 100%", "severity": "High", "created": T0 + timedelta(days=2), "score": 9, "active": True,
     "provider": "Azure Sentinel", "tags": [], "users": [{"upn": "ana@x", "admin": False, "logons": 7},
                                                         {"upn": "cy@x", "admin": True, "logons": 0}]},
    {"name": None, "severity": "High", "created": None, "score": None, "active": None, "provider": None,
     "tags": None, "users": None},
    {"name": "gamma_1", "severity": "Low", "created": T0 + timedelta(hours=12), "score": 5, "active": False,
     "provider": "IPC", "tags": ["green", None], "users": [{"upn": None, "admin": "yes", "logons": "9"}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def samples(database: Database) -> Database:
    """The database with the sample table (in its own metadata: it is no part of the product's schema)."""
    METADATA.create_all(database.engine)
    return database


@pytest.fixture(scope="module")
def batch(samples: Database) -> str:
    """The fixed sample rows, in a batch of their own."""
    return _insert(samples, ROWS)


def _insert(db: Database, rows: list[dict[str, Any]]) -> str:
    batch = uuid.uuid4().hex
    with db.session() as session:
        for index, row in enumerate(rows):
            session.execute(SAMPLES.insert().values(id=f"{batch[:8]}-{index:03}", batch=batch, **row))
    return batch


def _page(db: Database, batch: str, params: Mapping[str, str], **limits: Any) -> Page:
    query = parse_options(params, fields=FIELDS, **limits)
    with db.session() as session:
        statement = select(SAMPLES).where(SAMPLES.c.batch == batch)
        return select_page(session, statement, query, FIELDS, key=SAMPLES.c.id)


def _names(db: Database, batch: str, text: str) -> set[str | None]:
    return {row.name for row in _page(db, batch, {"$filter": text}).rows}


CASES = [
    ("name eq 'Alpha'", {"Alpha"}),
    ("name eq 'alpha'", set()),  # eq is exact
    ("name ne 'Alpha'", {"beta", "o'hara 100%", None, "gamma_1"}),  # null ne 'x' is true, as OData says
    ("name eq null", {None}),
    ("name ne null", {"Alpha", "beta", "o'hara 100%", "gamma_1"}),
    ("score gt 5", {"o'hara 100%"}),
    ("score ge 5", {"beta", "o'hara 100%", "gamma_1"}),
    ("score lt 5", {"Alpha"}),
    ("score le 5", {"Alpha", "beta", "gamma_1"}),
    ("score gt 4.5 and score lt 5.5", {"beta", "gamma_1"}),
    ("score in (1, 9)", {"Alpha", "o'hara 100%"}),
    ("active eq true", {"Alpha", "o'hara 100%"}),
    ("active", {"Alpha", "o'hara 100%"}),
    ("active eq false", {"beta", "gamma_1"}),
    ("not active", {"beta", "gamma_1", None}),
    ("severity eq 'high'", {"o'hara 100%", None}),
    ("severity eq 'HIGH'", {"o'hara 100%", None}),
    ("severity in ('low', 'Medium')", {"Alpha", "beta", "gamma_1"}),
    ("severity ne 'low'", {"beta", "o'hara 100%", None}),
    ("created gt 2024-03-01T12:00:00Z", {"beta", "o'hara 100%"}),
    ("created ge 2024-03-01T12:00:00Z", {"beta", "o'hara 100%", "gamma_1"}),
    ("created le 2024-03-01T14:00:00+02:00", {"Alpha", "gamma_1"}),  # 12:00 UTC
    ("created lt 2024-03-01T14:00:00+02:00", {"Alpha"}),
    ("created eq 2024-03-02T00:00:00.0000000Z", {"beta"}),
    ("startswith(name, 'al')", {"Alpha"}),
    ("endswith(name, 'A')", {"Alpha", "beta"}),  # functions ignore case
    ("contains(name, '100%')", {"o'hara 100%"}),
    ("contains(name, '%')", {"o'hara 100%"}),  # LIKE wildcards are escaped
    ("contains(name, 'a_')", {"gamma_1"}),
    ("contains(name, 'a%')", set()),
    ("name eq 'o''hara 100%'", {"o'hara 100%"}),
    ("vendorInformation/provider eq 'Azure Sentinel'", {"o'hara 100%"}),
    ("not startswith(vendorInformation/provider, 'a')", {"beta", None, "gamma_1"}),
    ("tags/any(t: t eq 'blue')", {"Alpha", "beta"}),
    ("tags/any(t: startswith(t, 'gr'))", {"gamma_1"}),
    ("tags/all(t: t eq 'blue')", {"beta", "o'hara 100%", None}),  # empty and missing arrays: all() holds
    ("not tags/any(t: t eq 'blue')", {"o'hara 100%", None, "gamma_1"}),
    ("users/any(u: u/upn eq 'ana@x')", {"Alpha", "o'hara 100%"}),
    ("users/any(u: u/upn eq 'ana@x' and u/admin eq true)", {"Alpha"}),
    ("users/any(u: u/admin eq true)", {"Alpha", "o'hara 100%"}),  # "yes" is a string, not true
    ("users/any(u: u/logons gt 5)", {"o'hara 100%"}),  # "9" is a string, not a number
    ("users/any(u: u/logons eq '9')", {"gamma_1"}),
    ("users/all(u: u/admin eq true)", {"Alpha", None}),
    ("users/any(u: u/upn eq null)", {"gamma_1"}),
    ("users/any(u: u/upn eq 'ana@x') and score gt 2", {"o'hara 100%"}),
    ("users/any(u: u/upn eq 'ana@x' and score lt 2)", {"Alpha"}),  # the outer row inside the lambda
    # precedence: not binds tightest, then and, then or
    ("not active and score ge 5 or name eq 'Alpha'", {"beta", "gamma_1", "Alpha"}),
    ("not (active and score ge 5 or name eq 'Alpha')", {"beta", None, "gamma_1"}),
    ("name eq 'Alpha' or name eq 'beta' and score eq 1", {"Alpha"}),
    ("(name eq 'Alpha' or name eq 'beta') and score eq 5", {"beta"}),
    ("NOT_A_KEYWORD eq 1" if False else "name eq 'x' or not (score ne 9)", {"o'hara 100%"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_each_operator_selects_the_rows_it_says(
    samples: Database, batch: str, text: str, expected: set
) -> None:
    assert _names(samples, batch, text) == expected


INJECTIONS = ["x' or 1 eq 1 --", "x'); DROP TABLE odata_samples; --", "' OR '1'='1", "%", "\\", "50/50_"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_value_stays_a_value(samples: Database, value: str) -> None:
    batch = _insert(samples, [{"name": value}, {"name": "other"}])
    quoted = value.replace("'", "''")
    assert _names(samples, batch, f"name eq '{quoted}'") == {value}
    assert _names(samples, batch, f"contains(name, '{quoted}')") == {value}
    assert _names(samples, batch, f"tags/any(t: t eq '{quoted}') or name ne '{quoted}'") == {"other"}
    with samples.session() as session:  # the table is still there, with both rows
        assert len(session.execute(select(SAMPLES).where(SAMPLES.c.batch == batch)).all()) == 2


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_user_values_reach_the_sql_only_as_bound_parameters(dialect: str) -> None:
    marker = "zq' OR 1=1 --"
    quoted = marker.replace("'", "''")
    text = (
        f"name eq '{quoted}' or contains(name, '{quoted}') or tags/any(t: t in ('{quoted}')) "
        f"or users/any(u: u/upn eq '{quoted}' or u/logons gt 3)"
    )
    query = parse_options({"$filter": text}, fields=FIELDS)
    assert query.filter is not None
    engine_dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect]
    compiled = filter_clause(query.filter, FIELDS, dialect).compile(dialect=engine_dialect)
    assert "zq" not in str(compiled)
    assert "OR 1=1" not in str(compiled)
    assert marker in compiled.params.values()


def test_an_unquoted_injection_is_a_syntax_error() -> None:
    with pytest.raises(InvalidRequestError, match="at character 10: unterminated string literal"):
        parse_options({"$filter": "name eq x' or 1 eq 1 --"}, fields=FIELDS)


def test_paging_returns_every_row_once_in_order(samples: Database) -> None:
    rows = [{"name": f"n{index % 4}", "score": index % 3} for index in range(23)]
    batch = _insert(samples, rows)
    seen: list[Any] = []
    skip, pages = 0, 0
    while True:
        page = _page(samples, batch, {"$orderby": "score desc,name", "$top": "5", "$skip": str(skip)})
        seen.extend(page.rows)
        pages += 1
        if page.next_skip is None:
            break
        skip = page.next_skip
    assert pages == 5
    assert len(seen) == 23
    assert len({row.id for row in seen}) == 23
    keys = [(-row.score, row.name, row.id) for row in seen]
    assert keys == sorted(keys)


def test_order_puts_nulls_first_ascending_and_last_descending(samples: Database, batch: str) -> None:
    ascending = [row.score for row in _page(samples, batch, {"$orderby": "score"}).rows]
    descending = [row.score for row in _page(samples, batch, {"$orderby": "score desc"}).rows]
    assert ascending == [None, 1, 5, 5, 9]
    assert descending == [9, 5, 5, 1, None]


def test_count_is_the_total_matching_the_filter_not_the_page(samples: Database, batch: str) -> None:
    page = _page(samples, batch, {"$filter": "score ge 5", "$top": "1", "$count": "true"})
    assert (page.total, len(page.rows), page.next_skip) == (3, 1, 1)
    assert _page(samples, batch, {"$top": "1"}).total is None
    empty = _page(samples, batch, {"$top": "0", "$count": "true"})
    assert (empty.rows, empty.total, empty.next_skip) == ([], 5, None)


def test_a_skiptoken_continues_where_the_last_page_ended(samples: Database, batch: str) -> None:
    from watchkeeper.state.odata import encode_skiptoken

    first = _page(samples, batch, {"$top": "2"})
    second = _page(samples, batch, {"$top": "2", "$skiptoken": encode_skiptoken(first.next_skip or 0)})
    assert [row.id for row in second.rows] == [
        row.id for row in _page(samples, batch, {"$skip": "2"}).rows[:2]
    ]


def test_options_are_parsed_into_the_query() -> None:
    query = parse_options(
        {"$select": "name,score,name", "$orderby": "score desc, name asc", "$top": "7", "$skip": "3",
         "$count": "TRUE", "$expand": "alerts"},
        fields=FIELDS, expandable=("alerts",),
    )  # fmt: skip
    assert query == ODataQuery(
        filter=None, select=("name", "score"), orderby=(("score", True), ("name", False)), top=7, skip=3,
        count=True, expand=("alerts",),
    )  # fmt: skip
    defaults = parse_options({}, fields=FIELDS, default_top=50)
    assert (defaults.top, defaults.skip, defaults.count, defaults.select) == (50, 0, False, None)


def test_a_checked_filter_holds_encoded_values() -> None:
    query = parse_options(
        {"$filter": "severity eq 'medium' and not tags/any(t: t in ('a', 'b'))"}, fields=FIELDS
    )
    path, tag = Path("severity", position=1), Path("", variable="t", position=42)
    expected = And(
        Compare("eq", path, "Medium"), Not(Lambda(Path("tags", position=30), "any", "t", In(tag, ("a", "b"))))
    )
    assert query.filter == expected


ERRORS = [
    ({"$filter": "colour eq 'red'"}, "$filter: unknown property 'colour'"),
    ({"$filter": "secret eq 'x'"}, "$filter: property 'secret' cannot be filtered on"),
    ({"$filter": "score eq 'five'"}, "$filter: score takes a number, got 'five'"),
    ({"$filter": "score eq true"}, "$filter: score takes a number, got True"),
    ({"$filter": "created gt '2024-01-01'"}, "$filter: created takes an unquoted ISO 8601 datetime"),
    (
        {"$filter": "created gt 2024-13-01T00:00:00Z"},
        "at character 12: 2024-13-01T00:00:00Z is not a valid datetime",
    ),
    ({"$filter": "name eq 5"}, "$filter: name takes a 'string', got 5"),
    ({"$filter": "severity eq 'severe'"}, "$filter: 'severe' is not a valid value of severity"),
    ({"$filter": "active gt false"}, "true and false can only be compared with eq or ne"),
    ({"$filter": "score gt null"}, "$filter: score: null can only be compared with eq or ne"),
    ({"$filter": "tags eq 'red'"}, "'tags' is a collection; use tags/any(x: ...)"),
    ({"$filter": "name/any(n: n eq 'x')"}, "any() needs a collection; 'name' is not one"),
    ({"$filter": "tags/any(t: t/x eq 'red')"}, "t is a string; it has no member 'x'"),
    ({"$filter": "users/any(u: u eq 'red')"}, "compare a member of u (as u/name)"),
    ({"$filter": "startswith(score, '1')"}, "startswith() takes a string property and a 'string' value"),
    (
        {"$filter": "(name eq 'a' or score eq 1"},
        "$filter: at character 27: expected ')', got the end of the filter",
    ),
    (
        {"$filter": "name eq 'a' score eq 1"},
        "at character 13: expected 'and', 'or' or the end of the filter, got score",
    ),
    ({"$filter": "name eq 'abc"}, "at character 9: unterminated string literal"),
    ({"$filter": "name eq"}, "at character 8: expected a value"),
    (
        {"$filter": "name like 'a'"},
        "at character 6: expected an operator (eq, ne, gt, ge, lt, le, in), got like",
    ),
    ({"$filter": "name eq 'a' and"}, "at character 16: expected a property name, got the end of the filter"),
    ({"$filter": "name eq 'a' ; drop"}, "at character 13: unexpected character ';'"),
    ({"$filter": " "}, "$filter is empty"),
    ({"$filter": "not " * 60 + "active"}, "nested deeper than 50 levels"),
    ({"$filter": "name eq '" + "x" * 5000 + "'"}, "the limit is 4000"),
    ({"$top": "1001"}, "$top=1001 exceeds the maximum of 1000"),
    ({"$top": "-1"}, "$top must be a non-negative whole number, got '-1'"),
    ({"$top": "ten"}, "$top must be a non-negative whole number, got 'ten'"),
    ({"$skip": "-5"}, "$skip must be a non-negative whole number, got '-5'"),
    ({"$skip": "501"}, "$skip=501 exceeds the maximum of 500"),
    ({"$skiptoken": "bm9wZQ"}, "$skiptoken is not one this service issued"),
    ({"$skiptoken": "c2tpcDox", "$skip": "1"}, "give $skip or $skiptoken, not both"),
    ({"$select": "name,colour"}, "$select: unknown property 'colour'"),
    ({"$select": "name,,score"}, "$select has an empty item"),
    ({"$orderby": "colour"}, "$orderby: unknown property 'colour'"),
    ({"$orderby": "secret desc"}, "$orderby: property 'secret' cannot be sorted on"),
    ({"$orderby": "tags"}, "$orderby: property 'tags' cannot be sorted on"),
    ({"$orderby": "name sideways"}, "$orderby: 'name sideways': the direction is asc or desc"),
    ({"$expand": "alerts"}, "$expand: 'alerts' cannot be expanded; expandable: nothing"),
    ({"$count": "yes"}, "$count must be true or false, got 'yes'"),
    ({"$search": "x"}, "unsupported query option $search"),
]


@pytest.mark.parametrize(("params", "message"), ERRORS, ids=[message for _, message in ERRORS])
def test_bad_options_are_refused_with_a_precise_message(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_options(params, fields=FIELDS, max_skip=500)
    assert message in str(raised.value)


# -- differential: SQL against a Python evaluation of the same checked tree ------------------------

WORDS = ["a", "ab", "b", "ba", "o'k", "x%", "_y"]  # lowercase: string order is the same under every collation
ORDERED_WORDS = ["a", "ab", "b", "ba"]
TIMES = [T0 + timedelta(hours=hours) for hours in (0, 6, 30)]
OPS = ["eq", "ne", "gt", "ge", "lt", "le"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


row_strategy = st.fixed_dictionaries(
    {
        "name": st.none() | st.sampled_from(WORDS),
        "severity": st.none() | st.sampled_from(["Low", "Medium", "High"]),
        "created": st.none() | st.sampled_from(TIMES),
        "score": st.none() | st.integers(-2, 4),
        "active": st.none() | st.booleans(),
        "tags": st.none() | st.lists(st.sampled_from(WORDS), max_size=3),
        "users": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {
                    "upn": st.none() | st.sampled_from(ORDERED_WORDS),
                    "admin": st.booleans(),
                    "logons": st.integers(0, 3),
                }
            ),
            max_size=3,
        ),
    }
)
atoms = st.one_of(
    st.builds(lambda op, w: f"name {op} {_quote(w)}", st.sampled_from(OPS), st.sampled_from(ORDERED_WORDS)),
    st.builds(lambda op, w: f"name {op} {_quote(w)}", st.sampled_from(["eq", "ne"]), st.sampled_from(WORDS)),
    st.builds(lambda op: f"name {op} null", st.sampled_from(["eq", "ne"])),
    st.builds(
        lambda f, w: f"{f}(name, {_quote(w)})",
        st.sampled_from(["startswith", "endswith", "contains"]),
        st.sampled_from([*WORDS, "A", "%", "_"]),
    ),
    st.builds(
        lambda op, s: f"severity {op} '{s}'", st.sampled_from(["eq", "ne"]), st.sampled_from(["low", "HIGH"])
    ),
    st.builds(lambda op, n: f"score {op} {n}", st.sampled_from(OPS), st.integers(-1, 4) | st.just(1.5)),
    st.builds(
        lambda ns: f"score in ({', '.join(map(str, ns))})",
        st.lists(st.integers(-2, 4), min_size=1, max_size=3),
    ),
    st.builds(lambda op, t: f"created {op} {_stamp(t)}", st.sampled_from(OPS), st.sampled_from(TIMES)),
    st.builds(lambda op, b: f"active {op} {str(b).lower()}", st.sampled_from(["eq", "ne"]), st.booleans()),
    st.builds(
        lambda q, w: f"tags/{q}(t: t eq {_quote(w)})", st.sampled_from(["any", "all"]), st.sampled_from(WORDS)
    ),
    st.builds(
        lambda q, w: f"tags/{q}(t: startswith(t, {_quote(w)}))",
        st.sampled_from(["any", "all"]),
        st.sampled_from(WORDS),
    ),
    st.builds(
        lambda q, w, b: f"users/{q}(u: u/upn ge {_quote(w)} or u/admin eq {str(b).lower()})",
        st.sampled_from(["any", "all"]),
        st.sampled_from(ORDERED_WORDS),
        st.booleans(),
    ),
    st.builds(
        lambda q, n: f"users/{q}(u: not (u/logons lt {n}) and u/upn ne null)",
        st.sampled_from(["any", "all"]),
        st.integers(0, 3),
    ),
)
filters = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"({a})", inner),
    ),
    max_leaves=5,
)


def _operand(path: Path, row: dict[str, Any], element: Any, value: Any) -> Any:
    if path.variable is None:
        return row["provider" if path.name == "vendorInformation/provider" else path.name]
    if not path.name:
        return element
    member = element.get(path.name) if isinstance(element, dict) else None
    if value is None:
        return member
    same_type = isinstance(member, bool) == isinstance(value, bool) and isinstance(member, type(value))
    return member if same_type or (isinstance(value, float) and isinstance(member, int)) else None


def _compare(op: str, actual: Any, value: Any) -> bool:
    if value is None:
        return (actual is None) == (op == "eq")
    if actual is None:
        return op == "ne"
    return {"eq": actual == value, "ne": actual != value, "gt": actual > value, "ge": actual >= value,
            "lt": actual < value, "le": actual <= value}[op]  # fmt: skip


def _evaluate(node: Node, row: dict[str, Any], element: Any = None) -> bool:
    """The OData meaning of a checked filter on one row, in Python."""
    if isinstance(node, And):
        return _evaluate(node.left, row, element) and _evaluate(node.right, row, element)
    if isinstance(node, Or):
        return _evaluate(node.left, row, element) or _evaluate(node.right, row, element)
    if isinstance(node, Not):
        return not _evaluate(node.operand, row, element)
    if isinstance(node, Lambda):
        items = row[node.path.name] if isinstance(row[node.path.name], list) else []
        test = any if node.quantifier == "any" else all
        return test(_evaluate(node.body, row, item) for item in items)
    if isinstance(node, In):
        actual = _operand(node.path, row, element, node.values[0])
        return actual is not None and actual in node.values
    if isinstance(node, Function):
        actual = _operand(node.path, row, element, node.value)
        method = {"startswith": str.startswith, "endswith": str.endswith, "contains": str.__contains__}[
            node.name
        ]
        return actual is not None and method(actual.lower(), node.value.lower())
    assert isinstance(node, Compare)
    return _compare(node.op, _operand(node.path, row, element, node.value), node.value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, max_size=6), text=filters)
def test_sql_agrees_with_a_python_evaluation_of_the_filter(
    samples: Database, rows: list[dict], text: str
) -> None:
    batch = _insert(samples, [{**row, "provider": None} for row in rows])
    query = parse_options({"$filter": text}, fields=FIELDS)
    assert query.filter is not None
    expected = [index for index, row in enumerate(rows) if _evaluate(query.filter, {**row, "provider": None})]
    page = _page(samples, batch, {"$filter": text, "$top": "100"})
    assert sorted(int(row.id.rsplit("-", 1)[1]) for row in page.rows) == expected, text
