"""Follow-up: poll transfer_result until every customer is final (and every chat), then brief and report.

One transfer_result walk per (successor, endpoint) pair — pages of 1000, never one call per
customer. 1 done (the pool shows the new owner), 3 refused, 4 takeover at limit, 5 no record end
a customer; 2 keeps it waiting. A customer WeCom said was "in progress" (40129) and that this pair
does not list was someone else's transfer: it is reported failed. transfer_fail callbacks land in
the same rows (events.on_transfer_failed). A group chat WeCom was still inheriting (90507) is asked
for again until it answers 90508 (inherited). Before completing, WeCom is asked once more for the
member's customers, so one added after the snapshot is handed over too.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.departures import (
    COMPLETED,
    CUSTOMER,
    DONE,
    FAILED,
    GROUP_CHAT,
    PENDING,
    RESULT_STATUS,
    SENDING,
    TRANSFERRING,
    WAITING,
    DepartureBatch,
    DepartureItem,
    get,
    move,
    signoffs_pending,
)
from wecom_hr import signals
from wecom_hr.departures import notices, pool_sync, snapshot, transfer_calls
from wecom_hr.departures.transfers import BATCH, IN_PROGRESS
from wecom_hr.dispatch import HandlerContext
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
ACTIVE = (PENDING, SENDING, WAITING)
CHUNK = 200  # customers per transaction: their items and pool updates commit together
Result = tuple[int, datetime | None]


def follow_up(runtime: Runtime, departure_id: int, now: datetime) -> dict[str, int]:
    with runtime.db.session_scope() as s:
        dep = get(s, departure_id)
        if dep is None or dep.state != TRANSFERRING:
            return {}
        handover, pairs = dep.userid, waiting_pairs(s, departure_id)
    client = runtime.wecom("contact")
    out: Counter[str] = Counter()
    for takeover, resigned in pairs:
        try:
            results = fetch_results(client, handover, takeover, resigned)
        except WeComError as exc:
            log.warning("departure %s: transfer_result for %s failed: %s", departure_id, takeover, exc)
            out["poll_errors"] += 1
            continue
        out.update(apply_results(runtime, departure_id, handover, takeover, results, now))
    out.update(recheck_chats(runtime, client, departure_id, now))
    out.update(settle(runtime, departure_id, now))
    return dict(out)


def recheck_chats(runtime: Runtime, client: WeComClient, departure_id: int, now: datetime) -> Counter[str]:
    """Chats WeCom was still inheriting (90507) are asked for again, ≤100 per call and successor."""
    with runtime.db.session_scope() as s:
        rows = s.execute(select(DepartureItem.takeover, DepartureItem.ref).where(
            DepartureItem.departure_id == departure_id, DepartureItem.kind == GROUP_CHAT,
            DepartureItem.status == WAITING).order_by(DepartureItem.id)).all()
    groups: dict[str, list[str]] = {}
    for takeover, ref in rows:
        groups.setdefault(str(takeover or ""), []).append(str(ref))
    out: Counter[str] = Counter()
    for takeover, refs in groups.items():
        for start in range(0, len(refs), BATCH):
            chunk = refs[start:start + BATCH]
            try:
                outcomes = transfer_calls.recheck_chats(client, takeover, chunk)
            except WeComError as exc:
                log.warning("departure %s: group chats for %s not checked: %s", departure_id, takeover, exc)
                out["poll_errors"] += 1
                continue
            with runtime.db.session_scope() as s:
                out.update(_apply_chats(s, departure_id, outcomes, now))
    return out


def _apply_chats(s: Session, departure_id: int, outcomes: dict[str, tuple[str, int | None]],
                 now: datetime) -> Counter[str]:
    changed: Counter[str] = Counter()
    for row in s.scalars(select(DepartureItem).where(
            DepartureItem.departure_id == departure_id, DepartureItem.kind == GROUP_CHAT,
            DepartureItem.status == WAITING, DepartureItem.ref.in_(list(outcomes)))):
        status, code = outcomes[row.ref]
        if status != WAITING:
            row.status, row.errcode, row.finished_at, row.updated_at = status, code, now, now
            changed[f"chats_{status}"] += 1
    if changed:
        audit.record(s, "system", "departure.chats_rechecked", {"departure_id": departure_id,
                                                               "changes": dict(changed)}, at=now)
    return changed


def waiting_pairs(s: Session, departure_id: int) -> list[tuple[str, bool]]:
    rows = s.execute(select(DepartureItem.takeover, DepartureBatch.resigned).distinct()
                     .join(DepartureBatch, DepartureBatch.id == DepartureItem.batch_id)
                     .where(DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER,
                            DepartureItem.status == WAITING))
    return sorted((str(t), bool(r)) for t, r in rows if t)


def fetch_results(client: WeComClient, handover: str, takeover: str, resigned: bool) -> dict[str, Result]:
    found: dict[str, Result] = {}
    cursor = ""
    while True:
        page = client.extra.transfer_result(handover, takeover, cursor, resigned=resigned)
        for row in page.get("customer") or []:
            at = int(row.get("takeover_time") or 0)
            found[str(row.get("external_userid"))] = (int(row.get("status") or 2),
                                                      datetime.fromtimestamp(at, UTC) if at > 0 else None)
        cursor = str(page.get("next_cursor") or "")
        if not cursor:
            return found


@dataclass(frozen=True)
class Change:
    item_id: int
    ref: str
    status: str
    errcode: int | None
    at: datetime | None
    unconfirmed: bool


def _change(item_id: int, ref: str, detail: dict[str, Any], found: Result | None, now: datetime) -> Change | None:
    unconfirmed = bool(detail.get("unconfirmed"))
    if found is None:  # an "in progress" customer this pair does not list was someone else's transfer
        return Change(item_id, ref, FAILED, IN_PROGRESS, now, True) if unconfirmed else None
    status = RESULT_STATUS.get(found[0], WAITING)
    if status == WAITING:
        return Change(item_id, ref, WAITING, None, None, True) if unconfirmed else None  # ours: confirmed
    return Change(item_id, ref, status, None, found[1] or now, unconfirmed)


def apply_results(runtime: Runtime, departure_id: int, handover: str, takeover: str, results: dict[str, Result],
                  now: datetime) -> Counter[str]:
    """Each chunk commits its items with their pool updates, so a restart never skips the pool."""
    with runtime.db.session_scope() as s:
        rows = s.execute(select(DepartureItem.id, DepartureItem.ref, DepartureItem.detail).where(
            DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER,
            DepartureItem.status == WAITING, DepartureItem.takeover == takeover)).all()
    changes = [c for c in (_change(i, ref, detail, results.get(ref), now) for i, ref, detail in rows) if c]
    changed: Counter[str] = Counter()
    for start in range(0, len(changes), CHUNK):
        with runtime.db.session_scope() as s:
            changed.update(_apply(s, departure_id, handover, takeover, changes[start:start + CHUNK], now,
                                  HandlerContext(runtime, s, 0, now)))
    if changed:
        with runtime.db.session_scope() as s:
            audit.record(s, "system", "departure.results_polled",
                         {"departure_id": departure_id, "takeover": takeover, "changes": dict(changed)}, at=now)
    return changed


def _apply(s: Session, departure_id: int, handover: str, takeover: str, chunk: list[Change],
           now: datetime, ctx: HandlerContext) -> Counter[str]:
    still = set(s.scalars(select(DepartureItem.id).where(  # a transfer_fail event may have come first
        DepartureItem.id.in_([c.item_id for c in chunk]), DepartureItem.status == WAITING)))
    todo = [c for c in chunk if c.item_id in still]
    plain = [{"id": c.item_id, "status": c.status, "errcode": c.errcode, "finished_at": c.at, "updated_at": now}
             for c in todo if not c.unconfirmed]
    if plain:
        s.execute(update(DepartureItem), plain)
    for c in todo:
        if c.unconfirmed:
            row = s.get(DepartureItem, c.item_id)
            if row is not None:
                row.status, row.errcode, row.finished_at, row.updated_at = c.status, c.errcode, c.at, now
                row.detail = {k: v for k, v in row.detail.items() if k != "unconfirmed"}
    changed: Counter[str] = Counter(c.status for c in todo if c.status != WAITING)
    for c in todo:
        if c.status == DONE:
            changed["pool_updated"] += pool_sync.show_new_owner(s, departure_id, handover, takeover, c.ref,
                                                                c.at or now, now)
            signals.emit(signals.CUSTOMER_TRANSFERRED, ctx, departure_id, handover, takeover, c.ref)
        elif c.status != WAITING:  # refused, at limit, no record, failed: the manager holds its receivables
            signals.emit(signals.CUSTOMER_NOT_TRANSFERRED, ctx, departure_id, handover, c.ref)
    return changed


def settle(runtime: Runtime, departure_id: int, now: datetime) -> dict[str, int]:
    """Report what did not move; complete (brief, report) when nothing waits and WeCom lists no one new."""
    with runtime.db.session_scope() as s:
        dep = get(s, departure_id, lock=True)
        if dep is None or dep.state != TRANSFERRING:
            return {}
        notices.refusals(s, runtime.settings, dep, now)
        if _active(s, departure_id) or signoffs_pending(s, departure_id):  # the checklist is part of done
            return {}
        handover, left, known = dep.userid, snapshot.has_left(s, dep.userid), set(s.scalars(select(
            DepartureItem.ref).where(DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER)))
    listed = snapshot.wecom_customers(runtime.wecom("contact"), handover, left=left)
    with runtime.db.session_scope() as s:
        dep = get(s, departure_id, lock=True)
        if dep is None or dep.state != TRANSFERRING or _active(s, departure_id):
            return {}
        late = {ext: d for ext, d in (listed or {}).items() if ext not in known}
        if late:
            _add_late(s, departure_id, late, now)
            return {"late_customers": len(late)}
        move(dep, COMPLETED, now)
        audit.record(s, "system", "departure.completed", {"departure_id": dep.id}, at=now)
        signals.emit(signals.DEPARTURE_COMPLETED, HandlerContext(runtime, s, 0, now), dep.id)
        notices.briefings(s, runtime.settings, dep, now)
        notices.report(s, runtime.settings, dep, now)
    return {"completed": 1}


def _active(s: Session, departure_id: int) -> bool:
    return s.scalar(select(DepartureItem.id).where(
        DepartureItem.departure_id == departure_id, DepartureItem.kind.in_((CUSTOMER, GROUP_CHAT)),
        DepartureItem.status.in_(ACTIVE)).limit(1)) is not None


def _add_late(s: Session, departure_id: int, late: dict[str, dict[str, Any]], now: datetime) -> None:
    rows = [{"departure_id": departure_id, "kind": CUSTOMER, "ref": ext, "name": (d.get("remark") or d.get("name")
             or ext)[:255], "status": PENDING, "detail": {**d, "in_wecom": True, "in_pool": False, "late": True},
             "attempts": 0, "updated_at": now} for ext, d in late.items()]
    s.execute(insert(DepartureItem), rows)
    audit.record(s, "system", "departure.late_customers", {"departure_id": departure_id,
                                                           "customers": sorted(late)}, at=now)

