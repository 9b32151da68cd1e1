"""From the receivables ledger, read as orders: a receivable is one order of its customer, on the
day it was issued (or recorded, when the ledger has no issue date), credited to its salesperson.

    orders, order_amount   the member's orders in the period and their total amount
    conversion             of the member's new customers in the period, those with ≥ 1 order in it
    repeat                 of the member's customers who ordered in the previous period of the same
                           length, those who ordered again in this one
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from storage.receivables import Receivable
from wecom_hr.kpi.period import Period

CHUNK = 500


@dataclass
class LedgerFigures:
    orders: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    amount: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    buyers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))     # this period
    previous: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))   # the one before


def orders_in(period: Period) -> ColumnElement[bool]:
    issued = and_(Receivable.issued_on >= period.start, Receivable.issued_on <= period.end)
    recorded = and_(Receivable.issued_on.is_(None), Receivable.created_at >= period.begins,
                    Receivable.created_at < period.ends)
    return or_(issued, recorded)


def _day(issued_on: date | None, created_at: object, period: Period) -> date:
    if issued_on is not None:
        return issued_on
    return created_at.astimezone(period.tz).date()  # type: ignore[attr-defined]


def ledger_figures(session: Session, userids: Sequence[str], period: Period) -> LedgerFigures:
    out, before = LedgerFigures(), period.previous()
    both = Period(before.start, period.end, period.tz)
    query = (select(Receivable.salesperson, Receivable.customer_key, Receivable.amount, Receivable.issued_on,
                    Receivable.created_at).where(Receivable.salesperson.in_(list(userids)), orders_in(both)))
    for userid, key, amount, issued_on, created_at in session.execute(query):
        if period.contains(_day(issued_on, created_at, period)):
            out.orders[userid] += 1
            out.amount[userid] += amount
            out.buyers[userid].add(key)
        else:
            out.previous[userid].add(key)
    return out


def ordering(session: Session, customers: Iterable[str], period: Period) -> set[str]:
    """The customers (external userids) with at least one order in the period, whoever sold it."""
    wanted, found = sorted(set(customers)), set[str]()
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i:i + CHUNK]
        query = select(Receivable.external_userid).where(Receivable.external_userid.in_(part), orders_in(period))
        found.update(session.scalars(query))
    return found
