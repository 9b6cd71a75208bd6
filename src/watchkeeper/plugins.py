"""Plugins through entry points: one group per kind (``watchkeeper.parsers``,
``watchkeeper.rule_formats``, ...), each entry point naming a class whose instances satisfy the
kind's protocol and carry a ``name``. The project's own are declared in ``pyproject.toml``; other
installed packages add theirs the same way."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

__all__ = ["load_plugins"]


def load_plugins(group: str, kind: Any) -> dict[str, Any]:
    """An instance of every plugin of ``group`` by its name, in entry point name order (a plugin
    that comes later under a name already taken is ignored); TypeError for one that is not a
    ``kind`` (a runtime-checkable protocol)."""
    found: dict[str, Any] = {}
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        plugin = entry.load()()
        if not isinstance(plugin, kind):
            raise TypeError(f"entry point {entry.name} ({entry.value}) is not a {kind.__name__}")
        found.setdefault(plugin.name, plugin)
    return found
