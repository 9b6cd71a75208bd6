"""Request dependencies as ``Annotated`` aliases: routes declare what they need, not how to get it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from watchkeeper.api.workspaces import WorkspaceRegistry
from watchkeeper.settings import Settings
from watchkeeper.workspace import Workspace

__all__ = ["DefaultWorkspaceDep", "RegistryDep", "SettingsDep", "WorkspaceDep"]


def get_registry(request: Request) -> WorkspaceRegistry:
    """The server's workspace registry (built by ``create_app``)."""
    registry: WorkspaceRegistry = request.app.state.workspaces
    return registry


def get_settings(request: Request) -> Settings:
    """The settings the server was started with."""
    settings: Settings = request.app.state.settings
    return settings


RegistryDep = Annotated[WorkspaceRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_workspace(workspace: str, registry: RegistryDep) -> Workspace:
    """The workspace named by the ``{workspace}`` path parameter."""
    return registry.get(workspace)


def get_default_workspace(registry: RegistryDep) -> Workspace:
    """The server's default workspace."""
    return registry.get()


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
DefaultWorkspaceDep = Annotated[Workspace, Depends(get_default_workspace)]
