"""Whose KPIs a caller sees: compliance and admin everyone, a manager their department subtree
(storage.directory.team_of), anyone else themselves. Filters only narrow that set."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from wecom_hr.api.auth import ApiUser
from wecom_hr.customers.access import members_in

EVERYONE_ROLES = ("compliance", "admin")


class OutOfScopeError(Exception):
    pass


def visible_members(session: Session, user: ApiUser) -> set[str]:
    if user.has(*EVERYONE_ROLES):
        return set(session.scalars(select(directory.Member.userid).where(directory.Member.status != directory.LEFT)))
    if directory.is_manager(session, user.userid):
        return directory.team_of(session, user.userid)
    return {user.userid}


def members_for(session: Session, user: ApiUser, department: int | None, member: str) -> set[str]:
    """The members to report on; OutOfScopeError for a member the caller may not see."""
    chosen = visible_members(session, user)
    if department is not None:
        chosen &= members_in(session, department)
    if member:
        if member not in visible_members(session, user):
            raise OutOfScopeError(member)
        chosen &= {member}
    return chosen
