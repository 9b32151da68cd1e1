"""Receivables ledger: invoices keyed by order number, payments, the reminder log, follow-up notes,
collection tasks and their dunning letters (issue 6).

Amounts are Numeric(18,2) and Decimal in Python. The reminder log's unique (receivable, tier) key
is what makes a reminder go out once, however often the job runs or crashes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, utcnow

ID = BigInteger().with_variant(Integer, "sqlite")
MONEY = Numeric(18, 2)
CENT = Decimal("0.01")

OPEN, PARTIAL, PAID = "open", "partial", "paid"
UNPAID = (OPEN, PARTIAL)
# Reminder log states: claimed by a run, handed to the outbox, dropped (paid before it was sent), nobody to tell.
PENDING, QUEUED, CANCELLED, UNROUTABLE = "pending", "queued", "cancelled", "unroutable"


class Receivable(Base):
    __tablename__ = "receivables"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True)
    # external_userid when known, else "name:<customer_name>": one collection task per customer key.
    customer_key: Mapped[str] = mapped_column(String(255), index=True)
    external_userid: Mapped[str] = mapped_column(String(64), default="")
    customer_name: Mapped[str] = mapped_column(String(255), default="")
    salesperson: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[date] = mapped_column(Date)
    paid_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Who owned it before a departure handed it over (set once, by the first handover; issue 17).
    original_salesperson: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_receivables_status_due", "status", "due_on"),
        Index("ix_receivables_salesperson_status", "salesperson", "status"),
    )

    @property
    def outstanding(self) -> Decimal:
        return money(self.amount) - money(self.paid_amount)


class Payment(Base):
    __tablename__ = "receivable_payments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)  # negative for a correction found in a re-import
    paid_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # import | api
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)  # makes API payments repeatable
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("receivable_id", "reference", name="uq_receivable_payments_reference"),)


class ReminderLog(Base):
    __tablename__ = "receivable_reminders"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"))
    tier_days: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    claimed_at: Mapped[datetime]
    queued_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        UniqueConstraint("receivable_id", "tier_days", name="uq_receivable_reminders_tier"),
        Index("ix_receivable_reminders_status_run", "status", "run_id"),
    )


class FollowUp(Base):
    """账款跟进说明: what the customer promised and by when, written by the salesperson."""

    __tablename__ = "receivable_followups"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    promised_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime]


class ReceivableHandover(Base):
    """A receivable moved by a departure: to the customer's successor, or to the manager until reassigned."""

    __tablename__ = "receivable_handovers"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"), index=True)
    departure_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    external_userid: Mapped[str] = mapped_column(String(64), default="")
    from_userid: Mapped[str] = mapped_column(String(64))
    to_userid: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))  # transferred | unresolved (the manager holds it)
    at: Mapped[datetime]


class CollectionTask(Base):
    __tablename__ = "collection_tasks"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_name: Mapped[str] = mapped_column(String(255), default="")
    external_userid: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | closed (everything paid)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The 追款函 by email (issue 17): "" (never tried) | sending | sent | failed | bounced, for letter
    # email_version. "sending" is committed before the SMTP call: found later, the outcome is in doubt.
    email_status: Mapped[str] = mapped_column(String(12), default="", server_default="")
    email_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    email_to: Mapped[str] = mapped_column(String(254), default="", server_default="")
    email_message_id: Mapped[str] = mapped_column(String(255), default="", server_default="")
    email_error: Mapped[str] = mapped_column(String(500), default="", server_default="")  # one line
    email_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CollectionItem(Base):
    __tablename__ = "collection_items"

    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("collection_tasks.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime]


class DunningLetter(Base):
    """追款函 drafts; a new version each time the task gains items."""

    __tablename__ = "dunning_letters"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("collection_tasks.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    drafted_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("task_id", "version", name="uq_dunning_letters_version"),)


class CustomerEmail(Base):
    """The customer's address for dunning letters (CSV ``customer_email``), per customer key."""

    __tablename__ = "receivable_customer_emails"

    customer_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime]


def money(value: Decimal | float | str | None) -> Decimal:
    """SQLite hands back floats for sums; everything leaves here as a 2-place Decimal."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT)


def status_for(amount: Decimal, paid: Decimal) -> str:
    if paid >= amount:
        return PAID
    return PARTIAL if paid > 0 else OPEN


def customer_key(external_userid: str, customer_name: str) -> str:
    return external_userid if external_userid else f"name:{customer_name}"


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE touched; INSERTs must run with ``preserve_rowcount`` (else -1 on PostgreSQL)."""
    return max(int(cast(CursorResult[Any], result).rowcount or 0), 0)


def by_order(session: Session, order_no: str) -> Receivable | None:
    return session.scalar(select(Receivable).where(Receivable.order_no == order_no))


def add_payment(session: Session, receivable: Receivable, amount: Decimal, paid_on: date, *, source: str,
                reference: str | None = None, actor: str = "", now: datetime | None = None) -> bool:
    """Record a (partial) payment; False when ``reference`` was recorded for this receivable before."""
    if reference is not None and session.scalar(select(Payment.id).where(
            Payment.receivable_id == receivable.id, Payment.reference == reference)) is not None:
        return False
    now = now or utcnow()
    session.add(Payment(receivable_id=receivable.id, amount=money(amount), paid_on=paid_on, source=source,
                        reference=reference, recorded_by=actor, created_at=now))
    set_paid(receivable, money(receivable.paid_amount) + money(amount), now)
    return True


def set_paid(receivable: Receivable, paid: Decimal, now: datetime) -> None:
    receivable.paid_amount = paid
    receivable.status = status_for(money(receivable.amount), paid)
    receivable.paid_at = now if receivable.status == PAID else None
    receivable.updated_at = now


def add_followup(session: Session, receivable: Receivable, author: str, note: str, promised_on: date | None,
                 now: datetime | None = None) -> FollowUp:
    row = FollowUp(receivable_id=receivable.id, author=author, note=note, promised_on=promised_on,
                   created_at=now or utcnow())
    session.add(row)
    return row


def followups_of(session: Session, receivable_id: int, limit: int = 20) -> list[FollowUp]:
    return list(session.scalars(select(FollowUp).where(FollowUp.receivable_id == receivable_id)
                                .order_by(FollowUp.id.desc()).limit(limit)))


def latest_followups(session: Session, receivable_ids: list[int]) -> dict[int, FollowUp]:
    """The newest follow-up of each receivable (for digests and API pages: a few dozen ids)."""
    if not receivable_ids:
        return {}
    rows = session.scalars(select(FollowUp).where(FollowUp.receivable_id.in_(receivable_ids))
                           .order_by(FollowUp.receivable_id, FollowUp.id))
    return {row.receivable_id: row for row in rows}  # later ids overwrite earlier ones


def remember_emails(session: Session, pairs: list[tuple[str, str]], now: datetime | None = None) -> None:
    """Upsert (customer_key, address) pairs; the last address given for a customer wins."""
    latest = dict(pairs)
    if not latest:
        return
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(CustomerEmail)
    rows = [{"customer_key": k, "email": e, "updated_at": now or utcnow()} for k, e in latest.items()]
    session.execute(stmt.on_conflict_do_update(index_elements=["customer_key"],
                                               set_={"email": stmt.excluded.email,
                                                     "updated_at": stmt.excluded.updated_at}), rows)


def customer_email(session: Session, key: str) -> str:
    return session.scalar(select(CustomerEmail.email).where(CustomerEmail.customer_key == key)) or ""


def latest_letter(session: Session, task_id: int) -> DunningLetter | None:
    return session.scalar(select(DunningLetter).where(DunningLetter.task_id == task_id)
                          .order_by(DunningLetter.version.desc()).limit(1))
