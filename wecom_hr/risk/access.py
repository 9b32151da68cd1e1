"""Who sees which alerts: compliance and admin every alert; a manager the alerts about members of
their department subtree (not about themselves); anyone else none — telling a salesperson they are
being watched would defeat the watch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage import directory
from wecom_hr.api.auth import ApiUser

ALL_ROLES = ("compliance", "admin")


@dataclass(frozen=True)
class AlertScope:
    everything: bool
    members: frozenset[str] = frozenset()

    def allows(self, userid: str) -> bool:
        return self.everything or userid in self.members

    @property
    def empty(self) -> bool:
        return not self.everything and not self.members


def alert_scope(session: Session, user: ApiUser) -> AlertScope:
    if user.has(*ALL_ROLES):
        return AlertScope(True)
    if directory.is_manager(session, user.userid):
        return AlertScope(False, frozenset(directory.team_of(session, user.userid) - {user.userid}))
    return AlertScope(False)
