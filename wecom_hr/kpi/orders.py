"""From the receivables ledger, read as orders: a receivable is one order of its customer, on the
day it was issued (or recorded, when the ledger has no issue date), credited to its salesperson.

    orders, order_amount   the member's orders in the period and their total amount
    conversion             of the member's new customers in the period, those with ≥ 1 order in it
    repeat                 of the member's customers who ordered in the previous period of the same
                           length, those who ordered again in this one
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from storage.receivables import CENT, MONEY, Receivable
from wecom_hr.kpi.period import Period

CHUNK = 500


@dataclass
class LedgerFigures:
    orders: dict[str, int] = field(default_factory=dict)
    amount: dict[str, Decimal] = field(default_factory=dict)
    previous: dict[str, int] = field(default_factory=dict)  # customers who ordered in the period before
    kept: dict[str, int] = field(default_factory=dict)      # ... and again in this one


def orders_in(period: Period) -> ColumnElement[bool]:
    issued = and_(Receivable.issued_on >= period.start, Receivable.issued_on <= period.end)
    recorded = and_(Receivable.issued_on.is_(None), Receivable.created_at >= period.begins,
                    Receivable.created_at < period.ends)
    return or_(issued, recorded)


def ledger_figures(session: Session, userids: Sequence[str], period: Period) -> LedgerFigures:
    """One grouped read: per (member, customer) this period's orders and amount and whether they
    ordered in the period before, summed per member."""
    out, now, before = LedgerFigures(), orders_in(period), orders_in(period.previous())
    pairs = (select(Receivable.salesperson.label("userid"),
                    func.sum(case((now, 1), else_=0)).label("orders"),
                    func.sum(case((now, Receivable.amount), else_=0)).label("amount"),
                    func.max(case((before, 1), else_=0)).label("before"))
             .where(Receivable.salesperson.in_(list(userids)), or_(now, before))
             .group_by(Receivable.salesperson, Receivable.customer_key).subquery())
    query = (select(pairs.c.userid, func.sum(pairs.c.orders), type_coerce(func.sum(pairs.c.amount), MONEY),
                    func.sum(pairs.c.before), func.sum(case((and_(pairs.c.before == 1, pairs.c.orders > 0), 1),
                                                            else_=0)))
             .group_by(pairs.c.userid))
    for userid, orders, amount, previous, kept in session.connection().execute(query):
        if orders:
            out.orders[userid], out.amount[userid] = int(orders), Decimal(amount).quantize(CENT)
        out.previous[userid], out.kept[userid] = int(previous), int(kept)
    return out


def ordering(session: Session, customers: Iterable[str], period: Period) -> set[str]:
    """The customers (external userids) with at least one order in the period, whoever sold it."""
    wanted, found = sorted(set(customers)), set[str]()
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i:i + CHUNK]
        query = select(Receivable.external_userid).where(Receivable.external_userid.in_(part), orders_in(period))
        found.update(session.scalars(query))
    return found
