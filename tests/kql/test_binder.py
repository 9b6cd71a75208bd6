"""Stage 3, the binder: output schemas and Kusto's column naming rules, name resolution errors, and
open tables under ``compile()``."""

from __future__ import annotations

import pytest

from watchkeeper import Catalog, KqlBindError, KqlType, Workspace, kql

L, R, S, B, D, T, DYN = (KqlType.LONG, KqlType.REAL, KqlType.STRING, KqlType.BOOL, KqlType.DATETIME,
                         KqlType.TIMESPAN, KqlType.DYNAMIC)  # fmt: skip
EVENTS = "datatable(Account:string, EventID:long, TimeGenerated:datetime, d:dynamic)[]"
LEFT = "datatable(k:string, a:long)[]"
RIGHT = "datatable(k:string, b:long, a:real)[]"


def schema(text: str) -> list[tuple[str, KqlType]]:
    """The (name, type) columns of the first statement, bound against the Sentinel catalog."""
    return list(kql.translate(text, Catalog.sentinel(), open_tables=False)[0].columns)


def names(text: str) -> list[str]:
    return [name for name, _ in schema(text)]


def bind_error(text: str, **kwargs: bool) -> KqlBindError:
    with pytest.raises(KqlBindError) as info:
        kql.translate(text, Catalog.sentinel(), open_tables=kwargs.get("open_tables", False))
    return info.value


# ---------------------------------------------------------------- project / extend / print


def test_project_names_expressions_column1_and_passes_names_through() -> None:
    text = f"{EVENTS} | project Account, EventID + 1, tolower(Account), x = 1, strlen(Account)"
    assert schema(text) == [("Account", S), ("Column1", L), ("Column2", S), ("x", L), ("Column3", L)]


def test_project_of_dynamic_paths_joins_the_path_with_underscores() -> None:
    assert names(f"{EVENTS} | project d.a.b, d['k']") == ["d_a_b", "d_k"]


def test_conversions_keep_the_name_of_their_argument() -> None:
    assert schema(f"{EVENTS} | project tostring(EventID)") == [("EventID", S)]
    assert schema(f"{EVENTS} | project todouble(EventID)") == [("EventID", R)]


def test_extend_appends_and_replaces_columns() -> None:
    assert schema("print x = 1 | extend y = 'a', x = 2.5") == [("x", R), ("y", S)]


def test_print_names_unnamed_columns_print_n() -> None:
    assert schema("print 1, 'a'") == [("print_0", L), ("print_1", S)]


def test_project_rename_away_keep_reorder() -> None:
    assert names(f"{EVENTS} | project-rename Acct = Account | project-away d") == [
        "Acct",
        "EventID",
        "TimeGenerated",
    ]
    assert names(f"{EVENTS} | project-keep *ID, Account") == ["Account", "EventID"]
    assert names(f"{EVENTS} | project-reorder TimeGenerated, d") == [
        "TimeGenerated",
        "d",
        "Account",
        "EventID",
    ]
    assert names("print b=1, a=2, c=3 | project-reorder * asc") == ["a", "b", "c"]


def test_project_by_names_takes_names_known_when_the_query_binds() -> None:
    assert names(f"{EVENTS} | project-by-names 'EventID', '*t', dynamic(['d'])") == [
        "EventID",
        "Account",
        "d",
    ]
    assert names(f"{EVENTS} | project-by-names column_names_of({EVENTS} | project d, Account)") == [
        "d",
        "Account",
    ]
    assert "needs names known" in bind_error(f"{EVENTS} | project-by-names Account").message
    assert "Nope" in bind_error(f"{EVENTS} | project-by-names 'Nope'").message


def test_project_producing_a_name_twice_is_an_error() -> None:
    assert "column 'x' twice" in bind_error("range x from 1 to 3 step 1 | project x, x").message


# ---------------------------------------------------------------- summarize naming


def test_summarize_names_aggregates_after_function_and_column() -> None:
    text = (
        f"{EVENTS} | summarize count(), dcount(Account), sum(EventID), avg(EventID), countif(EventID > 1), "
        "min(TimeGenerated), make_set(Account), make_list(Account), take_any(EventID) by Account"
    )
    assert schema(text) == [
        ("Account", S), ("count_", L), ("dcount_Account", L), ("sum_EventID", L), ("avg_EventID", R),
        ("countif_", L), ("min_TimeGenerated", D), ("set_Account", DYN), ("list_Account", DYN), ("any_EventID", L),
    ]  # fmt: skip


def test_summarize_by_bin_keeps_the_column_name() -> None:
    assert schema(f"{EVENTS} | summarize count() by bin(TimeGenerated, 1h)") == [
        ("TimeGenerated", D),
        ("count_", L),
    ]
    assert names(f"{EVENTS} | summarize by Account, bin(EventID, 10)") == ["Account", "EventID"]


def test_summarize_numbers_a_derived_key_name_that_is_taken() -> None:
    text = f"{EVENTS} | summarize count() by TimeGenerated, bin(TimeGenerated, 1d), tostring(d), tostring(d)"
    assert names(text) == ["TimeGenerated", "TimeGenerated1", "d", "d1", "count_"]
    assert "column 'x' twice" in bind_error(f"{EVENTS} | summarize by x = Account, x = EventID").message


def test_summarize_named_aggregates_and_keys() -> None:
    assert schema(f"{EVENTS} | summarize n = count() by day = bin(TimeGenerated, 1d)") == [
        ("day", D),
        ("n", L),
    ]


def test_percentiles_name_each_percentile() -> None:
    assert names(f"{EVENTS} | summarize percentiles(EventID, 50, 99.9)") == [
        "percentile_EventID_50", "percentile_EventID_99_9",
    ]  # fmt: skip


def test_arg_max_star_puts_the_argument_first_then_the_other_columns() -> None:
    assert schema(f"{EVENTS} | summarize arg_max(TimeGenerated, *) by Account") == [
        ("Account", S), ("TimeGenerated", D), ("EventID", L), ("d", DYN),
    ]  # fmt: skip


def test_arg_max_with_columns_and_name_clashes() -> None:
    text = f"{EVENTS} | summarize arg_max(TimeGenerated, EventID), arg_min(EventID, Account)"
    assert names(text) == ["TimeGenerated", "EventID", "EventID1", "Account"]


def test_count_operator_and_summarize_of_summarize() -> None:
    assert schema(f"{EVENTS} | count") == [("Count", L)]
    assert schema(f"{EVENTS} | summarize count() by Account | summarize count()") == [("count_", L)]


# ---------------------------------------------------------------- join / lookup / union


def test_join_suffixes_right_columns_that_clash() -> None:
    assert schema(f"{EVENTS} | join ({EVENTS}) on Account") == [
        ("Account", S), ("EventID", L), ("TimeGenerated", D), ("d", DYN),
        ("Account1", S), ("EventID1", L), ("TimeGenerated1", D), ("d1", DYN),
    ]  # fmt: skip


def test_join_on_left_right_keeps_both_key_columns() -> None:
    text = (
        f"{EVENTS} | join kind=inner ({EVENTS} | project Account, E = EventID) on $left.EventID == $right.E"
    )
    assert names(text) == ["Account", "EventID", "TimeGenerated", "d", "Account1", "E"]


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("leftsemi", ["k", "a"]), ("leftanti", ["k", "a"]), ("rightsemi", ["k", "b", "a"]),
        ("rightanti", ["k", "b", "a"]), ("leftouter", ["k", "a", "k1", "b", "a1"]),
        ("fullouter", ["k", "a", "k1", "b", "a1"]),
    ],
)  # fmt: skip
def test_join_kinds_output_columns(kind: str, columns: list[str]) -> None:
    assert names(f"{LEFT} | join kind={kind} ({RIGHT}) on k") == columns


def test_lookup_keeps_one_key_column() -> None:
    assert schema(f"{LEFT} | lookup ({RIGHT}) on k") == [("k", S), ("a", L), ("b", L), ("a1", R)]


def test_union_outer_renames_columns_whose_types_clash() -> None:
    columns = schema(f"{LEFT} | union ({RIGHT})")
    assert sorted(columns) == sorted([("k", S), ("a_long", L), ("a_real", R), ("b", L)])
    assert columns[0] == ("k", S)


def test_union_inner_keeps_common_columns_and_withsource_comes_first() -> None:
    assert {n for n, _ in schema(f"union kind=inner ({LEFT}), ({RIGHT})")} == {"k", "a_long", "a_real"}
    assert schema("union withsource=T (datatable(a:long)[]), (datatable(b:long)[])") == [
        ("T", S), ("a", L), ("b", L),
    ]  # fmt: skip


# ---------------------------------------------------------------- other operators


def test_schemas_of_other_operators() -> None:
    assert schema(f"{EVENTS} | make-series n = count() on TimeGenerated step 1h by Account") == [
        ("Account", S), ("n", DYN), ("TimeGenerated", DYN),
    ]  # fmt: skip
    assert schema(f"{EVENTS} | top-nested 2 of Account by count()") == [
        ("Account", S),
        ("aggregated_Account", L),
    ]
    assert names(f"{EVENTS} | getschema") == ["ColumnName", "ColumnOrdinal", "DataType", "ColumnType"]
    assert schema(f"{EVENTS} | parse Account with a '-' b:long")[-2:] == [("a", S), ("b", L)]
    assert schema(f"{EVENTS} | mv-expand d")[-1] == ("d", DYN)
    assert schema(f"{EVENTS} | mv-expand d to typeof(long)")[-1] == ("d", L)
    assert names(f"{EVENTS} | distinct Account, EventID") == ["Account", "EventID"]
    assert names(f"{EVENTS} | serialize rn = row_number()")[-1] == "rn"


def test_types_of_scalar_expressions() -> None:
    text = (
        "print a = 1 + 1.5, b = 7 / 2, c = now() - ago(1h), d = datetime(2024-01-01) + 1d, e = 1h * 2, "
        "f = 1h / 30m, g = 'a' has 'b', h = iff(true, 1, 2), i = toint('1'), j = parse_json('{}')"
    )
    assert [t for _, t in schema(text)] == [R, L, T, D, T, R, B, L, KqlType.INT, DYN]


def test_lets_resolve_scalars_tables_and_functions() -> None:
    text = "let n = 2; let t = datatable(a:long)[1]; let f = (x:long) { x * n }; t | extend y = f(a)"
    assert schema(text) == [("a", L), ("y", L)]


def test_table_takes_a_name_from_a_let_or_a_function_parameter() -> None:
    by_parameter = (
        "let f = (name:string) { table(name) | project TimeGenerated, UserPrincipalName }; f('SigninLogs')"
    )
    assert schema(by_parameter) == [("TimeGenerated", D), ("UserPrincipalName", S)]
    assert schema("let n = 'Heartbeat'; table(n) | project Computer") == [("Computer", S)]
    error = bind_error("SigninLogs | extend n = 'x' | join (table(n)) on UserPrincipalName")
    assert error.message == "unknown name 'n'"


# ---------------------------------------------------------------- resolution errors


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("SecurityEvent | where Acount == 'x'", "unknown column 'Acount'; did you mean 'Account'?", 23),
        ("SecurityEvnt | take 1", "unknown table 'SecurityEvnt'; did you mean 'SecurityEvent'?", 1),
        ("SigninLogs | where UserPrincipalNam == 'x'",
         "unknown column 'UserPrincipalNam'; did you mean 'UserPrincipalName'?", 20),
        ("SecurityEvent | project Account | where EventID == 1", "unknown column 'EventID'", 41),
        ("SecurityEvent | where tolowr(Account) == 'x'", "unknown function 'tolowr'; did you mean tolower()?", 23),
        ("print x = 1 | extend y = z", "unknown column 'z'", 26),
        ("print strlen(1, 2)", "strlen() expects 1 arguments, got 2", 7),
    ],
)  # fmt: skip
def test_unknown_names_are_bind_errors_with_suggestions(text: str, message: str, column: int) -> None:
    error = bind_error(text)
    assert error.message == message
    assert (error.line, error.column) == (1, column)


def test_a_let_shadows_and_unknown_columns_of_lets_are_errors() -> None:
    error = bind_error("let T = datatable(a:long)[1]; T | where b > 1")
    assert error.message == "unknown column 'b'"


# ---------------------------------------------------------------- open tables


def test_compile_accepts_tables_the_catalog_does_not_know() -> None:
    sql = kql.compile("FooBar | where a == 1 | project a, b")
    assert '"FooBar"' in sql
    columns = kql.translate("FooBar | where a == 1 | project a, b")[0].columns
    assert columns == (("a", KqlType.UNKNOWN), ("b", KqlType.UNKNOWN))


def test_known_tables_stay_typed_under_compile() -> None:
    assert dict(kql.translate("SecurityEvent | project EventID, TimeGenerated")[0].columns) == {
        "EventID": KqlType.INT, "TimeGenerated": D,
    }  # fmt: skip


def test_a_workspace_rejects_unknown_tables(ws: Workspace) -> None:
    with pytest.raises(KqlBindError) as info:
        ws.query("FooBar_CL | take 1")
    assert info.value.message.startswith("unknown table 'FooBar_CL'")
    ws.ingest("FooBar_CL", [{"a": 1}])
    assert ws.query("FooBar_CL | project a").rows == [(1,)]
