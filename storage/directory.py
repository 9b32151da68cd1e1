"""The directory: departments and members as WeCom reports them, and who manages whom.

A member's managers are the leaders (IsLeaderInDept) of the member's departments; when a member
leads their own department, the leaders of the parent department. Members who left stay here with
status LEFT, so history and their customers keep a name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, utcnow

ACTIVE, DISABLED, NOT_ACTIVATED, LEFT = 1, 2, 4, 5


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[int] = mapped_column(Integer, default=ACTIVE)
    main_department: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[str] = mapped_column(String(255), default="")
    mobile: Mapped[str] = mapped_column(String(64), default="")
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]


class MemberDepartment(Base):
    __tablename__ = "member_departments"

    userid: Mapped[str] = mapped_column(ForeignKey("members.userid", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)


def upsert_department(session: Session, dept_id: int, name: str, parent_id: int | None,
                      now: datetime | None = None) -> Department:
    row = session.get(Department, dept_id) or Department(id=dept_id)
    row.name, row.parent_id, row.updated_at = name, parent_id or None, now or utcnow()
    session.add(row)
    return row


def delete_department(session: Session, dept_id: int) -> int:
    """delete_party: the department and its member links go; the members stay. Returns links removed."""
    links = list(session.scalars(select(MemberDepartment).where(MemberDepartment.department_id == dept_id)))
    for link in links:
        session.delete(link)
    row = session.get(Department, dept_id)
    if row is not None:
        session.delete(row)
    return len(links)


def upsert_member(session: Session, userid: str, *, name: str | None = None, status: int | None = None,
                  departments: list[int] | None = None, leader_in: list[int] | None = None,
                  main_department: int | None = None, position: str | None = None,
                  now: datetime | None = None) -> Member:
    """Create or update a member; ``departments``/``leader_in`` (parallel lists) replace memberships."""
    now = now or utcnow()
    row = session.get(Member, userid) or Member(userid=userid, name=name or userid, status=ACTIVE, extra={})
    if name is not None:
        row.name = name
    if status is not None:
        if status == LEFT and row.status != LEFT:
            row.left_at = now
        row.status = status
    if main_department is not None:
        row.main_department = main_department
    if position is not None:
        row.position = position
    row.updated_at = now
    session.add(row)
    if departments is not None:
        session.flush()
        leaders = list(leader_in or [])
        for link in list(session.scalars(select(MemberDepartment).where(MemberDepartment.userid == userid))):
            session.delete(link)
        session.flush()
        for i, dept in enumerate(dict.fromkeys(departments)):
            is_leader = bool(leaders[i]) if i < len(leaders) else False
            session.add(MemberDepartment(userid=userid, department_id=dept, is_leader=is_leader))
        if row.main_department is None and departments:
            row.main_department = departments[0]
    return row


def rename_member(session: Session, old: str, new: str) -> None:
    """WeCom's update_user with NewUserID: keep the row, change the key."""
    row = session.get(Member, old)
    if row is None or old == new or session.get(Member, new) is not None:
        return
    links = list(session.scalars(select(MemberDepartment).where(MemberDepartment.userid == old)))
    kept = [(link.department_id, link.is_leader) for link in links]
    for link in links:
        session.delete(link)
    session.flush()
    session.execute(update(Member).where(Member.userid == old).values(userid=new))
    for dept, leader in kept:
        session.add(MemberDepartment(userid=new, department_id=dept, is_leader=leader))


def departments_of(session: Session, userid: str) -> list[MemberDepartment]:
    return list(session.scalars(select(MemberDepartment).where(MemberDepartment.userid == userid)))


def leaders_of(session: Session, dept_id: int) -> list[str]:
    q = (select(MemberDepartment.userid).join(Member, Member.userid == MemberDepartment.userid)
         .where(MemberDepartment.department_id == dept_id, MemberDepartment.is_leader.is_(True),
                Member.status != LEFT).order_by(MemberDepartment.userid))
    return list(session.scalars(q))


def managers_of(session: Session, userid: str) -> list[str]:
    """The member's managers: leaders of their departments (walking up past themselves)."""
    found: list[str] = []
    for link in departments_of(session, userid):
        dept_id: int | None = link.department_id
        seen: set[int] = set()
        while dept_id is not None and dept_id not in seen:
            seen.add(dept_id)
            leaders = [u for u in leaders_of(session, dept_id) if u != userid]
            if leaders:
                found.extend(u for u in leaders if u not in found)
                break
            dept = session.get(Department, dept_id)
            dept_id = dept.parent_id if dept else None
    return found


def subtree(session: Session, dept_ids: list[int]) -> set[int]:
    """The departments and all their descendants."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent in session.execute(select(Department.id, Department.parent_id)):
        children.setdefault(parent, []).append(dept_id)
    out: set[int] = set()
    stack = list(dept_ids)
    while stack:
        d = stack.pop()
        if d not in out:
            out.add(d)
            stack.extend(children.get(d, []))
    return out


def team_of(session: Session, manager: str) -> set[str]:
    """Every member in the subtree of the departments this member leads (themselves included)."""
    led = [link.department_id for link in departments_of(session, manager) if link.is_leader]
    if not led:
        return {manager}
    depts = subtree(session, led)
    members = set(session.scalars(select(MemberDepartment.userid).where(MemberDepartment.department_id.in_(depts))))
    return members | {manager}


def is_manager(session: Session, userid: str) -> bool:
    return any(link.is_leader for link in departments_of(session, userid))


def member(session: Session, userid: str) -> Member | None:
    return session.get(Member, userid)


def display_name(session: Session, userid: str) -> str:
    row = session.get(Member, userid)
    return row.name if row and row.name else userid
