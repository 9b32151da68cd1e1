"""Reading the pool for the API: filtered pages of customers, one customer with relations and history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import Customer, CustomerChange, CustomerFollow, follows_of, history_of
from storage.db import iso
from wecom_hr.customers.access import Scope, followed_by, members_in, visible


class ForbiddenFilterError(ValueError):
    """The caller asked for an owner or a department outside what they may see."""


@dataclass(frozen=True)
class Filters:
    owner: str = ""
    department: int | None = None
    status: str = ""
    q: str = ""
    page: int = 1
    per_page: int = 20


def _conditions(session: Session, scope: Scope, f: Filters) -> list[ColumnElement[bool]]:
    conds = [visible(scope)]
    if f.owner:
        if not scope.allows_owner(f.owner):
            raise ForbiddenFilterError("owner is outside what you may see")
        conds.append(followed_by({f.owner}))
    if f.department is not None:
        members = members_in(session, f.department)
        if not scope.everything:
            if not members & scope.owners:
                raise ForbiddenFilterError("department is outside what you may see")
            members &= scope.owners
        conds.append(followed_by(members or {""}))
    if f.status:
        conds.append(Customer.status == f.status)
    if f.q:
        like = f"%{f.q.lower()}%"
        remark = select(CustomerFollow.id).where(CustomerFollow.external_userid == Customer.external_userid,
                                                 func.lower(CustomerFollow.remark).like(like)).exists()
        conds.append(or_(func.lower(Customer.name).like(like), func.lower(Customer.corp_name).like(like),
                         Customer.external_userid == f.q, remark))
    return conds


def list_customers(session: Session, scope: Scope, f: Filters) -> dict[str, Any]:
    conds = _conditions(session, scope, f)
    total = session.scalar(select(func.count()).select_from(Customer).where(*conds)) or 0
    rows = list(session.scalars(select(Customer).where(*conds)
                                .order_by(Customer.created_at.desc(), Customer.external_userid)
                                .limit(f.per_page).offset((f.page - 1) * f.per_page)))
    owners = _owners(session, [r.external_userid for r in rows])
    return {"items": [dict(customer_json(r), owners=owners.get(r.external_userid, [])) for r in rows],
            "page": f.page, "per_page": f.per_page, "total": int(total)}


def _owners(session: Session, exts: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if exts:
        query = select(CustomerFollow.external_userid, CustomerFollow.userid).where(
            CustomerFollow.external_userid.in_(exts), CustomerFollow.ended_at.is_(None)).order_by(CustomerFollow.id)
        for ext, userid in session.execute(query):
            out.setdefault(ext, []).append(userid)
    return out


# What one member wrote about the customer on their own relation: not for a colleague who shares it.
PRIVATE_FIELDS = ("remark", "description", "remark_corp_name", "remark_mobiles", "tags", "state")


def customer_detail(session: Session, customer: Customer, may_read: Callable[[str], bool] = lambda _: True
                    ) -> dict[str, Any]:
    """The customer, relations and history; ``may_read(userid)`` says whose private fields
    (remark, description, mobile numbers, tags) the caller may read — others' are withheld."""
    episodes = follows_of(session, customer.external_userid)
    names = {u: directory.display_name(session, u) for u in {e.userid for e in episodes}}

    def relation(e: CustomerFollow) -> dict[str, Any]:
        out = relation_json(e, names)
        return out if may_read(e.userid) else {**out, **dict.fromkeys(PRIVATE_FIELDS), "private": True}

    def change(c: CustomerChange) -> dict[str, Any]:
        out = change_json(c)
        return out if not c.userid or may_read(c.userid) else {**out, "changes": {}, "private": True}

    return {"customer": dict(customer_json(customer), note=customer.note),
            "relations": {"current": [relation(e) for e in episodes if e.is_open],
                          "past": [relation(e) for e in episodes if not e.is_open]},
            "history": [change(c) for c in history_of(session, customer.external_userid)]}


def customer_json(c: Customer) -> dict[str, Any]:
    return {"external_userid": c.external_userid, "name": c.name, "type": c.type, "corp_name": c.corp_name,
            "corp_full_name": c.corp_full_name, "position": c.position, "gender": c.gender,
            "status": c.status, "first_owner": c.first_owner, "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at)}


def relation_json(e: CustomerFollow, names: dict[str, str]) -> dict[str, Any]:
    return {"userid": e.userid, "member_name": names.get(e.userid, e.userid), "remark": e.remark,
            "description": e.description, "remark_corp_name": e.remark_corp_name,
            "remark_mobiles": e.remark_mobiles, "tags": e.tags, "add_way": e.add_way, "state": e.state,
            "half": e.half, "createtime": iso(e.follow_created_at), "opened_at": iso(e.opened_at),
            "ended_at": iso(e.ended_at), "end_reason": e.end_reason,
            "archive_agreed_at": iso(e.archive_agreed_at)}


def change_json(c: CustomerChange) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "userid": c.userid, "at": iso(c.at), "occurred_at": iso(c.occurred_at),
            "source": c.source, "event_id": c.event_id, "api_call": c.api_call, "run_id": c.run_id,
            "actor": c.actor, "changes": c.changes}
