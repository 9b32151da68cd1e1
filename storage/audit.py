"""Audit log: who did what, when (searches, approvals, refused clicks, departures, imports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_action_at", "action", "at"),)


def record(session: Session, actor: str, action: str, detail: dict[str, Any] | None = None,
           at: datetime | None = None) -> AuditEntry:
    entry = AuditEntry(at=at or utcnow(), actor=actor, action=action, detail=detail or {})
    session.add(entry)
    return entry


def entries(session: Session, action: str | None = None, actor: str | None = None,
            limit: int = 50, offset: int = 0) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return list(session.scalars(query))
