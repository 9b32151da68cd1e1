"""Pre-check and handover list: what the member holds, written as the departure's items.

Customers are the union of WeCom's list (batch/get_by_user, or get_unassigned_list for a member who
left: what a transfer can actually move) and the customer pool (remarks, how long the relation runs);
one missing from WeCom is listed but skipped.
Group chats come from groupchat/list, open receivables from the ledger, the last contact from the
chat archive when it holds the conversation. Pages of 100/1000: a few calls, never one per customer.
离职前核查 (issue 17): each customer is flagged when no archived chat is newer than 90 days and with
its open receivables; the departure's summary keeps the counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import column, func, insert, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import Customer, CustomerFollow
from storage.db import iso
from storage.departures import (
    CUSTOMER,
    GROUP_CHAT,
    OPEN,
    PENDING,
    RECEIVABLE,
    SKIPPED,
    Departure,
    DepartureItem,
)
from storage.receivables import UNPAID, Receivable, money
from wecom_hr.departures.texts import Totals
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError

log = logging.getLogger(__name__)
NO_CUSTOMERS = frozenset({84061})  # a member without customers
UNKNOWN_MEMBER = 60111  # not an active member: one who left, or one WeCom never had
UNASSIGNED_PAGE = 1000
CHUNK = 500
NO_CHAT_DAYS = 90  # 离职前核查: a customer nobody chatted with for this long is flagged
_docs = table("archive_docs", column("customer"), column("conv"), column("msgtime"))


@dataclass
class Holdings:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # ext -> detail
    chats: list[str] = field(default_factory=list)
    receivables: list[Receivable] = field(default_factory=list)
    wecom_ok: bool = True
    last_chats: dict[str, int] | None = None  # ext -> newest archived message (ms), any chat; None: no archive

    @property
    def transferable(self) -> int:
        return sum(1 for d in self.customers.values() if d["in_wecom"])


def wecom_customers(client: WeComClient, userid: str, left: bool = False) -> dict[str, dict[str, Any]] | None:
    """The member's customers as WeCom lists them; None when WeCom could not be asked.

    A member who left (``left``, or batch/get_by_user answering 60111) is listed by get_unassigned_list
    (WECOM.md §6 Members who left): the customers resigned/transfer_customer can move."""
    if left:
        return unassigned_customers(client, userid)
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    while True:
        try:
            page = client.extra.batch_get_by_user([userid], cursor, 100)
        except WeComAPIError as exc:
            if exc.errcode == UNKNOWN_MEMBER:
                return unassigned_customers(client, userid)
            if exc.errcode in NO_CUSTOMERS:
                return found
            log.warning("departure snapshot: %s", exc)
            return None
        for entry in page.get("external_contact_list") or []:
            contact, follow = entry.get("external_contact") or {}, entry.get("follow_info") or {}
            ext = str(contact.get("external_userid") or "")
            if ext:
                found[ext] = {"name": str(contact.get("name") or ""), "corp_name": str(contact.get("corp_name") or ""),
                              "remark": str(follow.get("remark") or ""), "added_at": _epoch(follow.get("createtime"))}
        cursor = str(page.get("next_cursor") or "")
        if not cursor:
            return found


def unassigned_customers(client: WeComClient, userid: str) -> dict[str, dict[str, Any]] | None:
    """The leaver's rows of get_unassigned_list (every leaver's, all pages); names come from the pool."""
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    try:
        while True:
            page = client.extra.get_unassigned_list(cursor, UNASSIGNED_PAGE)
            for row in page.get("info") or []:
                ext = str(row.get("external_userid") or "")
                if ext and str(row.get("handover_userid") or "") == userid:
                    found[ext] = {"left_at": _epoch(row.get("dimission_time"))}
            cursor = str(page.get("next_cursor") or "")
            if page.get("is_last") or not cursor:
                return found
    except WeComAPIError as exc:
        log.warning("departure snapshot (left): %s", exc)
        return None


def has_left(session: Session, userid: str) -> bool:
    member = directory.member(session, userid)
    return member is not None and member.status == directory.LEFT


def _epoch(value: Any) -> str | None:
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat() if seconds > 0 else None


def pool_customers(session: Session, userid: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(select(CustomerFollow.external_userid, Customer.name, Customer.corp_name,
                                  CustomerFollow.remark, CustomerFollow.follow_created_at)
                           .join(Customer, Customer.external_userid == CustomerFollow.external_userid)
                           .where(CustomerFollow.userid == userid, CustomerFollow.ended_at.is_(None)))
    return {ext: {"name": name, "corp_name": corp, "remark": remark, "added_at": iso(added)}
            for ext, name, corp, remark, added in rows}


def group_chats(client: WeComClient, userid: str) -> list[str]:
    chats: list[str] = []
    cursor = ""
    while True:
        page = client.extra.list_group_chats([userid], cursor, 1000)
        chats += [str(c["chat_id"]) for c in page.get("group_chat_list") or [] if c.get("chat_id")]
        cursor = str(page.get("next_cursor") or "")
        if not cursor:
            return chats


def open_receivables(session: Session, userid: str) -> list[Receivable]:
    return list(session.scalars(select(Receivable).where(Receivable.salesperson == userid,
                                                         Receivable.status.in_(UNPAID)).order_by(Receivable.due_on)))


def last_contacts(session: Session, userid: str, exts: list[str]) -> dict[str, str]:
    """Newest archived one-to-one message per customer (ISO), when the chat archive is there."""
    found: dict[str, str] = {}
    try:
        with session.begin_nested():
            for start in range(0, len(exts), CHUNK):
                chunk = exts[start:start + CHUNK]
                convs = ["p:" + "|".join(sorted({userid, ext})) for ext in chunk]
                rows = session.execute(select(_docs.c.customer, func.max(_docs.c.msgtime))
                                       .where(_docs.c.customer.in_(chunk), _docs.c.conv.in_(convs))
                                       .group_by(_docs.c.customer))
                for ext, ms in rows:
                    found[str(ext)] = datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat()
    except SQLAlchemyError:  # no chat archive in this installation
        return {}
    return found


def gather(session: Session, client: WeComClient, userid: str) -> Holdings:
    listed = wecom_customers(client, userid, left=has_left(session, userid))
    pool = pool_customers(session, userid)
    held = Holdings(wecom_ok=listed is not None)
    for ext in sorted(set(pool) | set(listed or {})):
        detail = {**pool.get(ext, {}), **{k: v for k, v in (listed or {}).get(ext, {}).items() if v}}
        held.customers[ext] = {**detail, "in_pool": ext in pool, "in_wecom": listed is None or ext in listed}
    contacts = last_contacts(session, userid, list(held.customers))
    for ext, detail in held.customers.items():
        detail["last_contact"] = contacts.get(ext)
    held.chats = group_chats(client, userid)
    held.receivables = open_receivables(session, userid)
    held.last_chats = last_chats(session, list(held.customers))
    return held


def last_chats(session: Session, exts: list[str]) -> dict[str, int] | None:
    """Newest archived message per customer in any conversation (ms); None when no chat archive is kept
    here (no table, or nothing ever archived): then "no chat" would flag everyone and mean nothing."""
    found: dict[str, int] = {}
    try:
        with session.begin_nested():
            if session.execute(select(_docs.c.msgtime).limit(1)).first() is None:
                return None
            for start in range(0, len(exts), CHUNK):
                rows = session.execute(select(_docs.c.customer, func.max(_docs.c.msgtime))
                                       .where(_docs.c.customer.in_(exts[start:start + CHUNK]))
                                       .group_by(_docs.c.customer))
                found.update({str(ext): int(ms) for ext, ms in rows})
    except SQLAlchemyError:  # no chat archive in this installation
        return None
    return found


def precheck(held: Holdings, now: datetime) -> dict[str, Any]:
    """离职前核查 flags on each customer: no archived chat in NO_CHAT_DAYS, open receivables (count, amount)."""
    owed: dict[str, list[Receivable]] = {}
    for r in held.receivables:
        if r.external_userid:
            owed.setdefault(r.external_userid, []).append(r)
    since = (now - timedelta(days=NO_CHAT_DAYS)).timestamp() * 1000
    for ext, detail in held.customers.items():
        mine = owed.get(ext, [])
        detail["open_receivables"] = len(mine)
        if mine:
            detail["receivables_outstanding"] = str(sum((r.outstanding for r in mine), Decimal("0.00")))
        if held.last_chats is not None:
            newest = held.last_chats.get(ext)
            detail["last_chat"] = datetime.fromtimestamp(newest / 1000, UTC).isoformat() if newest else None
            detail["no_chat_90d"] = newest is None or newest < since
    return {"archive": held.last_chats is not None, "days": NO_CHAT_DAYS,
            "no_chat_90d": sum(1 for d in held.customers.values() if d.get("no_chat_90d")),
            "with_receivables": sum(1 for d in held.customers.values() if d.get("open_receivables"))}


def totals_of(held: Holdings, today: date) -> Totals:
    outstanding = sum((r.outstanding for r in held.receivables), Decimal("0.00"))
    overdue = sum(1 for r in held.receivables if r.due_on < today)
    return Totals(held.transferable, len(held.chats), money(outstanding), overdue)


def write(session: Session, departure: Departure, held: Holdings, today: date, now: datetime) -> Totals:
    """Store the handover list as items (one multi-row insert) and the card's totals on the departure."""
    checked = precheck(held, now)
    rows: list[dict[str, Any]] = []
    for ext, detail in held.customers.items():
        label = detail.get("remark") or detail.get("name") or ext
        rows.append(_row(departure.id, CUSTOMER, ext, label, PENDING if detail["in_wecom"] else SKIPPED, detail, now))
    rows += [_row(departure.id, GROUP_CHAT, chat_id, chat_id, PENDING, {}, now) for chat_id in held.chats]
    rows += [_row(departure.id, RECEIVABLE, str(r.id), r.customer_name or r.order_no, OPEN, _receivable(r, today), now)
             for r in held.receivables]
    if rows:
        session.execute(insert(DepartureItem), rows)
    totals = totals_of(held, today)
    departure.summary = {"customers": totals.customers, "chats": totals.chats,
                         "outstanding": str(totals.outstanding), "overdue": totals.overdue,
                         "not_in_wecom": sum(1 for d in held.customers.values() if not d["in_wecom"]),
                         "wecom_listed": held.wecom_ok, "precheck": checked}
    return totals


def _row(departure_id: int, kind: str, ref: str, name: str, status: str, detail: dict[str, Any],
         now: datetime) -> dict[str, Any]:
    return {"departure_id": departure_id, "kind": kind, "ref": ref, "name": str(name)[:255], "status": status,
            "detail": detail, "attempts": 0, "updated_at": now}


def _receivable(r: Receivable, today: date) -> dict[str, Any]:
    return {"order_no": r.order_no, "external_userid": r.external_userid, "customer_name": r.customer_name,
            "outstanding": str(r.outstanding), "currency": r.currency, "due_on": r.due_on.isoformat(),
            "overdue": r.due_on < today}


def totals_from_summary(summary: dict[str, Any]) -> Totals:
    return Totals(int(summary.get("customers", 0)), int(summary.get("chats", 0)),
                  money(summary.get("outstanding", "0")), int(summary.get("overdue", 0)))
