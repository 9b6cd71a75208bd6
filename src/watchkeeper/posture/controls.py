"""Secure score controls: what each one measures and how a measure becomes a score.

The definitions are data (``controls.yaml`` in this package): each control's Graph profile fields
(``graph-security-api.md`` section 6, ``secureScoreControlProfile``) and the KQL check that scores
it. A check yields ``passed`` and ``total``; the control earns ``maxScore * passed / total``. Running
the checks against workspaces is the flows' business; this module is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "CATEGORIES",
    "STATES",
    "Control",
    "ControlScore",
    "Measure",
    "find_control",
    "load_controls",
    "score_control",
]

CATEGORIES = ("Identity", "Data", "Device", "Apps", "Infrastructure")
# a control's state as an administrator sets it (secureScoreControlProfile controlStateUpdates)
STATES = ("Default", "Ignored", "ThirdParty", "Reviewed")


@dataclass(frozen=True)
class Control:
    """One control's definition."""

    id: str
    title: str
    category: str
    max_score: float
    rank: int
    tier: str
    service: str
    action_type: str
    action_url: str
    remediation: str
    remediation_impact: str
    user_impact: str
    implementation_cost: str
    threats: tuple[str, ...]
    measured: str  # the description when the data is there: "{passed} of {total} ..."
    missing: str  # the description when the check found nothing to measure
    check: str  # KQL, fixed text
    presence: bool = False  # the check counts workspaces where data arrives

    def has_data(self, measure: Measure) -> bool:
        """Whether the check found the data it reads (its service is in use)."""
        return measure.passed > 0 if self.presence else measure.total > 0


@dataclass(frozen=True)
class Measure:
    """What a check counted: ``passed`` of ``total`` (users, sign-ins, workspaces...)."""

    passed: int = 0
    total: int = 0

    def __add__(self, other: Measure) -> Measure:
        return Measure(self.passed + other.passed, self.total + other.total)


@dataclass(frozen=True)
class ControlScore:
    """A control's score in a snapshot (secureScore ``controlScores`` item)."""

    control: Control
    score: float
    description: str
    measure: Measure


def _control(entry: dict[str, Any]) -> Control:
    category = entry["category"]
    if category not in CATEGORIES:
        raise ValueError(f"control {entry['id']}: category {category!r} is not one of {CATEGORIES}")
    return Control(
        id=entry["id"], title=entry["title"], category=category, max_score=float(entry["maxScore"]),
        rank=int(entry["rank"]), tier=entry["tier"], service=entry["service"], action_type=entry["actionType"],
        action_url=entry["actionUrl"], remediation=entry["remediation"],
        remediation_impact=entry["remediationImpact"], user_impact=entry["userImpact"],
        implementation_cost=entry["implementationCost"], threats=tuple(entry["threats"]),
        measured=entry["measured"], missing=entry["missing"], check=entry["check"],
        presence=bool(entry.get("presence", False)),
    )  # fmt: skip


@cache
def load_controls() -> tuple[Control, ...]:
    """The shipped controls, in rank order."""
    text = resources.files(__package__).joinpath("controls.yaml").read_text(encoding="utf-8")
    return tuple(sorted((_control(entry) for entry in yaml.safe_load(text)), key=lambda c: c.rank))


def find_control(control_id: str) -> Control | None:
    """The control called ``control_id`` (exact, as Graph ids are), or None."""
    return next((c for c in load_controls() if c.id == control_id), None)


def score_control(control: Control, measure: Measure, state: str = "Default") -> ControlScore:
    """The control's score from what its check counted, given the state an administrator set.

    ``ThirdParty`` (resolved by another product) earns the full score and ``Ignored`` (risk accepted)
    earns nothing whatever the data says, as Microsoft Secure Score treats "resolved through third
    party" and "risk accepted"; both still count in the maximum. ``Default`` and ``Reviewed`` are
    measured."""
    if state == "ThirdParty":
        return ControlScore(
            control, control.max_score, "Resolved through a third party (state ThirdParty).", measure
        )
    if state == "Ignored":
        return ControlScore(
            control, 0.0, "Risk accepted (state Ignored): the control earns no points.", measure
        )
    if measure.total <= 0:
        return ControlScore(control, 0.0, control.missing, measure)
    fraction = min(max(measure.passed / measure.total, 0.0), 1.0)
    description = control.measured.format(passed=measure.passed, total=measure.total)
    return ControlScore(control, round(control.max_score * fraction, 2), description, measure)
