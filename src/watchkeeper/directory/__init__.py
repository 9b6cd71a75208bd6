"""The directory: tenants, the workspaces they own, app registrations and console users.

A tenant is the unit of isolation: every other object carries its tenant, and every lookup by id
is scoped to one tenant, so a caller of tenant A cannot learn whether an object of tenant B exists.
"""

from watchkeeper.directory.models import (
    AppCreated,
    AppRead,
    AppRegistration,
    Tenant,
    TenantRead,
    UserAccount,
    UserRead,
    WorkspaceRead,
    WorkspaceRecord,
)
from watchkeeper.directory.roles import ROLES, unknown_roles
from watchkeeper.directory.service import (
    DirectoryError,
    authenticate_app,
    authenticate_user,
    create_app,
    create_tenant,
    create_user,
    create_workspace,
    every_workspace,
    find_tenant,
    find_workspace,
    list_apps,
    list_tenants,
    list_workspaces,
    workspace_at_folder,
)

__all__ = [
    "ROLES",
    "AppCreated",
    "AppRead",
    "AppRegistration",
    "DirectoryError",
    "Tenant",
    "TenantRead",
    "UserAccount",
    "UserRead",
    "WorkspaceRead",
    "WorkspaceRecord",
    "authenticate_app",
    "authenticate_user",
    "create_app",
    "create_tenant",
    "create_user",
    "create_workspace",
    "every_workspace",
    "find_tenant",
    "find_workspace",
    "list_apps",
    "list_tenants",
    "list_workspaces",
    "unknown_roles",
    "workspace_at_folder",
]
