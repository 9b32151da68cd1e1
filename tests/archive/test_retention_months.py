"""Monthly partitions on PostgreSQL: months made at append time, msgid dedupe, whole-month drops that
keep the chain verifiable, row-purge fallback under hold, search pruning by time, and the migration
that converts a plain archive. On SQLite the same purge works row by row."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from storage import db as dbmod
from storage.archive import ArchiveDoc, ArchiveEnvelope, ArchiveMessage, ArchivePosting, WatchHit
from storage.archive_chain import verify
from storage.archive_partitions import Month, is_partitioned, months
from storage.archive_query import parse
from storage.archive_retention import PurgeReport, purge
from storage.archive_search import Filters, full_scan, search
from storage.archive_store import Envelope, append_messages, save_envelopes
from storage.db import Database
from tests.archive.conftest import message
from wecom_hr.archive.messages import parse_message

KEY = b"chain-key-outside-the-db"
DAY_MS = 86_400_000
START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)   # 80 messages, one a day from here
NOW = datetime(2026, 5, 10, tzinfo=UTC)
CUTOFF = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)  # January and February are past


def _msgs(n: int = 80, **kw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        m = message(f"m{i}", f"第{i}条 返点 价格", **kw)
        m["msgtime"] = START + i * DAY_MS
        out.append(m)
    return out


def _archive(db: Database, msgs: list[dict[str, Any]], first_seq: int = 1, hits: bool = True) -> None:
    rows = [parse_message(json.dumps(m, ensure_ascii=False), first_seq + i) for i, m in enumerate(msgs)]
    with db.session_scope() as s:
        save_envelopes(s, [Envelope(first_seq + i, m["msgid"], 1, "k", "c") for i, m in enumerate(msgs)])
        append_messages(s, rows, KEY)
        s.add_all(WatchHit(rule="r", msgid=m["msgid"], severity="high", sender="", customer="", snippet="返点",
                           msgtime=m["msgtime"], hit_at=NOW) for m in (msgs if hits else []))


def _purge(db: Database, holds: tuple[str, ...] = ()) -> PurgeReport:
    return purge(db, CUTOFF, holds, KEY, actor="test", reason="months", now=NOW, batch=7)


def _count(db: Database, model: Any) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _pg(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("monthly partitions are PostgreSQL's (SQLite keeps plain tables)")


def _exact(db: Database, query: str, filters: Filters | None = None) -> None:
    filters = filters or Filters()
    with db.session_scope() as s:
        got = search(s, parse(query), filters, limit=500)
        ref = full_scan(s, parse(query), filters)
    assert (got.ids, got.total) == (ref, len(ref))


def test_purge_drops_past_months_whole_and_the_chain_still_verifies(db: Database) -> None:
    _archive(db, _msgs())
    report = _purge(db)
    # 1 January .. 9 March are due: 68 messages (January 31, February 28 whole, 9 of March row by row).
    assert (report.due, report.held, report.deleted) == (68, 0, 68)
    with db.session_scope() as s:
        assert verify(s, KEY).ok
        assert verify(s, KEY).purged == 68
        kept = list(s.scalars(select(ArchiveMessage.id).order_by(ArchiveMessage.id)))
    assert kept == list(range(69, 81))
    assert _count(db, ArchiveDoc) == _count(db, ArchiveEnvelope) == _count(db, WatchHit) == 12
    _exact(db, "返点")
    _exact(db, "价")
    if db.engine.dialect.name == "postgresql":
        # (other tests' months may be there too, empty after their wipe: they go as well)
        assert {"202601", "202602"} <= set(report.months) and "202603" not in report.months
        with db.session_scope() as s:
            # (months after the cutoff that other tests created stay: only the past ones go)
            for table in ("archive_messages", "archive_postings"):
                left = {m.suffix for m in months(s, table)}
                assert "p202603" in left and not {m for m in left if m <= "p202602"}, left
    assert _purge(db).deleted == 0


def test_a_month_with_a_held_message_is_purged_row_by_row(db: Database) -> None:
    msgs = _msgs()
    msgs[40]["from"] = "held001"   # 10 February
    _archive(db, msgs)
    report = _purge(db, holds=("held001",))
    assert (report.due, report.held, report.deleted) == (68, 1, 67)
    with db.session_scope() as s:
        assert verify(s, KEY).ok
        assert s.scalar(select(ArchiveMessage.msgid).where(ArchiveMessage.msgtime < CUTOFF)) == "m40"
        if db.engine.dialect.name == "postgresql":
            assert "202601" in report.months and "202602" not in report.months
            assert Month(2026, 2) in months(s)
    _exact(db, "返点")


def test_a_tampered_row_stops_the_drop(db: Database) -> None:
    _pg(db)
    _archive(db, _msgs())
    with db.engine.begin() as conn:
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.id == 5).values(text="改过的内容"))
    report = _purge(db)
    assert report.refused and report.deleted == 0
    with db.session_scope() as s:
        assert Month(2026, 1) in months(s)
    assert _count(db, ArchiveMessage) == 80


def test_months_are_made_at_append_time_and_msgid_stays_unique(db: Database) -> None:
    _pg(db)
    msgs = _msgs(3)
    msgs[2]["msgtime"] = int(datetime(2031, 6, 15, tzinfo=UTC).timestamp() * 1000)  # a month no test made
    msgs.append(message("m-no-time", "没有时间"))
    msgs[-1]["msgtime"] = 0
    _archive(db, msgs)
    _archive(db, msgs[:3], first_seq=10, hits=False)  # delivered again: skipped
    with db.session_scope() as s:
        assert is_partitioned(s)
        assert {Month(2026, 1), Month(2031, 6)} <= months(s)
        assert s.scalar(text("SELECT count(*) FROM archive_docs_p203106")) == 1
        assert s.scalar(text("SELECT count(*) FROM archive_messages_pbefore")) == 1
        assert s.scalar(select(func.count()).select_from(ArchiveMessage)) == 4
        assert verify(s, KEY).ok
        row = s.execute(select(ArchiveMessage).where(ArchiveMessage.id == 1)).scalar_one()
        values = {c: getattr(row, c) for c in ArchiveMessage.__table__.columns.keys()}
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert(ArchiveMessage).values(**values | {"id": 99}))


def test_a_late_message_for_a_dropped_month_brings_the_month_back(db: Database) -> None:
    _pg(db)
    _archive(db, _msgs())
    assert {"202601", "202602"} <= set(_purge(db).months)
    late = message("late", "迟到的 返点")
    late["msgtime"] = START + 3 * DAY_MS
    _archive(db, [late], first_seq=100)
    with db.session_scope() as s:
        assert Month(2026, 1) in months(s)
        assert verify(s, KEY).ok
    _exact(db, "返点")


def test_search_in_a_time_window_reads_only_that_months_partitions(db: Database) -> None:
    _pg(db)
    _archive(db, _msgs())
    window = Filters(time_from=START + 35 * DAY_MS, time_to=START + 50 * DAY_MS)   # February only
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "archive_postings" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        _exact(db, "返点", window)
        _exact(db, "价", window)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "p202602" in plan
            assert "p202601" not in plan and "p202603" not in plan, plan


@pytest.fixture
def fresh_pg_url(db: Database) -> Iterator[str]:
    _pg(db)
    base = os.environ["WECOM_HR_TEST_DATABASE_URL"]
    name = f"wecomhr_months_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING UTF8 '
                          "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _snapshot(db: Database) -> tuple[list[Any], list[Any], list[Any]]:
    with db.session_scope() as s:
        return (s.execute(select(ArchiveMessage.id, ArchiveMessage.msgid, ArchiveMessage.hash)
                          .order_by(ArchiveMessage.id)).all(),
                s.execute(select(ArchiveDoc.id, ArchiveDoc.body).order_by(ArchiveDoc.id)).all(),
                s.execute(select(ArchivePosting.gram, ArchivePosting.doc_id, ArchivePosting.next2)
                          .order_by(ArchivePosting.gram, ArchivePosting.doc_id, ArchivePosting.next2)).all())


def test_the_migration_converts_a_plain_archive_and_back(fresh_pg_url: str) -> None:
    dbmod.upgrade(fresh_pg_url, "0010")
    db = Database(fresh_pg_url)
    try:
        with db.session_scope() as s:
            assert not is_partitioned(s)
        _archive(db, _msgs())
        before = _snapshot(db)
        dbmod.upgrade(fresh_pg_url)
        with db.session_scope() as s:
            assert is_partitioned(s)
            assert months(s) == {Month(2026, m) for m in (1, 2, 3)}
            assert verify(s, KEY).ok
        assert _snapshot(db) == before
        _exact(db, "返点")
        assert _purge(db).months == ["202601", "202602"]
        after_purge = _snapshot(db)
        _downgrade(fresh_pg_url)
        with db.session_scope() as s:
            assert not is_partitioned(s)
            assert verify(s, KEY).ok
        assert _snapshot(db) == after_purge
    finally:
        db.dispose()


def _downgrade(url: str) -> None:
    from alembic import command

    command.downgrade(dbmod.alembic_config(url), "0010")


def test_the_retention_job_makes_next_months_partitions_ahead(db: Database) -> None:
    from storage.archive_partitions import create_ahead

    made = create_ahead(db, int(datetime(2032, 12, 20, tzinfo=UTC).timestamp() * 1000))
    if db.engine.dialect.name != "postgresql":
        assert made == []
        return
    with db.session_scope() as s:
        assert {Month(2032, 12), Month(2033, 1)} <= months(s)
        assert {Month(2032, 12), Month(2033, 1)} <= months(s, "archive_docs")
    assert create_ahead(db, int(datetime(2032, 12, 21, tzinfo=UTC).timestamp() * 1000)) == []
