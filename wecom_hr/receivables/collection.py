"""Collection at the finance tier: one task per customer, its items, and a drafted 追款函.

Each step is idempotent and keyed in the database (task per customer_key, item per receivable,
letter versions), so a run that dies half-way repeats it safely. Drafting streams the items of the
tasks whose letter is older than their newest item, a chunk of tasks at a time, never all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import ColumnElement, String, and_, case, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import UtcDateTime, table
from storage.receivables import (
    PAID,
    PENDING,
    UNPAID,
    CollectionItem,
    CollectionTask,
    DunningLetter,
    Receivable,
    ReminderLog,
    money,
    rowcount,
)
from wecom_hr.receivables.letters import LetterItem, draft
from wecom_hr.receivables.settings import LedgerOptions

CHUNK = 900  # tasks per query and per insert batch (under SQLite's bound-parameter limit)


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def open_tasks(session: Session, run_id: str, tier_days: list[int], now: datetime) -> int:
    """Tasks for the customers of this run's pending collect-tier rows; returns items newly added."""
    if not tier_days:
        return 0
    due = (ReminderLog.run_id == run_id) & (ReminderLog.status == PENDING) & ReminderLog.tier_days.in_(tier_days)
    joined = select(Receivable).join(ReminderLog, ReminderLog.receivable_id == Receivable.id).where(
        due, Receivable.status.in_(UNPAID)).subquery()
    customers = (select(joined.c.customer_key, func.max(joined.c.customer_name), func.max(joined.c.external_userid),
                        literal("open", String), literal(now, UtcDateTime()), literal(now, UtcDateTime()))
                 .where(joined.c.id.is_not(None)).group_by(joined.c.customer_key))
    ins = _insert(session)(table(CollectionTask)).from_select(
        ["customer_key", "customer_name", "external_userid", "status", "opened_at", "updated_at"], customers)
    session.execute(ins.on_conflict_do_update(index_elements=["customer_key"],
                                              set_={"status": "open", "closed_at": None, "updated_at": now,
                                                    "email_status": _email_status_on_reopen()}))
    items = (select(joined.c.id, CollectionTask.id, literal(now, UtcDateTime()))
             .join(CollectionTask, CollectionTask.customer_key == joined.c.customer_key)
             .where(joined.c.id.is_not(None)))
    ins_items = _insert(session)(table(CollectionItem)).from_select(["receivable_id", "task_id", "added_at"], items)
    stmt = ins_items.on_conflict_do_nothing().execution_options(preserve_rowcount=True)  # else -1 on PostgreSQL
    return rowcount(session.execute(stmt))


def _email_status_on_reopen() -> ColumnElement[str]:
    """A closed task that reopens is a new dunning round: its letter may be emailed again. An
    interrupted send ("sending") stays, so it is still reported."""
    t = table(CollectionTask)
    return case((and_(t.c.status == "closed", t.c.email_status != "sending"), ""), else_=t.c.email_status)


def _needs_letter(session: Session) -> list[int]:
    """Open tasks without a letter, or with items newer than their latest letter."""
    last_item = select(func.max(CollectionItem.added_at)).where(CollectionItem.task_id == CollectionTask.id)
    last_letter = select(func.max(DunningLetter.drafted_at)).where(DunningLetter.task_id == CollectionTask.id)
    no_letter = ~exists().where(DunningLetter.task_id == CollectionTask.id)
    q = select(CollectionTask.id).where(CollectionTask.status == "open",
                                        no_letter | (last_letter.scalar_subquery() < last_item.scalar_subquery()))
    return list(session.scalars(q.order_by(CollectionTask.id)))


def _task_items(session: Session, task_ids: list[int]) -> Iterator[tuple[int, str, list[LetterItem]]]:
    # Fed by explicit ids, chunk by chunk: tables filled moments ago have no statistics yet, and a
    # planner guessing "2 rows" turns an IN (subquery) into a nested loop over every task.
    q = (select(CollectionTask.id, CollectionTask.customer_name, Receivable.order_no, Receivable.issued_on,
                Receivable.due_on, Receivable.amount - Receivable.paid_amount, Receivable.currency)
         .join(CollectionItem, CollectionItem.task_id == CollectionTask.id)
         .join(Receivable, Receivable.id == CollectionItem.receivable_id)
         .where(CollectionTask.id.in_(task_ids), Receivable.status != PAID)
         .order_by(CollectionTask.id, Receivable.due_on, Receivable.order_no))
    current: tuple[int, str] | None = None
    items: list[LetterItem] = []
    for task_id, name, order_no, issued, due, outstanding, currency in session.execute(q):
        if current and current[0] != task_id:
            yield current[0], current[1], items
            items = []
        current = (task_id, name)
        items.append(LetterItem(order_no, issued, due, money(outstanding), currency))
    if current:
        yield current[0], current[1], items


def draft_letters(session: Session, options: LedgerOptions, today: date, now: datetime) -> int:
    needed = _needs_letter(session)
    drafted = 0
    for start in range(0, len(needed), CHUNK):
        chunk = needed[start:start + CHUNK]
        versions = {t: v for t, v in session.execute(select(DunningLetter.task_id, func.max(DunningLetter.version))
                                                     .where(DunningLetter.task_id.in_(chunk))
                                                     .group_by(DunningLetter.task_id))}
        batch = [{"task_id": task_id, "version": versions.get(task_id, 0) + 1, "drafted_at": now,
                  "body": draft(customer, items, today, company=options.company_name, contact=options.contact,
                                template_path=options.letter_template)}
                 for task_id, customer, items in _task_items(session, chunk)]
        drafted += _flush(session, batch)
    return drafted


def _flush(session: Session, batch: list[dict[str, object]]) -> int:
    if batch:
        session.execute(table(DunningLetter).insert(), batch)
    n = len(batch)
    batch.clear()
    return n


def close_paid(session: Session, now: datetime) -> int:
    """A task whose items are all paid closes; a later overdue item of the customer reopens it."""
    unpaid = (select(CollectionItem.receivable_id).join(Receivable, Receivable.id == CollectionItem.receivable_id)
              .where(CollectionItem.task_id == CollectionTask.id, Receivable.status != PAID))
    return rowcount(session.execute(update(CollectionTask).where(CollectionTask.status == "open", ~exists(unpaid))
                           .values(status="closed", closed_at=now, updated_at=now)))
