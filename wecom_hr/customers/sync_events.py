"""change_external_contact workflows: what each ChangeType does to the pool.

Adds and edits read the customer back from WeCom (externalcontact/get, every follow_user page) and
apply that snapshot, so replaying an old event applies today's truth, never yesterday's. A deletion
is checked against the same snapshot: if WeCom lists the relation again, the member re-added the
customer after this deletion, and the deletion is kept on record without closing the new relation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.customers import (
    CUSTOMER_DELETED,
    MEMBER_DELETED,
    TRANSFERRED,
    Customer,
    latest_follow,
    open_follow,
)
from wecom_hr.customers import alerts, pool
from wecom_hr.customers.fields import Origin, from_epoch
from wecom_hr.dispatch import HandlerContext
from wecom_hr.events import Event
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError

GET = "externalcontact/get"
# "not external contact" (also a half-added pair: WECOM.md §6) / unknown external_userid: nobody follows
GONE = frozenset({84061, 40096})
DELETE_BY_TRANSFER = "DELETE_BY_TRANSFER"


Snapshot = tuple[dict[str, Any] | None, list[dict[str, Any]], datetime]


def fetch_customer(client: WeComClient, external_userid: str, now: datetime) -> Snapshot:
    """(external_contact, every follow_user, when we asked); (None, [], t) when WeCom has no follower."""
    contact: dict[str, Any] | None = None
    follows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        try:
            page = client.extra.get_external_contact(external_userid, cursor)
        except WeComAPIError as exc:
            if exc.errcode in GONE:
                return None, [], now
            raise
        contact = page.get("external_contact") or contact
        follows += [f for f in page.get("follow_user") or [] if isinstance(f, dict)]
        cursor = str(page.get("next_cursor") or "")
        if not cursor:
            return contact, follows, now


def _origin(ctx: HandlerContext, event: Event, api_call: str | None = GET) -> Origin:
    return Origin("event", event_id=ctx.event_id, api_call=api_call,
                  occurred_at=from_epoch(event.create_time) or ctx.now)


def _ids(event: Event) -> tuple[str, str]:
    return str(event.get("external_user_id")), str(event.get("user_id"))


def _snapshot(ctx: HandlerContext, external_userid: str) -> Snapshot:
    return fetch_customer(ctx.runtime.wecom("contact"), external_userid, ctx.now)


def _apply(ctx: HandlerContext, event: Event, snap: Snapshot) -> tuple[Customer | None, dict[str, str]]:
    ext, userid = _ids(event)
    contact, follows, fetched_at = snap
    return pool.apply_snapshot(ctx.session, ext, contact, follows, _origin(ctx, event), ctx.now, fetched_at,
                               fallback_owner=userid)


def customer_added(ctx: HandlerContext, event: Event, half: bool = False) -> None:
    """add_external_contact / add_half_external_contact (免验证添加: the member has not confirmed).

    WeCom does not show a half-added pair (externalcontact/get: 84061) until the member adds back,
    so that relation is kept from the event itself; the full add completes it from WeCom's answer."""
    ext, userid = _ids(event)
    snap = _snapshot(ctx, ext)
    customer, outcome = _apply(ctx, event, snap)
    listed = any(str(f.get("userid")) == userid for f in snap[1])
    if half and not listed:
        customer = customer or pool.upsert_customer(ctx.session, ext, snap[0], snap[1], _origin(ctx, event, None),
                                                    ctx.now, fallback_owner=userid)
        pool.open_half_follow(ctx.session, customer, userid, str(event.get("state") or "")[:255],
                              _origin(ctx, event, None), ctx.now)
        pool.refresh_status(ctx.session, customer)
    row = open_follow(ctx.session, ext, userid) if customer else None
    if row is None or (not half and not listed):
        return  # a full add WeCom does not list (deleted since): nothing confirmed to complete
    # Only the event that opened the relation marks it half; a full add (confirmed) clears it.
    want = (row.half or outcome.get(userid) == "opened") if half else False
    if want != row.half:
        pool.history(ctx.session, ext, "relation_updated", {"half": [row.half, want]},
                     _origin(ctx, event, None), ctx.now, userid)
        row.half = want


def customer_edited(ctx: HandlerContext, event: Event) -> None:
    ext, _ = _ids(event)
    _apply(ctx, event, _snapshot(ctx, ext))


def customer_removed_by_member(ctx: HandlerContext, event: Event) -> None:
    """del_external_contact: the member deleted the customer, or a transfer moved it away."""
    ext, userid = _ids(event)
    reason = TRANSFERRED if event.get("source") == DELETE_BY_TRANSFER else MEMBER_DELETED
    snap = _snapshot(ctx, ext)
    listed_again = any(str(f.get("userid")) == userid for f in snap[1])
    ended = _end(ctx, event, reason, snap, open_is_newer=listed_again)
    if ended and reason == MEMBER_DELETED:
        alerts.raise_alerts(ctx.session, ctx.runtime, MEMBER_DELETED, userid, ext, _occurred(ctx, event), ctx.now)


def member_removed_by_customer(ctx: HandlerContext, event: Event) -> None:
    """del_follow_user: the customer deleted the member (churn). WeCom may still list the relation,
    so only WeCom's createtime tells a newer re-add apart from the relation that just ended."""
    ext, userid = _ids(event)
    occurred = _occurred(ctx, event)
    row = open_follow(ctx.session, ext, userid)
    newer = row is not None and row.follow_created_at is not None and row.follow_created_at > occurred
    if _end(ctx, event, CUSTOMER_DELETED, _snapshot(ctx, ext), open_is_newer=newer):
        alerts.raise_alerts(ctx.session, ctx.runtime, CUSTOMER_DELETED, userid, ext, occurred, ctx.now)


def _end(ctx: HandlerContext, event: Event, reason: str, snap: Snapshot, open_is_newer: bool) -> bool:
    ext, userid = _ids(event)
    origin = _origin(ctx, event, None)
    contact, follows, fetched_at = snap
    customer = pool.upsert_customer(ctx.session, ext, contact, follows, origin, ctx.now, fallback_owner=userid)
    ended = pool.record_end(ctx.session, customer, userid, reason, _occurred(ctx, event), origin, ctx.now,
                            open_is_newer=open_is_newer)
    pool.apply_snapshot(ctx.session, ext, contact, follows, _origin(ctx, event), ctx.now, fetched_at, userid)
    pool.refresh_status(ctx.session, customer)
    return ended


def _occurred(ctx: HandlerContext, event: Event) -> datetime:
    return from_epoch(event.create_time) or ctx.now


def transfer_failed(ctx: HandlerContext, event: Event) -> None:
    """transfer_fail: UserID is the takeover member; the customer stays where it was."""
    ext, takeover = _ids(event)
    customer, _ = _apply(ctx, event, _snapshot(ctx, ext))
    if customer is None:
        customer = pool.upsert_customer(ctx.session, ext, None, [], _origin(ctx, event, None), ctx.now, takeover)
    pool.history(ctx.session, ext, "transfer_failed",
                 {"takeover_userid": takeover, "fail_reason": str(event.get("fail_reason"))},
                 _origin(ctx, event, None), ctx.now, takeover)


def archive_agreed(ctx: HandlerContext, event: Event) -> None:
    """msg_audit_approved: the customer agreed to chat archiving with this member."""
    ext, userid = _ids(event)
    if open_follow(ctx.session, ext, userid) is None:
        _apply(ctx, event, _snapshot(ctx, ext))
    row = open_follow(ctx.session, ext, userid) or latest_follow(ctx.session, ext, userid)
    if row is None or row.archive_agreed_at is not None:
        return
    row.archive_agreed_at = _occurred(ctx, event)
    pool.history(ctx.session, ext, "archive_agreed", {"archive_agreed_at": row.archive_agreed_at},
                 _origin(ctx, event, None), ctx.now, userid)

