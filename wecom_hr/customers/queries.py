"""Reading the pool for the API: filtered pages of customers, one customer with relations and history.

One customer's JSON carries names for what people read: ``member_names`` for every member it mentions
(relations, history, 首个跟进人) and company tags with their ``tag_name`` — an id WeCom sent without
its name (batch/get_by_user, events) is named from any relation in the pool that has it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, select
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
MEMBER_KEYS = ("userid", "new_userid", "first_owner")  # history fields whose values are member userids
TAG_LOOKUP_ROWS = 200


def _tags_in(value: Any) -> list[dict[str, Any]]:
    """Every tag dict inside a relation's tags or a history change (lists, or [old, new] pairs)."""
    if isinstance(value, dict):
        return [value] if "tag_id" in value or "tag_name" in value else []
    if isinstance(value, list):
        return [t for v in value for t in _tags_in(v)]
    return []


def tag_names(session: Session, tags: list[dict[str, Any]]) -> dict[str, str]:
    """tag_id -> tag_name for the company tags given, looking in the pool for those sent without a name."""
    known = {str(t["tag_id"]): str(t["tag_name"]) for t in tags if t.get("tag_id") and t.get("tag_name")}
    unknown = sorted({str(t["tag_id"]) for t in tags if t.get("tag_id")} - set(known))
    if unknown:
        text = cast(CustomerFollow.tags, String)
        rows = session.scalars(select(CustomerFollow.tags).where(or_(*(text.contains(i, autoescape=True)
                                                                       for i in unknown))).limit(TAG_LOOKUP_ROWS))
        for row in rows:
            known.update({str(t["tag_id"]): str(t["tag_name"]) for t in _tags_in(row)
                          if str(t.get("tag_id")) in unknown and t.get("tag_name")})
    return known


def _named_tags(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_named_tags(v, names) for v in value]
    if isinstance(value, dict) and value.get("tag_id") and not value.get("tag_name") and value["tag_id"] in names:
        return {**value, "tag_name": names[value["tag_id"]]}
    return value


def _member_ids(customer: Customer, episodes: list[CustomerFollow], changes: list[CustomerChange]) -> set[str]:
    ids = {customer.first_owner, *(e.userid for e in episodes), *(c.userid or "" for c in changes)}
    for c in changes:
        for key in MEMBER_KEYS:
            value = (c.changes or {}).get(key)
            ids.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return {i for i in ids if i}


def customer_detail(session: Session, customer: Customer, may_read: Callable[[str], bool] = lambda _: True
                    ) -> dict[str, Any]:
    """The customer, relations and history; ``may_read(userid)`` says whose private fields
    (remark, description, mobile numbers, tags) the caller may read — others' are withheld."""
    episodes = follows_of(session, customer.external_userid)
    changes = history_of(session, customer.external_userid)
    names = {u: directory.display_name(session, u) for u in _member_ids(customer, episodes, changes)}
    tags = tag_names(session, _tags_in([e.tags for e in episodes] + [(c.changes or {}).get("tags") for c in changes]))

    def relation(e: CustomerFollow) -> dict[str, Any]:
        out = relation_json(e, names)
        out["tags"] = _named_tags(out["tags"], tags)
        return out if may_read(e.userid) else {**out, **dict.fromkeys(PRIVATE_FIELDS), "private": True}

    def change(c: CustomerChange) -> dict[str, Any]:
        out = change_json(c)
        if "tags" in (out["changes"] or {}):
            out["changes"] = {**out["changes"], "tags": _named_tags(out["changes"]["tags"], tags)}
        out["member_name"] = names.get(c.userid, c.userid) if c.userid else None
        return out if not c.userid or may_read(c.userid) else {**out, "changes": {}, "private": True}

    return {"customer": dict(customer_json(customer), note=customer.note,
                             first_owner_name=names.get(customer.first_owner, customer.first_owner)),
            "relations": {"current": [relation(e) for e in episodes if e.is_open],
                          "past": [relation(e) for e in episodes if not e.is_open]},
            "history": [change(c) for c in changes], "member_names": names}


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
