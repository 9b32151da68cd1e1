"""Directory sync: change_contact events and a full sync from department/list + user/list.

update_user carries only the fields that changed, so only those are applied. A member who leaves
(delete_user, or Status 5) stays with status LEFT: their customers and history keep a name.
A renamed userid (NewUserID) is renamed in the directory and in the customer pool alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import CustomerAlert, CustomerFollow
from wecom_hr.customers.fields import Origin
from wecom_hr.customers.pool import history
from wecom_hr.dispatch import HandlerContext
from wecom_hr.events import Event
from wecom_hr.wecom import WeComClient

# Other features react to a member leaving (the departure handover): (ctx, userid) -> None.
MEMBER_LEFT_LISTENERS: list[Callable[[HandlerContext, str], None]] = []

MAX_IDS = 1000  # a member belongs to at most a few hundred departments


def ints(value: Any) -> list[int]:
    """"1,2" / ["1", "2"] / [1, 2] -> [1, 2]; WeCom sends comma lists in events, arrays in the API."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    # ASCII digits of a bounded length only: a department id is a 32-bit integer, not "²" or 5,000 digits.
    return [int(x) for x in (str(i).strip() for i in items[:MAX_IDS])
            if x.lstrip("-").isascii() and x.lstrip("-").isdigit() and len(x) <= 10]


def _opt_int(value: Any) -> int | None:
    found = ints(value)
    return found[0] if found else None


def member_changed(ctx: HandlerContext, event: Event) -> None:
    """create_user / update_user: apply the fields present in the event."""
    userid = str(event.get("user_id"))
    new_userid = str(event.get("new_user_id"))
    if new_userid and new_userid != userid:
        rename(ctx.session, userid, new_userid, ctx.event_id, ctx.now)
        userid = new_userid
    f = event.fields
    was_left = _is_left(ctx.session, userid)
    depts = ints(f["department"]) if "department" in f else None
    directory.upsert_member(
        ctx.session, userid, name=f.get("name") or None, status=_opt_int(f.get("status")),
        departments=depts, leader_in=ints(f.get("is_leader_in_dept")) if depts is not None else None,
        main_department=_opt_int(f.get("main_department")), position=f.get("position"), now=ctx.now)
    if "mobile" in f:
        row = directory.member(ctx.session, userid)
        if row is not None:
            row.mobile = str(f["mobile"])
    if not was_left and _is_left(ctx.session, userid):
        _notify_left(ctx, userid)


def member_left(ctx: HandlerContext, event: Event) -> None:
    userid = str(event.get("user_id"))
    was_left = _is_left(ctx.session, userid)
    directory.upsert_member(ctx.session, userid, status=directory.LEFT, now=ctx.now)
    if not was_left:
        _notify_left(ctx, userid)


def department_changed(ctx: HandlerContext, event: Event) -> None:
    """create_party / update_party (Id, Name, ParentId; update_party may omit unchanged ones)."""
    dept_id = _opt_int(event.get("id"))
    if dept_id is None:
        return
    row = ctx.session.get(directory.Department, dept_id)
    name = event.get("name") or (row.name if row else str(dept_id))
    parent = _opt_int(event.get("parent_id")) if "parent_id" in event.fields else (row.parent_id if row else None)
    directory.upsert_department(ctx.session, dept_id, name, parent, ctx.now)


def _is_left(session: Session, userid: str) -> bool:
    row = directory.member(session, userid)
    return row is not None and row.status == directory.LEFT


def _notify_left(ctx: HandlerContext, userid: str) -> None:
    for listener in MEMBER_LEFT_LISTENERS:
        listener(ctx, userid)


def rename(session: Session, old: str, new: str, event_id: int | None, now: datetime) -> int:
    """Rename the member everywhere the pool names them; returns how many relations moved."""
    directory.rename_member(session, old, new)
    customers = sorted(set(session.scalars(select(CustomerFollow.external_userid)
                                           .where(CustomerFollow.userid == old))))
    session.execute(update(CustomerFollow).where(CustomerFollow.userid == old).values(userid=new))
    session.execute(update(CustomerAlert).where(CustomerAlert.userid == old).values(userid=new))
    origin = Origin("directory", event_id=event_id)
    for ext in customers:
        history(session, ext, "member_renamed", {"userid": [old, new]}, origin, now, new)
    return len(customers)


@dataclass
class DirectoryCounts:
    departments: int = 0
    members: int = 0
    left: int = 0


def sync_directory(session: Session, client: WeComClient, now: datetime) -> DirectoryCounts:
    """Full sync: every department, every member (leaders included); absent members are marked left."""
    counts = DirectoryCounts()
    departments = client.call("GET", "department/list").get("department") or []
    for d in departments:
        directory.upsert_department(session, int(d["id"]), str(d.get("name") or d["id"]),
                                    int(d.get("parentid") or 0) or None, now)
    counts.departments = len(departments)
    root = min((int(d["id"]) for d in departments), default=1)
    users = client.call("GET", "user/list", params={"department_id": root, "fetch_child": 1}).get("userlist") or []
    seen = set()
    for u in users:
        seen.add(str(u["userid"]))
        directory.upsert_member(session, str(u["userid"]), name=str(u.get("name") or u["userid"]),
                                status=int(u.get("status") or directory.ACTIVE), departments=ints(u.get("department")),
                                leader_in=ints(u.get("is_leader_in_dept")),
                                main_department=_opt_int(u.get("main_department")),
                                position=str(u.get("position") or ""), now=now)
    counts.members = len(users)
    session.flush()
    for row in session.scalars(select(directory.Member).where(directory.Member.status != directory.LEFT)):
        if row.userid not in seen:  # user/list omits members who left
            directory.upsert_member(session, row.userid, status=directory.LEFT, now=now)
            counts.left += 1
    return counts
