"""The worst items of a run, per owner and tier, in one window query per tier.

A recipient's section lists the worst ``limit`` items across its owners; those are always among
each owner's own worst ``limit``, so ~500 owners x 10 rows per tier is all Python ever holds,
whatever the size of the ledger. Worst = oldest due date, then the largest amount still owed.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.receivables import PENDING, UNPAID, FollowUp, Receivable, ReminderLog, money

CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Item:
    id: int
    order_no: str
    customer: str
    outstanding: Decimal
    currency: str
    due_on: date
    owner: str

    @property
    def rank(self) -> tuple[date, Decimal, str]:
        return self.due_on, -self.outstanding, self.order_no


Worst = dict[tuple[int, str], list[Item]]  # (tier days, owner) -> that owner's worst items, worst first


def worst_items(session: Session, run_id: str, tiers: Iterable[int], limit: int) -> Worst:
    out: Worst = defaultdict(list)
    outstanding = (Receivable.amount - Receivable.paid_amount).label("outstanding")
    for days in tiers:
        ranked = (select(Receivable.id, Receivable.order_no, Receivable.customer_name, Receivable.external_userid,
                         outstanding, Receivable.currency, Receivable.due_on, Receivable.salesperson,
                         func.row_number().over(partition_by=Receivable.salesperson,
                                                order_by=(Receivable.due_on, outstanding.desc(),
                                                          Receivable.order_no)).label("n"))
                  .join(ReminderLog, ReminderLog.receivable_id == Receivable.id)
                  .where(ReminderLog.run_id == run_id, ReminderLog.status == PENDING,
                         ReminderLog.tier_days == days, Receivable.status.in_(UNPAID))
                  .subquery())
        q = select(ranked).where(ranked.c.n <= limit).order_by(ranked.c.salesperson, ranked.c.n)
        for rid, order_no, name, external, amount, currency, due_on, owner, _ in session.execute(q):
            out[(days, owner)].append(Item(rid, order_no, name or external, money(amount), currency, due_on, owner))
    return out


def merged(worst: Worst, days: int, owners: Iterable[str], limit: int) -> list[Item]:
    return heapq.nsmallest(limit, (i for o in owners for i in worst.get((days, o), ())), key=lambda i: i.rank)


def latest_notes(session: Session, ids: list[int]) -> dict[int, FollowUp]:
    """The newest follow-up of each receivable, fetched in chunks."""
    out: dict[int, FollowUp] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for row in session.scalars(select(FollowUp).where(FollowUp.receivable_id.in_(chunk)).order_by(FollowUp.id)):
            out[row.receivable_id] = row  # later ids overwrite earlier ones
    return out
