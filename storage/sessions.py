"""Console sessions, ended on the server: each member has a session generation.

The signed cookie carries the generation it was issued under. Logging out, or HR revoking a
departing member's access, moves the member's generation on, and every cookie issued before is
refused — a copied cookie dies with the logout instead of living for [web] session_hours.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base


class MemberSession(Base):
    __tablename__ = "member_sessions"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


def generation(session: Session, userid: str) -> int:
    return session.scalar(select(MemberSession.generation).where(MemberSession.userid == userid)) or 0


def end_all(session: Session, userid: str, now: datetime) -> int:
    """Invalidate every session the member holds; returns the new generation."""
    moved = session.execute(update(MemberSession).where(MemberSession.userid == userid)
                            .values(generation=MemberSession.generation + 1, updated_at=now))
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.add(MemberSession(userid=userid, generation=1, updated_at=now))
        session.flush()
    return generation(session, userid)
