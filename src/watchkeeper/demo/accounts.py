"""Account columns as lookup lists: index ``i`` is ``world.users[i]``, the last index is SYSTEM."""

from __future__ import annotations

from dataclasses import dataclass

from watchkeeper.demo.world import DOMAIN, World

__all__ = ["AccountColumns"]


@dataclass(frozen=True)
class AccountColumns:
    """Per-account values, ready for :func:`~watchkeeper.demo.columns.pick`."""

    sam: list[str]
    domain: list[str]
    account: list[str]
    sid: list[str]
    upn: list[str]

    @property
    def system(self) -> int:
        """The index of ``NT AUTHORITY\\SYSTEM``."""
        return len(self.sam) - 1

    @classmethod
    def of(cls, world: World) -> AccountColumns:
        users = world.users
        return cls(
            sam=[u.sam for u in users] + ["SYSTEM"],
            domain=[DOMAIN] * len(users) + ["NT AUTHORITY"],
            account=[u.account for u in users] + ["NT AUTHORITY\\SYSTEM"],
            sid=[u.sid for u in users] + ["S-1-5-18"],
            upn=[u.upn for u in users] + [""],
        )
