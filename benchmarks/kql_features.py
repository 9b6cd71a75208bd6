"""Which KQL features the shared corpora use, how often, and which of them watchkeeper compiles.

Every query of ``../shared/kql/sentinel_rules.jsonl`` and ``doc_cases.jsonl`` is split by the
compiler's own tokenizer; each use of a tabular operator (the word after ``|`` or at the head of a
source), an ``evaluate`` plugin, a statement (``let``, ``set``, ``declare`` ...) and a function call
is counted. Each query is then compiled: a name is *supported* when no failing query blames it, and
a failing query blames the names its ``unsupported: ...`` or ``unknown function`` message quotes.

    .venv/bin/python benchmarks/kql_features.py            # print the rankings
    .venv/bin/python benchmarks/kql_features.py --write    # and update RESULTS.md's KQL conformance section
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from watchkeeper import kql
from watchkeeper.errors import KqlError
from watchkeeper.kql.tokens import NEGATED_WORDS, Token, TokenKind, tokenize

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "kql"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- kql_features:begin -->", "<!-- kql_features:end -->"

STATEMENTS = frozenset({"let", "set", "declare", "alias", "pattern", "restrict"})
# operators that start a tabular expression rather than follow a pipe
SOURCE_OPERATORS = frozenset(
    {"datatable", "range", "print", "union", "find", "search", "externaldata", "evaluate", "materialize"}
)
# words followed by '(' that are syntax, not function calls
NOT_FUNCTIONS = frozenset(
    {"dynamic", "datatable", "externaldata", "typeof", "with", "on", "by", "declare", "step", "kind"}
)
# word operators between two operands (``x has "a"``, ``x in (1, 2)``), with their negations
WORD_OPERATORS = frozenset(
    {*NEGATED_WORDS, "in~", "has_cs", "matches", "contains_cs", "like", "notlike", "notcontains"}
)
_OPERAND_END = (TokenKind.IDENT, TokenKind.STRING, TokenKind.INT, TokenKind.REAL, TokenKind.TIMESPAN,
                TokenKind.TYPED)  # fmt: skip
BLAMING = ("unsupported", "unknown function", "unknown plugin")


@dataclass(frozen=True, slots=True)
class Use:
    """One feature name and its kind (operator, plugin, statement, function)."""

    kind: str
    name: str


@dataclass
class Feature:
    """How often a feature is used and how its uses compile."""

    uses: Counter[str] = field(default_factory=Counter)  # corpus -> uses
    queries: int = 0
    compiled: int = 0
    blamed: int = 0
    reason: str = ""

    @property
    def status(self) -> str:
        if not self.blamed:
            return "yes"
        return "partly" if self.compiled else "no"


def feature_uses(text: str) -> list[Use]:
    """Every feature use in ``text``, tokenized by the compiler's tokenizer (empty if it cannot)."""
    try:
        tokens = tokenize(text)
    except KqlError:
        return []
    defined = {t.text for p, t in itertools.pairwise(tokens) if p.is_word("let")}
    return [use for use in _walk(tokens) if use.name not in defined]


def _walk(tokens: list[Token]) -> Iterator[Use]:
    head = True  # at the start of a statement
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else token
        if token.kind is TokenKind.IDENT:
            yield from _classify(tokens, i, prev, nxt, head)
        head = token.is_punct(";")


def _classify(tokens: list[Token], i: int, prev: Token | None, nxt: Token, head: bool) -> Iterator[Use]:
    token = tokens[i]
    word = token.text
    if head and word in STATEMENTS:
        yield Use("statement", word)
    elif word.lstrip("!") in WORD_OPERATORS and _after_operand(prev):
        yield Use("scalar operator", word)
    elif _operator_position(word, prev):
        yield Use("operator", word)
        if word == "evaluate":
            yield from _plugin(tokens, i + 1)
    elif nxt.is_punct("(") and word not in NOT_FUNCTIONS and not _is_member_or_plugin(tokens, i):
        yield Use("function", word)


def _operator_position(word: str, prev: Token | None) -> bool:
    """After a pipe, or a source operator where a tabular expression starts."""
    if prev is not None and prev.is_punct("|"):
        return True
    return word in SOURCE_OPERATORS and (prev is None or prev.is_punct(";", "(", "=", ","))


def _after_operand(prev: Token | None) -> bool:
    return prev is not None and (prev.kind in _OPERAND_END or prev.is_punct(")", "]"))


def _plugin(tokens: list[Token], start: int) -> Iterator[Use]:
    """The plugin named after ``evaluate`` (past its ``hint.x = y`` options)."""
    for j in range(start, len(tokens) - 1):
        if tokens[j].kind is TokenKind.IDENT and tokens[j + 1].is_punct("("):
            yield Use("plugin", tokens[j].text)
            return


def _is_member_or_plugin(tokens: list[Token], i: int) -> bool:
    """``x.f(`` (a member, not a function) or the plugin call of an ``evaluate``."""
    if i and tokens[i - 1].is_punct("."):
        return True
    for j in range(i - 1, max(i - 8, -1), -1):
        if tokens[j].is_word("evaluate"):
            return True
        if tokens[j].is_punct("|", ";", "("):
            return False
    return False


def compile_error(text: str, open_tables: bool) -> str | None:
    """The first line of the compiler's error for ``text`` (None when it compiles). Rules compile
    with open tables (custom tables are not in the catalog), documented examples as a workspace
    compiles them."""
    try:
        kql.translate(text, open_tables=open_tables)
    except KqlError as exc:
        return re.sub(r" \(line \d+, column \d+\)", "", str(exc).splitlines()[0])
    return None


def blamed_names(message: str, uses: set[Use]) -> set[Use]:
    """The used features a compile error names: quoted ones first, else any word of it."""
    if not message.startswith(BLAMING):
        return set()
    quoted = set(re.findall(r"'([\w-]+)'|(?<![\w.])([\w-]+)\(\)", message))
    named = {a or b for a, b in quoted}
    found = {u for u in uses if u.name in named}
    if found:
        return found
    words = set(re.findall(r"[\w-]+", message))
    return {u for u in uses if u.name in words}


def tally(corpora: dict[str, list[str]]) -> dict[Use, Feature]:
    """Uses and compile outcomes of every feature over ``corpora`` (corpus name -> queries)."""
    features: dict[Use, Feature] = defaultdict(Feature)
    for corpus, queries in corpora.items():
        for text in queries:
            uses = feature_uses(text)
            for use in uses:
                features[use].uses[corpus] += 1
            _score(features, set(uses), compile_error(text, open_tables=corpus == "rules"))
    return features


def _score(features: dict[Use, Feature], uses: set[Use], error: str | None) -> None:
    blamed = blamed_names(error, uses) if error else set()
    for use in uses:
        feature = features[use]
        feature.queries += 1
        if error is None:
            feature.compiled += 1
        elif use in blamed:
            feature.blamed += 1
            feature.reason = feature.reason or error


def load_corpora() -> dict[str, list[str]]:
    """The rule queries and the documented examples."""
    out = {}
    for corpus, name in (("rules", "sentinel_rules.jsonl"), ("docs", "doc_cases.jsonl")):
        lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
        out[corpus] = [json.loads(line)["query"] for line in lines if line.strip()]
    return out


def ranked(features: dict[Use, Feature]) -> list[tuple[Use, Feature]]:
    return sorted(features.items(), key=lambda kv: (-sum(kv[1].uses.values()), kv[0].name))


def markdown(features: dict[Use, Feature], top: int) -> str:
    """The two ranking tables: the ``top`` most used features, and every unsupported one."""
    rows = ranked(features)
    head = "| # | feature | kind | uses (rules + docs) | supported |\n|--:|---|---|--:|---|\n"
    lines = [_row(n, use, f) for n, (use, f) in enumerate(rows[:top], 1)]
    gaps = [(use, f) for use, f in rows if f.status != "yes"]
    gap_head = "| # | feature | kind | uses (rules + docs) | queries refused | the compiler says |\n"
    gap_lines = [
        f"| {n} | `{u.name}` | {u.kind} | {_uses(f)} | {f.blamed} | {f.reason[:90]} |"
        for n, (u, f) in enumerate(gaps, 1)
    ]
    return (
        f"Most used features ({len(rows)} distinct names):\n\n{head}" + "\n".join(lines)
        + "\n\nFeatures the compiler refuses, by use count:\n\n"
        + gap_head + "|--:|---|---|--:|--:|---|\n" + "\n".join(gap_lines) + "\n"
    )  # fmt: skip


def _uses(feature: Feature) -> str:
    total = sum(feature.uses.values())
    return f"{total} ({feature.uses['rules']} + {feature.uses['docs']})"


def _row(n: int, use: Use, feature: Feature) -> str:
    return f"| {n} | `{use.name}` | {use.kind} | {_uses(feature)} | {feature.status} |"


def write_results(text: str) -> None:
    """Replace the ranking between the markers of RESULTS.md (added after the conformance table)."""
    results = RESULTS.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in results:
        results = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, results, flags=re.S)
    else:
        results = results.replace("\n## KQL vs SQL", f"\n### Feature ranking\n\n{block}\n\n## KQL vs SQL", 1)
    RESULTS.write_text(results, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--top", type=int, default=30, help="rows of the overall ranking")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    features = tally(load_corpora())
    text = markdown(features, args.top)
    print(text)
    if args.write:
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
