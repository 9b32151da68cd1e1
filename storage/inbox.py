"""The inbox: every acknowledged callback, stored before the 200, claimed by workers with a lease.

Statuses: pending -> processing -> done | ignored | dead (pending again, later, after a failure).
A claim is an UPDATE guarded by the row's current state, so two processes never both win it;
PostgreSQL picks candidates with FOR UPDATE SKIP LOCKED so workers do not queue behind each other.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, ColumnElement, Index, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, rowcount, utcnow

PENDING, PROCESSING, DONE, IGNORED, DEAD = "pending", "processing", "done", "ignored", "dead"


class InboxEvent(Base):
    __tablename__ = "inbox_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64), default="")
    change_type: Mapped[str] = mapped_column(String(64), default="")
    xml: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_inbox_status_next", "status", "next_attempt_at"),)


def dedupe_key(xml: bytes) -> str:
    # WeCom re-encrypts each retry with a fresh random prefix; the decrypted XML is what repeats.
    return hashlib.sha256(xml).hexdigest()


def new_row(xml: bytes, event: str, change_type: str, now: datetime) -> dict[str, object]:
    """Column values for a freshly received event (inserted by wecom_hr.inbox_writer)."""
    return dict(dedupe_key=dedupe_key(xml), event=event[:64], change_type=change_type[:64],
                xml=xml.decode("utf-8"), received_at=now, status=PENDING, attempts=0, next_attempt_at=now)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_((InboxEvent.status == PENDING) & (InboxEvent.next_attempt_at <= now),
               (InboxEvent.status == PROCESSING) & (InboxEvent.locked_until < now))


def claim(session: Session, worker_id: str, lease: timedelta, limit: int = 10,
          now: datetime | None = None) -> list[int]:
    """Take up to ``limit`` due events (or ones whose worker's lease ran out) for this worker, in one
    short write transaction: the callback's inbox writer shares SQLite's single write lock with us."""
    now = now or utcnow()
    candidates = select(InboxEvent.id).where(_due(now)).order_by(InboxEvent.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            session.commit()
            return []
        chosen = InboxEvent.id.in_(ids)
    else:  # SQLite: chosen inside the UPDATE, under the write lock, so two workers never pick the same rows
        chosen = InboxEvent.id.in_(candidates)
    claimed = session.scalars(
        update(InboxEvent).where(chosen, _due(now))  # the guard: a row someone else claimed is not due
        .values(status=PROCESSING, locked_by=worker_id, locked_until=now + lease, attempts=InboxEvent.attempts + 1)
        .returning(InboxEvent.id).execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return sorted(claimed)


def finish(session: Session, event_id: int, worker_id: str, status: str, error: str | None = None) -> bool:
    """Mark our claimed event done/ignored; False when our lease was lost to another worker."""
    return bool(rowcount(session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.locked_by == worker_id, InboxEvent.status == PROCESSING)
        .values(status=status, handled_at=utcnow(), locked_by=None, locked_until=None, last_error=error)
    )))


def fail(session: Session, event_id: int, worker_id: str, error: str, max_attempts: int,
         backoff: float, backoff_max: float) -> str:
    """Record a handler failure: back to pending after a backoff, or dead after max_attempts."""
    row = session.get(InboxEvent, event_id)
    if row is None or row.locked_by != worker_id:
        return "lost"
    row.last_error = error[:2000]
    row.locked_by = None
    row.locked_until = None
    if row.attempts >= max_attempts:
        row.status = DEAD
    else:
        row.status = PENDING
        row.next_attempt_at = utcnow() + timedelta(seconds=min(backoff * 2 ** (row.attempts - 1), backoff_max))
    return row.status


def postpone(session: Session, event_id: int, worker_id: str, seconds: float) -> str:
    """Give a claimed event back without counting the attempt (the store was busy, not the handler)."""
    rowcount(session.execute(
        update(InboxEvent).where(InboxEvent.id == event_id, InboxEvent.locked_by == worker_id)
        .values(status=PENDING, locked_by=None, locked_until=None, attempts=InboxEvent.attempts - 1,
                next_attempt_at=utcnow() + timedelta(seconds=seconds))))
    return PENDING


def retry(session: Session, event_id: int) -> bool:
    return bool(rowcount(session.execute(
        update(InboxEvent).where(InboxEvent.id == event_id, InboxEvent.status.in_([DEAD, IGNORED, DONE, PENDING]))
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow(), last_error=None)
    )))


def listing(session: Session, failed_only: bool = False, limit: int = 50) -> list[InboxEvent]:
    query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if failed_only:
        query = query.where(or_(InboxEvent.status == DEAD, InboxEvent.last_error.is_not(None)))
    return list(session.scalars(query))


def depth(session: Session, now: datetime | None = None) -> tuple[int, float]:
    """(unhandled events, age in seconds of the oldest) for health and metrics."""
    from sqlalchemy import func

    count, oldest = session.execute(
        select(func.count(), func.min(InboxEvent.received_at)).where(InboxEvent.status.in_([PENDING, PROCESSING]))
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = ((now or utcnow()) - oldest).total_seconds() if oldest else 0.0
    return int(count), age


def dead_count(session: Session) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).where(InboxEvent.status == DEAD)) or 0)
