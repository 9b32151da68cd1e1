"""The archive pull's health, one row: what `archive status`, /metrics and the outage alert read.

``started_at`` is the first pull attempt ever recorded: before any success, the time without a
successful pull counts from there. ``outage_alerted_at`` is set while compliance has been told of
the current outage, so that one outage gives one alert and one recovery notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, iso

ROW_ID = 1


class ArchivePullState(Base):
    __tablename__ = "archive_pull_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    started_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    outage_alerted_at: Mapped[datetime | None] = mapped_column(nullable=True)


def get(session: Session) -> ArchivePullState | None:
    return session.get(ArchivePullState, ROW_ID)


def attempt(session: Session, now: datetime) -> ArchivePullState:
    """The row, locked for this update (created at the first attempt)."""
    row = session.get(ArchivePullState, ROW_ID, with_for_update=True)
    if row is None:
        row = ArchivePullState(id=ROW_ID, started_at=now, consecutive_failures=0, seq=0)
        session.add(row)
    row.last_attempt_at = now
    return row


def succeeded(row: ArchivePullState, now: datetime, seq: int) -> None:
    row.last_success_at, row.seq, row.consecutive_failures = now, seq, 0


def failed(row: ArchivePullState, now: datetime, errcode: int | None, text: str) -> None:
    row.last_errcode, row.last_error, row.last_error_at = errcode, text[:2000], now
    row.consecutive_failures = (row.consecutive_failures or 0) + 1


def healthy_since(row: ArchivePullState) -> datetime:
    """The last successful pull, or the first attempt when there has been none."""
    return row.last_success_at or row.started_at


def as_dict(row: ArchivePullState | None) -> dict[str, Any]:
    if row is None:
        return {"last_attempt": None, "last_success": None, "last_error": None, "consecutive_failures": 0,
                "seq": 0, "first_attempt": None, "outage_alerted": None}
    error = {"errcode": row.last_errcode, "text": row.last_error, "at": iso(row.last_error_at)} \
        if row.last_error else None
    return {"last_attempt": iso(row.last_attempt_at), "last_success": iso(row.last_success_at), "last_error": error,
            "consecutive_failures": row.consecutive_failures, "seq": row.seq, "first_attempt": iso(row.started_at),
            "outage_alerted": iso(row.outage_alerted_at)}
