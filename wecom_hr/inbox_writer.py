"""Group commit for the callback path.

Each request hands its event to one writer thread per process and waits until the transaction that
holds it has committed; only then does the request answer 200. Under load the writer commits many
events per transaction, so one fsync (and one SQLite write lock) serves a batch instead of one event.
With no load a batch is one event and nothing waits for company.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import inbox
from storage.db import utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 128


class StoreTimeout(Exception):
    """The database did not commit in time; the caller answers 503 and WeCom retries."""


@dataclass
class _Pending:
    values: dict[str, object]
    done: threading.Event = field(default_factory=threading.Event)
    event_id: int | None = None
    error: BaseException | None = None


class InboxWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._insert = (dialect_insert(inbox.InboxEvent).on_conflict_do_nothing(index_elements=["dedupe_key"])
                        .returning(inbox.InboxEvent.id, inbox.InboxEvent.dedupe_key))
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def store(self, xml: bytes, event: str, change_type: str, timeout: float = 4.0) -> int | None:
        """Block until the event is committed; its id, or None when it was stored before."""
        now = utcnow()
        item = _Pending(inbox.new_row(xml, event, change_type, now))
        self._ensure_thread()
        self._queue.put(item)
        if not item.done.wait(timeout):
            raise StoreTimeout("inbox write did not commit in time")
        if item.error is not None:
            raise item.error
        return item.event_id

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
                log.error("inbox batch of %d not stored: %s", len(batch), type(exc).__name__)
                for item in batch:
                    item.error = exc
            for item in batch:
                item.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        # executemany with RETURNING: SQLAlchemy folds it into one cached multi-row INSERT.
        with self._engine.begin() as conn:
            ids = {key: event_id for event_id, key in conn.execute(self._insert, [item.values for item in batch])}
        for item in batch:
            # Two copies of one event in a batch: the first gets the id, the rest are duplicates.
            item.event_id = ids.pop(str(item.values["dedupe_key"]), None)
