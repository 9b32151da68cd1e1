"""Full resync: get_follow_user_list, then batch/get_by_user walks in parallel, written by one thread.

Walkers (``concurrency`` threads: the work is waiting on WeCom) share a rate limiter and hand pages
to the calling thread through a bounded queue, so memory stays at a few pages per walker and the
database sees a single writer, which writes each page as it arrives while the walkers go on
fetching (resync_commit). A batch's checkpoint (resync_runs) commits with its last pages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.db import utcnow
from wecom_hr.customers import resync_runs as runs
from wecom_hr.customers.ratelimit import RateLimiter
from wecom_hr.customers.resync_commit import COMMIT_SECONDS, BatchWalked, Committer, Page
from wecom_hr.customers.resync_writer import PoolWriter
from wecom_hr.customers.settings import from_settings
from wecom_hr.gc_pause import fewer_collections
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
PAGE_LIMIT = 100
INVALID_USERID = 60111
GROUP = 20  # queue items written at once: one read of the pool, one insert per table
POLL_SECONDS = 0.2  # how often an idle writer looks for a walker that died


@dataclass
class Progress:
    run_id: int
    batches_total: int
    batches_done: int = 0
    relations: int = 0
    calls: int = 0
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class _Failed:
    batch_no: int
    error: BaseException


Queue = queue.Queue[Page | BatchWalked | _Failed]


class _Walker:
    def __init__(self, client: WeComClient, limiter: RateLimiter, out: Queue) -> None:
        self.client, self.limiter, self.out = client, limiter, out
        self.stop = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def run(self, batch: runs.Batch) -> None:
        if self.stop.is_set():
            return
        started = utcnow()
        try:
            walked = self._walk(batch.batch_no, batch.userids)
        except Exception as exc:  # noqa: BLE001  (handed to the writer thread, which stops the run)
            self._put(_Failed(batch.batch_no, exc))
            return
        if not self.stop.is_set():
            self._put(BatchWalked(batch.batch_no, walked, started))

    def _walk(self, batch_no: int, userids: list[str]) -> list[str]:
        """Walk the batch; a userid WeCom does not know (60111) fails the whole call, so halve the
        batch until it is isolated and leave that member out (and their relations unreconciled)."""
        try:
            self._pages(batch_no, userids)
        except WeComAPIError as exc:
            if exc.errcode != INVALID_USERID:
                raise
            if len(userids) == 1:
                log.warning("resync: WeCom does not know member %s; skipped", userids[0])
                return []
            mid = len(userids) // 2
            return self._walk(batch_no, userids[:mid]) + self._walk(batch_no, userids[mid:])
        return userids

    def _pages(self, batch_no: int, userids: list[str]) -> None:
        cursor = ""
        while not self.stop.is_set():
            self.limiter.acquire()
            with self._lock:
                self.calls += 1
            page = self.client.extra.batch_get_by_user(userids, cursor, PAGE_LIMIT)
            self._put(Page(batch_no, list(page.get("external_contact_list") or []), utcnow()))
            cursor = str(page.get("next_cursor") or "")
            if not cursor:
                return

    def _put(self, item: Page | BatchWalked | _Failed) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue


def resync_customers(runtime: Runtime, now: datetime | None = None, progress: ProgressFn | None = None,
                     concurrency: int | None = None) -> dict[str, Any]:
    """Run (or resume) a full resync; returns figures for the log and the terminal."""
    cfg = from_settings(runtime.settings)
    with runtime.lock("customers:resync", ttl=6 * 3600) as got:
        if not got:
            return {"skipped": "another resync is running"}
        limiter = RateLimiter(cfg.resync_calls_per_minute)
        with fewer_collections():
            return _run(runtime, runtime.wecom("contact"), limiter, concurrency or cfg.resync_concurrency, progress)


def _start(runtime: Runtime, client: WeComClient, limiter: RateLimiter,
           concurrency: int) -> tuple[int, list[runs.Batch], bool, int]:
    with runtime.db.session_scope() as s:
        run = runs.unfinished_run(s)
        if run is not None:
            run.status = runs.RUNNING
            return run.id, runs.pending_batches(s, run.id), True, run.total_batches
    limiter.acquire()
    userids = [str(u) for u in client.call("GET", "externalcontact/get_follow_user_list").get("follow_user") or []]
    with runtime.db.session_scope() as s:
        run = runs.create_run(s, userids, runs.batch_size(len(userids), concurrency), utcnow())
        s.flush()
        return run.id, runs.pending_batches(s, run.id), False, run.total_batches


def _run(runtime: Runtime, client: WeComClient, limiter: RateLimiter, concurrency: int,
         progress: ProgressFn | None) -> dict[str, Any]:
    run_id, batches, resumed, total = _start(runtime, client, limiter, concurrency)
    state = Progress(run_id, total, batches_done=total - len(batches))
    out: Queue = queue.Queue(maxsize=concurrency * 4)
    walker = _Walker(client, limiter, out)
    error: BaseException | None = None
    with ThreadPoolExecutor(concurrency, thread_name_prefix="resync") as pool:
        walks = [pool.submit(walker.run, batch) for batch in batches]
        try:
            _consume(Committer(runtime, PoolWriter(run_id)), out, walks, state, walker, progress)
        except BaseException as exc:  # noqa: BLE001  a walker's WeCom error, or the database: stop, keep the checkpoint
            error = exc
        finally:
            walker.stop.set()
    state.calls = walker.calls + (0 if resumed else 1)
    return _finish(runtime, run_id, state, resumed, limiter, error)


def _consume(committer: Committer, out: Queue, walks: list[Future[None]], state: Progress, walker: _Walker,
             progress: ProgressFn | None) -> None:
    """Write what the walkers hand over, in order; commit when due and once every batch is walked."""
    walked, batches = 0, len(walks)
    try:
        while state.batches_done < state.batches_total:
            written: list[Page | BatchWalked] = []
            failed = None
            for item in _next(out, committer, walks):
                if isinstance(item, _Failed):
                    failed = item
                    break
                written.append(item)
            if written:
                committer.add(written)
                walked += sum(isinstance(x, BatchWalked) for x in written)
            if failed or committer.due() or walked == batches:
                _commit(committer, state, walker, progress)  # a failure keeps the finished batches and pages
            if failed:
                raise failed.error
    finally:
        committer.close()


def _next(out: Queue, committer: Committer, walks: list[Future[None]]) -> list[Page | BatchWalked | _Failed]:
    """What is waiting (at most GROUP items); nothing when an open transaction is due to commit first.
    While nothing comes, a walker that died without handing over its failure (an exception that is
    not an Exception) is noticed, instead of waiting for its batch forever."""
    items: list[Page | BatchWalked | _Failed] = []
    try:
        wait = max(0.0, committer.opened + COMMIT_SECONDS - time.monotonic()) if committer.items else POLL_SECONDS
        items.append(out.get(timeout=wait))
        while len(items) < GROUP:
            items.append(out.get_nowait())
    except queue.Empty:
        if not items:
            lost = next((exc for w in walks if w.done() and (exc := w.exception()) is not None), None)
            if lost is not None:
                items.append(_Failed(-1, lost))
    return items


def _commit(committer: Committer, state: Progress, walker: _Walker, progress: ProgressFn | None) -> None:
    done = committer.commit()
    state.relations += done.relations
    state.batches_done += done.batches
    state.counts = runs.add_counts(state.counts, done.counts)
    state.calls = walker.calls
    if progress:
        progress(state)


def _finish(runtime: Runtime, run_id: int, state: Progress, resumed: bool, limiter: RateLimiter,
            error: BaseException | None) -> dict[str, Any]:
    status = runs.FAILED if error else runs.DONE
    text = f"{type(error).__name__}: {error}" if error else None
    with runtime.db.session_scope() as s:
        runs.finish_run(s, run_id, status, utcnow(), text, {"relations": state.relations, "calls": state.calls})
    return {"run_id": run_id, "status": status, "resumed": resumed, "batches": state.batches_total,
            "batches_done": state.batches_done, "relations": state.relations, "calls": state.calls,
            "seconds": round(state.elapsed, 2), "rate_limited_seconds": round(limiter.waited, 2),
            **state.counts, **({"error": text} if text else {})}
