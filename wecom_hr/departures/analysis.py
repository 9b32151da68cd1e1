"""The departure analysis (离职分析报告, issue 17): what each approved handover kept, and why people left.

Per departure:
- receivables handed over: the snapshot's RECEIVABLE items, each valued at what was still owed at the
  approval (the ledger's outstanding plus what was paid since), and what was collected since: payments
  recorded after the approval. Amounts in [receivables] default_currency; others are only counted.
- customers transferred (done) / refused / not moved (at limit, no record, failed), and *lost*: a
  transferred customer whose relation with the member it went to ended (customer_deleted or
  member_deleted) within 90 days of the transfer.
- the reasons the leaver ticked in the questionnaire.
Across departures (last day in [from, to], the member's main department in ``department``'s subtree):
reasons by month of the last day, customer loss rate and receivables recovery rate, by department.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import departure_exit, directory
from storage.customers import CUSTOMER_DELETED, MEMBER_DELETED, CustomerFollow
from storage.db import iso
from storage.departures import (
    AT_LIMIT,
    CUSTOMER,
    DONE,
    FAILED,
    HANDED_OVER,
    NO_RECORD,
    RECEIVABLE,
    REFUSED,
    Departure,
    items,
)
from storage.receivables import Payment, Receivable, money

WINDOW = timedelta(days=90)
LOSS_REASONS = (CUSTOMER_DELETED, MEMBER_DELETED)
UNMOVED = (AT_LIMIT, NO_RECORD, FAILED)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    department: int | None = None


@dataclass
class Figures:
    """Counts and amounts that add up across departures."""
    departures: int = 0
    answered: int = 0
    transferred: int = 0
    refused: int = 0
    unmoved: int = 0
    lost: int = 0
    receivables: int = 0
    other_currency: int = 0
    handed_over: Decimal = ZERO
    collected: Decimal = ZERO
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        for name in ("departures", "answered", "transferred", "refused", "unmoved", "lost", "receivables",
                     "other_currency", "handed_over", "collected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)

    @property
    def loss_rate(self) -> float | None:
        return round(self.lost / self.transferred, 4) if self.transferred else None

    @property
    def recovery_rate(self) -> float | None:
        return round(float(self.collected / self.handed_over), 4) if self.handed_over > 0 else None

    def as_json(self) -> dict[str, Any]:
        return {"departures": self.departures, "answered": self.answered,
                "customers": {"transferred": self.transferred, "refused": self.refused, "unmoved": self.unmoved,
                              "lost": self.lost, "loss_rate": self.loss_rate},
                "receivables": {"count": self.receivables, "other_currency": self.other_currency,
                                "handed_over": str(self.handed_over), "collected": str(self.collected),
                                "recovery_rate": self.recovery_rate},
                "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))}


@dataclass
class DepartureFigures:
    departure: Departure
    department: int | None
    figures: Figures

    def as_json(self, names: dict[int, str]) -> dict[str, Any]:
        dep = self.departure
        return {"departure_id": dep.id, "userid": dep.userid, "name": dep.member_name, "state": dep.state,
                "last_day": dep.last_day.isoformat(), "approved_at": iso(dep.decided_at),
                "department": self.department, "department_name": names.get(self.department or 0, ""),
                **{k: v for k, v in self.figures.as_json().items() if k not in ("departures", "answered")},
                "answered": bool(self.figures.answered), "reasons": sorted(self.figures.reasons)}


def _customers(session: Session, dep: Departure, out: Figures) -> None:
    transferred = []
    for row in items(session, dep.id, CUSTOMER):
        if row.status == DONE and row.takeover:
            transferred.append(row)
        out.refused += row.status == REFUSED
        out.unmoved += row.status in UNMOVED
    out.transferred = len(transferred)
    if not transferred:
        return
    ended = session.scalars(select(CustomerFollow).where(
        CustomerFollow.external_userid.in_([r.ref for r in transferred]), CustomerFollow.end_reason.in_(LOSS_REASONS)))
    by_customer: dict[tuple[str, str], list[datetime]] = {}
    for follow in ended:
        if follow.ended_at is not None:
            by_customer.setdefault((follow.external_userid, follow.userid), []).append(follow.ended_at)
    for row in transferred:
        start = row.requested_at or row.finished_at or dep.decided_at
        until = (row.finished_at or start or dep.updated_at) + WINDOW
        endings = by_customer.get((row.ref, str(row.takeover)), [])
        out.lost += any(start is None or start <= at <= until for at in endings)


def _receivables(session: Session, dep: Departure, currency: str, out: Figures) -> None:
    ids = [int(r.ref) for r in items(session, dep.id, RECEIVABLE) if r.ref.isdigit()]
    if not ids or dep.decided_at is None:
        return
    since = dict(session.execute(select(Payment.receivable_id, func.sum(Payment.amount)).where(
        Payment.receivable_id.in_(ids), Payment.created_at >= dep.decided_at).group_by(Payment.receivable_id)).all())
    for r in session.scalars(select(Receivable).where(Receivable.id.in_(ids))):
        out.receivables += 1
        if r.currency != currency:
            out.other_currency += 1
            continue
        collected = money(since.get(r.id))
        out.handed_over += max(r.outstanding + collected, ZERO)
        out.collected += collected


def of_departure(session: Session, dep: Departure, currency: str = "CNY",
                 answer: departure_exit.ExitAnswer | None = None) -> DepartureFigures:
    out = Figures(departures=1)
    _customers(session, dep, out)
    _receivables(session, dep, currency, out)
    answer = answer or departure_exit.of_departure(session, dep.id)
    if answer is not None and answer.submitted_at is not None:
        out.answered = 1
        out.reasons.update(set(answer.reasons or []))
    member = directory.member(session, dep.userid)
    return DepartureFigures(dep, member.main_department if member else None, out)


def handed_over(session: Session, filters: Filters) -> list[Departure]:
    query = select(Departure).where(Departure.state.in_(HANDED_OVER), Departure.decided_at.is_not(None))
    if filters.start:
        query = query.where(Departure.last_day >= filters.start)
    if filters.end:
        query = query.where(Departure.last_day <= filters.end)
    if filters.department is not None:
        depts = directory.subtree(session, [filters.department])
        query = query.where(Departure.userid.in_(
            select(directory.Member.userid).where(directory.Member.main_department.in_(sorted(depts)))))
    return list(session.scalars(query.order_by(Departure.last_day, Departure.id)))


@dataclass
class Report:
    rows: list[DepartureFigures]
    totals: Figures
    by_month: dict[str, Counter[str]]
    by_department: dict[int | None, Figures]
    names: dict[int, str]


def report(session: Session, filters: Filters, currency: str = "CNY") -> Report:
    deps = handed_over(session, filters)
    answers = departure_exit.of_departures(session, [d.id for d in deps])
    rows = [of_departure(session, d, currency, answers.get(d.id)) for d in deps]
    totals = Figures()
    by_month: dict[str, Counter[str]] = {}
    by_dept: dict[int | None, Figures] = {}
    for row in rows:
        totals.add(row.figures)
        by_month.setdefault(row.departure.last_day.strftime("%Y-%m"), Counter()).update(row.figures.reasons)
        by_dept.setdefault(row.department, Figures()).add(row.figures)
    return Report(rows, totals, dict(sorted(by_month.items())), by_dept, department_names(session))


def department_names(session: Session) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(directory.Department))}


def report_json(result: Report, filters: Filters, reason_names: tuple[str, ...]) -> dict[str, Any]:
    return {"from": iso(filters.start), "to": iso(filters.end), "department": filters.department,
            "reasons": list(reason_names), "totals": result.totals.as_json(),
            "reasons_by_month": [{"month": m, "counts": dict(c)} for m, c in result.by_month.items()],
            "by_department": [{"department": d, "name": result.names.get(d or 0, ""), **f.as_json()}
                              for d, f in sorted(result.by_department.items(), key=lambda kv: kv[0] or 0)],
            "items": [row.as_json(result.names) for row in result.rows]}
