"""Requesting the transfers: batches of ≤100 per successor, each sent between two commits.

1. plan: pending items get a batch (kind, successor) — one transaction;
2. claim: the batch is marked "sending" — committed BEFORE the WeCom call;
3. record: each customer's errcode (each chat's) and the batch "accepted" — committed AFTER it.

A batch found "sending" on the next run is in doubt (the process died, or the network lost the
answer): transfer_result says which of its customers WeCom already holds, and only the others are
sent. WeCom's busy/rate errors put the batch back to "planned"; after ``max_attempts`` runs the
customers are reported failed. The calls themselves are in transfer_calls.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import audit, directory
from storage.db import utcnow
from storage.departures import (
    ACCEPTED,
    APPROVED,
    BATCH_FAILED,
    BATCH_SENDING,
    CUSTOMER,
    DONE,
    FAILED,
    GROUP_CHAT,
    PENDING,
    PLANNED,
    RESULT_STATUS,
    SENDING,
    TRANSFERRING,
    WAITING,
    Departure,
    DepartureBatch,
    DepartureItem,
    batches,
    get,
    move,
)
from wecom_hr.departures import transfer_calls
from wecom_hr.departures.settings import DepartureSettings, from_settings
from wecom_hr.departures.transfer_calls import Claim
from wecom_hr.wecom.errors import RETRYABLE_ERRCODES, WeComAPIError, WeComError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 100
IN_PROGRESS = 40129      # the customer already has a transfer waiting (ours, if a lost answer was retried)


def run(runtime: Runtime, departure_id: int, now: datetime) -> dict[str, int]:
    """Plan and send every batch of one departure; stops early when WeCom asks us to wait."""
    cfg = from_settings(runtime.settings)
    with runtime.db.session_scope() as s:
        dep = get(s, departure_id, lock=True)
        if dep is None or dep.state not in (APPROVED, TRANSFERRING):
            return {}
        plan(s, dep, now)
        todo = [b.id for b in batches(s, departure_id, (PLANNED, BATCH_SENDING))]
    out: Counter[str] = Counter()
    for batch_id in todo:
        result = send_batch(runtime, cfg, batch_id, now)
        out.update(result)
        if result.get("deferred"):
            break
    return dict(out)


def plan(s: Session, dep: Departure, now: datetime) -> int:
    rows = s.execute(select(DepartureItem.id, DepartureItem.kind, DepartureItem.successor).where(
        DepartureItem.departure_id == dep.id, DepartureItem.kind.in_((CUSTOMER, GROUP_CHAT)),
        DepartureItem.status == PENDING, DepartureItem.batch_id.is_(None)).order_by(DepartureItem.id))
    groups: dict[tuple[str, str], list[int]] = {}
    for item_id, kind, successor in rows:
        takeover = (successor if kind == CUSTOMER else None) or dep.successor or ""
        groups.setdefault((kind, takeover), []).append(item_id)
    planned = 0
    for (kind, takeover), ids in groups.items():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            batch = DepartureBatch(departure_id=dep.id, kind=kind, takeover=takeover, resigned=False, status=PLANNED,
                                   size=len(chunk), attempts=0, created_at=now)
            s.add(batch)
            s.flush()
            s.execute(update(DepartureItem).where(DepartureItem.id.in_(chunk))
                      .values(batch_id=batch.id, takeover=takeover or None, updated_at=now))
            planned += 1
    if dep.state == APPROVED:
        move(dep, TRANSFERRING, now)
    if planned:
        audit.record(s, "system", "departure.transfers_planned",
                     {"departure_id": dep.id, "batches": planned,
                      "items": {f"{k}:{t}": len(v) for (k, t), v in groups.items()}}, at=now)
    return planned


def send_batch(runtime: Runtime, cfg: DepartureSettings, batch_id: int, now: datetime) -> dict[str, int]:
    with runtime.db.session_scope() as s:
        claim = _claim(s, batch_id, now)
    if claim is None:
        return {}
    claim.max_attempts = cfg.max_attempts
    client = runtime.wecom("contact")
    try:
        held = transfer_calls.already_requested(client, claim) if claim.in_doubt and claim.kind == CUSTOMER else {}
        todo = [ref for ref in claim.refs if ref not in held]
        answer = transfer_calls.request(client, cfg, claim, todo) if todo else {}
    except WeComAPIError as exc:
        if exc.transient:
            return _defer(runtime, cfg, claim, exc, in_doubt=False)
        return _fail(runtime, claim, exc)
    except WeComError as exc:  # no answer: WeCom may have taken the batch, so it stays in doubt
        return _defer(runtime, cfg, claim, exc, in_doubt=True)
    with runtime.db.session_scope() as s:
        return _record(s, claim, answer, held, now)


def _claim(s: Session, batch_id: int, now: datetime) -> Claim | None:
    query = select(DepartureBatch).where(DepartureBatch.id == batch_id)
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    batch = s.scalar(query)
    if batch is None or batch.status not in (PLANNED, BATCH_SENDING):
        return None
    dep = s.get(Departure, batch.departure_id)
    refs = list(s.scalars(select(DepartureItem.ref).where(DepartureItem.batch_id == batch.id,
                                                          DepartureItem.status.in_((PENDING, SENDING)))
                          .order_by(DepartureItem.id)))
    if dep is None or not refs or not batch.takeover:
        _close_empty(s, batch, now)
        return None
    member = directory.member(s, dep.userid)
    resigned = member is not None and member.status == directory.LEFT
    claim = Claim(batch.id, dep.id, batch.kind, dep.userid, dep.member_name, batch.takeover,
                  directory.display_name(s, batch.takeover), resigned, batch.resigned,
                  batch.status == BATCH_SENDING, refs, batch.attempts + 1)
    batch.status, batch.attempts, batch.sent_at, batch.resigned = BATCH_SENDING, claim.attempts, now, resigned
    s.execute(update(DepartureItem).where(DepartureItem.batch_id == batch.id, DepartureItem.ref.in_(refs))
              .values(status=SENDING, requested_at=now, attempts=DepartureItem.attempts + 1, updated_at=now))
    return claim


def _close_empty(s: Session, batch: DepartureBatch, now: datetime) -> None:
    """Nothing left to send (items reassigned meanwhile) or nobody to send to."""
    if not batch.takeover:
        s.execute(update(DepartureItem).where(DepartureItem.batch_id == batch.id, DepartureItem.status == PENDING)
                  .values(status=FAILED, updated_at=now, finished_at=now))
    batch.status, batch.finished_at = (ACCEPTED if batch.takeover else BATCH_FAILED), now


def _outcomes(claim: Claim, answer: dict[str, Any], held: dict[str, int]) -> Callable[[str], tuple[str, int | None]]:
    """ref -> (status, errcode) after the call (the answer indexed once per batch)."""
    if claim.kind == GROUP_CHAT:
        failed = transfer_calls.chat_errcodes(answer)
        return lambda ref: transfer_calls.chat_outcome(failed.get(ref, 0))
    codes = {str(c.get("external_userid")): int(c.get("errcode") or 0) for c in answer.get("customer") or []}

    def customer(ref: str) -> tuple[str, int | None]:
        if ref in held:
            return RESULT_STATUS.get(held[ref], WAITING), None
        if ref not in codes or codes[ref] in RETRYABLE_ERRCODES:
            return PENDING, codes.get(ref)
        code = codes[ref]
        return (WAITING, code or None) if code in (0, IN_PROGRESS) else (FAILED, code)
    return customer


def _record(s: Session, claim: Claim, answer: dict[str, Any], held: dict[str, int], now: datetime) -> dict[str, int]:
    """One UPDATE per (status, errcode) group: 100 customers usually share one outcome."""
    outcome = _outcomes(claim, answer, held)
    rows = s.execute(select(DepartureItem.id, DepartureItem.ref, DepartureItem.attempts).where(
        DepartureItem.batch_id == claim.batch_id, DepartureItem.status == SENDING)).all()
    groups: dict[tuple[str, int | None], list[int]] = {}
    for item_id, ref, attempts in rows:
        status, code = outcome(ref)
        if status == PENDING and attempts >= claim.max_attempts:
            status, code = FAILED, code or -1
        groups.setdefault((status, code), []).append(item_id)
    for (status, code), ids in groups.items():
        values: dict[str, Any] = {"status": status, "errcode": code, "updated_at": now}
        if status == PENDING:
            values["batch_id"] = None  # re-planned by the next run
        if status in (DONE, FAILED):
            values["finished_at"] = now
        s.execute(update(DepartureItem).where(DepartureItem.id.in_(ids)).values(**values))
        if code == IN_PROGRESS:
            for row in s.scalars(select(DepartureItem).where(DepartureItem.id.in_(ids))):
                row.detail = {**row.detail, "unconfirmed": True}  # the follow-up checks it is ours
    batch = s.get(DepartureBatch, claim.batch_id)
    if batch is not None:
        batch.status, batch.finished_at, batch.resigned, batch.errcode = ACCEPTED, now, claim.resigned, None
    tally = {f"{st}:{code}" if code else st: len(ids) for (st, code), ids in groups.items()}
    audit.record(s, "system", "departure.batch_sent",
                 {"departure_id": claim.departure_id, "batch_id": claim.batch_id, "kind": claim.kind,
                  "takeover": claim.takeover, "resigned": claim.resigned, "in_doubt": claim.in_doubt,
                  "already_held": len(held), "results": tally}, at=now)
    return {f"{claim.kind}_batches": 1, f"{claim.kind}s": len(rows)}


def _defer(runtime: Runtime, cfg: DepartureSettings, claim: Claim, exc: WeComError, in_doubt: bool) -> dict[str, int]:
    """Try again on the next run; after max_attempts, report the batch's items failed."""
    give_up = claim.attempts >= cfg.max_attempts
    with runtime.db.session_scope() as s:
        batch = s.get(DepartureBatch, claim.batch_id)
        if batch is None:
            return {"deferred": 1}
        now = batch.sent_at or utcnow()
        if give_up:
            _finish_failed(s, batch, exc.errcode or -1, now)
        elif not in_doubt:
            batch.status = PLANNED
            s.execute(update(DepartureItem).where(DepartureItem.batch_id == batch.id, DepartureItem.status == SENDING)
                      .values(status=PENDING))
        batch.errcode = exc.errcode
        audit.record(s, "system", "departure.batch_deferred",
                     {"departure_id": claim.departure_id, "batch_id": claim.batch_id, "error": str(exc),
                      "attempts": claim.attempts, "given_up": give_up, "in_doubt": in_doubt})
    log.warning("departure %s batch %s: %s (attempt %d)", claim.departure_id, claim.batch_id, exc, claim.attempts)
    return {"deferred": 1}


def _fail(runtime: Runtime, claim: Claim, exc: WeComAPIError) -> dict[str, int]:
    """WeCom refused the whole call for good (e.g. the successor is not a member): every item failed."""
    with runtime.db.session_scope() as s:
        batch = s.get(DepartureBatch, claim.batch_id)
        if batch is not None:
            _finish_failed(s, batch, exc.errcode or -1, batch.sent_at or utcnow())
            audit.record(s, "system", "departure.batch_failed",
                         {"departure_id": claim.departure_id, "batch_id": claim.batch_id, "errcode": exc.errcode})
    return {f"{claim.kind}_batches_failed": 1}


def _finish_failed(s: Session, batch: DepartureBatch, errcode: int, now: datetime) -> None:
    s.execute(update(DepartureItem)
              .where(DepartureItem.batch_id == batch.id, DepartureItem.status.in_((PENDING, SENDING)))
              .values(status=FAILED, errcode=errcode, finished_at=now, updated_at=now))
    batch.status, batch.errcode, batch.finished_at = BATCH_FAILED, errcode, now
