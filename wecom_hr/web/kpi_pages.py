"""/console/kpis: the team's KPI table (sortable), a member's weekly trend charts (SVG drawn here),
and drill-down links to the archive search for the chats behind a number (for who may search it).

Figures come from wecom_hr.kpi.report, scoped like /api/v1/kpis (wecom_hr.kpi.scope).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, request
from markupsafe import Markup

from wecom_hr.api import messages
from wecom_hr.api.auth import AccessDenied, ApiUser, runtime
from wecom_hr.api.kpis import period_from_args
from wecom_hr.kpi.anomaly import weekly
from wecom_hr.kpi.period import Period, week_of
from wecom_hr.kpi.report import kpis
from wecom_hr.kpi.scope import visible_members
from wecom_hr.kpi.settings import KpiSettings, from_settings
from wecom_hr.web import texts
from wecom_hr.web.charts import Bar, column_chart
from wecom_hr.web.pages import render
from wecom_hr.web.roles import Viewer, page

bp = Blueprint("kpis", __name__, url_prefix="/console")
TREND_WEEKS = 12
TRENDS = ("reply_median_seconds", "reply_within_sla_ratio", "coverage_ratio", "orders")


def _sorted(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]  # no value: always last
    def value(r: dict[str, Any]) -> Any:
        v = r[key]
        return float(v) if key == "order_amount" else v
    return sorted(present, key=value, reverse=descending) + missing


def shown(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key.endswith("_ratio"):
        return f"{value:.0%}"
    if key.endswith("_seconds"):
        return f"{value / 60:.1f} 分钟"
    if key == "order_amount":
        return f"¥{float(value):,.2f}"
    return str(value)


def _trend(userid: str, period: Period, settings: KpiSettings) -> list[Markup]:
    last = week_of(period.end, settings.tz).start
    starts = [last - timedelta(days=7 * i) for i in range(TREND_WEEKS - 1, -1, -1)]
    charts = []
    with runtime().db.session_scope() as s:
        for metric in TRENDS:
            values = weekly(s, userid, metric, last, TREND_WEEKS, settings)
            bars = [Bar(str(d), f"{d:%m-%d}", v, shown(metric, v)) for d, v in zip(starts, values, strict=True)]
            charts.append(column_chart(f"kpi-trend-{metric}", texts.KPI_COLUMNS[metric], bars, width=720))
    return charts


def _archive_link(viewer: Viewer, userid: str, period: Period) -> str:
    if not viewer.may("archive"):
        return ""
    return "/console/archive?" + urlencode({"sender": userid, "from": str(period.start), "to": str(period.end)})


@bp.get("/kpis")
@page("kpis")
def kpi_table(viewer: Viewer) -> Any:
    settings = from_settings(runtime().settings)
    try:
        period = period_from_args(settings)
    except AccessDenied as exc:
        return render("web/message.html", viewer, "kpis", message=messages.describe(400, str(exc))[1]), 400
    key = request.args.get("sort", "name")
    key = key if key in texts.KPI_COLUMNS else "name"
    descending = request.args.get("dir", "asc") == "desc"
    user = ApiUser(viewer.userid, frozenset(viewer.roles - {"manager"}))
    with runtime().db.session_scope() as s:
        members = visible_members(s, user)
        result = kpis(s, sorted(members), period, settings)
    rows = _sorted(result["members"], key, descending)
    chosen = request.args.get("member", "")
    trend = _trend(chosen, period, settings) if chosen in members else []
    base = {"from": str(period.start), "to": str(period.end)}
    links = {c: "?" + urlencode({**base, "sort": c, "dir": "asc" if key == c and descending else "desc"})
             for c in texts.KPI_COLUMNS}
    chosen_name = next((r["name"] for r in rows if r["userid"] == chosen), chosen)
    return render("web/kpis.html", viewer, "kpis", period=period, rows=rows, team=result["team"],
                  columns=texts.KPI_COLUMNS, sort=key, descending=descending, links=links, shown=shown,
                  member_link=lambda u: "?" + urlencode({**base, "member": u}), chosen_name=chosen_name,
                  trend=trend, trend_weeks=TREND_WEEKS,
                  archive_link=lambda u: _archive_link(viewer, u, period))
