"""Claiming reminders: one INSERT ... SELECT per tier writes a reminder-log row for every unpaid
receivable that reached the tier and has no row yet.

The unique (receivable, tier) key makes the claim the moment of "this will be sent": a second run
finds nothing to claim, and a run that died after claiming finds its rows still pending and finishes
them (see reminders.run). Everything stays in SQL: a million receivables never reach Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import UtcDateTime, table
from storage.receivables import (
    CANCELLED,
    PAID,
    PENDING,
    QUEUED,
    UNPAID,
    Receivable,
    ReminderLog,
    money,
    rowcount,
)
from wecom_hr.receivables.settings import ReminderPolicy


@dataclass(frozen=True)
class Bucket:
    """Pending reminders of one owner at one tier in one currency: what digests are summed from."""

    owner: str
    tier_days: int
    currency: str
    count: int
    total: Decimal


def claim(session: Session, policy: ReminderPolicy, now: datetime, run_id: str) -> int:
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = 0
    for tier in policy.tiers:
        # No NOT EXISTS here: the unique key skips rows claimed before, and an anti-join against a
        # table this run is filling misleads PostgreSQL's planner (73 s instead of seconds at 1M rows).
        due = (select(Receivable.id, literal(tier.days, Integer), literal(run_id, String), literal(PENDING, String),
                      literal(now, UtcDateTime()))
               .where(Receivable.status.in_(UNPAID), Receivable.due_on <= policy.cutoff(tier, now)))
        stmt = dialect_insert(table(ReminderLog)).from_select(
            ["receivable_id", "tier_days", "run_id", "status", "claimed_at"], due).on_conflict_do_nothing()
        # SQLAlchemy 2.1 reports -1 for INSERT rowcounts on PostgreSQL unless asked to keep them.
        claimed += rowcount(session.execute(stmt.execution_options(preserve_rowcount=True)))
    return claimed


def pending_runs(session: Session) -> list[str]:
    return list(session.scalars(select(ReminderLog.run_id).where(ReminderLog.status == PENDING)
                                .group_by(ReminderLog.run_id).order_by(ReminderLog.run_id)))


def cancel_paid(session: Session, run_id: str) -> int:
    """Receivables paid since they were claimed are not sent: payment stops escalation."""
    paid = select(Receivable.id).where(Receivable.status == PAID)
    return rowcount(session.execute(update(ReminderLog).where(
        ReminderLog.run_id == run_id, ReminderLog.status == PENDING, ReminderLog.receivable_id.in_(paid))
        .values(status=CANCELLED)))


def buckets(session: Session, run_id: str) -> list[Bucket]:
    outstanding = Receivable.amount - Receivable.paid_amount
    q = (select(Receivable.salesperson, ReminderLog.tier_days, Receivable.currency, func.count(), func.sum(outstanding))
         .join(Receivable, Receivable.id == ReminderLog.receivable_id)
         .where(ReminderLog.run_id == run_id, ReminderLog.status == PENDING)
         .group_by(Receivable.salesperson, ReminderLog.tier_days, Receivable.currency)
         .order_by(Receivable.salesperson, ReminderLog.tier_days, Receivable.currency))
    return [Bucket(o, t, c, n, money(s)) for o, t, c, n, s in session.execute(q)]


def mark(session: Session, run_id: str, status: str, now: datetime, owners_tiers: list[tuple[str, int]] | None = None
         ) -> int:
    """Close a run's pending rows (all of them, or only those of some (owner, tier) pairs)."""
    stmt = update(ReminderLog).where(ReminderLog.run_id == run_id, ReminderLog.status == PENDING)
    if owners_tiers is not None:
        if not owners_tiers:
            return 0
        total = 0
        for owner, tier_days in owners_tiers:
            ids = select(Receivable.id).where(Receivable.salesperson == owner)
            mine = stmt.where(ReminderLog.tier_days == tier_days, ReminderLog.receivable_id.in_(ids))
            total += rowcount(session.execute(mine.values(status=status)))
        return total
    values = {"status": status, "queued_at": now} if status == QUEUED else {"status": status}
    return rowcount(session.execute(stmt.values(**values)))


def refresh_statistics(session: Session, *tables: str) -> None:
    """PostgreSQL plans by statistics that autovacuum refreshes later; a run that just wrote tens of
    thousands of rows and now queries them refreshes them itself (ANALYZE samples, it is cheap)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE " + ", ".join(tables)))
