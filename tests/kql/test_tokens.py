"""Stage 1, the tokenizer: literals, strings, hyphenated and negated operator words, typed literals."""

from __future__ import annotations

import pytest

from watchkeeper import KqlSyntaxError
from watchkeeper.kql.tokens import Token, TokenKind, tokenize

SECOND = 10_000_000


def kinds_and_values(text: str) -> list[tuple[TokenKind, object]]:
    """(kind, decoded value or text) of every token but EOF."""
    return [(t.kind, t.value if t.value is not None else t.text) for t in tokenize(text)[:-1]]


def single(text: str) -> Token:
    tokens = tokenize(text)
    assert len(tokens) == 2, tokens
    assert tokens[1].kind is TokenKind.EOF
    return tokens[0]


# ---------------------------------------------------------------- numbers and timespans


@pytest.mark.parametrize(
    ("text", "ticks"),
    [
        ("1d", 86_400 * SECOND), ("2days", 2 * 86_400 * SECOND), ("2h", 7_200 * SECOND),
        ("1hr", 3_600 * SECOND), ("1.5h", 5_400 * SECOND), ("30m", 1_800 * SECOND), ("3min", 180 * SECOND),
        ("10s", 10 * SECOND), ("4sec", 4 * SECOND), ("100ms", SECOND // 10), ("5microseconds", 50),
        ("5microsecond", 50), ("7ticks", 7), ("1tick", 1), ("0.5d", 43_200 * SECOND), ("2minutes", 120 * SECOND),
    ],
)  # fmt: skip
def test_timespan_literals_decode_to_ticks(text: str, ticks: int) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.TIMESPAN, ticks)


@pytest.mark.parametrize(("text", "value"), [("0x1F", 31), ("0XfF", 255), ("0", 0), ("123", 123)])
def test_integers_including_hex(text: str, value: int) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.INT, value)


@pytest.mark.parametrize(
    ("text", "value"), [("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("2.5E-2", 0.025), ("3.", 3.0)]
)
def test_reals(text: str, value: float) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.REAL, value)


def test_range_dots_are_not_a_decimal_point() -> None:
    assert kinds_and_values("x between (1..5)") == [
        (TokenKind.IDENT, "x"), (TokenKind.IDENT, "between"), (TokenKind.PUNCT, "("), (TokenKind.INT, 1),
        (TokenKind.PUNCT, ".."), (TokenKind.INT, 5), (TokenKind.PUNCT, ")"),
    ]  # fmt: skip


def test_real_bounds_with_range_dots() -> None:
    assert kinds_and_values("1.5..2.5") == [
        (TokenKind.REAL, 1.5),
        (TokenKind.PUNCT, ".."),
        (TokenKind.REAL, 2.5),
    ]


def test_a_unit_glued_to_a_word_is_not_a_timespan() -> None:
    # `1day_x` is not `1day` followed by `_x`
    with pytest.raises(KqlSyntaxError):
        tokenize("1dx")


# ---------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"abc"', "abc"), ("'abc'", "abc"), ('"it\'s"', "it's"), ("'say \"hi\"'", 'say "hi"'),
        (r'"a\nb\tc"', "a\nb\tc"), (r'"q\"q"', 'q"q'), (r"'q\'q'", "q'q"), (r'"back\\slash"', "back\\slash"),
        (r'"\u0041\x42"', "AB"), ('"héllo ✓"', "héllo ✓"), ('""', ""),
    ],
)  # fmt: skip
def test_string_escapes(text: str, value: str) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.STRING, value)


def test_unknown_escapes_are_kept_as_written() -> None:
    # Kusto keeps "\d" so regexes in plain strings work
    assert single(r'"\d+"').value == "\\d+"


@pytest.mark.parametrize(
    ("text", "value"),
    [(r'@"c:\temp"', "c:\\temp"), ('@"a""b"', 'a"b'), ("@'it''s'", "it's"), (r"@'\n'", "\\n")],
)
def test_verbatim_strings_take_backslashes_literally(text: str, value: str) -> None:
    assert single(text).value == value


@pytest.mark.parametrize(("text", "value"), [('h"secret"', "secret"), ("H'x'", "x"), ('@h"c:\\y"', "c:\\y")])
def test_obfuscated_strings_are_strings(text: str, value: str) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.STRING, value)


@pytest.mark.parametrize(("fence", "body"), [("```", "multi\nline 'q' \"d\""), ("~~~", "x\n~y")])
def test_multi_line_strings(fence: str, body: str) -> None:
    token = single(f"{fence}{body}{fence}")
    assert (token.kind, token.value) == (TokenKind.STRING, body)


def test_adjacent_strings_are_separate_tokens() -> None:
    # the parser concatenates them: 'a' "b" is "ab"
    assert kinds_and_values("'a' \"b\"") == [(TokenKind.STRING, "a"), (TokenKind.STRING, "b")]


# ---------------------------------------------------------------- words and operators


@pytest.mark.parametrize(
    "word", ["project-away", "project-keep", "project-rename", "project-reorder", "mv-expand", "mv-apply",
             "make-series", "top-nested", "parse-where", "parse-kv", "sample-distinct", "granny-asc"],
)  # fmt: skip
def test_hyphenated_operator_names_are_one_word(word: str) -> None:
    token = single(word)
    assert (token.kind, token.text) == (TokenKind.IDENT, word)


def test_other_hyphens_are_minus() -> None:
    assert kinds_and_values("a-b") == [(TokenKind.IDENT, "a"), (TokenKind.PUNCT, "-"), (TokenKind.IDENT, "b")]
    assert kinds_and_values("project - away") == [
        (TokenKind.IDENT, "project"), (TokenKind.PUNCT, "-"), (TokenKind.IDENT, "away"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "word",
    [
        "!has",
        "!has_cs",
        "!contains",
        "!startswith",
        "!endswith_cs",
        "!in",
        "!in~",
        "!between",
        "!hasprefix",
        "!has_any",
    ],
)
def test_negated_operator_words(word: str) -> None:
    assert kinds_and_values(f"a {word} b") == [
        (TokenKind.IDENT, "a"),
        (TokenKind.IDENT, word),
        (TokenKind.IDENT, "b"),
    ]


def test_in_tilde_is_one_word() -> None:
    assert kinds_and_values("x in~ (1)")[1] == (TokenKind.IDENT, "in~")


def test_bang_before_other_words_is_punctuation() -> None:
    assert kinds_and_values("!x") == [(TokenKind.PUNCT, "!"), (TokenKind.IDENT, "x")]


@pytest.mark.parametrize("op", ["==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", ".."])
def test_two_character_punctuation(op: str) -> None:
    assert kinds_and_values(f"a{op}b")[1] == (TokenKind.PUNCT, op)


def test_comments_and_whitespace_are_skipped() -> None:
    assert kinds_and_values("a // comment | not code\n\t b // end") == [
        (TokenKind.IDENT, "a"),
        (TokenKind.IDENT, "b"),
    ]


def test_identifiers_may_start_with_dollar_or_underscore() -> None:
    assert kinds_and_values("$left _x") == [(TokenKind.IDENT, "$left"), (TokenKind.IDENT, "_x")]


# ---------------------------------------------------------------- typed literals


@pytest.mark.parametrize(
    ("text", "name", "body"),
    [
        ("datetime(2024-01-01 10:00)", "datetime", "2024-01-01 10:00"), ("time(1.02:03:04)", "time", "1.02:03:04"),
        ("timespan(2d)", "timespan", "2d"), ("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)", "guid",
        "74be27de-1e4e-49d9-b579-fe0b331d3642"), ("real(nan)", "real", "nan"), ("real(+inf)", "real", "+inf"),
        ("int(5)", "int", "5"), ("long(-3)", "long", "-3"), ("datetime(null)", "datetime", "null"),
        ('datetime("2024-01-01")', "datetime", "2024-01-01"), ("bool(true)", "bool", "true"),
        ("decimal(1.50)", "decimal", "1.50"), ("datetime( 2024-01-01 )", "datetime", "2024-01-01"),
    ],
)  # fmt: skip
def test_typed_literals_keep_their_raw_body(text: str, name: str, body: str) -> None:
    token = single(text)
    assert (token.kind, token.value) == (TokenKind.TYPED, (name, body))
    assert (token.span.start, token.span.end) == (0, len(text))


def test_dynamic_is_not_a_raw_literal() -> None:
    assert kinds_and_values("dynamic([1])")[0] == (TokenKind.IDENT, "dynamic")


def test_cast_words_applied_to_expressions_are_calls() -> None:
    # toint(x) is a function; int(1 + 2) is not a plain literal body either
    assert kinds_and_values("int(1 + 2)")[0] == (TokenKind.IDENT, "int")


def test_token_spans_point_into_the_text() -> None:
    text = "T | where x == 'a'"
    for token in tokenize(text)[:-1]:
        assert text[token.start : token.end] == token.text
    assert tokenize(text)[-1].kind is TokenKind.EOF


# ---------------------------------------------------------------- lexical errors


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('x == "abc', "string literal is not closed", 6),
        ('x == "ab\ncd"', "string literal is not closed", 6),
        ("datetime(2024", "'datetime(' is not closed", 1),
        ("a ^ b", "unexpected character '^'", 3),
        ("```abc", "multi-line string literal is not closed", 1),
    ],
)
def test_lexical_errors_name_the_problem_and_its_column(text: str, message: str, column: int) -> None:
    with pytest.raises(KqlSyntaxError) as info:
        tokenize(text)
    assert info.value.message == message
    assert (info.value.line, info.value.column) == (1, column)
