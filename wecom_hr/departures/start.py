"""Starting a departure (API, CLI, a member who left, a WeCom resignation approval) and HR's later steps.

WeCom is asked for the handover list before anything is written, so the write transaction is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit, directory, outbox, sessions
from storage.departures import (
    AT_LIMIT,
    CANCELLED,
    CARD_OPEN,
    CARD_SUPERSEDED,
    COMPLETED,
    CUSTOMER,
    DRAFT,
    FAILED,
    NO_RECORD,
    PENDING,
    REFUSED,
    REJECTED,
    REVOKED_NOW,
    TRANSFERRING,
    Departure,
    cards_of,
    item,
    move,
    open_departure_of,
)
from wecom_hr import signals
from wecom_hr.departures import card, signoffs, snapshot, texts
from wecom_hr.departures.decision import update_card
from wecom_hr.departures.settings import local_today
from wecom_hr.dispatch import HandlerContext

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

REASSIGNABLE = (PENDING, REFUSED, AT_LIMIT, NO_RECORD, FAILED)  # not yet sent, or ended without success


class DepartureError(ValueError):
    """A request the departure cannot take; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StartRequest:
    userid: str
    last_day: date | None = None      # default: today
    successor: str | None = None
    note: str = ""
    actor: str = "system"
    source: str = "api"               # api | cli | left | approval
    sp_no: str | None = None
    submit: bool = True               # False: stay a draft until HR submits it


def check_successor(session: Session, member: str, successor: str, today: date) -> None:
    if successor == member:
        raise DepartureError(400, "the successor must be someone else")
    if directory.member(session, successor) is None:
        raise DepartureError(400, f"successor {successor!r} is not in the directory")
    if not card.is_available(session, successor, today):
        raise DepartureError(409, f"successor {successor!r} has left or is leaving")


def start(session: Session, runtime: Runtime, req: StartRequest, now: datetime) -> Departure:
    """Snapshot the member's holdings and (unless a draft) send the approval card."""
    today = local_today(runtime.settings, now)
    member = directory.member(session, req.userid)
    if member is None:
        raise DepartureError(404, f"{req.userid!r} is not in the directory")
    if open_departure_of(session, req.userid) is not None:
        raise DepartureError(409, f"{req.userid!r} already has an open departure")
    if req.successor:
        check_successor(session, req.userid, req.successor, today)
    held = snapshot.gather(session, runtime.wecom("contact"), req.userid)
    dep = Departure(userid=req.userid, member_name=member.name or req.userid, state=DRAFT,
                    last_day=req.last_day or today, successor=req.successor or None, note=req.note[:2000],
                    source=req.source, started_by=req.actor, sp_no=req.sp_no, summary={}, created_at=now,
                    updated_at=now)
    try:
        with session.begin_nested():
            session.add(dep)
            session.flush()
    except IntegrityError:
        raise DepartureError(409, f"{req.userid!r} already has an open departure") from None
    totals = snapshot.write(session, dep, held, today, now)
    audit.record(session, req.actor, "departure.started",
                 {"departure_id": dep.id, "userid": dep.userid, "source": dep.source, "last_day": str(dep.last_day),
                  "successor": dep.successor, "sp_no": dep.sp_no, "summary": texts.summary(totals)}, at=now)
    signoffs.create(session, runtime.settings, dep, now)  # the checklist; finance gets its card now
    # 离职前核查 and other reactions: wecom_hr/signals.py lists who listens
    signals.emit(signals.DEPARTURE_STARTED, HandlerContext(runtime, session, 0, now), dep.id)
    if req.submit:
        submit(session, runtime, dep, req.actor, now)
    return dep


def submit(session: Session, runtime: Runtime, dep: Departure, actor: str, now: datetime,
           successor: str | None = None) -> None:
    """Draft or rejected → pending_approval with a fresh card (optionally with a new default successor)."""
    today = local_today(runtime.settings, now)
    if successor:
        check_successor(session, dep.userid, successor, today)
        dep.successor = successor
    try:
        card.submit(session, runtime.settings, dep, actor, today, now)
    except card.NoApproverError as exc:
        raise DepartureError(409, str(exc)) from None
    except ValueError as exc:  # InvalidTransitionError
        raise DepartureError(409, f"cannot submit a departure in state {dep.state}: {exc}") from None


def cancel(session: Session, runtime: Runtime, dep: Departure, actor: str, now: datetime) -> None:
    """HR withdraws a departure before any transfer was requested; open cards show 已撤销."""
    try:
        move(dep, CANCELLED, now)
    except ValueError:
        raise DepartureError(409, f"a departure in state {dep.state} cannot be cancelled") from None
    for old in cards_of(session, dep.id):
        if old.status == CARD_OPEN:
            old.status = CARD_SUPERSEDED
            _mark_card(runtime, session, old.outbox_key, old.approvers, texts.CANCELLED_CARD)
    audit.record(session, actor, "departure.cancelled", {"departure_id": dep.id}, at=now)


def _mark_card(runtime: Runtime, session: Session, key: str, userids: list[str], label: str) -> None:
    sent = outbox.by_key(session, key)
    if sent is not None and sent.response_code:
        update_card(runtime, session, userids, sent.response_code, label)


def set_successor(session: Session, runtime: Runtime, dep: Departure, ext: str, successor: str, actor: str,
                  now: datetime) -> None:
    """A per-customer successor. A customer whose transfer ended without success is queued again."""
    row = item(session, dep.id, CUSTOMER, ext)
    if row is None:
        raise DepartureError(404, "this customer is not in the handover list")
    if dep.state == CANCELLED:
        raise DepartureError(409, "the departure was cancelled")
    check_successor(session, dep.userid, successor, local_today(runtime.settings, now))
    if row.status not in REASSIGNABLE:
        raise DepartureError(409, f"the customer's transfer is {row.status}; it cannot be reassigned now")
    previous, row.successor, row.updated_at, row.batch_id = row.successor, successor, now, None
    if row.status != PENDING:
        row.status, row.errcode, row.attempts, row.notified_at, row.finished_at = PENDING, None, 0, None, None
        if dep.state == COMPLETED:
            move(dep, TRANSFERRING, now)
    audit.record(session, actor, "departure.successor_set", {"departure_id": dep.id, "external_userid": ext,
                                                             "successor": [previous, successor]}, at=now)


def revoke_now(session: Session, dep: Departure, actor: str, reason: str, now: datetime) -> None:
    """HR ends a departing member's access before the last day; recorded with its reason."""
    if dep.state in (REJECTED, CANCELLED):
        raise DepartureError(409, f"the departure is {dep.state}; nothing to revoke")
    if not reason.strip():
        raise DepartureError(400, "reason is required to revoke access before the last day")
    dep.summary = {**(dep.summary or {}), REVOKED_NOW: {"by": actor, "at": now.isoformat(), "reason": reason}}
    dep.updated_at = now
    sessions.end_all(session, dep.userid, now)
    audit.record(session, actor, "departure.access_revoked", {"departure_id": dep.id, "userid": dep.userid,
                                                               "reason": reason}, at=now)
