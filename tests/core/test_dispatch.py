"""The dispatcher: each stored event handled once, failures retried then dead-lettered, nothing lost
across a restart, and two worker processes never handling one event twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta

from sqlalchemy import func, select

from storage import audit, inbox
from storage.db import Database, utcnow
from tests.core.test_callback import event_xml, make_client, post, sealed
from tests.helpers import base_config
from wecom_hr.config import settings_from_mapping
from wecom_hr.dispatch import Dispatcher, HandlerContext, Route
from wecom_hr.events import Event
from wecom_hr.runtime import Runtime


def record_handling(ctx: HandlerContext, event: Event) -> None:
    audit.record(ctx.session, "test", "handled", {"event_id": ctx.event_id, "ext": event.get("external_user_id")})


def always_fails(ctx: HandlerContext, event: Event) -> None:
    audit.record(ctx.session, "test", "should-roll-back", {})
    raise RuntimeError("boom")


def slow_handler(ctx: HandlerContext, event: Event) -> None:
    time.sleep(30)


def handlings(db: Database) -> dict[int, int]:
    with db.session_scope() as s:
        rows = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "handled"))
        counts: dict[int, int] = {}
        for row in rows:
            counts[row.detail["event_id"]] = counts.get(row.detail["event_id"], 0) + 1
        return counts


def runtime_for(db: Database, **extra: object) -> Runtime:
    settings = settings_from_mapping(base_config("http://127.0.0.1:9/cgi-bin", db.url, **extra), environ={})
    return Runtime(settings, db=db)


def store(db: Database, n: int = 1, change: str = "add_external_contact") -> None:
    client = make_client(db)
    for _ in range(n):
        assert post(client, *sealed(event_xml(change=change))) == 200


def statuses(db: Database) -> list[str]:
    with db.session_scope() as s:
        return list(s.scalars(select(inbox.InboxEvent.status).order_by(inbox.InboxEvent.id)))


ROUTES = [Route("change_external_contact", None, record_handling)]


def test_event_delivered_three_times_is_handled_once(db: Database) -> None:
    client = make_client(db)
    xml = event_xml()
    for _ in range(3):
        post(client, *sealed(xml))
    dispatcher = Dispatcher(runtime_for(db), ROUTES)
    assert dispatcher.drain() == 1
    assert dispatcher.drain() == 0
    assert list(handlings(db).values()) == [1]
    assert statuses(db) == ["done"]


def test_unknown_event_is_marked_ignored(db: Database) -> None:
    client = make_client(db)
    post(client, *sealed(event_xml(event="future_event", change="")))
    Dispatcher(runtime_for(db), ROUTES).drain()
    assert statuses(db) == ["ignored"]


def test_failing_handler_retries_with_backoff_then_dead_letters(db: Database) -> None:
    store(db)
    rt = runtime_for(db, worker={"max_attempts": 3, "backoff_seconds": 0.2})
    dispatcher = Dispatcher(rt, [Route("change_external_contact", None, always_fails)])
    assert dispatcher.drain() == 1
    with db.session_scope() as s:
        row = s.scalars(select(inbox.InboxEvent)).one()
        assert row.status == "pending" and row.attempts == 1 and "boom" in row.last_error
        assert row.next_attempt_at > utcnow()  # backoff: not due yet
    assert dispatcher.drain() == 0
    for _ in range(2):
        time.sleep(0.45)
        dispatcher.drain()
    assert statuses(db) == ["dead"]
    with db.session_scope() as s:  # the failed handler's own writes were rolled back each time
        assert s.scalar(select(func.count()).where(audit.AuditEntry.action == "should-roll-back")) == 0
        assert [r.id for r in inbox.listing(s, failed_only=True)]
        event_id = s.scalars(select(inbox.InboxEvent.id)).one()
        assert inbox.retry(s, event_id)
    Dispatcher(rt, ROUTES).drain()
    assert statuses(db) == ["done"]


def test_events_stored_before_a_crash_are_handled_after_restart(db: Database) -> None:
    store(db, 3)  # the process that stored them "died" before handling: nothing drained
    fresh = Dispatcher(runtime_for(db), ROUTES)  # a new process
    assert fresh.drain() == 3
    assert sorted(handlings(db).values()) == [1, 1, 1]


def test_an_expired_lease_is_reclaimed_and_the_old_worker_cannot_finish(db: Database) -> None:
    store(db)
    rt = runtime_for(db)
    first, second = Dispatcher(rt, ROUTES), Dispatcher(rt, ROUTES)
    with db.session_scope() as s:
        [event_id] = inbox.claim(s, first.worker_id, timedelta(seconds=-1))  # lease already over
    assert second.drain() == 1
    assert first.handle(event_id) == "lost"
    assert list(handlings(db).values()) == [1]


def _worker_process(url: str, seconds: float) -> None:
    db = Database(url)
    dispatcher = Dispatcher(runtime_for(db), ROUTES)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not dispatcher.drain(limit=20):
            time.sleep(0.01)
    db.dispose()


def test_two_worker_processes_never_handle_one_event_twice(db: Database) -> None:
    store(db, 120)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker_process, args=(db.url, 6.0)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    counts = handlings(db)
    assert len(counts) == 120
    assert set(counts.values()) == {1}
    assert set(statuses(db)) == {"done"}


def _slow_worker(url: str) -> None:
    db = Database(url)
    rt = runtime_for(db, worker={"lease_seconds": 1.0})
    Dispatcher(rt, [Route("change_external_contact", None, slow_handler)]).drain()


def test_worker_killed_mid_handler_leaves_the_event_for_another(db: Database) -> None:
    store(db)
    ctx = multiprocessing.get_context("fork")
    victim = ctx.Process(target=_slow_worker, args=(db.url,))
    victim.start()
    deadline = time.time() + 10
    while statuses(db) != ["processing"] and time.time() < deadline:
        time.sleep(0.05)
    assert statuses(db) == ["processing"]
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(5)
    time.sleep(1.2)  # the victim's lease runs out
    assert Dispatcher(runtime_for(db), ROUTES).drain() == 1
    assert list(handlings(db).values()) == [1]


def locked_database(ctx: HandlerContext, event: Event) -> None:
    from sqlalchemy.exc import OperationalError

    raise OperationalError("INSERT ...", {}, Exception("database is locked"))


def test_lock_contention_is_retried_without_spending_attempts(db: Database) -> None:
    store(db)
    rt = runtime_for(db, worker={"max_attempts": 2})
    busy = Dispatcher(rt, [Route("change_external_contact", None, locked_database)])
    for _ in range(4):  # more busy rounds than max_attempts: still not a dead letter
        with db.session_scope() as s:
            s.execute(inbox.InboxEvent.__table__.update().values(next_attempt_at=utcnow()))
        busy.drain()
    with db.session_scope() as s:
        row = s.scalars(select(inbox.InboxEvent)).one()
        assert (row.status, row.attempts) == ("pending", 0)
    with db.session_scope() as s:
        s.execute(inbox.InboxEvent.__table__.update().values(next_attempt_at=utcnow()))
    Dispatcher(rt, ROUTES).drain()
    assert statuses(db) == ["done"]
