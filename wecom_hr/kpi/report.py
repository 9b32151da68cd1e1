"""The KPI rows of /api/v1/kpis (a public contract): one per member and one for their team.

Everything is read from aggregates (kpi_* tables kept by the archive listener, the pool, the
ledger): a request costs a fixed number of grouped queries, whatever the size of the archive.
A ratio without a denominator (no new customers, no replies) is null, not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.directory import Member
from storage.kpi import KpiMemberDay, KpiMemberWeek
from wecom_hr.kpi import histogram, risk_counts
from wecom_hr.kpi.coverage import pool_figures
from wecom_hr.kpi.orders import ledger_figures
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.settings import KpiSettings

FIELDS = ("userid", "name", "customers_owned", "customers_new", "customers_lost", "coverage_ratio", "reply_count",
          "reply_median_seconds", "reply_p90_seconds", "reply_within_sla_ratio", "first_contact_24h_ratio",
          "off_assignment_contacts", "orders", "order_amount", "conversion_ratio", "repeat_ratio", "open_alerts")


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
    replies: histogram.Histogram = field(default_factory=dict)  # working seconds of the replies
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
        histogram.merge(self.replies, ((b, n, s) for b, (n, s) in other.replies.items()))

    def as_json(self, sla_seconds: int) -> dict[str, Any]:
        median, p90 = histogram.percentile(self.replies, 0.5), histogram.percentile(self.replies, 0.9)
        replies = histogram.count(self.replies)
        return {
            "userid": self.userid, "name": self.name, "customers_owned": self.owned, "customers_new": self.new,
            "customers_lost": self.lost, "coverage_ratio": ratio(self.covered, self.owned),
            "reply_count": replies,
            "reply_median_seconds": None if median is None else round(median),
            "reply_p90_seconds": None if p90 is None else round(p90),
            "reply_within_sla_ratio": ratio(histogram.within(self.replies, sla_seconds), replies),
            "first_contact_24h_ratio": ratio(self.contacted_in_time, self.new),
            "off_assignment_contacts": self.off_assignment, "orders": self.orders,
            "order_amount": f"{self.amount:.2f}", "conversion_ratio": ratio(self.converted, self.new),
            "repeat_ratio": ratio(self.repeat_kept, self.repeat_base), "open_alerts": self.alerts,
        }


def names_of(session: Session, userids: Sequence[str]) -> dict[str, str]:
    rows = session.execute(select(Member.userid, Member.name).where(Member.userid.in_(list(userids))))
    return {u: n or u for u, n in rows}


def replies_of(session: Session, userids: Sequence[str], period: Period) -> dict[str, histogram.Histogram]:
    """Whole weeks from kpi_member_weeks, the days at the period's ends from kpi_member_days: a
    quarter is about 13 + 6 rows per member, not 90."""
    out: dict[str, histogram.Histogram] = {}
    users = list(userids)
    first = period.start + timedelta(days=-period.start.weekday() % 7)  # the first Monday in the period
    last = period.end - timedelta(days=(period.end.weekday() + 1) % 7)   # the last Sunday in it
    if first + timedelta(days=6) <= last:
        weeks = select(KpiMemberWeek.userid, KpiMemberWeek.work_hist).where(
            KpiMemberWeek.userid.in_(users), KpiMemberWeek.week >= first, KpiMemberWeek.week <= last)
        days = or_(KpiMemberDay.day.between(period.start, first - timedelta(days=1)),
                   KpiMemberDay.day.between(last + timedelta(days=1), period.end))
        queries: list[Any] = [weeks]
    else:
        days, queries = KpiMemberDay.day.between(period.start, period.end), []
    queries.append(select(KpiMemberDay.userid, KpiMemberDay.work_hist).where(KpiMemberDay.userid.in_(users), days))
    conn = session.connection()
    for query in queries:
        for userid, stored in conn.execute(query):
            histogram.merge(out.setdefault(userid, {}), stored)
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
        out.append(Figures(
            u, names.get(u, u), owned=pool.owned.get(u, 0), covered=pool.covered.get(u, 0), new=pool.new.get(u, 0),
            lost=pool.lost.get(u, 0), replies=replies.get(u, {}), contacted_in_time=pool.contacted_in_time.get(u, 0),
            converted=pool.converted.get(u, 0), orders=ledger.orders.get(u, 0),
            amount=ledger.amount.get(u, Decimal("0.00")), repeat_kept=ledger.kept.get(u, 0),
            repeat_base=ledger.previous.get(u, 0), off_assignment=off.get(u, 0), alerts=alerts.get(u, 0)))
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
