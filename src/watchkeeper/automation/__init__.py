"""Automation: security actions handed to providers that carry them out (``actions/``: the
provider protocol, its in-memory twin, and the built-in blocklist provider)."""

from watchkeeper.automation.actions.base import (
    ActionProvider,
    ActionRefused,
    InMemoryActionProvider,
    ProviderReport,
)
from watchkeeper.automation.actions.blocklist import (
    BlockedAddress,
    BlocklistProvider,
    blocked_addresses,
    indicators_touched,
)
from watchkeeper.automation.models import (
    ACTION_STATUSES,
    BlocklistEntry,
    ResultInfo,
    SecurityActionRead,
    SecurityActionRecord,
)
from watchkeeper.automation.service import (
    CANCELLED_CODE,
    ActionProviders,
    actions_statement,
    apply_report,
    create_action,
    find_action,
    mark_cancelled,
    running_actions,
)

__all__ = [
    "ACTION_STATUSES",
    "CANCELLED_CODE",
    "ActionProvider",
    "ActionProviders",
    "ActionRefused",
    "BlockedAddress",
    "BlocklistEntry",
    "BlocklistProvider",
    "InMemoryActionProvider",
    "ProviderReport",
    "ResultInfo",
    "SecurityActionRead",
    "SecurityActionRecord",
    "actions_statement",
    "apply_report",
    "blocked_addresses",
    "create_action",
    "find_action",
    "indicators_touched",
    "mark_cancelled",
    "running_actions",
]
