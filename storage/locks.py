"""Named leases in the database, for when Redis is not configured (one scheduler, one puller).

Acquire is a single guarded write: insert the row, or take it over when it expired or is ours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, rowcount, utcnow


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


def acquire(session: Session, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
    now = now or utcnow()
    until = now + timedelta(seconds=ttl)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: PostgreSQL reports -1 rows for INSERT ... ON CONFLICT DO NOTHING.
    inserted = session.execute(
        dialect_insert(Lease).values(name=name, holder=holder, expires_at=until).on_conflict_do_nothing()
        .returning(Lease.name)
    ).first()
    if inserted is not None:
        return True
    return bool(rowcount(session.execute(
        update(Lease).where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
        .values(holder=holder, expires_at=until)
    )))


def release(session: Session, name: str, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
