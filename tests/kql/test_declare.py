"""``declare pattern`` and ``declare query_parameters``: what a user sees when a pattern reference
has no mapping, a declaration is malformed, or a parameter has no value; and the message for a
scalar function written where a table belongs; and hash_many/hash_combine, refused with the reason."""

from __future__ import annotations

import pytest

from watchkeeper import KqlBindError, KqlError, KqlSyntaxError, UnsupportedError, Workspace, kql

COUNTRY = """declare pattern country = (name:string)[state:string]
{
  ("USA").["New York"] = { print Capital = "Albany" };
  ("Canada").["Alberta"] = { print Capital = "Edmonton" };
};
"""


def error_of(text: str) -> KqlError:
    with pytest.raises(KqlError) as info:
        kql.compile(text)
    return info.value


def test_an_unmapped_reference_is_kustos_sem0036_with_the_reference_written_out() -> None:
    error = error_of(COUNTRY + 'union country("Canada").["*"]')
    assert isinstance(error, KqlBindError)
    assert error.render() == (
        "bind error: One or more pattern references were not declared. Detected pattern references: "
        "[\"country('Canada').['*']\"]\n"
        "  --> line 6, column 7\n"
        '   | union country("Canada").["*"]\n'
        "   |       ^^^^^^^"
    )


def test_a_pattern_declared_without_a_definition_names_the_missing_reference() -> None:
    error = error_of('declare pattern map_ip;\nmap_ip("10.10.10.10")')
    assert isinstance(error, KqlBindError)
    assert "[\"map_ip('10.10.10.10')\"]" in error.message


def test_path_spellings_are_one_reference(ws: Workspace) -> None:
    query = (
        COUNTRY
        + 'union country("USA").["New York"], country(\'Canada\').Alberta, country("Canada").[\'Alberta\']'
    )
    assert sorted(ws.query(query).rows) == [("Albany",), ("Edmonton",), ("Edmonton",)]


def test_a_pattern_used_in_a_let_and_a_join(ws: Workspace) -> None:
    query = COUNTRY + (
        'let capitals = union country("USA").["New York"], country("Canada").Alberta;\n'
        "capitals | join kind=inner (capitals | extend n = strlen(Capital)) on Capital | project Capital, n"
    )
    assert sorted(ws.query(query).rows) == [("Albany", 6), ("Edmonton", 8)]


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("declare pattern p = (a:long) { (1) = { print x = 1 }; };\np(1)", "pattern argument 'a' must be"),
        (
            'declare pattern p = (a:string)[b:long] { ("x").["y"] = { print x = 1 }; };\np("x").y',
            "path must be",
        ),
        ('declare pattern p = (a:string, b:string) { ("x") = { print x = 1 }; };\np("x")', "does not match"),
        ('declare pattern p = (a:string) { (strcat("x")) = { print x = 1 }; };\np("x")', "string literals"),
    ],
)
def test_malformed_declarations_are_syntax_errors(declaration: str, message: str) -> None:
    error = error_of(declaration)
    assert isinstance(error, KqlSyntaxError)
    assert message in error.message


def test_query_parameters_take_their_defaults(ws: Workspace) -> None:
    query = 'declare query_parameters(n:long = 2, who:string = "a"); range i from 1 to n step 1 | extend who'
    assert ws.query(query).rows == [(1, "a"), (2, "a")]


def test_a_query_parameter_without_default_or_value_is_a_clear_error() -> None:
    error = error_of("declare query_parameters(since:datetime, n:long = 1);\nprint since")
    assert isinstance(error, KqlSyntaxError)
    assert error.render().splitlines()[:2] == [
        "syntax error: query parameter 'since' has no value: the request passes none and the declaration "
        "gives no default (since:type = default)",
        "  --> line 1, column 26",
    ]


def test_a_scalar_function_where_a_table_belongs_says_how_to_see_its_value() -> None:
    error = error_of("binary_xor(1, 1)")
    assert isinstance(error, KqlBindError)
    assert (
        error.message
        == "binary_xor() gives a value, not a table: a query that shows it is print binary_xor(...)"
    )


@pytest.mark.parametrize("call", ["hash_many(a, b)", "hash_combine(hash(a), hash(b))"])
def test_hash_combinations_are_refused_rather_than_answered_differently_from_kusto(call: str) -> None:
    error = error_of(f'print a = "Hello", b = "World" | extend combined = {call}')
    assert isinstance(error, UnsupportedError)
    assert "Kusto does not document how it combines the hashes" in error.message
