"""A dashboard document checked before it is saved: its shape (pydantic; each problem names its
field, e.g. ``tiles[2].visualization``) and every tile's KQL, compiled against a catalog (the
Sentinel tables and the tenant's custom tables), so a tile that cannot run is refused with the
line and column the compiler reports instead of failing later on the page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from watchkeeper import kql
from watchkeeper.errors import InvalidRequestError, KqlError
from watchkeeper.schema.catalog import Catalog
from watchkeeper.workbooks.models import DashboardDocument

__all__ = [
    "MAX_DOCUMENT",
    "Problem",
    "WorkbookInvalid",
    "check_query",
    "parse_document",
    "read_document_text",
]

MAX_DOCUMENT = 256 * 1024  # bytes of a dashboard document


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a field path), what, and for KQL the position."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        where = {"line": self.line, "column": self.column} if self.line is not None else {}
        return {"code": "invalidValue", "target": self.field, "message": self.message, **where}


class WorkbookInvalid(InvalidRequestError):
    """A dashboard or saved query that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        summary = "; ".join(_said(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"the document is not valid: {summary}{more}")
        self.problems = problems


def _said(problem: Problem) -> str:
    where = f" (line {problem.line}, column {problem.column})" if problem.line is not None else ""
    return f"{problem.field}: {problem.message}{where}"


def read_document_text(text: str, media_type: str) -> Any:
    """The data of a JSON or YAML document (``media_type`` says which; YAML's safe loader only)."""
    if len(text.encode()) > MAX_DOCUMENT:
        raise WorkbookInvalid([Problem("body", f"the document is larger than {MAX_DOCUMENT // 1024} KB")])
    try:
        if "yaml" in media_type:
            return yaml.safe_load(text)
        return json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        kind = "YAML" if "yaml" in media_type else "JSON"
        raise WorkbookInvalid([Problem("body", f"not valid {kind}: {exc}")]) from None


def parse_document(data: Any, catalog: Catalog) -> DashboardDocument:
    """``data`` as a dashboard whose every tile compiles against ``catalog``; WorkbookInvalid otherwise."""
    if not isinstance(data, dict):
        raise WorkbookInvalid([Problem("body", "a dashboard is an object with name, parameters and tiles")])
    try:
        document = DashboardDocument.model_validate(data)
    except ValidationError as exc:
        raise WorkbookInvalid([_problem(error) for error in exc.errors()]) from None
    problems = [
        problem
        for index, tile in enumerate(document.tiles)
        if (problem := check_query(tile.query, catalog, f"tiles[{index}].query")) is not None
    ]
    if problems:
        raise WorkbookInvalid(problems)
    return document


def check_query(text: str, catalog: Catalog | None, field: str) -> Problem | None:
    """Why ``text`` does not compile (against ``catalog``; None: its syntax only), or None."""
    try:
        if catalog is None:
            kql.parse(text)
        else:
            kql.translate(text, catalog, open_tables=False)
    except KqlError as exc:
        exc.with_text(text)
        return Problem(field, exc.message, exc.line, exc.column)
    return None


def _problem(error: Any) -> Problem:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return Problem(path or "body", str(error["msg"]).removeprefix("Value error, "))
