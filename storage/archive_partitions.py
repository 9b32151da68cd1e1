"""Monthly partitions of the archive on PostgreSQL (migration 0021); SQLite keeps plain tables.

archive_messages, archive_docs and archive_postings are each PARTITION BY RANGE (msgtime), one
partition per calendar month in UTC, named ``<table>_pYYYYMM``. Two fixed partitions take times no
month holds: ``<table>_pbefore`` (up to 1970-02, so WeCom's "no time" 0 lives there and is never
dropped with a month) and ``<table>_pafter`` (year 9999 on). There is no DEFAULT partition: a
row always has exactly one home, and a month is created at append time before its first row.

A message, its doc and its postings share msgtime, so a month's three partitions hold exactly the
same messages and retention drops them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.db import Database

TABLES = ("archive_messages", "archive_docs", "archive_postings")
FIRST_MONTH = (1970, 2)       # earlier times (and 0, "no time") go to the "before" partition


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def suffix(self) -> str:
        return f"p{self.year:04d}{self.month:02d}"

    @property
    def lo(self) -> int:
        return _ms(self.year, self.month)

    @property
    def hi(self) -> int:
        return _ms(self.year + self.month // 12, self.month % 12 + 1)

    def name(self, table: str) -> str:
        return f"{table}_{self.suffix}"


def _ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


BEFORE_HI = _ms(*FIRST_MONTH)
AFTER_LO = _ms(9999, 1)       # and later times go to the "after" partition


def month_of(msgtime: int) -> Month | None:
    """The month partition of a time, or None for the fixed before/after partitions."""
    if msgtime < BEFORE_HI or msgtime >= AFTER_LO:
        return None
    at = datetime.fromtimestamp(msgtime / 1000, UTC)
    return Month(at.year, at.month)


def parse_suffix(name: str) -> Month | None:
    tail = name.rsplit("_p", 1)[-1]
    if len(tail) != 6 or not tail.isdigit():
        return None
    return Month(int(tail[:4]), int(tail[4:]))


def is_partitioned(conn: Connection | Session) -> bool:
    dialect = conn.get_bind().dialect if isinstance(conn, Session) else conn.dialect
    if dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT 1 FROM pg_partitioned_table "
                             "WHERE partrelid = to_regclass('archive_messages')")).first() is not None


def months(conn: Connection | Session, table: str = "archive_messages") -> set[Month]:
    """The month partitions a partitioned table has now."""
    rows = conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                             "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": table})
    return {m for (name,) in rows if (m := parse_suffix(name)) is not None}


def create_fixed(conn: Connection | Session) -> None:
    for table in TABLES:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {table}_pbefore PARTITION OF {table} "
                          f"FOR VALUES FROM (MINVALUE) TO ({BEFORE_HI})"))
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {table}_pafter PARTITION OF {table} "
                          f"FOR VALUES FROM ({AFTER_LO}) TO (MAXVALUE)"))


def create_months(conn: Connection | Session, wanted: Iterable[Month]) -> list[Month]:
    """Create the partitions of these months in every archive table (those missing); returns the
    months created. Runs in the caller's transaction: the appender holds the chain head lock, so
    two appenders never race to create the same month."""
    missing = sorted(set(wanted) - months(conn))
    for month in missing:
        for table in TABLES:
            # Indexes and keys come from the parent's partitioned indexes.
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS {month.name(table)} PARTITION OF {table} "
                              f"FOR VALUES FROM ({month.lo}) TO ({month.hi})"))
    return missing


def ensure_for(session: Session, msgtimes: Iterable[int]) -> list[Month]:
    """Before an append: the month partitions these times need (no-op on SQLite or plain tables)."""
    wanted = {m for t in msgtimes if (m := month_of(t)) is not None}
    if not wanted or not is_partitioned(session):
        return []
    return create_months(session, wanted)


def next_month(month: Month) -> Month:
    return Month(month.year + month.month // 12, month.month % 12 + 1)


def create_ahead(db: Database, now_ms: int) -> list[Month]:
    """This month and the next, in a transaction of their own (the daily retention job calls it).

    Creating a partition locks its parent tables exclusively until commit; done here, before the
    month starts, the appender does not have to do it at the month's first message, inside an
    append transaction that searches would wait for. A lock that does not come within seconds
    (a long search) skips the step: the appender still creates a month it finds missing.
    """
    this = month_of(now_ms)
    if this is None:
        return []
    try:
        with db.session_scope() as s:
            if not is_partitioned(s):
                return []
            s.execute(text("SET LOCAL lock_timeout = '5s'"))
            return create_months(s, {this, next_month(this)})
    except DBAPIError:
        return []


def drop_month(conn: Connection | Session, month: Month) -> None:
    """Detach and drop one month from every archive table (the caller recorded the checkpoint)."""
    for table in TABLES:
        conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {month.name(table)}"))
        conn.execute(text(f"DROP TABLE {month.name(table)}"))
