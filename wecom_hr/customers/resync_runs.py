"""Resync checkpoints: a run is a list of userid batches; a batch is done once committed.

A crashed or failed run is resumed by the next `wecom-hr sync contacts` (or the nightly job) with
the same batches: finished ones are skipped, unfinished ones are walked again from their start
(their writes are idempotent upserts, so a half-written batch is simply written again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from storage.customers import CustomerSyncBatch, CustomerSyncRun

RUNNING, DONE, FAILED = "running", "done", "failed"
MAX_BATCH = 100       # batch/get_by_user takes at most 100 userids
MIN_BATCH = 10        # below this, more batches cost more calls than the parallelism saves
BATCHES_PER_WORKER = 4


@dataclass(frozen=True)
class Batch:
    run_id: int
    batch_no: int
    userids: list[str]


def batch_size(members: int, concurrency: int) -> int:
    """Enough batches to keep every worker busy to the end, each as close to 100 userids as that allows:
    every batch ends with one partly filled page, so fewer batches means fewer calls."""
    wanted = math.ceil(members / max(1, concurrency * BATCHES_PER_WORKER))
    return max(1, min(MAX_BATCH, max(MIN_BATCH, wanted)))


def unfinished_run(session: Session) -> CustomerSyncRun | None:
    return session.scalar(select(CustomerSyncRun).where(CustomerSyncRun.status.in_([RUNNING, FAILED]))
                          .order_by(CustomerSyncRun.id.desc()).limit(1))


def create_run(session: Session, userids: list[str], size: int, now: datetime) -> CustomerSyncRun:
    chunks = [userids[i:i + size] for i in range(0, len(userids), size)]
    run = CustomerSyncRun(status=RUNNING, started_at=now, updated_at=now, total_batches=len(chunks),
                          done_batches=0, counts={})
    session.add(run)
    session.flush()
    for no, chunk in enumerate(chunks):
        session.add(CustomerSyncBatch(run_id=run.id, batch_no=no, userids=chunk, status="pending", relations=0))
    return run


def pending_batches(session: Session, run_id: int) -> list[Batch]:
    rows = session.scalars(select(CustomerSyncBatch).where(CustomerSyncBatch.run_id == run_id,
                                                           CustomerSyncBatch.status == "pending")
                           .order_by(CustomerSyncBatch.batch_no))
    return [Batch(run_id, r.batch_no, list(r.userids)) for r in rows]


def mark_batch_done(session: Session, run_id: int, batch_no: int, relations: int, counts: dict[str, int],
                    now: datetime) -> None:
    """The checkpoint; commits with the batch's last pages and its reconciliation."""
    done = cast(CursorResult[Any], session.execute(update(CustomerSyncBatch).where(
        CustomerSyncBatch.run_id == run_id, CustomerSyncBatch.batch_no == batch_no,
        CustomerSyncBatch.status == "pending").values(status="done", relations=relations, done_at=now))).rowcount
    run = session.get(CustomerSyncRun, run_id)
    if run is None or not done:
        return
    run.done_batches += 1
    run.updated_at = now
    run.counts = add_counts(run.counts or {}, counts)


def add_counts(a: dict[str, Any], b: dict[str, int]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = int(out.get(key, 0)) + value
    return out


def finish_run(session: Session, run_id: int, status: str, now: datetime, error: str | None = None,
               extra: dict[str, int] | None = None) -> CustomerSyncRun | None:
    run = session.get(CustomerSyncRun, run_id)
    if run is None:
        return None
    run.status, run.updated_at, run.error = status, now, error
    if status == DONE:
        run.finished_at = now
    if extra:
        run.counts = add_counts(run.counts or {}, extra)
    return run
