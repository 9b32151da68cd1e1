"""The outbox: WeCom messages written in the same transaction as the change that causes them.

A handler that runs twice (a retry, a worker killed mid-way) enqueues the same ``key`` twice;
the unique key keeps one row, so WeCom receives one message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, rowcount, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    touser: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    msgid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    response_code: Mapped[str | None] = mapped_column(String(256), nullable=True)
    invalid_users: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)


def enqueue(session: Session, key: str, kind: str, touser: list[str], payload: dict[str, Any],
            now: datetime | None = None) -> bool:
    """Queue a message/send body (without touser/agentid); False when ``key`` was queued before."""
    now = now or utcnow()
    values = dict(key=key[:200], kind=kind, touser="|".join(sorted(set(touser))), payload=payload,
                  status=PENDING, attempts=0, created_at=now, next_attempt_at=now)
    bind = session.get_bind()
    dialect_insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (dialect_insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(OutboxMessage.id))  # RETURNING: rowcount is -1 here on PostgreSQL
    return session.execute(stmt).first() is not None


def undelivered(session: Session) -> int:
    """Messages queued or being sent right now (not yet sent nor given up)."""
    return int(session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status.in_((PENDING, SENDING)))) or 0)


def forget(session: Session, kinds: tuple[str, ...], before: datetime, *, count_only: bool = False) -> int:
    """Delete finished (sent or given-up) messages of these kinds queued before ``before``: for
    messages that quote archived chats, which must not outlive the chats' retention."""
    finished = (OutboxMessage.kind.in_(kinds), OutboxMessage.created_at < before,
                OutboxMessage.status.in_((SENT, FAILED)))
    if count_only:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage).where(*finished)) or 0)
    return rowcount(session.execute(delete(OutboxMessage).where(*finished)))


def claim(session: Session, lease: timedelta, limit: int = 50, now: datetime | None = None) -> list[OutboxMessage]:
    now = now or utcnow()
    due = or_((OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= now),
              (OutboxMessage.status == SENDING) & (OutboxMessage.locked_until < now))
    query = select(OutboxMessage.id, OutboxMessage.attempts).where(due).order_by(OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = []
    for msg_id, attempts in session.execute(query).all():
        won = rowcount(session.execute(
            update(OutboxMessage).where(OutboxMessage.id == msg_id, OutboxMessage.attempts == attempts)
            .values(status=SENDING, locked_until=now + lease, attempts=attempts + 1)))
        if won:
            ids.append(msg_id)
    session.commit()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)))


def by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
