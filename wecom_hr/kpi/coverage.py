"""From the customer pool: customers owned, new and lost in a period, coverage, first contacts.

The owner is the one set by hand or by a handover (storage.risk.CustomerOwner, issue 18's ownership)
when there is one, else the pool's ``first_owner``.
Coverage at the end of a period: the share of the owner's active customers the owner messaged in
the [kpi] coverage_days before (from kpi_contact_days, kept up to date by the archive listener).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from storage.customers import ACTIVE, CUSTOMER_DELETED, MEMBER_DELETED, MISSING, Customer, CustomerFollow
from storage.kpi import KpiContact, KpiContactDay
from storage.receivables import Receivable
from wecom_hr.kpi.orders import orders_in
from wecom_hr.kpi.period import Period

LOST_REASONS = (MEMBER_DELETED, CUSTOMER_DELETED, MISSING)  # a transfer is a handover, not a loss


def _overrides() -> Any:
    try:
        return importlib.import_module("storage.risk").CustomerOwner
    except (ImportError, AttributeError):
        return None


def owner_column() -> Any:
    model = _overrides()
    return Customer.first_owner if model is None else func.coalesce(model.owner, Customer.first_owner)


def _pool(query: Any) -> Any:
    """``query`` over customers, joined to the owner set by hand or handover when that table exists."""
    model = _overrides()
    return query if model is None else query.outerjoin(model, model.external_userid == Customer.external_userid)


@dataclass
class PoolFigures:
    owned: dict[str, int] = field(default_factory=dict)
    covered: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    converted: dict[str, int] = field(default_factory=dict)  # new customers with an order in the period
    lost: dict[str, int] = field(default_factory=dict)
    contacted_in_time: dict[str, int] = field(default_factory=dict)  # new customers contacted in time


def _epoch_ms(session: Session, column: Any) -> Any:
    """Milliseconds since the epoch of a datetime column, as wecom_hr.kpi.worktime.ms_of gives them
    (SQLite keeps whole milliseconds of its text timestamps: a sub-millisecond part is rounded)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.floor(func.extract("epoch", column) * 1000)
    return func.round((func.julianday(column) - 2440587.5) * 86_400_000)


def pool_figures(session: Session, userids: Sequence[str], period: Period, coverage_days: int,
                 first_contact_seconds: int) -> PoolFigures:
    """Four grouped reads through the connection (no ORM rows): owned and covered customers, new
    ones (how many were contacted in time and ordered), and lost ones."""
    owner, out, conn = owner_column(), PoolFigures(), session.connection()
    users = list(userids)
    active = (owner.in_(users), Customer.status == ACTIVE)
    out.owned = {u: n for u, n in conn.execute(_pool(select(owner, func.count()).select_from(Customer))
                                               .where(*active).group_by(owner))}
    since = period.end - timedelta(days=coverage_days - 1)
    messaged = exists().where(KpiContactDay.userid == owner, KpiContactDay.customer == Customer.external_userid,
                              KpiContactDay.day >= since, KpiContactDay.day <= period.end)
    covered = _pool(select(owner, func.count()).select_from(Customer)).where(*active, messaged).group_by(owner)
    out.covered = {u: n for u, n in conn.execute(covered)}
    ordered = exists().where(Receivable.external_userid == Customer.external_userid, orders_in(period))
    in_time = and_(KpiContact.first_ms.is_not(None),
                   KpiContact.first_ms - first_contact_seconds * 1000 <= _epoch_ms(session, Customer.created_at))
    created = (_pool(select(owner, func.count(), func.sum(case((ordered, 1), else_=0)),
                            func.sum(case((in_time, 1), else_=0))).select_from(Customer))
               .outerjoin(KpiContact, (KpiContact.userid == owner) & (KpiContact.customer == Customer.external_userid))
               .where(owner.in_(users), Customer.created_at >= period.begins, Customer.created_at < period.ends)
               .group_by(owner))
    for userid, new, converted, contacted in conn.execute(created):
        out.new[userid], out.converted[userid], out.contacted_in_time[userid] = new, converted or 0, contacted or 0
    lost = (select(CustomerFollow.userid, func.count(func.distinct(CustomerFollow.external_userid)))
            .where(CustomerFollow.userid.in_(users), CustomerFollow.ended_at >= period.begins,
                   CustomerFollow.ended_at < period.ends, CustomerFollow.end_reason.in_(LOST_REASONS))
            .group_by(CustomerFollow.userid))
    out.lost = {u: n for u, n in conn.execute(lost)}
    return out
