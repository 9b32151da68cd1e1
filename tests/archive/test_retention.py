"""Retention: purged ranges keep the chain verifiable through signed checkpoints; held messages stay
and still verify; tampering before or after a purge is still reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from storage.archive import (
    ArchiveCheckpoint,
    ArchiveDoc,
    ArchiveEnvelope,
    ArchiveGap,
    ArchiveMessage,
    ArchivePosting,
    ArchiveState,
    WatchHit,
)
from storage.archive_chain import CHECKPOINTS, ChainReport, checkpoint_mac, link, load_gaps, verify
from storage.archive_query import parse
from storage.archive_retention import PurgeReport, purge
from storage.archive_search import full_scan, search
from storage.archive_store import Envelope, append_messages, save_envelopes
from storage.archive_text import fold, posting_rows
from storage.db import Database
from tests.archive.conftest import T0, message
from wecom_hr.archive.messages import parse_message

DAY = 86_400
NOW = datetime.fromtimestamp(T0 / 1000 + 30 * DAY, UTC)
CUTOFF = T0 + 20 * DAY * 1000          # 10 days of retention at NOW
KEY = b"chain-key-outside-the-db"


def _msg(i: int, **kw: Any) -> dict[str, Any]:
    return message(f"m{i}", kw.pop("text", f"第{i}条 返点"), at=i * DAY, **kw)


def _archive(db: Database, msgs: list[dict[str, Any]], key: bytes = KEY) -> None:
    rows = [parse_message(json.dumps(m, ensure_ascii=False), i + 1) for i, m in enumerate(msgs)]
    with db.session_scope() as s:
        save_envelopes(s, [Envelope(i + 1, m["msgid"], 1, "k", "c") for i, m in enumerate(msgs)])
        append_messages(s, rows, key)
        s.add_all(WatchHit(rule="r", msgid=m["msgid"], severity="high", sender="", customer="", snippet="返点",
                           msgtime=0, hit_at=NOW) for m in msgs)


def _purge(db: Database, holds: tuple[str, ...] = (), key: bytes = KEY, **kw: Any) -> PurgeReport:
    # The row purge (whole months are dropped on PostgreSQL by default: see test_retention_months.py).
    kw.setdefault("whole_months", False)
    return purge(db, CUTOFF, holds, key, actor="test", reason="retention test", now=NOW, batch=4, **kw)


def _verify(db: Database, key: bytes = KEY) -> ChainReport:
    with db.session_scope() as s:
        return verify(s, key, batch=3)


def _ids(db: Database) -> list[int]:
    with db.session_scope() as s:
        return list(s.scalars(select(ArchiveMessage.id).order_by(ArchiveMessage.id)))


def _counts(db: Database) -> dict[str, int]:
    tables = (ArchiveMessage, ArchiveDoc, ArchivePosting, ArchiveEnvelope, WatchHit, ArchiveCheckpoint, ArchiveGap)
    with db.session_scope() as s:
        return {t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in tables}


def test_purge_then_verify_passes_and_the_index_follows(db: Database) -> None:
    _archive(db, [_msg(i) for i in range(30)])
    report = _purge(db)
    assert (report.due, report.held, report.deleted, report.checkpoints) == (20, 0, 20, 5)
    assert _ids(db) == list(range(21, 31))
    counts = _counts(db)
    assert counts["archive_docs"] == counts["archive_envelopes"] == counts["archive_watch_hits"] == 10
    with db.session_scope() as s:
        bodies = s.execute(select(ArchiveDoc.body)).scalars().all()
        assert counts["archive_postings"] == sum(len(posting_rows(b)) for b in bodies)
        q = parse("返点")
        assert search(s, q).ids == full_scan(s, q) == list(range(30, 20, -1))
    checked = _verify(db)
    assert checked.ok and (checked.checked, checked.purged, checked.checkpoints) == (10, 20, 5)
    assert checked.line() == "archive chain intact: 10 messages, 20 purged under retention (5 checkpoints)"
    # The chain goes on: new messages link to the head, which the purge never touches.
    with db.session_scope() as s:
        append_messages(s, [parse_message(json.dumps(_msg(31)), 31)], KEY)
    assert _verify(db).ok and _verify(db).checked == 11


def test_held_messages_stay_and_still_verify(db: Database) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[3] = _msg(3, sender="lisi")                                       # a held member sends
    msgs[7] = _msg(7, to=("wangwu", "wmHeld"))                             # a held customer receives
    msgs[9] = _msg(9, sender="zhaoliu", to=("zhaoliu2",), room="room1")    # lisi is in room1 (below)
    msgs[25] = _msg(25, sender="lisi", to=("zhaoliu",), room="room1")      # a recent message puts him there
    msgs[12] = _msg(12, sender="wmHeld", to=("zhangsan",))                 # the held customer sends
    _archive(db, msgs)
    report = _purge(db, ("lisi", "wmHeld"))
    assert (report.due, report.held, report.deleted) == (20, 4, 16)
    assert _ids(db)[:4] == [4, 8, 10, 13]
    assert _verify(db).ok and _verify(db).purged == 16
    # A released hold: the next run purges those rows too, and the gaps still join up.
    again = _purge(db, ("wmHeld",))
    assert again.deleted == 2 and _ids(db)[:2] == [8, 13]
    assert _verify(db).ok and _verify(db).purged == 18


def test_dry_run_changes_nothing_and_a_second_run_is_harmless(db: Database) -> None:
    _archive(db, [_msg(i) for i in range(30)])
    before = _counts(db)
    dry = _purge(db, ("nobody",), dry_run=True)
    assert (dry.due, dry.deleted, dry.checkpoints) == (20, 20, 0)
    assert _counts(db) == before and _verify(db).checkpoints == 0
    _purge(db)
    after = _counts(db)
    again = _purge(db)
    assert (again.due, again.deleted, again.checkpoints) == (0, 0, 0)
    assert _counts(db) == after and _verify(db).ok


def test_tampering_after_a_purge_is_still_reported(db: Database) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[5] = _msg(5, sender="lisi")
    _archive(db, msgs)
    _purge(db, ("lisi",))
    with db.engine.begin() as conn:   # a held row inside the purged range
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.id == 6).values(text="改过的内容"))
    assert (_verify(db).problem, _verify(db).position) == ("altered", 6)
    with db.engine.begin() as conn:
        conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id == 6))
    assert (_verify(db).problem, _verify(db).position) == ("missing", 6)


def test_a_row_deleted_outside_retention_is_missing(db: Database) -> None:
    _archive(db, [_msg(i) for i in range(30)])
    _purge(db)
    with db.engine.begin() as conn:
        conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id == 24))
    report = _verify(db)
    assert (report.ok, report.problem, report.position) == (False, "missing", 24)


@pytest.mark.parametrize("tamper", ["widen_gap", "drop_gap", "drop_checkpoint", "drop_last_checkpoint", "forge"])
def test_checkpoints_cannot_be_edited_dropped_or_forged(db: Database, tamper: str) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[10] = _msg(10, sender="lisi")
    _archive(db, msgs)
    _purge(db, ("lisi",))
    with db.engine.begin() as conn:
        if tamper == "widen_gap":  # hide the deletion of held row 11 by stretching the gap before it
            conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id == 11))
            conn.execute(update(ArchiveGap).where(ArchiveGap.last_id == 10).values(last_id=11))
        elif tamper == "drop_gap":
            conn.execute(delete(ArchiveGap).where(ArchiveGap.first_id == 12))
        elif tamper == "drop_checkpoint":
            second = conn.execute(select(ArchiveCheckpoint.id).order_by(ArchiveCheckpoint.id).offset(1)).scalar()
            conn.execute(delete(ArchiveCheckpoint).where(ArchiveCheckpoint.id == second))
        elif tamper == "drop_last_checkpoint":
            last = conn.execute(select(func.max(ArchiveCheckpoint.id))).scalar_one()
            conn.execute(delete(ArchiveGap).where(ArchiveGap.checkpoint_id == last))
            conn.execute(delete(ArchiveCheckpoint).where(ArchiveCheckpoint.id == last))
        else:  # a whole extra checkpoint, signed without the chain key, covering a row deleted by hand
            _forge_checkpoint(db, conn)
    report = _verify(db)
    assert (report.ok, report.problem) == (False, "checkpoint"), report


def _forge_checkpoint(db: Database, conn: Any) -> None:
    row = conn.execute(select(ArchiveMessage.id, ArchiveMessage.prev_hash, ArchiveMessage.hash)
                       .where(ArchiveMessage.id == 11)).one()
    conn.execute(delete(ArchiveMessage).where(ArchiveMessage.id == 11))
    state = conn.execute(select(ArchiveState.value).where(ArchiveState.name == CHECKPOINTS)).scalar_one()
    cp = ArchiveCheckpoint(id=999, created_at=NOW, actor="x", reason="x", cutoff_ms=CUTOFF, first_id=11, last_id=11,
                           deleted=1, held=0, prev_mac=state, mac="")
    from storage.archive_chain import Gap

    cp.mac = checkpoint_mac(cp, [Gap(11, 11, row.prev_hash, row.hash)], b"")  # no key: the forger lacks it
    conn.execute(insert(ArchiveCheckpoint).values(id=999, created_at=NOW, actor="x", reason="x", cutoff_ms=CUTOFF,
                                                  first_id=11, last_id=11, deleted=1, held=0, prev_mac=state,
                                                  mac=cp.mac))
    conn.execute(insert(ArchiveGap).values(first_id=11, last_id=11, checkpoint_id=999, prev_hash=row.prev_hash,
                                           last_hash=row.hash))
    conn.execute(update(ArchiveState).where(ArchiveState.name == CHECKPOINTS).values(value=cp.mac))


def test_a_row_put_back_into_a_purged_range_is_inserted(db: Database) -> None:
    msgs = [_msg(i) for i in range(30)]
    _archive(db, msgs)
    with db.session_scope() as s:
        original = s.get(ArchiveMessage, 7)
        assert original is not None
        values = {c.name: getattr(original, c.name) for c in ArchiveMessage.__table__.columns}
    _purge(db)
    with db.engine.begin() as conn:
        conn.execute(insert(ArchiveMessage).values(**values))
    assert (_verify(db).problem, _verify(db).position) == ("inserted", 7)


def test_the_purge_refuses_a_broken_chain(db: Database) -> None:
    _archive(db, [_msg(i) for i in range(30)])
    with db.engine.begin() as conn:
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.id == 4).values(text="改过的内容"))
    before = _counts(db)
    report = _purge(db)
    assert report.deleted == 0 and "altered at position 4 (msgid m3)" in report.refused
    assert _counts(db) == before


def test_checkpoints_load_in_order_with_their_gaps(db: Database) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[2] = _msg(2, sender="lisi")
    _archive(db, msgs)
    _purge(db, ("lisi",))
    with db.session_scope() as s:
        gaps, checkpoints, problem = load_gaps(s, KEY)
        assert problem == "" and checkpoints == 5
        assert [(g.first, g.last) for g in sorted(gaps.values(), key=lambda g: g.first)] == [
            (1, 2), (4, 4), (5, 8), (9, 12), (13, 16), (17, 20)]
        first = s.get(ArchiveMessage, 3)
        assert first is not None and gaps[1].last_hash == first.prev_hash
        assert link(first.prev_hash, [getattr(first, c) for c in (
            "id", "msgid", "seq", "action", "msgtype", "sender", "tolist", "roomid", "customer", "msgtime", "text",
            "ref_msgid", "raw")], KEY) == first.hash
        assert fold(first.text) == s.scalar(text("SELECT body FROM archive_docs WHERE id = 3"))
