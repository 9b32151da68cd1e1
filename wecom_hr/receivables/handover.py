"""Receivables follow the customer (issue 17): when a departure moves a customer, its open receivables move too.

A transferred customer's open items go to the member WeCom moved the customer to. A refused or
unmatched customer's items (and, when the departure completes, anything the leaver still holds) go to
the leaver's manager until HR picks a new successor and that transfer completes. Each move keeps the
first owner in ``original_salesperson`` and writes a ReceivableHandover row (the item's history) and
one audit entry. Reminders, the follow-up page and the console key on ``salesperson``, so they follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage import audit, directory
from storage.departures import CUSTOMER, DONE, get, items
from storage.receivables import UNPAID, Receivable, ReceivableHandover

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

TRANSFERRED, UNRESOLVED = "transferred", "unresolved"


def manager_of(session: Session, leaver: str) -> str | None:
    """Who holds a leaver's unresolved receivables: their first manager still here."""
    for userid in directory.managers_of(session, leaver):
        found = directory.member(session, userid)
        if found is not None and found.status != directory.LEFT:
            return userid
    return None


def _held(session: Session, departure_id: int, leaver: str, external_userid: str | None) -> list[Receivable]:
    """Open items still with the leaver, or parked with the manager by this departure."""
    parked = select(ReceivableHandover.receivable_id).where(ReceivableHandover.departure_id == departure_id,
                                                           ReceivableHandover.reason == UNRESOLVED)
    query = select(Receivable).where(Receivable.status.in_(UNPAID), or_(
        Receivable.salesperson == leaver,
        (Receivable.original_salesperson == leaver) & Receivable.id.in_(parked)))
    if external_userid is not None:
        query = query.where(Receivable.external_userid == external_userid)
    return list(session.scalars(query.order_by(Receivable.id)))


def move(session: Session, departure_id: int, leaver: str, rows: list[Receivable], to: str, reason: str,
         now: datetime) -> int:
    moved = [r for r in rows if r.salesperson != to]
    for r in moved:
        session.add(ReceivableHandover(receivable_id=r.id, departure_id=departure_id, external_userid=r.external_userid,
                                       from_userid=r.salesperson, to_userid=to, reason=reason, at=now))
        r.original_salesperson = r.original_salesperson or r.salesperson
        r.salesperson, r.updated_at = to, now
    if moved:
        audit.record(session, "system", "receivables.handed_over",
                     {"departure_id": departure_id, "leaver": leaver, "to": to, "reason": reason,
                      "order_nos": [r.order_no for r in moved]}, at=now)
    return len(moved)


def on_customer_transferred(ctx: HandlerContext, departure_id: int, handover: str, takeover: str,
                            external_userid: str) -> None:
    """signals.CUSTOMER_TRANSFERRED: WeCom confirmed the customer is the successor's."""
    rows = _held(ctx.session, departure_id, handover, external_userid)
    move(ctx.session, departure_id, handover, rows, takeover, TRANSFERRED, ctx.now)


def on_customer_not_transferred(ctx: HandlerContext, departure_id: int, handover: str, external_userid: str) -> None:
    """signals.CUSTOMER_NOT_TRANSFERRED: refused, successor full, no record — the manager holds them for now."""
    manager = manager_of(ctx.session, handover)
    if manager is None:
        return  # nobody to hold them: they stay put, and reminders route a leaver's items to finance
    rows = [r for r in _held(ctx.session, departure_id, handover, external_userid) if r.salesperson == handover]
    move(ctx.session, departure_id, handover, rows, manager, UNRESOLVED, ctx.now)


def on_departure_completed(ctx: HandlerContext, departure_id: int) -> None:
    """signals.DEPARTURE_COMPLETED: what the leaver still holds goes to the customer's heir, else the manager
    (customers WeCom never listed, items keyed by name only, refusals reported by a transfer_fail callback)."""
    dep = get(ctx.session, departure_id)
    if dep is None:
        return
    heirs = {r.ref: r.takeover for r in items(ctx.session, departure_id, CUSTOMER, (DONE,)) if r.takeover}
    manager = manager_of(ctx.session, dep.userid)
    by_owner: dict[tuple[str, str], list[Receivable]] = {}
    for r in ctx.session.scalars(select(Receivable).where(Receivable.salesperson == dep.userid,
                                                          Receivable.status.in_(UNPAID))):
        heir = heirs.get(r.external_userid) if r.external_userid else None
        if heir:
            by_owner.setdefault((heir, TRANSFERRED), []).append(r)
        elif manager:
            by_owner.setdefault((manager, UNRESOLVED), []).append(r)
    for (to, reason), rows in sorted(by_owner.items()):
        move(ctx.session, departure_id, dep.userid, rows, to, reason, ctx.now)


def history(session: Session, receivable_id: int) -> list[ReceivableHandover]:
    return list(session.scalars(select(ReceivableHandover).where(ReceivableHandover.receivable_id == receivable_id)
                                .order_by(ReceivableHandover.id)))
