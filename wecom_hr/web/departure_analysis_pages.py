"""The exit questionnaire page and the departure analysis page (issue 17).

    /console/exit/<token>            GET the form, POST the answers (the signed-in member must be the leaver)
    /console/departures/analysis     HR and admin: reasons over time, loss and recovery rates by department

The analysis figures come from wecom_hr.departures.analysis (the same as GET /api/v1/departures/analysis);
charts are SVG drawn here with charts.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from markupsafe import Markup

from storage.db import utcnow
from wecom_hr.api.auth import AccessDenied, runtime
from wecom_hr.api.departure_analysis import currency, filters_from_request
from wecom_hr.departures import analysis, questionnaire
from wecom_hr.departures.questionnaire import QuestionnaireError
from wecom_hr.web import texts
from wecom_hr.web.charts import Bar, Stack, column_chart, stacked_rows
from wecom_hr.web.pages import _departments, render
from wecom_hr.web.roles import Viewer, page, refused

bp = Blueprint("departure_analysis_pages", __name__, url_prefix="/console")


def _exit_page(viewer: Viewer, token: str, saved: bool = False) -> Any:
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            opened = questionnaire.open_for(s, rt.settings, token, viewer.userid, utcnow())
            answered = opened.answer.submitted_at is not None
    except QuestionnaireError as exc:
        return refused(exc.status, texts.EXIT_INVALID.get(exc.status, texts.EXIT_CLOSED), viewer)
    return render("web/exit_questionnaire.html", viewer, "", token=token, saved=saved, answered=answered,
                  reasons=questionnaire.reasons(rt.settings), note_max=questionnaire.NOTE_MAX)


@bp.get("/exit/<token>")
@page("exit_questionnaire")
def exit_form(viewer: Viewer, token: str) -> Any:
    return _exit_page(viewer, token)


@bp.post("/exit/<token>")
@page("exit_questionnaire")
def exit_submit(viewer: Viewer, token: str) -> Any:
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            questionnaire.submit(s, rt.settings, token, viewer.userid, request.form.getlist("reason"),
                                 request.form.get("note", ""), utcnow())
    except QuestionnaireError as exc:
        return refused(exc.status, texts.EXIT_INVALID.get(exc.status, texts.EXIT_CLOSED), viewer)
    return _exit_page(viewer, token, saved=True)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _charts(result: analysis.Report, reasons: tuple[str, ...]) -> dict[str, Markup]:
    series = list(reasons) + sorted({r for c in result.by_month.values() for r in c} - set(reasons))
    months = [Stack(m, [float(c.get(r, 0)) for r in series], f"{sum(c.values())} 人次")
              for m, c in result.by_month.items()]
    depts = sorted(result.by_department.items(), key=lambda kv: kv[0] or 0)

    def label(dept: int | None) -> str:
        return result.names.get(dept or 0) or texts.ANALYSIS_UNKNOWN_DEPT

    loss = [Bar(str(d or 0), label(d), round((f.loss_rate or 0) * 100, 2), _percent(f.loss_rate)) for d, f in depts]
    recovery = [Bar(str(d or 0), label(d), round((f.recovery_rate or 0) * 100, 2), _percent(f.recovery_rate))
                for d, f in depts]
    return {"reasons": stacked_rows("analysis-reasons", texts.ANALYSIS_REASONS_CHART, series, months),
            "loss": column_chart("analysis-loss", texts.ANALYSIS_LOSS_CHART, loss),
            "recovery": column_chart("analysis-recovery", texts.ANALYSIS_RECOVERY_CHART, recovery)}


@bp.get("/departures/analysis")
@page("departure_analysis")
def departure_analysis(viewer: Viewer) -> Any:
    try:
        filters = filters_from_request()
    except AccessDenied:
        return refused(400, texts.ANALYSIS_BAD_FILTER, viewer)
    rt = runtime()
    reasons = questionnaire.reasons(rt.settings)
    with rt.db.session_scope() as s:
        result = analysis.report(s, filters, currency())
        data = analysis.report_json(result, filters, reasons)
    return render("web/departure_analysis.html", viewer, "departure_analysis", data=data, filters=filters,
                  charts=_charts(result, reasons), departments=_departments(), currency=currency(),
                  percent=_percent, unknown_dept=texts.ANALYSIS_UNKNOWN_DEPT)
