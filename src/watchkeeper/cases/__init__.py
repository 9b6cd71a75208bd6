"""Cases: the alerts rules raise and the incidents that group them, in the state database."""

from watchkeeper.cases.alerts import (
    AlertRead,
    comment_alert,
    find_alert,
    list_alerts,
    raise_alerts,
    update_alert,
)
from watchkeeper.cases.incidents import (
    IncidentRead,
    add_task,
    comment_incident,
    find_incident,
    incident_timeline,
    list_incidents,
    merge_incidents,
    read_incidents,
    update_incident,
)

__all__ = [
    "AlertRead",
    "IncidentRead",
    "add_task",
    "comment_alert",
    "comment_incident",
    "find_alert",
    "find_incident",
    "incident_timeline",
    "list_alerts",
    "list_incidents",
    "merge_incidents",
    "raise_alerts",
    "read_incidents",
    "update_alert",
    "update_incident",
]
