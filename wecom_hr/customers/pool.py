"""Applying WeCom's view of one customer to the pool (the event path; the resync writes in bulk).

Every write goes with a history row. The customer row is locked first (PostgreSQL: FOR UPDATE), so
two workers handling events of the same customer apply them one after the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.customers import (
    ACTIVE,
    CUSTOMER_DELETED,
    MEMBER_DELETED,
    MISSING,
    TRANSFERRED,
    Customer,
    CustomerChange,
    CustomerFollow,
    latest_follow,
    open_follow,
    record_change,
    refresh_status,
)
from wecom_hr.customers.fields import (
    CONTACT_FIELDS,
    FOLLOW_FIELDS,
    Origin,
    contact_values,
    diff,
    fingerprint,
    follow_values,
    from_epoch,
    keep_tag_names,
    may_reopen,
    values_of,
)

SAME_TRANSFER_WINDOW = timedelta(days=2)  # WeCom completes a transfer up to 24 h after it was asked for


def jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    """History is JSON: datetimes become ISO strings (also inside [old, new] pairs)."""
    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return {k: conv(v) for k, v in changes.items()}


def history(session: Session, customer_id: str, kind: str, changes: dict[str, Any], origin: Origin,
            now: datetime, userid: str | None = None) -> None:
    record_change(session, customer_id, kind, jsonable(changes), userid=userid, at=now, **origin.history())


def lock_customer(session: Session, external_userid: str) -> Customer | None:
    query = select(Customer).where(Customer.external_userid == external_userid)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def upsert_customer(session: Session, external_userid: str, contact: dict[str, Any] | None,
                    follows: list[dict[str, Any]], origin: Origin, now: datetime,
                    fallback_owner: str = "") -> Customer:
    """Create the customer (core fields fixed from then on) or apply changed contact fields."""
    customer = lock_customer(session, external_userid)
    values = contact_values(contact) if contact else {}
    if customer is None:
        first = min(follows, key=lambda f: int(f.get("createtime") or 0), default=None)
        created = (from_epoch(first.get("createtime")) if first else None) or origin.occurred_at or now
        customer = Customer(external_userid=external_userid, **contact_values(contact or {}), status=ACTIVE,
                            first_owner=str(first["userid"]) if first else fallback_owner,
                            created_at=created, first_seen_at=now, updated_at=now, note="",
                            digest=fingerprint(values) if contact else "")
        session.add(customer)
        session.flush()
        shown = {k: v for k, v in values.items() if v}
        history(session, external_userid, "customer_created",
                {**shown, "first_owner": customer.first_owner, "created_at": created}, origin, now)
        return customer
    changes = diff(values_of(customer, CONTACT_FIELDS), values)
    if changes:
        for name, (_, new) in changes.items():
            setattr(customer, name, new)
        customer.updated_at, customer.digest = now, fingerprint(values)
        history(session, external_userid, "customer_updated", changes, origin, now)
    return customer


def upsert_follow(session: Session, customer: Customer, data: dict[str, Any], origin: Origin,
                  now: datetime, fetched_at: datetime) -> tuple[CustomerFollow | None, str]:
    """Open, update or leave one relation WeCom lists; returns (row, opened|updated|unchanged|stale)."""
    userid = str(data.get("userid") or "")
    values, created = follow_values(data), from_epoch(data.get("createtime"))
    row = open_follow(session, customer.external_userid, userid)
    if row is None:
        latest = latest_follow(session, customer.external_userid, userid)
        if not may_reopen(latest, created, fetched_at):
            return None, "stale"
        row = CustomerFollow(external_userid=customer.external_userid, userid=userid, **values, half=False,
                             follow_created_at=created, opened_at=now, updated_at=now, digest=fingerprint(values))
        session.add(row)
        session.flush()
        shown = {k: v for k, v in values.items() if v}
        history(session, customer.external_userid, "relation_opened", {**shown, "createtime": created},
                origin, now, userid)
        return row, "opened"
    values["tags"] = keep_tag_names(row.tags, values["tags"])
    changes = diff(values_of(row, FOLLOW_FIELDS), values)
    if "tags" not in changes and values["tags"] != row.tags:
        row.tags = values["tags"]  # the same tags, now with their names
    if created is not None and row.follow_created_at is None:
        changes["follow_created_at"] = [None, created]
    if not changes:
        return row, "unchanged"
    for name, (_, new) in changes.items():
        setattr(row, name, new)
    row.updated_at, row.digest = now, fingerprint(values)
    history(session, customer.external_userid, "relation_updated", changes, origin, now, userid)
    return row, "updated"


def open_half_follow(session: Session, customer: Customer, userid: str, state: str, origin: Origin,
                     now: datetime) -> CustomerFollow | None:
    """add_half_external_contact for a pair WeCom does not show yet (84061 until the member adds
    back): open the relation as the event tells it, marked half; add_external_contact completes it
    from externalcontact/get. None when an episode is open already or a replay predates its end."""
    ext = customer.external_userid
    if (row := open_follow(session, ext, userid)) is not None:
        return row
    added = origin.occurred_at or now
    if not may_reopen(latest_follow(session, ext, userid), added, added):
        return None
    values = follow_values({"state": state})
    row = CustomerFollow(external_userid=ext, userid=userid, **values, half=True, follow_created_at=None,
                         opened_at=now, updated_at=now, digest=fingerprint(values))
    session.add(row)
    session.flush()
    history(session, ext, "relation_opened", {"half": True, "state": state, "added_at": added}, origin, now, userid)
    return row


def apply_snapshot(session: Session, external_userid: str, contact: dict[str, Any] | None,
                   follows: list[dict[str, Any]], origin: Origin, now: datetime, fetched_at: datetime,
                   fallback_owner: str = "") -> tuple[Customer | None, dict[str, str]]:
    """Apply externalcontact/get's answer; relations WeCom no longer lists are left to del events
    and the resync (which can tell a deletion from a transfer)."""
    if contact is None and not follows:
        return lock_customer(session, external_userid), {}
    customer = upsert_customer(session, external_userid, contact, follows, origin, now, fallback_owner)
    outcome = {str(f.get("userid")): upsert_follow(session, customer, f, origin, now, fetched_at)[1]
               for f in follows if f.get("userid")}
    refresh_status(session, customer)
    return customer, outcome


def end_follow(session: Session, row: CustomerFollow, reason: str, ended_at: datetime, origin: Origin,
               now: datetime) -> None:
    row.ended_at, row.end_reason, row.end_recorded_at, row.updated_at = ended_at, reason, now, now
    history(session, row.external_userid, "relation_ended", {"reason": reason, "ended_at": ended_at},
            origin, now, row.userid)


def _same_transfer(latest: CustomerFollow | None, reason: str, ended_at: datetime) -> bool:
    """The departure handover records a transfer from transfer_result (takeover_time); WeCom's
    del_external_contact (DELETE_BY_TRANSFER) for it carries its own time. Both are one transfer."""
    return (latest is not None and reason == TRANSFERRED and latest.end_reason == TRANSFERRED
            and latest.ended_at is not None and abs(latest.ended_at - ended_at) <= SAME_TRANSFER_WINDOW)


def record_end(session: Session, customer: Customer, userid: str, reason: str, ended_at: datetime,
               origin: Origin, now: datetime, open_is_newer: bool = False) -> bool:
    """Put on record that the pair's relation ended at ``ended_at``; False when it already is.

    The open episode ends, unless ``open_is_newer`` (the member added the customer again after this
    deletion); else a resync's "missing" guess gets the real reason, or an ended episode is added for
    a relation we never saw open (its add event came late or never), so the deletion stays on record.
    """
    ext = customer.external_userid
    if session.scalar(select(CustomerFollow.id).where(
            CustomerFollow.external_userid == ext, CustomerFollow.userid == userid,
            CustomerFollow.end_reason == reason, CustomerFollow.ended_at == ended_at)) is not None:
        return False  # a replay of the same event
    row = open_follow(session, ext, userid)
    if row is not None and not open_is_newer:
        end_follow(session, row, reason, ended_at, origin, now)
        return True
    latest = latest_follow(session, ext, userid) if row is None else None
    if _same_transfer(latest, reason, ended_at):
        return False
    if latest is not None and latest.end_reason == CUSTOMER_DELETED and reason == MEMBER_DELETED:
        # The member removed a customer who had already deleted them: tidying up, not a loss.
        if session.scalar(select(CustomerChange.id).where(
                CustomerChange.external_userid == ext, CustomerChange.userid == userid,
                CustomerChange.kind == "relation_cleared", CustomerChange.occurred_at == ended_at)) is None:
            history(session, ext, "relation_cleared", {"ended_at": ended_at}, origin, now, userid)
        return False
    if latest is not None and latest.end_reason == MISSING:
        history(session, ext, "relation_end_explained", {"reason": [MISSING, reason], "ended_at": ended_at},
                origin, now, userid)
        latest.end_reason, latest.ended_at, latest.updated_at = reason, ended_at, now
        return True
    # Born ended: it must never count as the pair's open episode, not even until the next flush.
    row = CustomerFollow(external_userid=ext, userid=userid, remark="", description="", remark_corp_name="",
                         remark_mobiles=[], tags=[], add_way=0, oper_userid="", state="", half=False,
                         opened_at=now, updated_at=now, ended_at=ended_at, end_reason=reason, end_recorded_at=now)
    session.add(row)
    history(session, ext, "relation_ended", {"reason": reason, "ended_at": ended_at}, origin, now, userid)
    return True

