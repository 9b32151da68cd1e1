"""Who hears about a salesperson's overdue items: the owner, their managers, finance.

A departed owner (directory status LEFT) cannot act on a reminder: their items go to their managers
and to the successor the departure workflow recorded. Items nobody can receive go to finance.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from storage import departures, directory

# The departure workflow (issue: departures) sets this to its own lookup; None means "not recorded".
SUCCESSOR_LOOKUP: list[Callable[[Session, str], str | None]] = [departures.successor_of]  # issue 5


def successor_of(session: Session, userid: str) -> str | None:
    """Who took over a departed member's customers, if the departure module recorded one."""
    for lookup in SUCCESSOR_LOOKUP:
        found = lookup(session, userid)
        if found:
            return found
    return None


def has_left(session: Session, userid: str) -> bool:
    row = directory.member(session, userid)
    return row is not None and row.status == directory.LEFT


class Router:
    """Caches directory look-ups for one run: ~500 owners, not one query per receivable."""

    def __init__(self, session: Session, finance: tuple[str, ...]) -> None:
        self._session = session
        self._left: dict[str, bool] = {}
        self._finance = [u for u in finance if not self._has_left(u)]
        self._managers: dict[str, list[str]] = {}

    def _has_left(self, userid: str) -> bool:
        if userid not in self._left:
            self._left[userid] = has_left(self._session, userid)
        return self._left[userid]

    def recipients(self, owner: str, audience: str) -> list[str]:
        if audience == "finance":
            return list(self._finance)
        if audience == "owner" and not self._has_left(owner):
            return [owner]
        if owner not in self._managers:
            self._managers[owner] = self._successors(owner)
        # No manager in the directory (or none left): finance still hears about the money.
        return list(self._managers[owner]) or list(self._finance)

    def _successors(self, owner: str) -> list[str]:
        """The owner's managers, plus the successor when the owner has left."""
        found = list(directory.managers_of(self._session, owner))
        if self._has_left(owner):
            successor = successor_of(self._session, owner)
            if successor and successor not in found and not self._has_left(successor):
                found.append(successor)
        return found
