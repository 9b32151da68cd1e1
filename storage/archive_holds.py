"""Legal holds kept in the database (the API's); holds in config are added by the caller."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.archive import LegalHold

KINDS = ("member", "customer")


def holds(session: Session, include_released: bool = False) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.id)
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.scalars(query))


def place(session: Session, kind: str, userid: str, reason: str, actor: str, now: datetime) -> tuple[LegalHold, bool]:
    """Hold a member or customer; an active hold on the same party is returned, not doubled."""
    active = session.scalar(select(LegalHold).where(LegalHold.kind == kind, LegalHold.userid == userid,
                                                    LegalHold.released_at.is_(None)))
    if active is not None:
        return active, False
    hold = LegalHold(kind=kind, userid=userid, reason=reason, created_by=actor, created_at=now)
    session.add(hold)
    session.flush()
    return hold, True


def release(session: Session, hold_id: int, actor: str, now: datetime) -> LegalHold | None:
    """Release an active hold (None when there is no such active hold)."""
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.released_at is not None:
        return None
    hold.released_by, hold.released_at = actor, now
    return hold


def held_userids(session: Session) -> set[str]:
    return set(session.scalars(select(LegalHold.userid).where(LegalHold.released_at.is_(None))))
