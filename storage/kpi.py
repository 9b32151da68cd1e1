"""KPI aggregates kept up to date as messages are archived (issue 18); all rebuildable from the archive.

Only one-to-one chats between a member and a customer count: in a group it is not clear whom a
customer's message waits for. Days are local days of [kpi] timezone.

    kpi_awaiting      (member, customer) -> the oldest customer message the member has not answered yet
    kpi_contacts      (member, customer) -> the first message the member sent the customer (written once)
    kpi_contact_days  (member, day, customer): the member messaged the customer that day (coverage)
    kpi_member_days   (member, day) -> the day's replies: histograms of working and message-time seconds
    kpi_member_weeks  (member, Monday) -> the same for the week: a period reads whole weeks here and
                      only the days at its ends above (wecom_hr/kpi/histogram.py: buckets, resolution)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column

from storage.customers import Customer
from storage.db import Base
from storage.receivables import Receivable


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
    work_hist: Mapped[list[list[int]]] = mapped_column(JSON, default=list)  # [[bound, count, sum]], working time
    wall_hist: Mapped[list[list[int]]] = mapped_column(JSON, default=list)  # the same replies, message time
    updated_at: Mapped[datetime]


class KpiMemberWeek(Base):
    """kpi_member_days summed over a week (``week`` is its Monday), kept by the listener alongside."""

    __tablename__ = "kpi_member_weeks"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    work_hist: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    wall_hist: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


# The KPI queries read a member's customers by owner (the pool's own indexes are by status and id),
# a new customer's orders by customer, and whether an owner messaged a customer in the coverage window.
OWNER_INDEX = Index("ix_kpi_customers_owner", Customer.first_owner, Customer.created_at)
OWNER_STATUS_INDEX = Index("ix_kpi_customers_owner_status", Customer.first_owner, Customer.status, Customer.created_at)
ORDERS_INDEX = Index("ix_kpi_receivables_customer", Receivable.external_userid, Receivable.issued_on)
CONTACT_PAIR_INDEX = Index("ix_kpi_contact_days_pair", KpiContactDay.userid, KpiContactDay.customer, KpiContactDay.day)


def write_many(session: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``sql`` (``?`` placeholders) once per row, in one driver executemany: the listener's writes skip
    SQLAlchemy's per-row parameter processing, so values go as the driver takes them on both
    backends: dates as ISO text, JSON as text, timestamps through ``timestamp_param``."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))  # type: ignore[arg-type]


def timestamp_param(session: Session, at: datetime) -> Any:
    """A UtcDateTime value for write_many: SQLite keeps the text SQLAlchemy would have written."""
    if session.get_bind().dialect.name == "postgresql":
        return at
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


KeyColumns = tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]


def rows_by_key(session: Session, columns: Sequence[Any], key: KeyColumns,
                keys: Sequence[tuple[Any, Any]]) -> Sequence[Any]:
    """The rows whose two-column key is one of ``keys``, in one statement whatever their number: the
    keys travel as one parameter (PostgreSQL: two arrays; SQLite: one JSON array), so the statement
    is compiled once, not once per batch size as an expanded IN (...) list would be."""
    if not keys:
        return []
    a, b = key
    if session.get_bind().dialect.name == "postgresql":
        k = func.unnest(bindparam("ka", type_=ARRAY(a.type)), bindparam("kb", type_=ARRAY(b.type))) \
            .table_valued("a", "b").render_derived(name="k")  # unnest(...) AS k(a, b)
        params: dict[str, Any] = {"ka": [x for x, _ in keys], "kb": [y for _, y in keys]}
        ka: Any = k.c.a
        kb: Any = k.c.b
    else:
        k = func.json_each(bindparam("keys")).table_valued("value").alias("k")
        params = {"keys": json.dumps([[str(x), str(y)] for x, y in keys])}  # SQLite stores dates as ISO text
        ka, kb = func.json_extract(k.c.value, "$[0]"), func.json_extract(k.c.value, "$[1]")
    query = select(*columns).select_from(k).join(a.class_, and_(a == ka, b == kb))
    return session.execute(query, params).all()
