"""Showing a confirmed transfer in the customer pool, through the pool's own functions.

The member's relation ends with reason "transferred" and the successor's opens, carrying the remark
and tags over (as WeCom does). When the pool already shows it — an on-job transfer also sends
del_external_contact with Source=DELETE_BY_TRANSFER, which the pool handles itself — nothing is
written twice. The nightly resync corrects any field WeCom changed on the way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.customers import TRANSFERRED, CustomerFollow, open_follow, refresh_status
from wecom_hr.customers import pool
from wecom_hr.customers.fields import Origin

API_CALL = "externalcontact/transfer_result"


def _follow_data(old: CustomerFollow | None, takeover: str, at: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {"userid": takeover, "createtime": int(at.timestamp()), "oper_userid": takeover}
    if old is not None:
        data.update(remark=old.remark, description=old.description, remark_corp_name=old.remark_corp_name,
                    remark_mobiles=list(old.remark_mobiles or []), tags=list(old.tags or []), add_way=old.add_way,
                    state=old.state)
    return data


def show_new_owner(session: Session, departure_id: int, handover: str, takeover: str, ext: str, at: datetime,
                   now: datetime) -> bool:
    """True when the pool changed; False when it already showed the move. A customer the pool never
    saw (a leaver's, listed only by get_unassigned_list) is created, first owner the leaver; the
    nightly resync fills in its name and fields."""
    origin = Origin("api", api_call=API_CALL, occurred_at=at, actor=f"departure:{departure_id}")
    customer = pool.lock_customer(session, ext) or pool.upsert_customer(session, ext, None, [], origin, now, handover)
    old = open_follow(session, ext, handover)
    changed = False
    if old is not None:
        changed |= pool.record_end(session, customer, handover, TRANSFERRED, at, origin, now)
    if open_follow(session, ext, takeover) is None:
        _, outcome = pool.upsert_follow(session, customer, _follow_data(old, takeover, at), origin, now, now)
        changed |= outcome == "opened"
    if changed:
        refresh_status(session, customer)
    return changed
