"""Exit questionnaire answers (离职问卷, issue 17): one row per departure, written when the leaver is
invited (on approval) and filled in — or updated — by them until their last day.

The link carries a random token; only its SHA-256 is kept, so the table alone opens nothing (and the
page checks the signed-in member too). Answers are for HR and admin only.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class ExitAnswer(Base):
    __tablename__ = "departure_exit_answers"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id", ondelete="CASCADE"), unique=True)
    userid: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    invited_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)  # first answer
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)    # latest answer


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def of_departure(session: Session, departure_id: int) -> ExitAnswer | None:
    return session.scalar(select(ExitAnswer).where(ExitAnswer.departure_id == departure_id))


def by_token(session: Session, token: str) -> ExitAnswer | None:
    return session.scalar(select(ExitAnswer).where(ExitAnswer.token_hash == token_hash(token)))


def of_departures(session: Session, departure_ids: list[int]) -> dict[int, ExitAnswer]:
    if not departure_ids:
        return {}
    rows = session.scalars(select(ExitAnswer).where(ExitAnswer.departure_id.in_(departure_ids)))
    return {row.departure_id: row for row in rows}


def invite(session: Session, departure_id: int, userid: str, token: str, now: datetime) -> ExitAnswer:
    row = ExitAnswer(departure_id=departure_id, userid=userid, token_hash=token_hash(token), reasons=[], note="",
                     invited_at=now)
    session.add(row)
    session.flush()
    return row


def answer(row: ExitAnswer, reasons: list[str], note: str, now: datetime) -> None:
    row.reasons, row.note, row.updated_at = list(reasons), note, now
    if row.submitted_at is None:
        row.submitted_at = now
