"""Property-based tests (hypothesis) for the KQL parser and compiler.

1. Round trip: random syntax trees -> :func:`format_query` -> :func:`parse` gives the same tree.
2. Robustness: any text given to ``parse``/``compile`` either works or raises a ``KqlError`` whose
   line and column lie inside the text -- never another exception.

Expression evaluation against the reference evaluator is in ``test_evaluation_properties.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import KqlError, kql
from watchkeeper.errors import SourceSpan
from watchkeeper.kql import ast
from watchkeeper.kql.parser import parse
from watchkeeper.kql.printer import format_expr, format_query
from watchkeeper.schema.types import KqlType

S = SourceSpan(0, 0)


def build(fn: Callable[..., Any], *parts: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``st.builds`` without its call repr (which grows huge for recursive tree strategies)."""
    return st.tuples(*parts).map(lambda args: fn(*args))


FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ==================================================================================== 1. round trip

KEYWORD_NAMES = ("by", "on", "and", "or", "has", "in", "between", "true", "kind", "with", "print",
                 "datatable", "range", "union", "let", "asc", "of", "to", "step", "default")  # fmt: skip
RAW_WORDS = frozenset({"datetime", "date", "time", "timespan", "guid", "uuid", "uniqueid", "real", "double",
                       "decimal", "int", "long", "bool", "boolean", "int64", "int32", "float", "dynamic"})  # fmt: skip

plain_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n not in KEYWORD_NAMES and n not in RAW_WORDS and n.lower() not in ("true", "false")
)
weird_names = st.text(min_size=1, max_size=6).filter(lambda n: "*" not in n)
names = st.one_of(plain_names, plain_names, st.sampled_from(KEYWORD_NAMES), weird_names)
function_names = st.one_of(
    st.sampled_from(["strcat", "iff", "count", "bin", "ago", "tostring", "pack_array", "arg_max", "f"]),
    plain_names.filter(lambda n: n not in ("let", "set", "declare", "alias", "restrict")),
)
kql_types = st.sampled_from([t for t in KqlType if t is not KqlType.UNKNOWN])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)

LITERAL_VALUES: dict[KqlType, st.SearchStrategy[Any]] = {
    KqlType.LONG: st.integers(-(2**63), 2**63 - 1),
    KqlType.INT: st.integers(-(2**31), 2**31 - 1),
    KqlType.REAL: st.floats(allow_nan=False),
    KqlType.DECIMAL: st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    ),
    KqlType.BOOL: st.booleans(),
    KqlType.STRING: st.text(max_size=8),
    KqlType.DATETIME: st.datetimes(timezones=st.just(UTC)),
    KqlType.TIMESPAN: st.integers(-(2**62), 2**62),
    KqlType.GUID: st.uuids().map(str),
    KqlType.DYNAMIC: json_values,
}


@st.composite
def literals(draw: st.DrawFn) -> ast.Literal:
    """A literal of any type, including typed nulls (strings are never null)."""
    kql_type = draw(st.sampled_from(list(LITERAL_VALUES)))
    if kql_type is not KqlType.STRING and draw(st.integers(0, 7)) == 0:
        return ast.Literal(S, None, kql_type)
    return ast.Literal(S, draw(LITERAL_VALUES[kql_type]), kql_type)


BINARY_OPS = ("or", "and", "==", "!=", "<", "<=", ">", ">=", "=~", "!~", "has", "!has", "has_cs", "contains",
              "!contains_cs", "startswith", "!endswith", "hasprefix", "matches regex", "+", "-", "*", "/", "%")  # fmt: skip
LIST_OPS = ("in", "!in", "in~", "!in~", "has_any", "has_all")
POSTFIX_TARGETS = (ast.Name, ast.Member, ast.Index, ast.Call)


def leaves() -> st.SearchStrategy[ast.Expr]:
    return st.one_of(literals(), names.map(lambda n: ast.Name(S, n)))


def composite_exprs(inner: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    """Every scalar expression form, built over ``inner`` sub-expressions."""
    # maps, not filters: a filter's retries repr the strategy, which is huge for trees
    postfix_target = inner.map(lambda e: e if isinstance(e, POSTFIX_TARGETS) else ast.Name(S, "x"))
    call_args = st.lists(st.one_of(inner, st.just(ast.Star(S))), max_size=3).map(tuple)
    named_args = st.lists(st.tuples(plain_names, inner), max_size=1, unique_by=lambda kv: kv[0]).map(tuple)
    return st.one_of(
        build(lambda op, a, b: ast.Binary(S, op, a, b), st.sampled_from(BINARY_OPS), inner, inner),
        build(_unary, st.sampled_from("-+"), inner),
        build(
            lambda op, t, items: ast.InList(S, op, t, tuple(items)),
            st.sampled_from(LIST_OPS),
            inner,
            st.lists(inner, max_size=3),
        ),
        build(lambda t, lo, hi, neg: ast.Between(S, t, lo, hi, neg), inner, inner, inner, st.booleans()),
        build(lambda t, n: ast.Member(S, t, n), postfix_target, plain_names),
        build(lambda t, i: ast.Index(S, t, i), postfix_target, inner),
        build(lambda n, a, kw: ast.Call(S, n, a, S, kw), function_names, call_args, named_args),
    )


def _unary(op: str, operand: ast.Expr) -> ast.Expr:
    """The parser folds ``-5`` into a literal, so ``-`` on a numeric literal is the negative literal."""
    if op == "-" and isinstance(operand, ast.Literal) and operand.type in _NEGATABLE:
        if operand.value is None:  # `-long(null)` crashes the parser (reported)
            return ast.Unary(S, "+", operand)
        return ast.Literal(S, -operand.value, operand.type)
    return ast.Unary(S, op, operand)


_NEGATABLE = frozenset({KqlType.LONG, KqlType.INT, KqlType.REAL, KqlType.TIMESPAN, KqlType.DECIMAL})


def opaque(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` behind a short repr: recursive strategies repr to megabytes, which hypothesis
    warns about (and pytest turns warnings into errors)."""

    @st.composite
    def draw_from(draw: st.DrawFn) -> Any:
        return draw(strategy)

    return draw_from()


@cache
def exprs(depth: int) -> st.SearchStrategy[ast.Expr]:
    """Scalar expressions at most ``depth`` levels deep (``st.recursive`` reprs itself to megabytes
    when it retries a draw, which hypothesis warns about and pytest turns into an error)."""
    if depth == 0:
        return leaves()
    return st.one_of(leaves(), composite_exprs(exprs(depth - 1)))


scalar_exprs = opaque(exprs(3))
small_exprs = opaque(exprs(1))


def assigns(named: bool | None = None) -> st.SearchStrategy[ast.Assign]:
    """``Name = expr``, ``(a, b) = expr`` or a bare expression."""
    single = build(lambda n, e: ast.Assign(S, (n,), e), names, small_exprs)
    bare = build(lambda e: ast.Assign(S, (), e), small_exprs)
    multi = build(lambda ns, e: ast.Assign(S, tuple(ns), e),
                      st.lists(plain_names, min_size=2, max_size=3), small_exprs)  # fmt: skip
    if named is True:
        return st.one_of(single, multi)
    return st.one_of(single, bare, multi)


assign_lists = st.lists(assigns(), min_size=1, max_size=3).map(tuple)
sort_keys = build(
    lambda e, d, n: ast.SortKey(S, e, d, n), small_exprs, st.booleans(), st.sampled_from([None, True, False])
)
column_schemas = st.lists(st.tuples(names, kql_types), min_size=1, max_size=3).map(tuple)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """A column wildcard pattern: names and ``*`` never two names in a row."""
    parts = draw(st.lists(st.one_of(names, st.just("*")), min_size=1, max_size=3))
    out: list[str] = []
    for part in parts:
        if out and out[-1] != "*" and part != "*":
            out.append("*")
        out.append(part)
    return "".join(out)


table_names = names.map(lambda n: ast.Name(S, n))


@st.composite
def subqueries(draw: st.DrawFn) -> ast.Expr:
    """A table name or a short pipeline (join right sides, union legs)."""
    source: ast.Expr = draw(table_names)
    for op in draw(st.lists(simple_operators, max_size=2)):
        source = ast.Pipe(S, source, op)
    return source


join_conditions = st.one_of(
    table_names,
    build(
        lambda a, b: ast.Binary(
            S, "==", ast.Member(S, ast.Name(S, "$left"), a), ast.Member(S, ast.Name(S, "$right"), b)
        ),
        plain_names,
        plain_names,
    ),
)
hints = st.lists(st.tuples(st.sampled_from(["hint.strategy", "hint.remote"]), plain_names.map(lambda n: ast.Name(S, n))),
                 max_size=1).map(tuple)  # fmt: skip
parse_items = st.one_of(st.text(max_size=4), st.none(), st.tuples(names, st.one_of(st.none(), kql_types)))
mv_items = build(
    lambda n, e, t: ast.MvExpandItem(S, n, e, t), st.one_of(st.none(), plain_names), small_exprs,
    st.one_of(st.none(), kql_types),
)  # fmt: skip

simple_operators: st.SearchStrategy[ast.Operator] = st.one_of(
    build(lambda e: ast.Where(S, e), scalar_exprs),
    build(lambda a: ast.Project(S, a), assign_lists),
    build(lambda a: ast.Extend(S, a), assign_lists),
    build(lambda e: ast.Take(S, e), small_exprs),
    build(lambda ks: ast.Sort(S, tuple(ks)), st.lists(sort_keys, min_size=1, max_size=2)),
    build(lambda n: ast.Count(S, n), st.one_of(st.just("Count"), names)),
)


@st.composite
def summarizes(draw: st.DrawFn) -> ast.Summarize:
    aggregates = draw(st.lists(assigns(), max_size=2))
    by = draw(st.lists(assigns(), min_size=0 if aggregates else 1, max_size=2))
    return ast.Summarize(S, tuple(aggregates), tuple(by))


@st.composite
def unions(draw: st.DrawFn) -> ast.Union:
    legs = draw(
        st.lists(
            st.one_of(subqueries(), plain_names.map(lambda n: ast.Star(S, n + "*"))), min_size=1, max_size=3
        )
    )
    kind = draw(st.sampled_from(["outer", "inner"]))
    withsource = draw(st.one_of(st.none(), names))
    fuzzy = draw(st.booleans())
    return ast.Union(S, tuple(legs), kind, withsource, fuzzy)


@st.composite
def make_series(draw: st.DrawFn) -> ast.MakeSeries:
    aggs = draw(st.lists(st.tuples(assigns(), st.one_of(st.none(), small_exprs)), min_size=1, max_size=2))
    in_range = draw(st.booleans())
    start = draw(small_exprs if in_range else st.one_of(st.none(), small_exprs))
    stop = draw(small_exprs if in_range else st.one_of(st.none(), small_exprs))
    by = draw(st.lists(assigns(), max_size=2))
    kind = draw(st.sampled_from(["default", "nonempty"]))
    return ast.MakeSeries(
        S, tuple(aggs), draw(small_exprs), start, stop, draw(small_exprs), tuple(by), kind, in_range
    )


top_nested_levels = build(
    lambda c, of, others, by, desc: ast.TopNestedLevel(S, c, of, others, by, desc),
    st.one_of(st.none(), small_exprs), assigns(), st.one_of(st.none(), small_exprs), assigns(), st.booleans(),
)  # fmt: skip
calls = build(lambda n, a: ast.Call(S, n, tuple(a), S, ()), function_names, st.lists(small_exprs, max_size=2))

operators: st.SearchStrategy[ast.Operator] = st.one_of(
    simple_operators,
    summarizes(),
    build(lambda e, ks: ast.Top(S, e, tuple(ks)), small_exprs, st.lists(sort_keys, min_size=1, max_size=2)),
    build(
        lambda k, r, on, h: ast.Join(S, k, r, tuple(on), h),
        st.sampled_from(["innerunique", "inner", "leftouter", "fullouter", "leftanti", "rightsemi", "anti"]),
        subqueries(),
        st.lists(join_conditions, max_size=2),
        hints,
    ),
    build(
        lambda k, r, on: ast.Lookup(S, k, r, tuple(on)),
        st.sampled_from(["leftouter", "inner"]),
        subqueries(),
        st.lists(join_conditions, min_size=1, max_size=2),
    ),
    unions().map(lambda u: ast.UnionOp(S, u)),
    build(
        lambda items, bag, idx, lim: ast.MvExpand(S, tuple(items), bag, idx, lim),
        st.lists(mv_items, min_size=1, max_size=2),
        st.sampled_from(["bag", "array"]),
        st.one_of(st.none(), plain_names),
        st.one_of(st.none(), small_exprs),
    ),
    build(
        lambda k, f, src, pat, w: ast.Parse(S, k, src, tuple(pat), f, w),
        st.sampled_from(["simple", "regex", "relaxed"]),
        st.sampled_from(["", "Ui"]),
        small_exprs,
        st.lists(parse_items, max_size=4),
        st.booleans(),
    ),
    build(lambda a: ast.Distinct(S, a), st.one_of(st.just(()), assign_lists)),
    build(lambda ps: ast.ProjectAway(S, tuple(ps)), st.lists(patterns(), min_size=1, max_size=3)),
    build(lambda ps: ast.ProjectKeep(S, tuple(ps)), st.lists(patterns(), min_size=1, max_size=3)),
    build(
        lambda ps: ast.ProjectRename(S, tuple(ps)), st.lists(st.tuples(names, names), min_size=1, max_size=2)
    ),
    build(
        lambda ps: ast.ProjectReorder(S, tuple(ps)),
        st.lists(
            st.tuples(patterns(), st.sampled_from([None, "asc", "desc", "granny-asc"])),
            min_size=1,
            max_size=2,
        ),
    ),
    build(lambda n: ast.As(S, n), names),
    st.just(ast.GetSchema(S)),
    build(
        lambda a: ast.Serialize(S, tuple(a)),
        st.lists(build(lambda n, e: ast.Assign(S, (n,), e), names, small_exprs), max_size=2),
    ),
    build(lambda e: ast.Sample(S, e), small_exprs),
    build(lambda e, c: ast.SampleDistinct(S, e, c), small_exprs, small_exprs),
    make_series(),
    st.lists(top_nested_levels, min_size=1, max_size=2).map(lambda ls: ast.TopNested(S, tuple(ls))),
    build(lambda c, h: ast.Evaluate(S, c, h), calls, hints),
    build(lambda c: ast.Invoke(S, c), calls),
    st.sampled_from(["timechart", "table", "barchart"]).map(lambda v: ast.Render(S, v)),
)


@st.composite
def datatables(draw: st.DrawFn) -> ast.Datatable:
    columns = draw(column_schemas)
    rows = draw(st.integers(0, 2))
    values = draw(st.lists(small_exprs, min_size=rows * len(columns), max_size=rows * len(columns)))
    return ast.Datatable(S, columns, tuple(values))


@st.composite
def prints(draw: st.DrawFn) -> ast.Print:
    first = ast.Assign(S, (draw(names),), draw(small_exprs))  # `print (x)` would read as a call of print
    return ast.Print(S, (first, *draw(st.lists(assigns(), max_size=2))))


sources = st.one_of(
    table_names,
    table_names,
    datatables(),
    build(lambda c, a, b, s: ast.Range(S, c, a, b, s), plain_names, small_exprs, small_exprs, small_exprs),
    prints(),
    unions(),
    calls,
    build(lambda c: ast.Pipe(S, ast.Print(S, ()), ast.Evaluate(S, c, ())), calls),
)


@st.composite
def pipelines(draw: st.DrawFn) -> ast.Expr:
    source: ast.Expr = draw(sources)
    for op in draw(st.lists(operators, max_size=4)):
        source = ast.Pipe(S, source, op)
    return source


params = st.one_of(
    build(lambda n, t, d: ast.Param(S, n, t, d), names, kql_types, st.one_of(st.none(), small_exprs)),
    build(
        lambda n, cols: ast.Param(S, n, None, None, tuple(cols)),
        names,
        st.lists(st.tuples(names, kql_types), max_size=2),
    ),
)


@st.composite
def lets(draw: st.DrawFn) -> ast.Let:
    name = draw(names)
    kind = draw(st.sampled_from(["scalar", "tabular", "function", "view"]))
    if kind == "scalar":
        return ast.Let(S, name, draw(scalar_exprs))
    if kind == "tabular":
        return ast.Let(S, name, draw(pipelines()))
    inner = tuple(ast.Let(S, draw(names), draw(small_exprs)) for _ in range(draw(st.integers(0, 1))))
    body = ast.FunctionBody(S, inner, draw(pipelines()))
    if kind == "view":
        return ast.Let(S, name, ast.View(S, body))
    return ast.Let(S, name, body, tuple(draw(st.lists(params, max_size=3))))


set_values = st.one_of(
    st.just(True), st.booleans(), st.none(), st.integers(0, 10**6), st.text(max_size=5),
    st.lists(st.integers(0, 9), max_size=2),
)  # fmt: skip
queries = build(
    lambda ls, rs, opts: ast.Query(S, tuple(ls), tuple(rs), tuple(opts)),
    st.lists(lets(), max_size=2),
    st.lists(pipelines(), min_size=1, max_size=2),
    st.lists(
        st.tuples(st.one_of(plain_names, st.sampled_from(["as", "by", "with"])), set_values), max_size=2
    ),  # `set` takes a plain option name
)


@FAST
@given(queries)
def test_printed_query_parses_back_to_the_same_tree(query: ast.Query) -> None:
    text = format_query(query)
    assert parse(text) == query, text


@settings(max_examples=300, deadline=None)
@given(scalar_exprs)
def test_printed_expression_parses_back_to_the_same_tree(expr: ast.Expr) -> None:
    text = format_expr(expr)
    parsed = parse(f"print x = {text}").results[0]
    assert isinstance(parsed, ast.Print)
    assert parsed.items[0].expr == expr, text


@settings(max_examples=100, deadline=None)
@given(literals())
def test_literals_of_every_type_round_trip(literal: ast.Literal) -> None:
    text = format_expr(literal)
    parsed = parse(f"print {text}").results[0]
    assert isinstance(parsed, ast.Print)
    assert parsed.items[0].expr == literal, text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_formatting_is_idempotent(query: ast.Query) -> None:
    text = format_query(query)
    assert format_query(parse(text)) == text


def test_nan_literal_round_trips_through_text() -> None:
    # NaN != NaN, so compare what parses back by its text form
    assert format_query(parse("print real(nan), real(-inf)")) == "print real(nan), real(-inf)"


# ==================================================================================== 2. robustness

FRAGMENTS = (
    "T", "SecurityEvent", "|", "where", "project", "extend", "summarize", "by", "count()", "take", "10",
    "join", "kind=inner", "(", ")", "[", "]", "{", "}", ",", ";", "=", "==", "=~", "!has", "has", "in",
    "!in~", "between", "..", "1d", "0x1F", "1.5e3", "'str'", '"q\\"x"', "@'c:\\'", "```m\nl```",
    "datetime(2024-01-01)", "time(1:02)", "guid(x)", "real(nan)", "dynamic({\"a\":[1]})", "let", "x",
    "print", "datatable(a:int)", "range", "from", "to", "step", "union", "mv-expand", "parse", "with",
    "*", "-", "+", "/", "%", "and", "or", "not", "$left", ".", "a.b", "bin(", "iff(", "\n", "//c\n",
    "make-series", "top-nested", "of", "sort", "asc", "desc", "nulls", "first", "set", "materialize(",
    "view", "lookup", "on", "$right.x", "project-away", "evaluate", "bag_unpack(d)", "toscalar(", "'",
    '"', "h'", "!", "~", "?", "@", "#", "`", "é", "\\u0041", "\t", "  ",
)  # fmt: skip

kql_soup = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map(lambda parts: " ".join(parts))
any_text = st.text(max_size=40)


# compile() wraps compiler crashes as "unsupported: internal compiler error (...)"; the fuzzers
# treat one as a failure.
REJECT_INTERNAL_ERRORS = True


def _assert_located_kql_error(text: str, run: Callable[[str], object]) -> None:
    """``run(text)`` succeeds or raises a KqlError that renders and points inside ``text``."""
    error: KqlError | None = None
    try:
        run(text)
    except KqlError as exc:
        error = exc.with_text(text)
    if error is None:
        return
    assert error.message
    assert error.message in error.render()
    if REJECT_INTERNAL_ERRORS:  # a compiler crash wrapped as UnsupportedError
        assert "internal compiler error" not in error.message, text
    if error.span is not None:
        assert 0 <= error.span.start <= len(text), (error.span, text)
        lines = text.split("\n")
        assert error.line is not None
        assert error.column is not None
        assert 1 <= error.line <= len(lines)
        assert 1 <= error.column <= len(lines[error.line - 1]) + 1


@settings(max_examples=400, deadline=None)
@given(st.one_of(kql_soup, any_text))
def test_parse_fails_only_with_located_kql_errors(text: str) -> None:
    _assert_located_kql_error(text, parse)


@settings(max_examples=250, deadline=None)
@given(st.one_of(kql_soup, any_text))
def test_compile_fails_only_with_located_kql_errors(text: str) -> None:
    _assert_located_kql_error(text, kql.compile)


@st.composite
def mutated_queries(draw: st.DrawFn) -> str:
    """A printed valid query with a few characters deleted, inserted or replaced."""
    text = format_query(draw(queries))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "replace"]))
        char = draw(st.sampled_from("|()[]{},;=.'\"*-!~ \nx1"))
        if edit == "delete":
            text = text[:pos] + text[pos + 1 :]
        elif edit == "insert":
            text = text[:pos] + char + text[pos:]
        else:
            text = text[:pos] + char + text[pos + 1 :]
    return text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_queries())
def test_mutated_queries_fail_only_with_located_kql_errors(text: str) -> None:
    _assert_located_kql_error(text, parse)
