"""From the customer pool: customers owned, new and lost in a period, coverage, first contacts.

The owner is the one set by hand or by a handover (storage.risk.CustomerOwner, issue 18's ownership)
when there is one, else the pool's ``first_owner``.
Coverage at the end of a period: the share of the owner's active customers the owner messaged in
the [kpi] coverage_days before (from kpi_contact_days, kept up to date by the archive listener).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.customers import ACTIVE, CUSTOMER_DELETED, MEMBER_DELETED, MISSING, Customer, CustomerFollow
from storage.kpi import KpiContact, KpiContactDay
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.worktime import ms_of

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
    new: dict[str, list[tuple[str, datetime]]] = field(default_factory=lambda: defaultdict(list))
    lost: dict[str, int] = field(default_factory=dict)
    contacted_in_time: dict[str, int] = field(default_factory=dict)  # new customers contacted in time


def pool_figures(session: Session, userids: Sequence[str], period: Period, coverage_days: int,
                 first_contact_seconds: int) -> PoolFigures:
    owner, out = owner_column(), PoolFigures()
    users = list(userids)
    active = (owner.in_(users), Customer.status == ACTIVE)
    out.owned = dict(session.execute(_pool(select(owner, func.count()).select_from(Customer))
                                     .where(*active).group_by(owner)).all())
    since = period.end - timedelta(days=coverage_days - 1)
    covered = (_pool(select(owner, func.count(func.distinct(Customer.external_userid))).select_from(Customer))
               .join(KpiContactDay, (KpiContactDay.userid == owner)
                     & (KpiContactDay.customer == Customer.external_userid))
               .where(*active, KpiContactDay.day >= since, KpiContactDay.day <= period.end).group_by(owner))
    out.covered = dict(session.execute(covered).all())
    created = (_pool(select(owner, Customer.external_userid, Customer.created_at, KpiContact.first_ms)
                     .select_from(Customer))
               .outerjoin(KpiContact, (KpiContact.userid == owner) & (KpiContact.customer == Customer.external_userid))
               .where(owner.in_(users), Customer.created_at >= period.begins, Customer.created_at < period.ends))
    in_time: dict[str, int] = defaultdict(int)
    for userid, ext, at, first_ms in session.execute(created):
        out.new[userid].append((ext, at))
        if first_ms is not None and first_ms - ms_of(at) <= first_contact_seconds * 1000:
            in_time[userid] += 1
    out.contacted_in_time = dict(in_time)
    lost = (select(CustomerFollow.userid, func.count(func.distinct(CustomerFollow.external_userid)))
            .where(CustomerFollow.userid.in_(users), CustomerFollow.ended_at >= period.begins,
                   CustomerFollow.ended_at < period.ends, CustomerFollow.end_reason.in_(LOST_REASONS))
            .group_by(CustomerFollow.userid))
    out.lost = dict(session.execute(lost).all())
    return out
