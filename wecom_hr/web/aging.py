"""Receivables aging: outstanding amounts of overdue receivables by days overdue, and by salesperson.

Buckets follow the reminder tiers: a receivable 30 days overdue has reached the 30-day tier, so
0–30 is 1–29 days overdue, 30–60 is 30–59, 60–90 is 60–89 and 90+ is 90 days and more.
The caller's scope is the receivables ledger's own (queries.visible_owners). Amounts are summed
per (salesperson, currency, due date) in SQL and bucketed here, which is the same on every database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import directory
from storage.receivables import UNPAID, Receivable, money

BUCKETS = ("0-30", "30-60", "60-90", "90+")
LIMITS = (30, 60, 90)  # a bucket ends before its limit in days overdue


def bucket_of(days_overdue: int) -> str:
    for key, limit in zip(BUCKETS, LIMITS, strict=False):
        if days_overdue < limit:
            return key
    return BUCKETS[-1]


def _zero() -> dict[str, Decimal]:
    return {b: Decimal("0.00") for b in BUCKETS}


@dataclass
class Line:
    """One salesperson's (or the whole scope's) overdue amounts in one currency."""
    amounts: dict[str, Decimal] = field(default_factory=_zero)
    counts: dict[str, int] = field(default_factory=lambda: {b: 0 for b in BUCKETS})

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal("0.00"))

    def add(self, bucket: str, amount: Decimal, count: int) -> None:
        self.amounts[bucket] += amount
        self.counts[bucket] += count


@dataclass
class CurrencyAging:
    currency: str
    overall: Line = field(default_factory=Line)
    by_salesperson: dict[str, Line] = field(default_factory=dict)

    def salespeople(self) -> list[tuple[str, Line]]:
        return sorted(self.by_salesperson.items(), key=lambda kv: (-kv[1].total, kv[0]))


@dataclass
class Aging:
    as_of: date
    currencies: list[CurrencyAging]
    names: dict[str, str]


def aging(session: Session, owners: set[str] | None, today: date, main_currency: str = "CNY") -> Aging:
    outstanding = func.sum(Receivable.amount - Receivable.paid_amount)
    query = (select(Receivable.salesperson, Receivable.currency, Receivable.due_on, outstanding, func.count())
             .where(Receivable.status.in_(UNPAID), Receivable.due_on < today)
             .group_by(Receivable.salesperson, Receivable.currency, Receivable.due_on))
    if owners is not None:
        query = query.where(Receivable.salesperson.in_(sorted(owners)))
    found: dict[str, CurrencyAging] = {}
    for salesperson, currency, due_on, amount, count in session.execute(query):
        per = found.setdefault(currency, CurrencyAging(currency))
        bucket = bucket_of((today - due_on).days)
        per.overall.add(bucket, money(amount), int(count))
        per.by_salesperson.setdefault(salesperson, Line()).add(bucket, money(amount), int(count))
    ordered = sorted(found.values(), key=lambda c: (c.currency != main_currency, c.currency))
    people = {u for c in ordered for u in c.by_salesperson}
    return Aging(today, ordered, {u: directory.display_name(session, u) for u in sorted(people)})


def _line_json(line: Line) -> dict[str, Any]:
    return {"total": str(line.total),
            "buckets": [{"bucket": b, "amount": str(line.amounts[b]), "count": line.counts[b]} for b in BUCKETS]}


def aging_json(result: Aging) -> dict[str, Any]:
    return {"as_of": result.as_of.isoformat(), "buckets": list(BUCKETS),
            "currencies": [{"currency": c.currency, **_line_json(c.overall),
                            "by_salesperson": [{"salesperson": u, "name": result.names.get(u, u), **_line_json(line)}
                                               for u, line in c.salespeople()]}
                           for c in result.currencies]}
