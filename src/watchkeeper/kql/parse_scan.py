"""Syntax of the ``scan`` operator and its parser.

``T | scan [with_match_id=Id] [declare (Col:type [= default], ...)] with (step Name [output=all|last|none]:
Condition [=> Col = Expr, ...]; ...)`` (Kusto's scan operator reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.parse_operators import OperatorParser

__all__ = ["Scan", "ScanDeclare", "ScanStep", "parse_scan"]

_OUTPUTS = ("all", "last", "none")


@dataclass(frozen=True, slots=True)
class ScanDeclare(ast.Node):
    """``Col:type [= default]`` in ``declare (...)``; ``default`` None means null."""

    name: str
    type: KqlType
    default: ast.Expr | None


@dataclass(frozen=True, slots=True)
class ScanStep(ast.Node):
    """``step Name [output=...]: Condition [=> Col = Expr, ...];``"""

    name: str
    output: str
    condition: ast.Expr
    assignments: tuple[ast.Assign, ...]


@dataclass(frozen=True, slots=True)
class Scan(ast.Operator):
    match_id: str | None
    declared: tuple[ScanDeclare, ...]
    steps: tuple[ScanStep, ...]


def parse_scan(parser: OperatorParser) -> ast.Operator:
    """The ``scan`` operator, from its keyword to the closing parenthesis of its steps."""
    start = parser.advance()
    match_id = None
    if parser.accept_word("with_match_id"):
        parser.expect_punct("=")
        match_id, _ = parser.identifier("a column name")
    declared: tuple[ScanDeclare, ...] = ()
    if parser.accept_word("declare"):
        declared = _declarations(parser)
    parser.expect_word("with")
    parser.expect_punct("(")
    steps: list[ScanStep] = []
    while not parser.tok.is_punct(")"):
        steps.append(_step(parser))
    parser.expect_punct(")")
    if not steps:
        raise parser.fail("scan needs at least one step")
    return Scan(parser.span_from(start), match_id, declared, tuple(steps))


def _declarations(parser: OperatorParser) -> tuple[ScanDeclare, ...]:
    parser.expect_punct("(")
    out: list[ScanDeclare] = []
    while not parser.tok.is_punct(")"):
        name, tok = parser.identifier("a column name")
        parser.expect_punct(":")
        kql_type = parser.type_name()
        default = parser.expression() if parser.accept_punct("=") else None
        out.append(ScanDeclare(parser.span_from(tok), name, kql_type, default))
        if not parser.accept_punct(","):
            break
    parser.expect_punct(")")
    return tuple(out)


def _step(parser: OperatorParser) -> ScanStep:
    start = parser.expect_word("step")
    name, _ = parser.identifier("a step name")
    output = "all"
    if parser.accept_word("output"):
        parser.expect_punct("=")
        word = parser.tok
        if not word.is_word(*_OUTPUTS):
            raise parser.fail(f"expected output=all, last or none but found {parser.describe(word)}")
        output = parser.advance().text
    parser.expect_punct(":")
    condition = parser.expression()
    assignments: list[ast.Assign] = []
    if parser.accept_punct("=>"):
        assignments = parser.assign_list()
    parser.expect_punct(";")
    return ScanStep(parser.span_from(start), name, output, condition, tuple(assignments))
