"""Who owns a pool customer (客户归属).

An owner set by hand (PUT /api/v1/customers/<id>/owner) or by a handover is stored and wins.
Otherwise ``[risk] ownership`` decides: "first_adder" — the member who first added the customer
(Customer.first_owner); "department" — the customer belongs to the first adder's department, and the
owner is the member of that department (sub-departments included) who most recently added them and
still follows them; the first adder when nobody there does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import Customer, CustomerFollow, record_change
from storage.risk import SET_BY_HANDOVER, CustomerOwner, CustomerOwnerChange

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext


def owner_of(session: Session, external_userid: str, mode: str) -> str:
    """The owner's userid, or "" for a customer the pool does not know."""
    row = session.get(CustomerOwner, external_userid)
    if row is not None:
        return row.owner
    customer = session.get(Customer, external_userid)
    if customer is None:
        return ""
    if mode == "department" and customer.first_owner:
        return _department_owner(session, customer) or customer.first_owner
    return customer.first_owner


def _department_owner(session: Session, customer: Customer) -> str | None:
    first = directory.member(session, customer.first_owner)
    if first is None or first.main_department is None:
        return None
    depts = directory.subtree(session, [first.main_department])
    query = (select(CustomerFollow.userid)
             .join(directory.MemberDepartment, directory.MemberDepartment.userid == CustomerFollow.userid)
             .where(CustomerFollow.external_userid == customer.external_userid, CustomerFollow.ended_at.is_(None),
                    directory.MemberDepartment.department_id.in_(depts))
             .order_by(CustomerFollow.opened_at.desc(), CustomerFollow.id.desc()).limit(1))
    return session.scalar(query)


def set_owner(session: Session, external_userid: str, owner: str, *, mode: str, source: str, actor: str,
              now: datetime, departure_id: int | None = None) -> CustomerOwnerChange | None:
    """Record a new owner with a history row (here and in the pool's history); None when unchanged."""
    before = owner_of(session, external_userid, mode)
    if before == owner:
        return None
    row = session.get(CustomerOwner, external_userid)
    if row is None:
        row = CustomerOwner(external_userid=external_userid)
        session.add(row)
    row.owner, row.source, row.updated_at, row.updated_by = owner, source, now, actor
    change = CustomerOwnerChange(external_userid=external_userid, owner_before=before, owner_after=owner,
                                 source=source, actor=actor, departure_id=departure_id, at=now)
    session.add(change)
    record_change(session, external_userid, "owner_changed", {"owner": [before, owner]}, source="api",
                  api_call=f"risk.ownership:{source}", actor=actor, at=now)
    return change


def on_customer_transferred(ctx: HandlerContext, departure_id: int, handover: str, takeover: str,
                            external_userid: str, now: datetime | None = None) -> None:
    """A handover moves ownership to the successor (listed in wecom_hr/signals.py) — when the leaver
    owned the customer: a customer owned by a third member stays theirs."""
    from wecom_hr.risk.settings import from_settings

    mode = from_settings(ctx.settings).ownership
    if not takeover or owner_of(ctx.session, external_userid, mode) not in ("", handover):
        return
    set_owner(ctx.session, external_userid, takeover, mode=mode, source=SET_BY_HANDOVER,
              actor=f"departure:{departure_id}", now=now or ctx.now, departure_id=departure_id)
