"""The seam between security actions and whoever carries them out.

An :class:`ActionProvider` is a plugin (entry point group ``watchkeeper.actions``): it names the
actions it takes (``blockIp``, ``allowIp``, ...), checks their parameters before anything is
stored, starts an action, reports how it is doing when polled, and undoes it when cancelled. The
action's status is what its provider reports (``graph-security-api.md`` section 6
"securityAction"). :class:`InMemoryActionProvider` is the twin tests script: it succeeds, runs for a
number of polls, or fails with the error they give it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from watchkeeper.automation.models import ResultInfo, SecurityActionRead
from watchkeeper.errors import InvalidRequestError

__all__ = [
    "ActionProvider",
    "ActionRefused",
    "InMemoryActionProvider",
    "ProviderReport",
    "canonical_name",
]

PROVIDER_STATUSES = frozenset({"Running", "Completed", "Failed"})


class ActionRefused(InvalidRequestError):
    """A provider will not do what was asked (bad parameters, or an action it cannot cancel)."""


@dataclass(frozen=True)
class ProviderReport:
    """What a provider says about an action: ``Running``, ``Completed`` or ``Failed`` (with
    ``error``), and its own reference to the work (kept with the action, handed back on polls)."""

    status: str
    error: ResultInfo | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.status not in PROVIDER_STATUSES:
            raise ValueError(f"a provider reports one of {sorted(PROVIDER_STATUSES)}, not {self.status!r}")


@runtime_checkable
class ActionProvider(Protocol):
    """Carries out security actions. ``name`` is the ``vendorInformation.provider`` of its actions,
    ``vendor`` the vendor; ``actions`` the action names it takes, as it spells them."""

    name: str
    vendor: str
    actions: tuple[str, ...]

    def accepts(self, name: str) -> bool:
        """Whether it carries out actions of this name (in any case)."""
        ...

    def validate(self, name: str, parameters: Mapping[str, str]) -> dict[str, str]:
        """The parameters as the action will use them; raises :class:`ActionRefused` saying which
        parameter is wrong and why. Called before the action is stored."""
        ...

    def start(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        """Begin the action (in the session of the request that stores it)."""
        ...

    def poll(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        """How a started action is doing now."""
        ...

    def cancel(self, action: SecurityActionRead, *, session: Session) -> None:
        """Stop the action and undo what it did; :class:`ActionRefused` if it cannot."""
        ...


def canonical_name(provider: ActionProvider, name: str) -> str | None:
    """The provider's spelling of an action name matched in any case, or None."""
    wanted = name.casefold()
    return next((known for known in provider.actions if known.casefold() == wanted), None)


@dataclass
class InMemoryActionProvider:
    """A scripted provider for tests: ``start`` reports ``Running`` and each poll takes the next
    of ``script`` (the last repeats); ``fail_with`` makes ``start`` report ``Failed`` with it;
    ``refuse_cancel`` makes ``cancel`` refuse. It records what it was asked to do."""

    name: str = "twin"
    vendor: str = "watchkeeper tests"
    actions: tuple[str, ...] = ("isolateHost",)
    script: Sequence[str] = ("Completed",)
    fail_with: ResultInfo | None = None
    refuse_cancel: str | None = None
    started: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    _polls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accepts(self, name: str) -> bool:
        return canonical_name(self, name) is not None

    def validate(self, name: str, parameters: Mapping[str, str]) -> dict[str, str]:
        if not parameters:
            raise ActionRefused(f"{name} needs at least one parameter")
        return dict(parameters)

    def start(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        with self._lock:
            self.started.append(action.id)
        if self.fail_with is not None:
            return ProviderReport("Failed", error=self.fail_with)
        return ProviderReport("Running", reference=f"{self.name}:{action.id}")

    def poll(self, action: SecurityActionRead, *, session: Session) -> ProviderReport:
        with self._lock:
            done = self._polls.get(action.id, 0)
            self._polls[action.id] = done + 1
        status = self.script[min(done, len(self.script) - 1)]
        error = ResultInfo(code=500, message=f"{self.name} could not finish") if status == "Failed" else None
        return ProviderReport(status, error=error, reference=action.provider_ref)

    def cancel(self, action: SecurityActionRead, *, session: Session) -> None:
        if self.refuse_cancel is not None:
            raise ActionRefused(self.refuse_cancel)
        with self._lock:
            self.cancelled.append(action.id)
