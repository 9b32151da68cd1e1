"""The weekly KPI digest: one markdown message per manager per week (job kpi-weekly-digest,
Monday 09:00), with last week's figures of each team member. Queued once per manager and week:
the outbox key names both, so a re-run or a second scheduler adds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory, outbox
from wecom_hr.kpi.period import Period, week_of
from wecom_hr.kpi.report import figures, team_of
from wecom_hr.kpi.settings import KpiSettings, from_settings
from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.markdown import md_escape

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

KIND = "kpi_digest"


def _minutes(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} 分"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def line(row: dict[str, Any]) -> str:
    return (f"- {md_escape(row['name'])}：回复中位 {_minutes(row['reply_median_seconds'])}，"
            f"SLA 内 {_share(row['reply_within_sla_ratio'])}，覆盖 {_share(row['coverage_ratio'])}，"
            f"订单 {row['orders']} 笔 ¥{row['order_amount']}，转化 {_share(row['conversion_ratio'])}")


def content(rows: list[dict[str, Any]], team: dict[str, Any], week: Period, console_url: str) -> str:
    head = [f"**团队 KPI 周报** {week.start:%m-%d} – {week.end:%m-%d}", line({**team, "name": "团队合计"}), ""]
    tail = ["", md.md_link("在控制台查看", f"{console_url}/console/kpis?from={week.start}&to={week.end}")]
    return md.fit_lines(head, [line(r) for r in rows], tail)


def managers(session: Session) -> list[str]:
    query = (select(directory.MemberDepartment.userid).join(directory.Member)
             .where(directory.MemberDepartment.is_leader.is_(True), directory.Member.status != directory.LEFT)
             .distinct().order_by(directory.MemberDepartment.userid))
    return list(session.scalars(query))


def send_digests(session: Session, settings: KpiSettings, now: datetime, console_url: str) -> dict[str, Any]:
    week = week_of(now.astimezone(settings.tz).date() - timedelta(days=7), settings.tz)
    queued = 0
    for manager in managers(session):
        team = sorted(directory.team_of(session, manager) - {manager})
        if not team:
            continue
        rows = figures(session, team, week, settings)
        sla = settings.reply_sla_seconds
        body = md.markdown(content([r.as_json(sla) for r in rows], team_of(rows).as_json(sla), week, console_url))
        queued += outbox.enqueue(session, f"kpi-digest:{manager}:{week.start}", KIND, [manager], body, now=now)
    return {"week": week.start.isoformat(), "queued": queued}


def send_kpi_weekly_digest(runtime: Runtime, now: datetime) -> dict[str, Any]:
    with runtime.db.session_scope() as session:
        return send_digests(session, from_settings(runtime.settings), now, runtime.settings.public_url)
