"""Follow-up: poll transfer_result until every customer is final, then brief and report.

One transfer_result walk per (successor, endpoint) pair — pages of 1000, never one call per
customer. 1 done (the pool shows the new owner), 3 refused, 4 takeover at limit, 5 no record end
a customer; 2 keeps it waiting. A customer WeCom said was "in progress" (40129) and that this pair
does not list was someone else's transfer: it is reported failed. transfer_fail callbacks land in
the same rows (events.on_transfer_failed). Before completing, WeCom is asked once more for the
member's customers, so one added after the snapshot is handed over too.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
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
)
from wecom_hr.departures import notices, pool_sync, snapshot
from wecom_hr.departures.transfers import IN_PROGRESS
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
ACTIVE = (PENDING, SENDING, WAITING)
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
        with runtime.db.session_scope() as s:
            out.update(apply_results(s, departure_id, handover, takeover, results, now))
    out.update(settle(runtime, departure_id, now))
    return dict(out)


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


def apply_results(s: Session, departure_id: int, handover: str, takeover: str, results: dict[str, Result],
                  now: datetime) -> Counter[str]:
    rows = s.scalars(select(DepartureItem).where(
        DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER,
        DepartureItem.status == WAITING, DepartureItem.takeover == takeover))
    changed: Counter[str] = Counter()
    for row in rows:
        found = results.get(row.ref)
        unconfirmed = bool(row.detail.get("unconfirmed"))
        if found is None:
            if unconfirmed:  # WeCom holds a transfer for this customer, but not to this successor
                row.status, row.errcode, row.finished_at, row.updated_at = FAILED, IN_PROGRESS, now, now
                changed[FAILED] += 1
            continue
        status = RESULT_STATUS.get(found[0], WAITING)
        if unconfirmed:
            row.detail = {k: v for k, v in row.detail.items() if k != "unconfirmed"}
            row.errcode = None
        if status == WAITING:
            continue
        at = found[1] or now
        row.status, row.finished_at, row.updated_at = status, at, now
        if status == DONE:
            changed["pool_updated"] += pool_sync.show_new_owner(s, departure_id, handover, takeover, row.ref, at, now)
        changed[status] += 1
    if changed:
        audit.record(s, "system", "departure.results_polled",
                     {"departure_id": departure_id, "takeover": takeover, "changes": dict(changed)}, at=now)
    return changed


def settle(runtime: Runtime, departure_id: int, now: datetime) -> dict[str, int]:
    """Report what did not move; complete (brief, report) when nothing waits and WeCom lists no one new."""
    with runtime.db.session_scope() as s:
        dep = get(s, departure_id, lock=True)
        if dep is None or dep.state != TRANSFERRING:
            return {}
        notices.refusals(s, runtime.settings, dep, now)
        if _active(s, departure_id):
            return {}
        handover, known = dep.userid, set(s.scalars(select(DepartureItem.ref).where(
            DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER)))
    listed = snapshot.wecom_customers(runtime.wecom("contact"), handover)
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

