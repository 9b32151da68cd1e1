"""The report: a departure as JSON (API and CLI) — state, per-customer states, chats, receivables, cards.

A group chat is listed by its name when WeCom's groupchat/get gave one (storage.groupchat_names: the
archive and ``learn_chat_names`` fill it), else by its id; ``chat_id`` is always there.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import directory, groupchat_names
from storage.db import iso
from storage.departures import (
    CUSTOMER,
    GROUP_CHAT,
    RECEIVABLE,
    Departure,
    DepartureItem,
    cards_of,
    heir_of,
    items,
    status_counts,
)
from storage.receivables import money
from wecom_hr.departures import texts


def summary_json(session: Session, dep: Departure) -> dict[str, Any]:
    return {"id": dep.id, "userid": dep.userid, "member_name": dep.member_name, "state": dep.state,
            "last_day": dep.last_day.isoformat(), "successor": dep.successor,
            "successor_name": directory.display_name(session, dep.successor) if dep.successor else None,
            "source": dep.source, "started_by": dep.started_by, "sp_no": dep.sp_no, "note": dep.note,
            "summary": dep.summary, "decided_by": dep.decided_by, "decided_at": iso(dep.decided_at),
            "created_at": iso(dep.created_at), "updated_at": iso(dep.updated_at),
            "completed_at": iso(dep.completed_at)}


def item_json(row: DepartureItem, chat_names: dict[str, str] | None = None) -> dict[str, Any]:
    name = (chat_names or {}).get(row.ref) or row.name
    return {"ref": row.ref, "name": name, "status": row.status,
            "status_text": texts.result_text(row.status, row.errcode), "errcode": row.errcode,
            "successor": row.successor, "takeover": row.takeover,
            "requested_at": iso(row.requested_at), "finished_at": iso(row.finished_at), **_public(row.detail)}


def _public(detail: dict[str, Any]) -> dict[str, Any]:
    keep = ("corp_name", "remark", "last_contact", "added_at", "in_pool", "in_wecom", "fail_reason", "late",
            "last_chat", "no_chat_90d", "open_receivables", "receivables_outstanding")  # 离职前核查 (issue 17)
    return {k: detail[k] for k in keep if k in detail}


def chats_json(session: Session, dep: Departure,
               keep: Callable[[DepartureItem], bool] = lambda _: True) -> list[dict[str, Any]]:
    rows = [r for r in items(session, dep.id, GROUP_CHAT) if keep(r)]
    names = groupchat_names.names_of(session, (r.ref for r in rows))
    return [dict(item_json(r, names), chat_id=r.ref) for r in rows]


def chat_ids(session: Session, dep: Departure) -> list[str]:
    """The departure's group chats, for learn_chat_names (wecom_hr.archive.results) to name them."""
    return [r.ref for r in items(session, dep.id, GROUP_CHAT)]


def customers_page(session: Session, dep: Departure, successor: str | None, page: int, per_page: int) -> dict[str, Any]:
    query = select(DepartureItem).where(DepartureItem.departure_id == dep.id, DepartureItem.kind == CUSTOMER)
    if successor:
        query = query.where(func.coalesce(DepartureItem.takeover, DepartureItem.successor, dep.successor or "")
                            == successor)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(DepartureItem.id).limit(per_page).offset((page - 1) * per_page))
    return {"counts": status_counts(session, dep.id, CUSTOMER), "total": int(total), "page": page,
            "per_page": per_page, "items": [item_json(r) for r in rows]}


def receivables_json(session: Session, dep: Departure) -> dict[str, Any]:
    """The snapshot's open receivables and who inherits each: the customer's successor, else the default."""
    heirs = {r.ref: heir_of(r, dep) for r in items(session, dep.id, CUSTOMER)}
    rows, total, overdue = [], Decimal("0.00"), 0
    for r in items(session, dep.id, RECEIVABLE):
        ext = str(r.detail.get("external_userid") or "")
        heir = heirs.get(ext) or dep.successor
        total += money(r.detail.get("outstanding"))
        overdue += int(bool(r.detail.get("overdue")))
        rows.append({"receivable_id": int(r.ref), **r.detail, "successor": heir})
    return {"total_outstanding": str(total), "overdue": overdue, "items": rows}


def departure_json(session: Session, dep: Departure, successor: str | None = None, page: int = 1,
                   per_page: int = 500) -> dict[str, Any]:
    return {**summary_json(session, dep),
            "customers": customers_page(session, dep, successor, page, per_page),
            "group_chats": {"counts": status_counts(session, dep.id, GROUP_CHAT), "items": chats_json(session, dep)},
            "receivables": receivables_json(session, dep),
            "cards": [{"task_id": c.task_id, "card_type": c.card_type, "approvers": c.approvers, "status": c.status,
                       "decision": c.decision, "decided_by": c.decided_by, "decided_at": iso(c.decided_at)}
                      for c in cards_of(session, dep.id)]}


def successor_json(session: Session, dep: Departure, successor: str, page: int = 1,
                   per_page: int = 500) -> dict[str, Any]:
    """What a successor of an approved departure may read: who left, when, and only the customers,
    group chats and receivables handed to them — no HR note, approvers or others' shares."""
    chats = chats_json(session, dep, lambda r: heir_of(r, dep) == successor)
    mine = [r for r in receivables_json(session, dep)["items"] if r["successor"] == successor]
    return {"id": dep.id, "userid": dep.userid, "member_name": dep.member_name, "state": dep.state,
            "last_day": dep.last_day.isoformat(), "viewer": "successor",
            "customers": customers_page(session, dep, successor, page, per_page),
            "group_chats": {"items": chats},
            "receivables": {"total_outstanding": str(sum((money(r.get("outstanding")) for r in mine), Decimal("0.00"))),
                            "overdue": sum(bool(r.get("overdue")) for r in mine), "items": mine}}


def list_json(session: Session, state: str | None, page: int, per_page: int) -> dict[str, Any]:
    query = select(Departure)
    if state:
        query = query.where(Departure.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Departure.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return {"items": [summary_json(session, d) for d in rows], "total": int(total), "page": page, "per_page": per_page}
