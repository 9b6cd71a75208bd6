"""What the ``wk`` commands share: settings, the workspace they act on, and how failures are told.

A user's mistake (a bad query, an unknown table, a file that cannot be read) prints a message on
stderr and exits with status 1; it never shows a traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from watchkeeper.errors import KqlError, WatchkeeperError
from watchkeeper.settings import Settings
from watchkeeper.workspace import EVENTS_FILE, Workspace

__all__ = [
    "fail",
    "load_settings",
    "note",
    "open_workspace",
    "stdout_console",
    "user_errors",
    "workspace_exists",
]


def note(message: str) -> None:
    """A remark for the user on stderr (stdout stays machine-readable)."""
    typer.echo(message, err=True)


def fail(message: str) -> typer.Exit:
    """Print ``message`` on stderr; returns the exit to raise (status 1)."""
    typer.echo(message, err=True)
    return typer.Exit(code=1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn watchkeeper's errors into a message on stderr and exit status 1."""
    try:
        yield
    except KqlError as exc:
        raise fail(exc.render()) from None
    except WatchkeeperError as exc:
        raise fail(f"error: {exc}") from None


def _first_problem(exc: ValidationError) -> str:
    problem = exc.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"


def load_settings() -> Settings:
    """Settings from ``watchkeeper.toml`` and ``WK_*`` variables (exits with a message if invalid)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise fail(f"error: invalid settings: {_first_problem(exc)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"error: watchkeeper.toml is not valid TOML: {exc}") from None


def workspace_exists(path: Path) -> bool:
    """Whether ``path`` (a workspace folder or a ``.duckdb`` file) holds a workspace."""
    return path.is_file() if path.suffix == ".duckdb" else (path / EVENTS_FILE).is_file()


def open_workspace(path: Path | None, settings: Settings, *, create: bool = False) -> Workspace:
    """The workspace at ``path`` (default: the settings' default workspace).

    A named workspace that does not exist is an error unless ``create``; a missing *default*
    workspace is an empty in-memory one, so that ``wk query 'print 1'`` works before ``wk demo``.
    """
    target = path or settings.workspace_path()
    if create or workspace_exists(target):
        return Workspace.open(target, settings=settings)
    if path is not None:
        raise fail(
            f"error: no workspace at {path} (build one with `wk demo --workspace {path}` or `wk ingest`)"
        )
    note(
        f"note: no workspace at {target} yet (run `wk demo` to build one); using an empty in-memory workspace"
    )
    return Workspace.open(None, settings=settings)


def stdout_console() -> Console:
    """A rich console on stdout; wide when piped so that tables are not cut at 80 columns."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=4096)
    return console
