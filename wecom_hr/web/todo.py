"""What waits for the member who opens the console (issue 20): one section per kind of to-do, each
line linking to the page where it is done. Scoped like the APIs behind those pages: approvals and
sign-offs where the member is an approver or signer, risk cases as wecom_hr.risk.access says, watch-list
hits for who opens the watch page, overdue receivables as receivables.queries says, departures for HR.

Texts hold names people typed (customers, members, rules): the template and the JSON escape them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import directory
from storage.archive import WatchHit
from storage.customers import Customer
from storage.departures import (
    APPROVED,
    CANCELLED,
    CARD_OPEN,
    PENDING_APPROVAL,
    SIGNOFF_PENDING,
    TRANSFERRING,
    Departure,
    DepartureCard,
    DepartureSignoff,
)
from storage.receivables import UNPAID, CollectionTask, Receivable
from storage.risk import OPEN, RiskAlert
from wecom_hr.api.auth import ApiUser
from wecom_hr.config import Settings
from wecom_hr.departures import signoffs
from wecom_hr.receivables import queries
from wecom_hr.receivables.digest import fmt_money
from wecom_hr.receivables.settings import from_settings
from wecom_hr.risk.access import alert_scope
from wecom_hr.risk.messages import KIND_LABELS
from wecom_hr.web import texts
from wecom_hr.web.roles import Viewer

SHOWN = 5  # lines per section; the section's link leads to the rest
IN_PROGRESS = (PENDING_APPROVAL, APPROVED, TRANSFERRING)
DEPARTURES, RECEIVABLES = "/console/departures", "/console/receivables"


@dataclass(frozen=True)
class Line:
    text: str
    detail: str
    link: str


@dataclass
class Section:
    key: str
    count: int
    link: str
    lines: list[Line] = field(default_factory=list)
    summary: str = ""

    @property
    def title(self) -> str:
        return texts.TODO_TITLES[self.key]

    @property
    def more(self) -> str:
        return texts.TODO_MORE.format(count=self.count) if self.count > len(self.lines) else ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "title": self.title, "more": self.more}


@dataclass(frozen=True)
class Context:
    session: Session
    settings: Settings
    viewer: Viewer
    now: datetime

    @property
    def user(self) -> ApiUser:
        return ApiUser(self.viewer.userid, frozenset(self.viewer.roles - {"manager"}))

    def local(self, at: datetime) -> str:
        aware = at if at.tzinfo else at.replace(tzinfo=UTC)
        return f"{aware.astimezone(ZoneInfo(self.settings.timezone)):%m-%d %H:%M}"

    def name(self, userid: str) -> str:
        return directory.display_name(self.session, userid)


def _leaver(dep: Departure) -> str:
    return dep.member_name or dep.userid


def _departure_line(dep: Departure, detail: str) -> Line:
    return Line(_leaver(dep), detail, f"{DEPARTURES}/{dep.id}")


def approvals(c: Context) -> Section | None:
    query = (select(DepartureCard, Departure).join(Departure, Departure.id == DepartureCard.departure_id)
             .where(DepartureCard.status == CARD_OPEN, Departure.state == PENDING_APPROVAL)
             .order_by(Departure.last_day, Departure.id))
    mine = list({d.id: d for card, d in c.session.execute(query) if c.viewer.userid in card.approvers}.values())
    if not mine:
        return None
    lines = [_departure_line(d, f"最后工作日 {d.last_day.isoformat()} · 待您审批") for d in mine[:SHOWN]]
    return Section("approvals", len(mine), f"{DEPARTURES}/{mine[0].id}" if len(mine) == 1 else DEPARTURES, lines)


def signoffs_waiting(c: Context) -> Section | None:
    query = (select(DepartureSignoff, Departure).join(Departure, Departure.id == DepartureSignoff.departure_id)
             .where(DepartureSignoff.status == SIGNOFF_PENDING, DepartureSignoff.role != signoffs.MANAGER,
                    Departure.state != CANCELLED).order_by(Departure.last_day, DepartureSignoff.id))
    mine = [(row, d) for row, d in c.session.execute(query)
            if c.viewer.userid in signoffs.signers(c.session, c.settings, d, row)]
    if not mine:
        return None
    lines = [_departure_line(d, _signoff_detail(row)) for row, d in mine[:SHOWN]]
    # Signers outside HR may not open the departures list: the section leads to the first one.
    return Section("signoffs", len(mine), f"{DEPARTURES}/{mine[0][1].id}", lines)


def _signoff_detail(row: DepartureSignoff) -> str:
    done = sum(1 for i in row.items if i.get("done"))
    return f"{row.title} · 待您签字" + (f"（已勾选 {done}/{len(row.items)}）" if row.items else "")


def _risk_link(c: Context, alert: RiskAlert) -> str:
    if c.viewer.may("archive"):  # compliance reads the chats behind the case
        query = {"sender": alert.userid, **({"customer": alert.external_userid} if alert.external_userid else {})}
        return "/console/archive?" + urlencode(query)
    return "/console/kpis?" + urlencode({"member": alert.userid})  # a manager: the member's figures


def risk_cases(c: Context) -> Section | None:
    scope = alert_scope(c.session, c.user)
    if scope.empty:
        return None
    cond = [RiskAlert.status == OPEN]
    if not scope.everything:
        cond.append(RiskAlert.userid.in_(sorted(scope.members)))
    count = c.session.scalar(select(func.count()).select_from(RiskAlert).where(*cond)) or 0
    if not count:
        return None
    alerts = c.session.scalars(select(RiskAlert).where(*cond).order_by(RiskAlert.id.desc()).limit(SHOWN))
    severity: Any = texts.UI["severity"]
    lines = [Line(f"{c.name(a.userid)} · {KIND_LABELS.get(a.kind, a.rule)}",
                  f"{severity.get(a.severity, a.severity)}级 · {c.local(a.created_at)}", _risk_link(c, a))
             for a in alerts]
    return Section("risk", count, "/console/kpis?" + urlencode({"sort": "open_alerts", "dir": "desc"}), lines)


def _who(c: Context, some_id: str) -> str:
    """A member's name, else a customer's, else the id (a chat's sender can be either)."""
    member = directory.member(c.session, some_id)
    if member is not None:
        return member.name or some_id
    customer = c.session.get(Customer, some_id)
    return (customer.name if customer is not None and customer.name else "") or some_id


def watch_hits(c: Context) -> Section | None:
    if not c.viewer.may("watch"):
        return None
    day, week = c.now - timedelta(days=1), c.now - timedelta(days=7)
    def since(start: datetime) -> int:
        return c.session.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.hit_at >= start)) or 0
    count = since(week)
    if not count:
        return None
    hits = c.session.scalars(select(WatchHit).where(WatchHit.hit_at >= week).order_by(WatchHit.id.desc()).limit(SHOWN))
    lines = [Line(f"{h.rule} · {_who(c, h.sender)}", h.snippet[:80],
                  "/console/archive?" + urlencode({"context": h.msgid})) for h in hits]
    summary = f"近 24 小时 {since(day)} 条，近 7 天 {count} 条"
    return Section("watch_hits", count, "/console/archive/watch", lines, summary)


def _overdue_key(c: Context, owners: set[str] | None) -> str:
    if owners is None:
        return "overdue_all"
    return "overdue_team" if c.viewer.team and owners != {c.viewer.userid} else "overdue_own"


def overdue(c: Context) -> Section | None:
    today = from_settings(c.settings).policy.local_today(c.now)
    owners = queries.visible_owners(c.session, c.viewer.userid, c.viewer.roles)
    if owners is not None and not owners:
        return None
    cond = [Receivable.status.in_(UNPAID), Receivable.due_on < today]
    if owners is not None:
        cond.append(Receivable.salesperson.in_(sorted(owners)))
    rows = list(c.session.scalars(select(Receivable).where(*cond).order_by(Receivable.due_on, Receivable.order_no)))
    if not rows:
        return None
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, Decimal("0")) + r.outstanding
    lines = [_receivable_line(c, r, today, owners != {c.viewer.userid}) for r in rows[:SHOWN]]
    summary = "合计 " + "，".join(fmt_money(v, k) for k, v in sorted(totals.items()))
    return Section(_overdue_key(c, owners), len(rows), f"{RECEIVABLES}#overdue-list", lines, summary)


def _receivable_line(c: Context, r: Receivable, today: date, others: bool) -> Line:
    detail = f"{fmt_money(r.outstanding, r.currency)} · 逾期 {(today - r.due_on).days} 天"
    if others:
        detail += f" · {c.name(r.salesperson)}"
    return Line(f"{r.customer_name or r.order_no}（{r.order_no}）", detail, f"{RECEIVABLES}#overdue-list")


def collections(c: Context) -> Section | None:
    if not c.viewer.may("collections"):
        return None
    cond = CollectionTask.status == "open"
    count = c.session.scalar(select(func.count()).select_from(CollectionTask).where(cond)) or 0
    if not count:
        return None
    tasks = c.session.scalars(select(CollectionTask).where(cond).order_by(CollectionTask.opened_at).limit(SHOWN))
    lines = [Line(t.customer_name or t.customer_key, f"开始于 {c.local(t.opened_at)}",
                  f"{RECEIVABLES}#collection-list") for t in tasks]
    return Section("collections", count, f"{RECEIVABLES}#collection-list", lines)


def departures_in_progress(c: Context) -> Section | None:
    if not c.viewer.has("hr", "admin"):
        return None
    cond = Departure.state.in_(IN_PROGRESS)
    count = c.session.scalar(select(func.count()).select_from(Departure).where(cond)) or 0
    if not count:
        return None
    states: Any = texts.UI["departure_state"]
    rows = c.session.scalars(select(Departure).where(cond).order_by(Departure.last_day, Departure.id).limit(SHOWN))
    lines = [_departure_line(d, f"{states.get(d.state, d.state)} · 最后工作日 {d.last_day.isoformat()}") for d in rows]
    return Section("departures", count, DEPARTURES, lines)


SECTIONS: tuple[Callable[[Context], Section | None], ...] = (
    approvals, signoffs_waiting, risk_cases, watch_hits, overdue, collections, departures_in_progress)


def todos(session: Session, settings: Settings, viewer: Viewer, now: datetime) -> list[Section]:
    """The member's non-empty sections, most urgent kinds first."""
    c = Context(session, settings, viewer, now)
    return [found for build in SECTIONS if (found := build(c)) is not None]
