"""Directory sync: change_contact events and a full sync from department/list + user/list.

update_user carries only the fields that changed, so only those are applied. A member who leaves
(delete_user, or Status 5) stays with status LEFT: their customers and history keep a name.
A renamed userid (NewUserID) is renamed in the directory and in the customer pool alike.

The full sync walks department/list and reads each department with user/list: the current page
has no fetch_child (WECOM.md §6 Directory (doc 96260)). A token sees only its visible range, so a
member missing from the walk is asked about with user/get and marked left only on 60111.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import CustomerAlert, CustomerFollow
from wecom_hr import signals
from wecom_hr.customers.fields import Origin
from wecom_hr.customers.pool import history
from wecom_hr.dispatch import HandlerContext
from wecom_hr.events import Event
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError, WeComError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)

MAX_IDS = 1000  # a member belongs to at most a few hundred departments
NOT_VISIBLE, NO_SUCH_MEMBER, NO_SUCH_DEPARTMENT = 60011, 60111, 60123  # WECOM.md §6 Directory (doc 96260)
SYNC_EVENT = 0  # listeners get a HandlerContext; a full sync has no inbox event behind it
SHOWN_USERIDS = 5  # how many userids a warning names


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
    """delete_user; its handler (handlers/contacts.py) starts the departure itself, before this write."""
    directory.upsert_member(ctx.session, str(event.get("user_id")), status=directory.LEFT, now=ctx.now)


def department_changed(ctx: HandlerContext, event: Event) -> None:
    """create_party / update_party (Id, Name, ParentId; update_party may omit unchanged ones)."""
    dept_id = _opt_int(event.get("id"))
    if dept_id is None:
        return
    row = ctx.session.get(directory.Department, dept_id)
    name = event.get("name") or (row.name if row else str(dept_id))
    parent = _opt_int(event.get("parent_id")) if "parent_id" in event.fields else (row.parent_id if row else None)
    directory.upsert_department(ctx.session, dept_id, name, parent, ctx.now)


def department_deleted(ctx: HandlerContext, event: Event) -> None:
    """delete_party (Id): the department and its member links go; the members stay."""
    dept_id = _opt_int(event.get("id"))
    if dept_id is not None:
        removed = directory.delete_department(ctx.session, dept_id)
        log.info("department %s deleted in WeCom; %d member link(s) removed", dept_id, removed)


def tag_changed(ctx: HandlerContext, event: Event) -> None:
    """update_tag: we keep no member tags, so the change is only noted."""
    f = event.fields
    sizes = [len(str(f.get(k) or "").split(",")) if f.get(k) else 0
             for k in ("add_user_items", "del_user_items", "add_party_items", "del_party_items")]
    log.info("tag %s changed in WeCom (members +%d/-%d, departments +%d/-%d); member tags are not stored",
             str(event.get("tag_id"))[:32], *sizes)


def _is_left(session: Session, userid: str) -> bool:
    row = directory.member(session, userid)
    return row is not None and row.status == directory.LEFT


def _notify_left(ctx: HandlerContext, userid: str) -> None:
    signals.emit(signals.MEMBER_LEFT, ctx, userid)  # wecom_hr/signals.py lists who listens


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
    not_visible: int = 0  # in our directory, outside the token's visible range: kept as they were


def sync_directory(session: Session, client: WeComClient, now: datetime,
                   runtime: Runtime | None = None) -> DirectoryCounts:
    """Full sync: every department in range, each one's members; absent members are asked about one by one.

    With ``runtime``, members the sync marks left are announced (signals.MEMBER_LEFT), as delete_user does.
    """
    counts = DirectoryCounts()
    departments = client.call("GET", "department/list").get("department") or []
    for d in departments:
        directory.upsert_department(session, int(d["id"]), str(d.get("name") or d["id"]),
                                    int(d.get("parentid") or 0) or None, now)
    counts.departments = len(departments)
    users = _members_by_department(client, [int(d["id"]) for d in departments])
    for u in users.values():
        _upsert_listed(session, u, now)
    counts.members = len(users)
    session.flush()
    missing = [row.userid for row in session.scalars(select(directory.Member)
                                                     .where(directory.Member.status != directory.LEFT)
                                                     .order_by(directory.Member.userid))
               if row.userid not in users]
    _settle_missing(session, client, now, runtime, missing, counts)
    return counts


def _members_by_department(client: WeComClient, dept_ids: list[int]) -> dict[str, dict[str, Any]]:
    """user/list of each department, merged by userid: every department link and leader flag kept."""
    users: dict[str, dict[str, Any]] = {}
    links: dict[str, dict[int, int]] = {}
    for dept_id in dept_ids:
        try:
            listed = client.call("GET", "user/list", params={"department_id": dept_id}).get("userlist") or []
        except WeComAPIError as exc:
            if exc.errcode not in (NOT_VISIBLE, NO_SUCH_DEPARTMENT):
                raise
            log.warning("directory sync: department %s left the range or was deleted (errcode %s); skipped",
                        dept_id, exc.errcode)
            continue
        for u in listed:
            userid = str(u["userid"])
            users.setdefault(userid, u)
            member_links = links.setdefault(userid, {})
            flags = ints(u.get("is_leader_in_dept"))
            for i, dept in enumerate(ints(u.get("department")) or [dept_id]):
                member_links[dept] = member_links.get(dept, 0) | (flags[i] if i < len(flags) else 0)
            member_links.setdefault(dept_id, 0)
    return {userid: {**u, "department": list(links[userid]), "is_leader_in_dept": list(links[userid].values())}
            for userid, u in users.items()}


def _upsert_listed(session: Session, u: dict[str, Any], now: datetime) -> None:
    directory.upsert_member(session, str(u["userid"]), name=str(u.get("name") or u["userid"]),
                            status=int(u.get("status") or directory.ACTIVE), departments=ints(u.get("department")),
                            leader_in=ints(u.get("is_leader_in_dept")),
                            main_department=_opt_int(u.get("main_department")),
                            position=str(u.get("position") or ""), now=now)


def _settle_missing(session: Session, client: WeComClient, now: datetime, runtime: Runtime | None,
                    missing: list[str], counts: DirectoryCounts) -> None:
    """Members the walk did not list: left only if WeCom says the userid is gone (60111)."""
    not_visible: list[str] = []
    for userid in missing:
        try:
            found = client.call("GET", "user/get", params={"userid": userid})
        except WeComError as exc:
            if exc.errcode == NO_SUCH_MEMBER:
                _mark_left(session, userid, now, runtime)
                counts.left += 1
            elif exc.errcode == NOT_VISIBLE:
                not_visible.append(userid)
            else:
                log.warning("directory sync: user/get %s answered %s; kept as they were", userid, exc)
            continue
        if int(found.get("status") or directory.ACTIVE) == directory.LEFT:
            _mark_left(session, userid, now, runtime)
            counts.left += 1
        else:  # visible by userid although outside every department in range
            _upsert_listed(session, found, now)
            counts.members += 1
    counts.not_visible = len(not_visible)
    if not_visible:
        log.warning("directory sync: %d member(s) not visible to the app, kept as they were: %s%s",
                    len(not_visible), ", ".join(not_visible[:SHOWN_USERIDS]),
                    " …" if len(not_visible) > SHOWN_USERIDS else "")


def _mark_left(session: Session, userid: str, now: datetime, runtime: Runtime | None) -> None:
    """As member_left: status LEFT, then the listeners (when there is a runtime to hand them)."""
    was_left = _is_left(session, userid)
    directory.upsert_member(session, userid, status=directory.LEFT, now=now)
    if not was_left and runtime is not None:
        _notify_left(HandlerContext(runtime, session, SYNC_EVENT, now), userid)
