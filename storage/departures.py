"""Departure handovers (离职交接): the departure, its handover items, transfer batches and approval cards.

A departure moves draft → pending_approval → approved → transferring → completed, or ends
rejected / cancelled. Rejected is not the end for HR: they may submit again or cancel, so at most one
departure per member is *open* (anything but completed or cancelled) — a partial unique index.

Items are the snapshot (customers, group chats, receivables). Customer and chat items also carry the
transfer: whom it was requested for, the batch that carried it, WeCom's errcode and the final status.
A batch is written "sending" before its WeCom call and "accepted" after, each in its own transaction,
so a process that dies in between knows exactly which one call is in doubt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base

ID = BigInteger().with_variant(Integer, "sqlite")

# Departure states.
DRAFT, PENDING_APPROVAL, APPROVED = "draft", "pending_approval", "approved"
TRANSFERRING, COMPLETED, REJECTED, CANCELLED = "transferring", "completed", "rejected", "cancelled"
CLOSED = (COMPLETED, CANCELLED)
# A handover exists (successors have rights, the leaver's access may end) only once it was approved.
HANDED_OVER = (APPROVED, TRANSFERRING, COMPLETED)
REVOKED_NOW = "revoked_now"  # summary key: HR ended the member's access before the last day (who, when, why)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    DRAFT: (PENDING_APPROVAL, CANCELLED),
    PENDING_APPROVAL: (APPROVED, REJECTED, CANCELLED),
    REJECTED: (PENDING_APPROVAL, CANCELLED),
    APPROVED: (TRANSFERRING, CANCELLED),
    TRANSFERRING: (COMPLETED,),
    COMPLETED: (TRANSFERRING,),  # HR re-queued a refused customer with another successor
    CANCELLED: (),
}

# Item kinds.
CUSTOMER, GROUP_CHAT, RECEIVABLE = "customer", "group_chat", "receivable"
# Item statuses. WeCom's transfer_result: 1 done, 2 waiting, 3 refused, 4 takeover at limit, 5 no record.
PENDING, SENDING, WAITING = "pending", "sending", "waiting"
DONE, REFUSED, AT_LIMIT, NO_RECORD = "done", "refused", "at_limit", "no_record"
FAILED, SKIPPED, OPEN = "failed", "skipped", "open"  # OPEN: a receivable (listed, not transferred)
FINAL = (DONE, REFUSED, AT_LIMIT, NO_RECORD, FAILED, SKIPPED)
RESULT_STATUS = {1: DONE, 2: WAITING, 3: REFUSED, 4: AT_LIMIT, 5: NO_RECORD}

# Batch statuses.
PLANNED, BATCH_SENDING, ACCEPTED, BATCH_FAILED = "planned", "sending", "accepted", "failed"
# Card statuses.
CARD_OPEN, CARD_DECIDED, CARD_SUPERSEDED = "open", "decided", "superseded"
# Sign-off statuses (the handover checklist, issue 17).
SIGNOFF_PENDING, SIGNOFF_SIGNED = "pending", "signed"
REJECTION = "rejection"  # summary key: the latest rejection (who, when, why)


class InvalidTransitionError(ValueError):
    """The departure cannot move from its state to the one asked for."""


class Departure(Base):
    __tablename__ = "departures"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    member_name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(24), default=DRAFT)
    last_day: Mapped[date] = mapped_column(Date)
    successor: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the default successor
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))          # api | cli | left | approval
    started_by: Mapped[str] = mapped_column(String(64))
    sp_no: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the WeCom approval that started it
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts and totals for cards/reports
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("uq_departures_open_member", "userid", unique=True,
              sqlite_where=text("state NOT IN ('completed', 'cancelled')"),
              postgresql_where=text("state NOT IN ('completed', 'cancelled')")),
        Index("ix_departures_state", "state", "id"),
    )


class DepartureBatch(Base):
    __tablename__ = "departure_batches"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))            # customer | group_chat
    takeover: Mapped[str] = mapped_column(String(64))
    resigned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=PLANNED)
    size: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a whole-call error
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_departure_batches_departure", "departure_id", "status"),)


class DepartureItem(Base):
    __tablename__ = "departure_items"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128))            # external_userid | chat_id | receivable id
    name: Mapped[str] = mapped_column(String(255), default="")
    successor: Mapped[str | None] = mapped_column(String(64), nullable=True)  # per-item override
    takeover: Mapped[str | None] = mapped_column(String(64), nullable=True)   # whom it was requested for
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("departure_batches.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(nullable=True)  # refusal told to HR/manager
    briefed_at: Mapped[datetime | None] = mapped_column(nullable=True)   # listed in a successor briefing
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("departure_id", "kind", "ref", name="uq_departure_items_ref"),
        Index("ix_departure_items_status", "departure_id", "kind", "status"),
        Index("ix_departure_items_batch", "batch_id"),
        Index("ix_departure_items_ref", "kind", "ref"),
    )


class DepartureCard(Base):
    __tablename__ = "departure_cards"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    card_type: Mapped[str] = mapped_column(String(32))
    approvers: Mapped[list[str]] = mapped_column(JSON, default=list)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)  # successor choices offered
    outbox_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CARD_OPEN)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # approve | reject
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]


class DepartureSignoff(Base):
    """One step of the handover checklist (标准化交接清单): who signs it, its items to tick, the signature."""
    __tablename__ = "departure_signoffs"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))            # [[departures.signoffs]] key
    title: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))            # manager | finance | hr | admin | compliance
    status: Mapped[str] = mapped_column(String(16), default=SIGNOFF_PENDING)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{name, done, by, at}]
    task_id: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)  # its WeCom card
    outbox_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("departure_id", "step", name="uq_departure_signoffs_step"),)


# -- reads ------------------------------------------------------------------------------------

def get(session: Session, departure_id: int, lock: bool = False) -> Departure | None:
    query = select(Departure).where(Departure.id == departure_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def open_departure_of(session: Session, userid: str) -> Departure | None:
    return session.scalar(select(Departure).where(Departure.userid == userid, Departure.state.not_in(CLOSED)))


def latest_of(session: Session, userid: str) -> Departure | None:
    """The member's newest departure that was not cancelled."""
    return session.scalar(select(Departure).where(Departure.userid == userid, Departure.state != CANCELLED)
                          .order_by(Departure.id.desc()).limit(1))


def approved_of(session: Session, userid: str) -> Departure | None:
    """The member's newest departure that was approved (a draft, pending or rejected one hands nothing over)."""
    return session.scalar(select(Departure).where(Departure.userid == userid, Departure.state.in_(HANDED_OVER))
                          .order_by(Departure.id.desc()).limit(1))


def successor_of(session: Session, userid: str) -> str | None:
    """The default successor of the member's approved departure (receivables route a leaver's items here)."""
    found = approved_of(session, userid)
    return found.successor if found else None


def heir_of(row: DepartureItem, dep: Departure) -> str | None:
    """Who inherits a customer or group chat of ``dep``: the member WeCom moved it to, else the one asked
    for, else the departure's default successor."""
    return (row.takeover if row.status == DONE else None) or row.successor or dep.successor


def heir_of_customer(session: Session, dep: Departure, external_userid: str) -> str | None:
    """heir_of for one customer; None when the customer is not in the handover."""
    row = item(session, dep.id, CUSTOMER, external_userid)
    return heir_of(row, dep) if row is not None else None


def inherits_receivable(session: Session, userid: str, owner: str, receivable_id: int, external_userid: str) -> bool:
    """Whether ``userid`` was handed this receivable by ``owner``'s approved departure: it is in the snapshot,
    or it belongs to a customer in the handover, and its customer's heir is ``userid``."""
    dep = approved_of(session, owner)
    if dep is None:
        return False
    listed = item(session, dep.id, RECEIVABLE, str(receivable_id))
    customer = str(listed.detail.get("external_userid") or "") if listed is not None else external_userid
    heir = heir_of_customer(session, dep, customer) if customer else None
    return (heir or (dep.successor if listed is not None else None)) == userid


def items(session: Session, departure_id: int, kind: str | None = None,
          statuses: tuple[str, ...] | None = None) -> list[DepartureItem]:
    query = select(DepartureItem).where(DepartureItem.departure_id == departure_id).order_by(DepartureItem.id)
    if kind:
        query = query.where(DepartureItem.kind == kind)
    if statuses:
        query = query.where(DepartureItem.status.in_(statuses))
    return list(session.scalars(query))


def item(session: Session, departure_id: int, kind: str, ref: str) -> DepartureItem | None:
    return session.scalar(select(DepartureItem).where(DepartureItem.departure_id == departure_id,
                                                      DepartureItem.kind == kind, DepartureItem.ref == ref))


def status_counts(session: Session, departure_id: int, kind: str) -> dict[str, int]:
    rows = session.execute(select(DepartureItem.status, func.count()).where(
        DepartureItem.departure_id == departure_id, DepartureItem.kind == kind).group_by(DepartureItem.status))
    return {status: int(n) for status, n in rows}


def batches(session: Session, departure_id: int, statuses: tuple[str, ...]) -> list[DepartureBatch]:
    return list(session.scalars(select(DepartureBatch).where(
        DepartureBatch.departure_id == departure_id, DepartureBatch.status.in_(statuses)).order_by(DepartureBatch.id)))


def card_by_task(session: Session, task_id: str) -> DepartureCard | None:
    return session.scalar(select(DepartureCard).where(DepartureCard.task_id == task_id))


def cards_of(session: Session, departure_id: int) -> list[DepartureCard]:
    return list(session.scalars(select(DepartureCard).where(DepartureCard.departure_id == departure_id)
                                .order_by(DepartureCard.id)))


def signoffs_of(session: Session, departure_id: int) -> list[DepartureSignoff]:
    return list(session.scalars(select(DepartureSignoff).where(DepartureSignoff.departure_id == departure_id)
                                .order_by(DepartureSignoff.id)))


def signoff_by_task(session: Session, task_id: str) -> DepartureSignoff | None:
    return session.scalar(select(DepartureSignoff).where(DepartureSignoff.task_id == task_id))


def signoffs_pending(session: Session, departure_id: int) -> bool:
    """Whether a sign-off of the checklist still waits (a departure without a checklist waits for none)."""
    return session.scalar(select(DepartureSignoff.id).where(
        DepartureSignoff.departure_id == departure_id, DepartureSignoff.status != SIGNOFF_SIGNED).limit(1)) is not None


def ids_in_states(session: Session, states: tuple[str, ...]) -> list[int]:
    return list(session.scalars(select(Departure.id).where(Departure.state.in_(states)).order_by(Departure.id)))


def departing_members(session: Session) -> set[str]:
    """Members with a departure that was not cancelled: never offered as successors."""
    return set(session.scalars(select(Departure.userid).where(Departure.state != CANCELLED)))


# -- writes -----------------------------------------------------------------------------------

def move(departure: Departure, state: str, now: datetime) -> None:
    if state not in TRANSITIONS.get(departure.state, ()):
        raise InvalidTransitionError(f"{departure.state} → {state}")
    departure.state, departure.updated_at = state, now
    if state == COMPLETED:
        departure.completed_at = now
