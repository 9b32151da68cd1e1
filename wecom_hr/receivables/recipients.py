"""Who hears about a salesperson's overdue items: the owner, their managers, finance.

A departed owner (directory status LEFT) cannot act on a reminder: their items go to their managers
and to the successor the departure workflow recorded. Items nobody can receive go to finance.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from storage import directory

# The departure workflow (issue: departures) sets this to its own lookup; None means "not recorded".
SUCCESSOR_LOOKUP: list[Callable[[Session, str], str | None]] = []


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
        self._finance = [u for u in finance if not has_left(session, u)]
        self._cache: dict[tuple[str, str], list[str]] = {}

    def recipients(self, owner: str, audience: str) -> list[str]:
        key = (owner, audience)
        if key not in self._cache:
            self._cache[key] = self._resolve(owner, audience)
        return self._cache[key]

    def _resolve(self, owner: str, audience: str) -> list[str]:
        s = self._session
        if audience == "finance":
            return list(self._finance)
        managers = directory.managers_of(s, owner)
        if audience == "owner" and not has_left(s, owner):
            return [owner]
        found = list(managers)
        if has_left(s, owner):
            successor = successor_of(s, owner)
            if successor and successor not in found and not has_left(s, successor):
                found.append(successor)
        # No manager in the directory (or none left): finance still hears about the money.
        return found or list(self._finance)
