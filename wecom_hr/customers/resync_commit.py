"""The resync's writer side: pages are written as they arrive, many to a transaction.

Each page is written at once (the walkers never wait on a full queue while a big group is being
planned), but the transaction commits only every COMMIT_RELATIONS relations or COMMIT_SECONDS:
every commit rewrites the index pages it touched, and customers' ids are random, so a commit per
page would rewrite most of the pool's indexes each time. A batch's checkpoint commits in the same
transaction as its last pages and its reconciliation. A conflict with a live event (it inserted the
same customer or open relation first) rolls the transaction back; its items are kept until the
commit, so they are simply written again over what is there now.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from storage.db import utcnow
from wecom_hr.customers import resync_runs as runs
from wecom_hr.customers.resync_writer import PoolWriter

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
COMMIT_RELATIONS = 5000
COMMIT_SECONDS = 0.5     # commit at least this often: progress, and SQLite's write lock for live events
WRITE_ATTEMPTS = 3       # a live event may insert the same customer or open relation first: write again
MIN_ANALYZE_ROWS = 5000
ANALYZE = "ANALYZE customers (external_userid), customer_follows (external_userid, userid, ended_at)"


@dataclass(frozen=True)
class Page:
    batch_no: int
    items: list[dict[str, Any]]
    fetched_at: datetime


@dataclass(frozen=True)
class BatchWalked:
    batch_no: int
    userids: list[str]
    started_at: datetime


@dataclass
class Committed:
    """What the last commit made durable, for the progress line and the run's figures."""

    relations: int = 0
    batches: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class Committer:
    """Used by the single writer thread: ``add`` pages and batch ends in queue order, ``due`` says
    when to ``commit``; ``close`` rolls back whatever was not committed (a failed run resumes it)."""

    def __init__(self, runtime: Runtime, writer: PoolWriter) -> None:
        self.runtime, self.writer = runtime, writer
        self.stats = _PlannerStats(runtime)
        self.batch_relations: dict[int, int] = {}  # committed relations of unfinished batches
        self.session: Session | None = None
        self._reset()

    def _reset(self) -> None:
        self.items: list[Page | BatchWalked] = []   # the open transaction's, to write again after a conflict
        self.pending: dict[int, int] = {}           # its relations per batch
        self.counts: dict[str, int] = {}
        self.opened = time.monotonic()

    def add(self, items: list[Page | BatchWalked]) -> None:
        """Write items (in queue order: a batch's pages come before its end) into the open transaction."""
        self.items += items
        try:
            self._write(self._session(), items)
        except (IntegrityError, DBAPIError):
            self._rewrite()

    def due(self) -> bool:
        return bool(self.items) and (sum(self.pending.values()) >= COMMIT_RELATIONS
                                     or time.monotonic() - self.opened >= COMMIT_SECONDS)

    def commit(self) -> Committed:
        if self.session is None:
            return Committed()
        try:
            self.session.commit()
        except (IntegrityError, DBAPIError):
            self._rewrite()
            self._session().commit()
        counts = dict(self.counts)
        done = Committed(counts.pop("relations", 0), 0, counts)
        for batch_no, relations in self.pending.items():
            self.batch_relations[batch_no] = self.batch_relations.get(batch_no, 0) + relations
        for item in self.items:
            if isinstance(item, BatchWalked):
                done.batches += 1
                self.batch_relations.pop(item.batch_no, None)
                self.writer.seen.pop(item.batch_no, None)
        self.close()
        self.stats.refresh(done.counts.get("relations_opened", 0))
        return done

    def close(self) -> None:
        if self.session is not None:
            self.session.close()  # rolls back what was not committed
        self.session = None
        self._reset()

    def _session(self) -> Session:
        if self.session is None:
            self.session = self.runtime.db.sessions()
            self.opened = time.monotonic()
        return self.session

    def _rewrite(self) -> None:
        """Roll back and write the transaction's items again over what the pool holds now."""
        items = self.items
        for attempt in range(2, WRITE_ATTEMPTS + 1):
            log.warning("resync: write conflicted with live events; writing the pages again")
            self.close()
            self.items = items
            try:
                self._write(self._session(), items)
                return
            except (IntegrityError, DBAPIError):
                if attempt == WRITE_ATTEMPTS:
                    self.close()
                    raise

    def _write(self, session: Session, items: list[Page | BatchWalked]) -> None:
        """Consecutive pages in one go (one read, one insert per table), then each batch end."""
        pages: list[Page] = []
        for item in [*items, None]:
            if isinstance(item, Page):
                pages.append(item)
                continue
            if pages:
                self._write_pages(session, pages)
                pages = []
            if item is not None:
                self._end_batch(session, item)

    def _write_pages(self, session: Session, pages: list[Page]) -> None:
        counts = self.writer.write_pages(session, [(p.batch_no, p.items, p.fetched_at) for p in pages], utcnow())
        for page in pages:
            self.pending[page.batch_no] = self.pending.get(page.batch_no, 0) + len(page.items)
        self.counts = runs.add_counts(self.counts, counts.as_dict())

    def _end_batch(self, session: Session, item: BatchWalked) -> None:
        now = utcnow()
        counts = {"relations_ended": self.writer.end_unseen(session, item.batch_no, item.userids,
                                                            item.started_at, now)}
        relations = self.batch_relations.get(item.batch_no, 0) + self.pending.get(item.batch_no, 0)
        runs.mark_batch_done(session, self.writer.run_id, item.batch_no, relations, counts, now)
        self.counts = runs.add_counts(self.counts, counts)


class _PlannerStats:
    """PostgreSQL plans the pool's IN (...) lookups from table statistics; an import that grows the
    tables from empty would otherwise be planned as if they were tiny (sequential scans, each one
    longer). ANALYZE at the start and whenever the tables have doubled since the last time, only the
    columns those lookups filter on (row counts come with any ANALYZE): a whole-table ANALYZE took
    2.5 times as long, on the same server CPU the import's COPYs need. Autovacuum does the rest."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.enabled = runtime.db.engine.dialect.name == "postgresql"
        self.rows_then = 0
        self.rows = 0
        self.refresh(0)

    def refresh(self, opened: int) -> None:
        self.rows += opened
        if not self.enabled or self.rows < max(MIN_ANALYZE_ROWS, 2 * self.rows_then) and self.rows_then:
            return
        with self.runtime.db.engine.connect() as conn:
            conn.execute(text(ANALYZE))
            conn.commit()
        self.rows_then = max(self.rows, 1)
