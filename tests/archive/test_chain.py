"""Tamper evidence: the chain verifies on an untouched archive and names the first bad row."""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select, text, update

from storage.archive import ArchiveMessage
from storage.archive_chain import link, verify
from storage.archive_store import append_messages
from storage.db import Database
from tests.archive.conftest import message
from wecom_hr.archive.messages import parse_message


def _archive(db: Database, n: int, key: bytes = b"") -> None:
    rows = [parse_message(json.dumps(message(f"m{i}", f"第{i}条消息", at=i), ensure_ascii=False), i + 1)
            for i in range(n)]
    with db.session_scope() as s:
        append_messages(s, rows[: n // 2], key)
    with db.session_scope() as s:
        append_messages(s, rows[n // 2:], key)  # the chain continues across transactions


def _report(db: Database, key: bytes = b""):  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        return verify(s, key, batch=3)


def test_an_untouched_archive_verifies(db: Database) -> None:
    assert _report(db).ok  # empty
    _archive(db, 10)
    report = _report(db)
    assert report.ok and report.checked == 10
    assert report.line() == "archive chain intact: 10 messages"


def test_an_altered_row_is_named(db: Database) -> None:
    _archive(db, 10)
    with db.engine.begin() as conn:
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.id == 4).values(text="改过的内容"))
    report = _report(db)
    assert (report.ok, report.problem, report.position, report.msgid) == (False, "altered", 4, "m3")
    assert "position 4 (msgid m3)" in report.line()


def test_a_deleted_row_is_named(db: Database) -> None:
    _archive(db, 10)
    with db.engine.begin() as conn:
        conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id == 6))
    report = _report(db)
    assert (report.problem, report.position) == ("missing", 6)


def test_a_deleted_tail_is_noticed(db: Database) -> None:
    _archive(db, 10)
    with db.engine.begin() as conn:
        conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id >= 9))
    report = _report(db)
    assert (report.problem, report.position) == ("missing", 9)


def test_a_forged_row_in_the_middle_and_at_the_end(db: Database) -> None:
    _archive(db, 6)
    with db.session_scope() as s:
        row = s.get(ArchiveMessage, 3)
        assert row is not None
        values = [getattr(row, c) for c in ("id", "msgid", "seq", "action", "msgtype", "sender", "tolist",
                                            "roomid", "customer", "msgtime", "text", "ref_msgid", "raw")]
    # Someone rewrites row 3 and recomputes its own hash, but cannot fix row 4's link.
    values[10] = "伪造的内容"
    forged = link("f" * 64, values)
    with db.engine.begin() as conn:
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.id == 3)
                     .values(text=values[10], prev_hash="f" * 64, hash=forged))
    assert (_report(db).problem, _report(db).position) == ("inserted", 3)


def test_an_appended_forgery_does_not_match_the_recorded_head(db: Database) -> None:
    _archive(db, 4)
    with db.session_scope() as s:
        last = s.scalar(select(ArchiveMessage).where(ArchiveMessage.id == 4))
        assert last is not None
        values = [5, "fake", 9, "send", "text", "zhangsan", "[]", "", "", 1, "私下交易", "", "{}"]
        columns = ["id", "msgid", "seq", "action", "msgtype", "sender", "tolist", "roomid", "customer", "msgtime",
                   "text", "ref_msgid", "raw"]
        s.execute(insert(ArchiveMessage).values(**dict(zip(columns, values, strict=True)), prev_hash=last.hash,
                                                hash=link(last.hash, values)))
    report = _report(db)
    assert (report.problem, report.position) == ("inserted", 5)


def test_with_a_chain_key_the_hashes_cannot_be_recomputed_without_it(db: Database) -> None:
    _archive(db, 5, key=b"kept-outside-the-db")
    assert _report(db, b"kept-outside-the-db").ok
    assert _report(db).problem == "altered"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM archive_messages")).scalar_one() == 5
