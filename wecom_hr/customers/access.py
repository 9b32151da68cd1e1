"""Who sees which customers.

compliance / hr / admin: every customer. A manager (a leader in the directory): every customer any
member of their department subtree follows or followed — a customer their salesperson deleted is
exactly what the deletion alert asks them to look at. Anyone else: the customers they follow now.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import Customer, CustomerFollow
from wecom_hr.api.auth import ApiUser

ALL_ROLES = ("compliance", "hr", "admin")


@dataclass(frozen=True)
class Scope:
    everything: bool
    owners: frozenset[str] = frozenset()
    include_past: bool = False  # managers see ended relations of their team too

    def allows_owner(self, userid: str) -> bool:
        return self.everything or userid in self.owners


def scope_for(session: Session, user: ApiUser) -> Scope:
    if user.has(*ALL_ROLES):
        return Scope(True)
    if directory.is_manager(session, user.userid):
        return Scope(False, frozenset(directory.team_of(session, user.userid)), include_past=True)
    return Scope(False, frozenset({user.userid}))


def followed_by(owners: frozenset[str] | set[str], open_only: bool = True) -> ColumnElement[bool]:
    """Customers with a relation (open, or any) to one of ``owners``."""
    cond = (CustomerFollow.external_userid == Customer.external_userid) & CustomerFollow.userid.in_(sorted(owners))
    if open_only:
        cond = cond & CustomerFollow.ended_at.is_(None)
    return exists(select(CustomerFollow.id).where(cond))


def visible(scope: Scope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    return followed_by(scope.owners, open_only=not scope.include_past)


def can_see(session: Session, scope: Scope, external_userid: str) -> bool:
    query = select(Customer.external_userid).where(Customer.external_userid == external_userid, visible(scope))
    return session.scalar(query) is not None


def members_in(session: Session, department_id: int) -> set[str]:
    depts = directory.subtree(session, [department_id])
    return set(session.scalars(select(directory.MemberDepartment.userid)
                               .where(directory.MemberDepartment.department_id.in_(depts))))
