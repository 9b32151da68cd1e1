"""Group commit for the callback path (leader/follower).

A request appends its event to the pending list; if no one is writing, it becomes the leader and
commits everything pending in one transaction, then wakes the others. A request answers 200 only
when the transaction holding its event has committed. Under load one fsync (and one SQLite write
lock) serves a batch; with no load the leader writes its own event at once, with no thread
hand-off in between.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import inbox
from storage.db import utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 128


def _sqlite_lock_path(engine: Engine) -> str | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return database + ".write-lock"


class StoreTimeout(Exception):
    """The database did not commit in time; the caller answers 503 and WeCom retries."""


@dataclass
class _Pending:
    values: dict[str, object]
    done: bool = False
    event_id: int | None = None
    error: BaseException | None = None


class InboxWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._insert = (dialect_insert(inbox.InboxEvent).on_conflict_do_nothing(index_elements=["dedupe_key"])
                        .returning(inbox.InboxEvent.id, inbox.InboxEvent.dedupe_key))
        self._conn: Connection | None = None
        self._lock_path = _sqlite_lock_path(engine)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._writing = False

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """SQLite has one writer; its busy handler polls with sleeps of 1, 2, 5 ... ms. Callback
        writers of several processes queue on a file lock instead, which wakes the next at once."""
        if self._lock_path is None:
            yield
            return
        with open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def store(self, xml: bytes, event: str, change_type: str, timeout: float = 4.0) -> int | None:
        """Block until the event is committed; its id, or None when it was stored before."""
        item = _Pending(inbox.new_row(xml, event, change_type, utcnow()))
        deadline = time.monotonic() + timeout
        with self._cond:
            self._pending.append(item)
            while not item.done:
                if not self._writing:
                    self._lead()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    if not item.done:
                        raise StoreTimeout("inbox write did not commit in time")
        if item.error is not None:
            raise item.error
        return item.event_id

    def _lead(self) -> None:
        """Called holding the condition: write one batch with the lock released, then wake everyone."""
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        self._writing = True
        self._cond.release()
        try:
            self._write(batch)
        except BaseException as exc:  # noqa: BLE001 - every waiter in the batch must hear about it
            log.error("inbox batch of %d not stored: %s", len(batch), type(exc).__name__)
            for item in batch:
                item.error = exc
        finally:
            self._cond.acquire()
            self._writing = False
            for item in batch:
                item.done = True
            self._cond.notify_all()

    def _write(self, batch: list[_Pending]) -> None:
        # One connection kept by the writer: no pool checkout, pre-ping or reset per batch. Only the
        # current leader uses it, so it is never shared by two threads at once.
        if self._conn is None:
            self._conn = self._engine.connect()
        try:
            with self._sqlite_file_lock():
                with self._conn.begin():
                    # executemany with RETURNING: SQLAlchemy folds it into one cached multi-row INSERT.
                    rows = self._conn.execute(self._insert, [item.values for item in batch]).all()
        except BaseException:
            conn, self._conn = self._conn, None
            conn.invalidate()  # a broken connection must not serve the next batch
            raise
        ids = {key: event_id for event_id, key in rows}
        for item in batch:
            # Two copies of one event in a batch: the first gets the id, the rest are duplicates.
            item.event_id = ids.pop(str(item.values["dedupe_key"]), None)
