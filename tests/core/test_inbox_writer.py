"""Group commit: many concurrent callbacks, duplicates inside one batch, and a database that fails."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from storage import inbox
from storage.db import Database
from wecom_hr.inbox_writer import InboxWriter, StoreError


def test_concurrent_stores_commit_each_event_once(db: Database) -> None:
    writer = InboxWriter(db.engine)
    events = [f"<xml><Event>e</Event><N>{i}</N></xml>".encode() for i in range(200)]
    results: dict[int, list[int | None]] = {i: [] for i in range(200)}
    lock = threading.Lock()

    def send(offset: int) -> None:
        for i in range(offset, 200, 8):
            for _ in range(3):  # WeCom's retries, racing with each other
                event_id = writer.store(events[i], "e", "")
                with lock:
                    results[i].append(event_id)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ids in results.values():
        assert len([x for x in ids if x is not None]) == 1  # exactly one delivery stored it
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(inbox.InboxEvent)) == 200


def test_the_same_event_twice_in_one_batch_is_stored_once(db: Database) -> None:
    writer = InboxWriter(db.engine)
    xml = b"<xml><Event>e</Event></xml>"
    from storage.db import utcnow
    from wecom_hr.inbox_writer import _Pending

    batch = [_Pending(inbox.new_row(xml, "e", "", utcnow())) for _ in range(2)]
    writer._write(batch)
    assert batch[0].event_id is not None and batch[1].event_id is None


def test_a_failing_database_reaches_every_waiter() -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    writer = InboxWriter(down.engine)
    with pytest.raises(StoreError) as info:
        writer.store(b"<xml/>", "e", "")
    assert "OperationalError" in type(info.value.__cause__).__name__
