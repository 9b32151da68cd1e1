"""The ledger's read side for the API and the follow-up page: who may see what, pages, JSON shapes.

Salespeople see their own receivables, managers their team's (directory.team_of), finance and
admin everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage import departures, directory
from storage.db import iso
from storage.receivables import (
    UNPAID,
    CollectionItem,
    CollectionTask,
    FollowUp,
    Payment,
    Receivable,
    ReminderLog,
    followups_of,
    latest_followups,
    latest_letter,
    money,
)
from wecom_hr.receivables import handover

MAX_PER_PAGE = 200
MAX_OVERDUE_DAYS = 36500
MAX_PAGE = 10**6
NOTE_OVERDUE_AFTER = 37  # ReminderPolicy.note_overdue_after with the defaults: the 30-day tier + 7 days


class BadQuery(ValueError):
    """A query parameter that cannot be understood; the message names it."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def visible_owners(session: Session, userid: str, roles: frozenset[str]) -> set[str] | None:
    """The salespeople whose receivables this caller may see; None means everyone's. A member whose
    departure was approved sees none: their rights on the receivables end with the approval (issue 17)."""
    if roles & {"finance", "admin"}:
        return None
    if departures.approved_of(session, userid) is not None:
        return set()
    if directory.is_manager(session, userid):
        return directory.team_of(session, userid)
    return {userid}


def may_see(session: Session, userid: str, roles: frozenset[str], receivable: Receivable) -> bool:
    owners = visible_owners(session, userid, roles)
    if owners is None or receivable.salesperson in owners:
        return True
    # A successor sees only what an approved departure handed to them (not a draft's proposal).
    return departures.inherits_receivable(session, userid, receivable.salesperson, receivable.id,
                                          receivable.external_userid)


def overdue_filter(value: str, today: date) -> ColumnElement[bool] | None:
    """overdue=true|false, or a number of days: at least that many days overdue."""
    text = value.strip().lower()
    if text in ("", "all"):
        return None
    if text in ("1", "true", "yes"):
        return Receivable.status.in_(UNPAID) & (Receivable.due_on < today)
    if text in ("0", "false", "no"):
        return ~(Receivable.status.in_(UNPAID) & (Receivable.due_on < today))
    if text.isascii() and text.isdigit():
        if len(text) > 5 or int(text) > MAX_OVERDUE_DAYS:
            raise BadQuery(f"overdue: a number of days must be at most {MAX_OVERDUE_DAYS}")
        return Receivable.status.in_(UNPAID) & (Receivable.due_on <= date.fromordinal(today.toordinal() - int(text)))
    raise BadQuery("overdue: must be true, false or a number of days")


def page_args(page: str, per_page: str) -> tuple[int, int]:
    raw = [(page or "1").strip(), (per_page or "50").strip()]
    if not all(r.isascii() and r.isdigit() and len(r) <= 7 for r in raw):
        raise BadQuery(f"page and per_page must be numbers (page 1..{MAX_PAGE})")
    p, n = int(raw[0]), int(raw[1])
    if not 1 <= p <= MAX_PAGE or not 1 <= n <= MAX_PER_PAGE:
        raise BadQuery(f"page must be >= 1 and per_page 1..{MAX_PER_PAGE}")
    return p, n


def note_overdue_filter(value: str, today: date, after_days: int) -> ColumnElement[bool] | None:
    """note_overdue=true|false: an unpaid item at least ``after_days`` overdue without any 跟进说明 (issue 17)."""
    text = value.strip().lower()
    if text in ("", "all"):
        return None
    late = (Receivable.status.in_(UNPAID) & (Receivable.due_on <= date.fromordinal(today.toordinal() - after_days))
            & ~select(FollowUp.id).where(FollowUp.receivable_id == Receivable.id).exists())
    if text in ("1", "true", "yes"):
        return late
    if text in ("0", "false", "no"):
        return ~late
    raise BadQuery("note_overdue: must be true or false")


def listing(session: Session, owners: set[str] | None, today: date, *, overdue: str = "", salesperson: str = "",
            page: int = 1, per_page: int = 50, note_overdue: str = "",
            note_after: int = NOTE_OVERDUE_AFTER) -> Page:
    conditions: list[ColumnElement[bool]] = []
    if owners is not None:
        conditions.append(Receivable.salesperson.in_(sorted(owners)))
    if salesperson:
        conditions.append(Receivable.salesperson == salesperson)
    for cond in (overdue_filter(overdue, today), note_overdue_filter(note_overdue, today, note_after)):
        if cond is not None:
            conditions.append(cond)
    total = session.scalar(select(func.count()).select_from(Receivable).where(*conditions)) or 0
    rows = list(session.scalars(select(Receivable).where(*conditions)
                                .order_by(Receivable.due_on, Receivable.order_no)
                                .limit(per_page).offset((page - 1) * per_page)))
    notes = latest_followups(session, [r.id for r in rows])
    return Page([receivable_json(r, today, notes.get(r.id), note_after) for r in rows], total, page, per_page)


def followup_json(f: FollowUp) -> dict[str, Any]:
    return {"note": f.note, "promised_on": iso(f.promised_on),
            "author": f.author, "created_at": f.created_at.isoformat()}


def receivable_json(r: Receivable, today: date, latest: FollowUp | None = None,
                    note_after: int | None = None) -> dict[str, Any]:
    """``note_after`` given (the caller looked the notes up): ``note_overdue`` says the 跟进说明 is late."""
    overdue = (today - r.due_on).days if r.status in UNPAID and r.due_on < today else 0
    out = {"order_no": r.order_no, "external_userid": r.external_userid, "customer_name": r.customer_name,
           "salesperson": r.salesperson, "original_salesperson": r.original_salesperson,
           "amount": str(money(r.amount)), "currency": r.currency,
           "issued_on": iso(r.issued_on), "due_on": r.due_on.isoformat(),
           "paid_amount": str(money(r.paid_amount)), "outstanding": str(r.outstanding), "status": r.status,
           "days_overdue": overdue, "followup": followup_json(latest) if latest else None}
    if note_after is not None:
        out["note_overdue"] = latest is None and overdue >= note_after
    return out


def detail_json(session: Session, r: Receivable, today: date,
                note_after: int = NOTE_OVERDUE_AFTER) -> dict[str, Any]:
    payments = session.scalars(select(Payment).where(Payment.receivable_id == r.id).order_by(Payment.id))
    tiers = session.scalars(select(ReminderLog.tier_days).where(ReminderLog.receivable_id == r.id)
                            .order_by(ReminderLog.tier_days))
    notes = followups_of(session, r.id)
    return {**receivable_json(r, today, notes[0] if notes else None, note_after),
            "followups": [followup_json(f) for f in notes],
            "handovers": [{"departure_id": h.departure_id, "from": h.from_userid, "to": h.to_userid,
                           "reason": h.reason, "at": h.at.isoformat()} for h in handover.history(session, r.id)],
            "payments": [{"amount": str(money(p.amount)), "paid_on": p.paid_on.isoformat(), "source": p.source,
                          "reference": p.reference} for p in payments],
            "reminded_tiers": list(tiers)}


def collections(session: Session, status: str, page: int, per_page: int) -> Page:
    cond = [] if status == "all" else [CollectionTask.status == status]
    total = session.scalar(select(func.count()).select_from(CollectionTask).where(*cond)) or 0
    tasks = list(session.scalars(select(CollectionTask).where(*cond).order_by(CollectionTask.id)
                                 .limit(per_page).offset((page - 1) * per_page)))
    return Page([task_json(session, t) for t in tasks], total, page, per_page)


def task_items(session: Session, task_id: int) -> list[Receivable]:
    return list(session.scalars(select(Receivable).join(CollectionItem, CollectionItem.receivable_id == Receivable.id)
                                .where(CollectionItem.task_id == task_id).order_by(Receivable.due_on)))


def task_json(session: Session, task: CollectionTask, today: date | None = None) -> dict[str, Any]:
    items = task_items(session, task.id)
    unpaid = [r for r in items if r.status in UNPAID]
    totals: dict[str, str] = {}
    for r in unpaid:
        totals[r.currency] = str(money(totals.get(r.currency, "0")) + r.outstanding)
    letter = latest_letter(session, task.id)
    out = {"id": task.id, "customer_name": task.customer_name, "external_userid": task.external_userid,
           "status": task.status, "opened_at": task.opened_at.isoformat(), "open_items": len(unpaid),
           "outstanding": totals, "letter_version": letter.version if letter else None}
    if today is not None:
        out["items"] = [receivable_json(r, today) for r in items]
    return out
