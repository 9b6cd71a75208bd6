"""Security posture: secure score controls as KQL checks, daily score snapshots per tenant and the
states administrators set on controls (Graph ``secureScores`` / ``secureScoreControlProfiles``)."""

from watchkeeper.posture.controls import (
    CATEGORIES,
    STATES,
    Control,
    ControlScore,
    Measure,
    find_control,
    load_controls,
    score_control,
)
from watchkeeper.posture.models import ControlStateRead, SnapshotRead
from watchkeeper.posture.service import (
    SCORE_FIELDS,
    SnapshotFacts,
    control_states,
    find_snapshot,
    has_snapshot,
    list_snapshots,
    record_control_state,
    save_snapshot,
    snapshot_id,
    snapshots_page,
)

__all__ = [
    "CATEGORIES",
    "SCORE_FIELDS",
    "STATES",
    "Control",
    "ControlScore",
    "ControlStateRead",
    "Measure",
    "SnapshotFacts",
    "SnapshotRead",
    "control_states",
    "find_control",
    "find_snapshot",
    "has_snapshot",
    "list_snapshots",
    "load_controls",
    "record_control_state",
    "save_snapshot",
    "score_control",
    "snapshot_id",
    "snapshots_page",
]
