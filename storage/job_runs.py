"""How each scheduled job last went: one row per job, so a failure is stored, not only logged.

`wecom-hr jobs status` prints these rows; the scheduler counts failures in /metrics and tells the
admins in WeCom when a job keeps failing (wecom_hr/job_health.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base


class JobRun(Base):
    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)  # the admins heard of this failure spell


def get(session: Session, name: str) -> JobRun:
    row = session.get(JobRun, name)
    if row is None:
        row = JobRun(name=name, failures_in_row=0, alerted=False)
        session.add(row)
        session.flush()
    return row


def all_runs(session: Session) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.name)))
