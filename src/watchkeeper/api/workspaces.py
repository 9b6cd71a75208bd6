"""The workspaces a server answers for: named folders under the data directory, opened once.

The default workspace (``settings.workspace``, or the folder ``wk serve --workspace`` names) is
created on first use; any other name must already exist, so a typo in a URL is a 404 and not a
new empty workspace. Names are plain identifiers: a URL can never reach outside the data dir.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from watchkeeper.errors import WatchkeeperError
from watchkeeper.settings import Settings
from watchkeeper.workspace import EVENTS_FILE, Workspace

__all__ = ["UnknownWorkspaceError", "WorkspaceRegistry"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class UnknownWorkspaceError(WatchkeeperError):
    """No workspace by that name on this server."""


class WorkspaceRegistry:
    """Opens each workspace once and hands out the same :class:`Workspace` to every request."""

    def __init__(self, settings: Settings, *, default_path: Path | None = None) -> None:
        self.settings = settings
        self.default_name = settings.workspace
        self.default_path = default_path or settings.workspace_path()
        self._open: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None = None) -> Workspace:
        """The workspace called ``name`` (default: the default workspace)."""
        name = name or self.default_name
        with self._lock:
            if name not in self._open:
                self._open[name] = Workspace.open(self._locate(name), settings=self.settings)
            return self._open[name]

    def _locate(self, name: str) -> Path:
        if name == self.default_name:
            return self.default_path
        path = self.settings.workspace_path(name)
        if not _NAME.match(name) or not (path / EVENTS_FILE).is_file():
            raise UnknownWorkspaceError(f"workspace '{name}' does not exist on this server")
        return path

    def close(self) -> None:
        """Close every open workspace (the server is stopping)."""
        with self._lock:
            for workspace in self._open.values():
                workspace.close()
            self._open.clear()
