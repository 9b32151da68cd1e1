"""KPI aggregates kept up to date as messages are archived (issue 18); all rebuildable from the archive.

Only one-to-one chats between a member and a customer count: in a group it is not clear whom a
customer's message waits for. Days are local days of [kpi] timezone.

    kpi_awaiting      (member, customer) -> the oldest customer message the member has not answered yet
    kpi_contacts      (member, customer) -> first and last message the member sent the customer
    kpi_contact_days  (member, day, customer): the member messaged the customer that day (coverage)
    kpi_member_days   (member, day) -> the day's replies: working and message-time seconds of each
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.customers import Customer
from storage.db import Base


class KpiAwaiting(Base):
    __tablename__ = "kpi_awaiting"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer: Mapped[str] = mapped_column(String(128), primary_key=True)
    since_ms: Mapped[int] = mapped_column(BigInteger)


class KpiContact(Base):
    __tablename__ = "kpi_contacts"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_ms: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int] = mapped_column(BigInteger)


class KpiContactDay(Base):
    __tablename__ = "kpi_contact_days"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    customer: Mapped[str] = mapped_column(String(128), primary_key=True)


class KpiMemberDay(Base):
    __tablename__ = "kpi_member_days"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    work_seconds: Mapped[list[int]] = mapped_column(JSON, default=list)   # one per reply, working time
    wall_seconds: Mapped[list[int]] = mapped_column(JSON, default=list)   # the same replies, message time
    updated_at: Mapped[datetime]


# The KPI queries read a member's customers by owner (the pool's own indexes are by status and id).
OWNER_INDEX = Index("ix_kpi_customers_owner", Customer.first_owner, Customer.created_at)
