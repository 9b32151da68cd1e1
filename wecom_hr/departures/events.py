"""What WeCom callbacks do to departures: a member left, a transfer failed, a resignation was approved.

on_member_left and on_transfer_failed are called by the directory and customer-pool handlers (one
line each in handlers/contacts.py and handlers/customers.py); the approval handler is our own route.
Each is safe to run twice: the open-departure check and the item statuses make a replay a no-op.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from storage import audit
from storage.departures import (
    AT_LIMIT,
    CLOSED,
    CUSTOMER,
    REFUSED,
    SENDING,
    TRANSFERRING,
    WAITING,
    Departure,
    DepartureItem,
    latest_of,
    open_departure_of,
)
from wecom_hr.departures import snapshot
from wecom_hr.departures.settings import from_settings
from wecom_hr.departures.start import DepartureError, StartRequest, start
from wecom_hr.dispatch import HandlerContext
from wecom_hr.events import Event

log = logging.getLogger(__name__)
FAIL_STATUS = {"customer_refused": REFUSED, "customer_limit_exceed": AT_LIMIT}
APPROVED_SP = 2
RECENT = timedelta(days=180)


def on_member_left(ctx: HandlerContext, userid: str) -> None:
    """change_contact/delete_user: a member with customers and no departure gets one (resigned flow)."""
    if not userid or not from_settings(ctx.settings).auto_start_on_leave:
        return
    s = ctx.session
    existing = latest_of(s, userid)
    if existing is not None and (existing.state not in CLOSED or _recent(existing, ctx.now)):
        audit.record(s, "system", "departure.member_left", {"departure_id": existing.id, "userid": userid,
                                                            "state": existing.state}, at=ctx.now)
        return
    client = ctx.runtime.wecom("contact")  # WeCom lists a member who left with get_unassigned_list
    if not snapshot.pool_customers(s, userid) and not snapshot.wecom_customers(client, userid, left=True):
        return
    _start(ctx, StartRequest(userid=userid, source="left", actor="system",
                             note="成员已离职（通讯录删除），自动发起交接"))


def _recent(dep: Departure, now: datetime) -> bool:
    """A departure completed lately already handed this member over (its leftovers went to HR)."""
    return dep.completed_at is not None and now - dep.completed_at < RECENT


def on_approval_changed(ctx: HandlerContext, event: Event) -> None:
    """sys_approval_change: an approved resignation (the configured template) starts a departure."""
    template = from_settings(ctx.settings).approval_template_id
    info = event.fields.get("approval_info")
    if not template or not isinstance(info, dict) or str(info.get("template_id")) != template:
        return
    if str(info.get("sp_status")) != str(APPROVED_SP):
        return
    applyer = info.get("applyer")
    userid = str(applyer.get("user_id") or "") if isinstance(applyer, dict) else ""
    sp_no = str(info.get("sp_no") or "")
    if not userid or ctx.session.scalar(select(Departure.id).where(Departure.sp_no == sp_no)) is not None:
        return
    if open_departure_of(ctx.session, userid) is not None:
        return
    _start(ctx, StartRequest(userid=userid, source="approval", actor="system", sp_no=sp_no,
                             note=f"离职审批 {sp_no} 已通过"))


def _start(ctx: HandlerContext, req: StartRequest) -> None:
    try:
        with ctx.session.begin_nested():  # a start that fails half-way leaves nothing behind
            start(ctx.session, ctx.runtime, req, ctx.now)
    except DepartureError as exc:  # unknown member, nobody to approve: on record for HR, not a retry loop
        audit.record(ctx.session, "system", "departure.auto_start_failed",
                     {"userid": req.userid, "source": req.source, "error": str(exc)}, at=ctx.now)
        log.warning("departure for %s not started: %s", req.userid, exc)


def on_transfer_failed(ctx: HandlerContext, event: Event) -> None:
    """change_external_contact/transfer_fail: UserID is the successor; the customer refused or they are full."""
    ext, takeover = str(event.get("external_user_id")), str(event.get("user_id"))
    reason = str(event.get("fail_reason"))
    rows = ctx.session.scalars(select(DepartureItem).join(Departure, Departure.id == DepartureItem.departure_id).where(
        DepartureItem.kind == CUSTOMER, DepartureItem.ref == ext, DepartureItem.takeover == takeover,
        DepartureItem.status.in_((WAITING, SENDING)), Departure.state == TRANSFERRING))
    for row in rows:
        row.status, row.finished_at, row.updated_at = FAIL_STATUS.get(reason, REFUSED), ctx.now, ctx.now
        row.detail = {**row.detail, "fail_reason": reason}
        audit.record(ctx.session, "system", "departure.transfer_failed",
                     {"departure_id": row.departure_id, "external_userid": ext, "takeover": takeover,
                      "fail_reason": reason, "event_id": ctx.event_id}, at=ctx.now)
