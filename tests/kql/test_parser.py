"""Stage 2, the parser: precedence, statements, tabular operators, syntax errors; and the printer
(:mod:`watchkeeper.kql.printer`), which writes trees back as canonical, readable KQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watchkeeper import KqlSyntaxError, UnsupportedError
from watchkeeper.errors import KqlError, SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.parser import parse
from watchkeeper.kql.printer import format_expr, format_query
from watchkeeper.schema.types import KqlType

S = SourceSpan(0, 0)
HOUR = 36_000_000_000


def n(name: str) -> ast.Name:
    return ast.Name(S, name)


def lit(value: Any, kql_type: KqlType = KqlType.LONG) -> ast.Literal:
    return ast.Literal(S, value, kql_type)


def b(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(S, op, left, right)


def call(name: str, *args: ast.Expr) -> ast.Call:
    return ast.Call(S, name, args, S, ())


def expr(text: str) -> ast.Expr:
    """The expression of ``print x = <text>``."""
    result = parse(f"print x = {text}").results[0]
    assert isinstance(result, ast.Print)
    return result.items[0].expr


def ops(text: str) -> list[ast.Operator]:
    """The operators of a single pipeline, first to last."""
    node = parse(text).results[0]
    out: list[ast.Operator] = []
    while isinstance(node, ast.Pipe):
        out.append(node.operator)
        node = node.source
    return out[::-1]


def only_op(text: str) -> Any:
    (op,) = ops(text)
    return op


# ---------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a or b and c", b("or", n("a"), b("and", n("b"), n("c")))),
        ("a and b or c", b("or", b("and", n("a"), n("b")), n("c"))),
        ("a == 1 and b", b("and", b("==", n("a"), lit(1)), n("b"))),
        ("1 + 2 * 3", b("+", lit(1), b("*", lit(2), lit(3)))),
        ("(1 + 2) * 3", b("*", b("+", lit(1), lit(2)), lit(3))),
        ("1 - 2 - 3", b("-", b("-", lit(1), lit(2)), lit(3))),
        ("1 - (2 - 3)", b("-", lit(1), b("-", lit(2), lit(3)))),
        ("a + 1 > b * 2", b(">", b("+", n("a"), lit(1)), b("*", n("b"), lit(2)))),
        ("s has 'x' or s contains 'y'", b("or", b("has", n("s"), lit("x", KqlType.STRING)),
                                          b("contains", n("s"), lit("y", KqlType.STRING)))),
        ("-a * b", b("*", ast.Unary(S, "-", n("a")), n("b"))),
        ("-5 * b", b("*", lit(-5), n("b"))),  # a negative literal, not a negation
        ("a.b.c", ast.Member(S, ast.Member(S, n("a"), "b"), "c")),
        ("d['k'][0]", ast.Index(S, ast.Index(S, n("d"), lit("k", KqlType.STRING)), lit(0))),
        ("d.['k']", ast.Index(S, n("d"), lit("k", KqlType.STRING))),
        ("x !in~ ('a')", ast.InList(S, "!in~", n("x"), (lit("a", KqlType.STRING),))),
        ("x between (1 .. 2) and y", b("and", ast.Between(S, n("x"), lit(1), lit(2), False), n("y"))),
        ("x !between (1 + 1 .. 5)", ast.Between(S, n("x"), b("+", lit(1), lit(1)), lit(5), True)),
        ("s matches regex 'a+'", b("matches regex", n("s"), lit("a+", KqlType.STRING))),
        ("a <> b", b("!=", n("a"), n("b"))),
    ],
)  # fmt: skip
def test_operator_precedence_and_associativity(text: str, tree: ast.Expr) -> None:
    assert expr(text) == tree


def test_adjacent_string_literals_concatenate() -> None:
    assert expr("'a' \"b\" @'c'") == lit("abc", KqlType.STRING)


def test_literals_of_each_type() -> None:
    assert expr("datetime(2024-01-02 03:04:05)") == lit(
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), KqlType.DATETIME
    )
    assert expr("1h") == lit(HOUR, KqlType.TIMESPAN)
    assert expr("time(1.00:00:00)") == lit(24 * HOUR, KqlType.TIMESPAN)
    assert expr("-1h") == lit(-HOUR, KqlType.TIMESPAN)
    assert expr("guid(74BE27DE-1E4E-49D9-B579-FE0B331D3642)") == lit(
        "74be27de-1e4e-49d9-b579-fe0b331d3642", KqlType.GUID
    )
    assert expr("dynamic({'a': [1, 2.5, 'x', null, true]})") == lit(
        {"a": [1, 2.5, "x", None, True]}, KqlType.DYNAMIC
    )
    assert expr("int(null)") == lit(None, KqlType.INT)
    assert expr("true") == lit(True, KqlType.BOOL)


def test_call_with_named_arguments() -> None:
    node = expr("bag_unpack(d, columnsConflict='keep_source')")
    assert node == ast.Call(
        S, "bag_unpack", (n("d"),), S, (("columnsConflict", lit("keep_source", KqlType.STRING)),)
    )


def test_bracketed_names() -> None:
    assert expr("['a b'] + ['c']") == b("+", n("a b"), n("c"))


# ---------------------------------------------------------------- statements


def test_scalar_and_tabular_lets() -> None:
    query = parse("let n = 5;\nlet t = T | take n;\nt")
    assert query.lets == (ast.Let(S, "n", lit(5)), ast.Let(S, "t", ast.Pipe(S, n("T"), ast.Take(S, n("n")))))
    assert query.results == (n("t"),)


def test_let_function_with_defaults_and_a_tabular_parameter() -> None:
    query = parse('let f = (T:(a:long, *), x:long, y:string = "d") { T | where a > x }; f(U, 1)')
    (let,) = query.lets
    assert let.params == (
        ast.Param(S, "T", None, None, (("a", KqlType.LONG),)),
        ast.Param(S, "x", KqlType.LONG),
        ast.Param(S, "y", KqlType.STRING, lit("d", KqlType.STRING)),
    )
    assert let.value == ast.FunctionBody(S, (), ast.Pipe(S, n("T"), ast.Where(S, b(">", n("a"), n("x")))))
    assert query.results == (call("f", n("U"), lit(1)),)


def test_function_body_with_its_own_lets() -> None:
    (let,) = parse("let f = () { let k = 2; T | take k }; f()").lets
    assert isinstance(let.value, ast.FunctionBody)
    assert let.value.lets == (ast.Let(S, "k", lit(2)),)


def test_parenthesized_let_value_is_not_a_function() -> None:
    (let,) = parse("let x = (1 + 2) * 3; print x").lets
    assert let.params is None
    assert let.value == b("*", b("+", lit(1), lit(2)), lit(3))


def test_materialize_and_view() -> None:
    query = parse("let m = materialize(T | take 1); let v = view () { T }; union m, v")
    assert query.lets[0].value == call("materialize", ast.Pipe(S, n("T"), ast.Take(S, lit(1))))
    assert query.lets[1].value == ast.View(S, ast.FunctionBody(S, (), n("T")))


def test_set_statements_are_kept_as_options() -> None:
    query = parse("set querytrace;\nset truncationmaxrecords = 10;\nT")
    assert query.options == (("querytrace", True), ("truncationmaxrecords", 10))
    assert query.results == (n("T"),)


def test_several_tabular_statements() -> None:
    assert parse("T | take 1; U").results == (ast.Pipe(S, n("T"), ast.Take(S, lit(1))), n("U"))


def test_comments_are_ignored() -> None:
    text = "// leading\nT // trailing\n// between\n| take 1 // end"
    assert parse(text) == parse("T | take 1")


# ---------------------------------------------------------------- sources


def test_datatable_range_print() -> None:
    query = parse("datatable(a:long, ['b c']:string)[1, 'x', 2, 'y']")
    assert query.results[0] == ast.Datatable(
        S, (("a", KqlType.LONG), ("b c", KqlType.STRING)),
        (lit(1), lit("x", KqlType.STRING), lit(2), lit("y", KqlType.STRING)),
    )  # fmt: skip
    assert parse("range x from 1 to 3 step 1").results[0] == ast.Range(S, "x", lit(1), lit(3), lit(1))
    assert parse("print a = 1, 2").results[0] == ast.Print(
        S, (ast.Assign(S, ("a",), lit(1)), ast.Assign(S, (), lit(2)))
    )


@pytest.mark.parametrize(
    ("text", "union"),
    [
        ("union A, B", ast.Union(S, (n("A"), n("B")))),
        (
            "union withsource=Src kind=inner A, Sec*",
            ast.Union(S, (n("A"), ast.Star(S, "Sec*")), "inner", "Src"),
        ),
        ("union (A | take 1), B", ast.Union(S, (ast.Pipe(S, n("A"), ast.Take(S, lit(1))), n("B")))),
        ("union *", ast.Union(S, (ast.Star(S),))),
    ],
)
def test_union_as_a_source(text: str, union: ast.Union) -> None:
    assert parse(text).results[0] == union


def test_union_as_an_operator() -> None:
    op = only_op("T | union kind=outer withsource=W U, (V | take 1)")
    assert op == ast.UnionOp(
        S, ast.Union(S, (n("U"), ast.Pipe(S, n("V"), ast.Take(S, lit(1)))), "outer", "W")
    )


# ---------------------------------------------------------------- operators


def test_where_project_extend_summarize_sort_take_top() -> None:
    assert ops("T | filter a | where b | project a, c = b | extend d = 1 | take 5 | limit 3") == [
        ast.Where(S, n("a")), ast.Where(S, n("b")),
        ast.Project(S, (ast.Assign(S, (), n("a")), ast.Assign(S, ("c",), n("b")))),
        ast.Extend(S, (ast.Assign(S, ("d",), lit(1)),)), ast.Take(S, lit(5)), ast.Take(S, lit(3)),
    ]  # fmt: skip
    summarize = only_op("T | summarize n = count(), dcount(a) by bin(t, 1h), k")
    assert summarize == ast.Summarize(
        S,
        (ast.Assign(S, ("n",), call("count")), ast.Assign(S, (), call("dcount", n("a")))),
        (ast.Assign(S, (), call("bin", n("t"), lit(HOUR, KqlType.TIMESPAN))), ast.Assign(S, (), n("k"))),
    )
    assert only_op("T | summarize by k") == ast.Summarize(S, (), (ast.Assign(S, (), n("k")),))


def test_sort_keys_default_to_descending() -> None:
    assert only_op("T | order by a, b asc nulls first, c desc nulls last") == ast.Sort(
        S,
        (
            ast.SortKey(S, n("a"), True, None),
            ast.SortKey(S, n("b"), False, True),
            ast.SortKey(S, n("c"), True, False),
        ),
    )
    assert only_op("T | top 3 by a asc") == ast.Top(S, lit(3), (ast.SortKey(S, n("a"), False, None),))


def test_tuple_assignment() -> None:
    op = only_op("T | summarize (t, v) = arg_max(t, v) by k")
    assert op.aggregates == (ast.Assign(S, ("t", "v"), call("arg_max", n("t"), n("v"))),)


def test_join_with_kind_hints_and_left_right_conditions() -> None:
    op = only_op("T | join kind=leftouter hint.strategy=broadcast (U | where x) on $left.a == $right.b, c")
    assert op == ast.Join(
        S, "leftouter", ast.Pipe(S, n("U"), ast.Where(S, n("x"))),
        (b("==", ast.Member(S, n("$left"), "a"), ast.Member(S, n("$right"), "b")), n("c")),
        (("hint.strategy", n("broadcast")),),
    )  # fmt: skip


def test_join_defaults_to_innerunique_and_and_separates_conditions() -> None:
    op = only_op("T | join U on a and $left.b == $right.c")
    assert op.kind == "innerunique"
    assert len(op.on) == 2


def test_lookup() -> None:
    assert only_op("T | lookup kind=inner U on a") == ast.Lookup(S, "inner", n("U"), (n("a"),))
    assert only_op("T | lookup U on a").kind == "leftouter"


def test_mv_expand() -> None:
    op = only_op("T | mv-expand with_itemindex=i x = d to typeof(long), e limit 10")
    assert op == ast.MvExpand(
        S,
        (ast.MvExpandItem(S, "x", n("d"), KqlType.LONG), ast.MvExpandItem(S, None, n("e"), None)),
        "bag", "i", lit(10),
    )  # fmt: skip
    assert only_op("T | mv-expand bagexpansion=array d").bag_expansion == "array"


def test_parse_patterns() -> None:
    op = only_op('T | parse kind=regex flags=Ui s with "x=" a:long "," * ";" b')
    assert op == ast.Parse(
        S, "regex", n("s"), ("x=", ("a", KqlType.LONG), ",", None, ";", ("b", None)), "Ui", False,
    )  # fmt: skip
    assert only_op("T | parse-where s with * 'k' v").where is True
    assert only_op("T | parse s with a").kind == "simple"


def test_make_series_forms() -> None:
    op = only_op("T | make-series n = count() default = 0 on ts from 1 to 10 step 2 by k")
    assert op == ast.MakeSeries(
        S, ((ast.Assign(S, ("n",), call("count")), lit(0)),), n("ts"), lit(1), lit(10), lit(2),
        (ast.Assign(S, (), n("k")),),
    )  # fmt: skip
    ranged = only_op("T | make-series kind=nonempty avg(v) on ts in range(1, 10, 2)")
    assert (ranged.in_range, ranged.kind, ranged.start, ranged.stop, ranged.step) == (
        True,
        "nonempty",
        lit(1),
        lit(10),
        lit(2),
    )


def test_top_nested_levels() -> None:
    op = only_op("T | top-nested 2 of a by n = count(), top-nested of b with others = 'o' by sum(x) asc")
    assert op == ast.TopNested(S, (
        ast.TopNestedLevel(S, lit(2), ast.Assign(S, (), n("a")), None, ast.Assign(S, ("n",), call("count")), True),
        ast.TopNestedLevel(S, None, ast.Assign(S, (), n("b")), lit("o", KqlType.STRING),
                           ast.Assign(S, (), call("sum", n("x"))), False),
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("T | project-away a*, b", ast.ProjectAway(S, ("a*", "b"))),
        ("T | project-keep *Id", ast.ProjectKeep(S, ("*Id",))),
        ("T | project-rename n = o", ast.ProjectRename(S, (("n", "o"),))),
        ("T | project-reorder b desc, a", ast.ProjectReorder(S, (("b", "desc"), ("a", None)))),
        ("T | project-reorder a* granny-asc", ast.ProjectReorder(S, (("a*", "granny-asc"),))),
        ("T | count", ast.Count(S)),
        ("T | count as N", ast.Count(S, "N")),
        ("T | distinct *", ast.Distinct(S, ())),
        ("T | as X", ast.As(S, "X")),
        ("T | getschema", ast.GetSchema(S)),
        ("T | serialize rn = row_number()", ast.Serialize(S, (ast.Assign(S, ("rn",), call("row_number")),))),
        ("T | sample 3", ast.Sample(S, lit(3))),
        ("T | sample-distinct 3 of a", ast.SampleDistinct(S, lit(3), n("a"))),
        ("T | evaluate bag_unpack(d)", ast.Evaluate(S, call("bag_unpack", n("d")))),
        ("T | invoke f(1)", ast.Invoke(S, call("f", lit(1)))),
        ("T | render timechart with (title='x')", ast.Render(S, "timechart", (("title", ("x",)),))),
    ],
)
def test_other_operators(text: str, op: ast.Operator) -> None:
    assert only_op(text) == op


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("T | where", "expected an expression but found the end of the query", 1, 10),
        ("T |", "expected a tabular operator after '|' but found the end of the query", 1, 4),
        ("T | project a,", "expected an expression but found the end of the query", 1, 15),
        ("let x = 1", "the query has no tabular expression to run", 1, 10),
        ("T | foo", "unknown tabular operator 'foo'", 1, 5),
        ("datatable(a:int)[1,2", "expected ']' but found the end of the query", 1, 21),
        ("T\n| extend y = 1 +\n| take 5", "expected an expression but found '|'", 3, 1),
        ("T\n| where a in (1, 2\n| take 1", "expected ')' but found the end of the query", 3, 9),
        ("T | where x == 'a", "string literal is not closed", 1, 16),
        ("T | join kind=sideways U on a", "unknown join kind 'sideways'", 1, 5),
        ("T | take 1 2", "expected ';' or the end of the query but found '2'", 1, 12),
        ("print datetime(2024-13-45)", "invalid datetime literal '2024-13-45'", 1, 7),
        ("print x = (1, 2)", "unexpected ',' inside parentheses", 1, 13),
    ],
)
def test_syntax_errors_point_at_the_exact_line_and_column(
    text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(KqlSyntaxError) as info:
        parse(text)
    error = info.value
    assert (error.message, error.line, error.column) == (message, line, column)


def test_unsupported_operators_and_statements_raise_unsupported_with_a_span() -> None:
    for text, what in [
        ("T | fork (take 1)", "operator 'fork'"),
        ("restrict access to (T); T", "'restrict' statement"),
    ]:
        with pytest.raises(UnsupportedError) as info:
            parse(text)
        assert what in info.value.message
        assert info.value.span is not None


def test_every_syntax_error_is_a_kql_error() -> None:
    for text in ["", "|", ")", "T | where (", "let = 1; T", "T | summarize", "print 'a' ~ 'b'"]:
        with pytest.raises(KqlError):
            parse(text)


# ---------------------------------------------------------------- printer


def test_printer_writes_one_operator_per_line() -> None:
    text = "SecurityEvent|where EventID==4625 and Account!~'x'|summarize n=count() by Account|top 5 by n"
    assert format_query(parse(text)) == (
        "SecurityEvent\n"
        '| where EventID == 4625 and Account !~ "x"\n'
        "| summarize n = count() by Account\n"
        "| top 5 by n desc"
    )


def test_printer_indents_subqueries_and_function_bodies() -> None:
    text = "let f=(x:long){T|where a>x};f(1)|join kind=inner (U|where b|project c) on c"
    assert format_query(parse(text)) == (
        "let f = (x:long) {\n"
        "    T\n"
        "    | where a > x\n"
        "};\n"
        "f(1)\n"
        "| join kind=inner (\n"
        "    U\n"
        "    | where b\n"
        "    | project c\n"
        ") on c"
    )


def test_printer_keeps_only_the_parentheses_precedence_needs() -> None:
    assert format_expr(expr("((a + (b * c))) - (d - e)")) == "a + b * c - (d - e)"
    assert format_expr(expr("(a or b) and not(c)")) == "(a or b) and not(c)"
    assert format_expr(expr("-(a + 1)")) == "-(a + 1)"


def test_printer_quotes_strings_and_names() -> None:
    assert format_expr(expr("['my col'] == 'it\\'s \"q\"\\n'")) == '["my col"] == "it\'s \\"q\\"\\n"'
    assert format_expr(expr("['by'] + ['true']")) == '["by"] + ["true"]'


def test_printer_writes_typed_literals() -> None:
    text = "print datetime(2024-01-02 03:04:05.5), 90m, time(1.02:03:04.1234567), real(nan), int(7), long(null), dynamic({'a':[1]})"
    assert format_query(parse(text)) == (
        "print datetime(2024-01-02T03:04:05.5Z), 90m, time(1.02:03:04.1234567), real(nan), int(7), long(null), "
        'dynamic({"a": [1]})'
    )


def test_printed_datatable_has_one_row_per_line() -> None:
    assert format_query(parse("datatable(a:long, b:string)[1,'x',2,'y']")) == (
        'datatable(a:long, b:string)[\n    1, "x",\n    2, "y"\n]'
    )
