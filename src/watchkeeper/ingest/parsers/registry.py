"""Finding parsers: by name, or by sniffing a source. Parsers are registered as entry points of
the ``watchkeeper.parsers`` group (the project's own in ``pyproject.toml``; other packages may add
theirs), so a format is added without touching this module."""

from __future__ import annotations

from functools import cache

from watchkeeper.errors import InvalidRequestError
from watchkeeper.ingest.parsers.base import Parser
from watchkeeper.plugins import load_plugins

__all__ = ["ENTRY_POINT_GROUP", "detect_parser", "parser_named", "registered_parsers"]

ENTRY_POINT_GROUP = "watchkeeper.parsers"


@cache
def registered_parsers() -> dict[str, Parser]:
    """Every registered parser by name, in sniffing order (entry point names sort them: the
    project's own are prefixed with a two-digit rank, so specific formats are tried before
    generic ones)."""
    found: dict[str, Parser] = load_plugins(ENTRY_POINT_GROUP, Parser)
    return found


def parser_named(name: str) -> Parser:
    """The parser called ``name``; a clear error listing the known ones otherwise."""
    parsers = registered_parsers()
    if name not in parsers:
        raise InvalidRequestError(f"unknown input format {name!r}; known: {', '.join(sorted(parsers))}")
    return parsers[name]


def detect_parser(head: bytes, filename: str) -> Parser | None:
    """The first parser that recognises a source starting with ``head``, or None."""
    for parser in registered_parsers().values():
        if parser.sniff(head, filename):
            return parser
    return None
