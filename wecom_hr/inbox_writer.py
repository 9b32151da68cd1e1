"""Group commit for the callback path (leader/follower).

A request appends its event to the pending list; if no one is writing, it becomes the leader and
commits everything pending in one transaction, then wakes the others. A request answers 200 only
when the transaction holding its event has committed. Under load one fsync (and one SQLite write
lock) serves a batch; with no load the leader writes its own event at once, with no thread
hand-off in between. On SQLite the writer's connection has priority on the database's write lock
(storage.db.QueuedConnection): the inbox worker and jobs let a waiting callback batch go first.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from storage import inbox
from storage.db import QueuedConnection, utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 128


class StoreError(Exception):
    """The batch holding the event was not committed (database down, disk full, ...): answer 503."""


class StoreTimeout(StoreError):
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
        self._dialect = engine.dialect.name
        self._raw: Any = None  # the writer's own DBAPI connection (kept; only the leader uses it)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._writing = False

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
        written = False
        try:
            self._write(batch)
            written = True
        except Exception as exc:  # every waiter in the batch must hear about it
            log.error("inbox batch of %d not stored: %s", len(batch), type(exc).__name__)
            error = StoreError(type(exc).__name__)
            error.__cause__ = exc
            for item in batch:
                item.error = error
        finally:
            self._cond.acquire()
            self._writing = False
            for item in batch:
                if not written and item.error is None:  # interrupted: never let a waiter answer 200
                    item.error = StoreError("interrupted")
                item.done = True
            self._cond.notify_all()

    def _write(self, batch: list[_Pending]) -> None:
        # The hot path of every callback: one prebuilt multi-row INSERT ... RETURNING on the writer's
        # own driver connection, so a batch costs one statement and one commit, not an ORM round.
        if self._raw is None:
            self._raw = self._engine.raw_connection()
            if isinstance(self._raw.driver_connection, QueuedConnection):
                # SQLite: the write lock goes to a waiting callback before the worker or a job.
                self._raw.driver_connection.priority = True
        sql, params = _insert_sql(self._dialect, [item.values for item in batch])
        try:
            cursor = self._raw.cursor()
            try:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
            self._raw.commit()
        except BaseException:
            raw, self._raw = self._raw, None
            with suppress(Exception):
                raw.invalidate()  # a broken connection must not serve the next batch
            raise
        ids = {key: event_id for event_id, key in rows}
        for item in batch:
            # Two copies of one event in a batch: the first gets the id, the rest are duplicates.
            item.event_id = ids.pop(str(item.values["dedupe_key"]), None)


_COLUMNS = ("dedupe_key", "event", "change_type", "xml", "received_at", "status", "attempts", "next_attempt_at")
_TIME_COLUMNS = frozenset({"received_at", "next_attempt_at"})


def _insert_sql(dialect: str, rows: list[dict[str, object]]) -> tuple[str, list[object]]:
    mark = "?" if dialect == "sqlite" else "%s"
    one = "(" + ", ".join([mark] * len(_COLUMNS)) + ")"
    sql = (f"INSERT INTO inbox_events ({', '.join(_COLUMNS)}) VALUES {', '.join([one] * len(rows))} "
           "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key")
    params: list[object] = []
    for row in rows:
        for column in _COLUMNS:
            value = row[column]
            if column in _TIME_COLUMNS and dialect == "sqlite":
                value = _sqlite_time(value)  # type: ignore[arg-type]
            params.append(value)
    return sql, params


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime writes and reads back (UTC, as UtcDateTime stores it)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
