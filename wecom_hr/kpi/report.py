"""The KPI rows of /api/v1/kpis (a public contract): one per member and one for their team.

Everything is read from aggregates (kpi_* tables kept by the archive listener, the pool, the
ledger): a request costs a fixed number of grouped queries, whatever the size of the archive.
A ratio without a denominator (no new customers, no replies) is null, not 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.directory import Member
from storage.kpi import KpiMemberDay
from wecom_hr.kpi import risk_counts
from wecom_hr.kpi.coverage import pool_figures
from wecom_hr.kpi.orders import ledger_figures
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.settings import KpiSettings

FIELDS = ("userid", "name", "customers_owned", "customers_new", "customers_lost", "coverage_ratio", "reply_count",
          "reply_median_seconds", "reply_p90_seconds", "reply_within_sla_ratio", "first_contact_24h_ratio",
          "off_assignment_contacts", "orders", "order_amount", "conversion_ratio", "repeat_ratio", "open_alerts")


def percentile(values: Sequence[int], q: float) -> float | None:
    """Linear interpolation between closest ranks (the median of [1, 2] is 1.5)."""
    if not values:
        return None
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Figures:
    userid: str
    name: str
    owned: int = 0
    covered: int = 0
    new: int = 0
    lost: int = 0
    replies: list[int] = field(default_factory=list)  # working seconds of each reply
    contacted_in_time: int = 0
    converted: int = 0
    orders: int = 0
    amount: Decimal = Decimal("0.00")
    repeat_kept: int = 0
    repeat_base: int = 0
    off_assignment: int = 0
    alerts: int = 0

    def add(self, other: Figures) -> None:
        for name in ("owned", "covered", "new", "lost", "contacted_in_time", "converted", "orders", "amount",
                     "repeat_kept", "repeat_base", "off_assignment", "alerts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.replies.extend(other.replies)

    def as_json(self, sla_seconds: int) -> dict[str, Any]:
        median, p90 = percentile(self.replies, 0.5), percentile(self.replies, 0.9)
        return {
            "userid": self.userid, "name": self.name, "customers_owned": self.owned, "customers_new": self.new,
            "customers_lost": self.lost, "coverage_ratio": ratio(self.covered, self.owned),
            "reply_count": len(self.replies),
            "reply_median_seconds": None if median is None else round(median),
            "reply_p90_seconds": None if p90 is None else round(p90),
            "reply_within_sla_ratio": ratio(sum(s <= sla_seconds for s in self.replies), len(self.replies)),
            "first_contact_24h_ratio": ratio(self.contacted_in_time, self.new),
            "off_assignment_contacts": self.off_assignment, "orders": self.orders,
            "order_amount": f"{self.amount:.2f}", "conversion_ratio": ratio(self.converted, self.new),
            "repeat_ratio": ratio(self.repeat_kept, self.repeat_base), "open_alerts": self.alerts,
        }


def names_of(session: Session, userids: Sequence[str]) -> dict[str, str]:
    rows = session.execute(select(Member.userid, Member.name).where(Member.userid.in_(list(userids))))
    return {u: n or u for u, n in rows}


def replies_of(session: Session, userids: Sequence[str], period: Period) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    query = select(KpiMemberDay.userid, KpiMemberDay.work_seconds).where(
        KpiMemberDay.userid.in_(list(userids)), KpiMemberDay.day >= period.start, KpiMemberDay.day <= period.end)
    for userid, seconds in session.connection().execute(query):
        out.setdefault(userid, []).extend(seconds)
    return out


def figures(session: Session, userids: Sequence[str], period: Period, settings: KpiSettings) -> list[Figures]:
    users = sorted(set(userids))
    if not users:
        return []
    names = names_of(session, users)
    pool = pool_figures(session, users, period, settings.coverage_days, settings.first_contact_seconds)
    ledger = ledger_figures(session, users, period)
    replies = replies_of(session, users, period)
    off = risk_counts.off_assignment(session, users, period.begins, period.ends)
    alerts = risk_counts.open_alerts(session, users)
    out = []
    for u in users:
        kept = ledger.previous.get(u, set()) & ledger.buyers.get(u, set())
        out.append(Figures(
            u, names.get(u, u), owned=pool.owned.get(u, 0), covered=pool.covered.get(u, 0), new=pool.new.get(u, 0),
            lost=pool.lost.get(u, 0), replies=replies.get(u, []), contacted_in_time=pool.contacted_in_time.get(u, 0),
            converted=pool.converted.get(u, 0), orders=ledger.orders.get(u, 0),
            amount=ledger.amount.get(u, Decimal("0.00")), repeat_kept=len(kept),
            repeat_base=len(ledger.previous.get(u, set())), off_assignment=off.get(u, 0), alerts=alerts.get(u, 0)))
    return sorted(out, key=lambda f: (f.name, f.userid))


def team_of(rows: Sequence[Figures]) -> Figures:
    team = Figures("", "team")
    for row in rows:
        team.add(row)
    return team


def kpis(session: Session, userids: Sequence[str], period: Period, settings: KpiSettings) -> dict[str, Any]:
    rows = figures(session, userids, period, settings)
    sla = settings.reply_sla_seconds
    return {"members": [r.as_json(sla) for r in rows], "team": team_of(rows).as_json(sla)}
