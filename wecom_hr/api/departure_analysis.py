"""/api/v1/departures: the exit questionnaire's answers and the departure analysis (issue 17), HR and admin only.

GET /api/v1/departures/analysis?from=&to=&department=   totals, reasons by month, by department, per departure
GET /api/v1/departures/<id>/analysis                    one departure's figures
GET /api/v1/departures/<id>/exit-answers                the leaver's answers (404 before an invitation)

Managers, successors and the leaver get 403: answers are never read back by anyone else.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from storage import departure_exit
from storage.departures import HANDED_OVER, get
from wecom_hr.api.auth import AccessDenied, require_roles, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.departures import analysis, questionnaire
from wecom_hr.receivables.settings import from_settings as receivable_settings

bp = Blueprint("departure_analysis_api", __name__, url_prefix="/api/v1/departures")
STAFF = ("hr", "admin")


def date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise AccessDenied(400, f"{name} must be a date YYYY-MM-DD") from None


def filters_from_request() -> analysis.Filters:
    """from / to / department from the query string; AccessDenied(400) naming the bad one."""
    start, end = date_arg("from"), date_arg("to")
    if start and end and start > end:
        raise AccessDenied(400, "from must not be after to")
    return analysis.Filters(start, end, int_arg("department", None, 1, 2**31 - 1))


def currency() -> str:
    return receivable_settings(runtime().settings).ledger.default_currency


@bp.get("/analysis")
@require_roles(*STAFF)
def across() -> Any:
    filters = filters_from_request()
    rt = runtime()
    with rt.db.session_scope() as s:
        result = analysis.report(s, filters, currency())
        return jsonify({"currency": currency(),
                        **analysis.report_json(result, filters, questionnaire.reasons(rt.settings))})


@bp.get("/<int:departure_id>/analysis")
@require_roles(*STAFF)
def one(departure_id: int) -> Any:
    with runtime().db.session_scope() as s:
        dep = get(s, departure_id)
        if dep is None or dep.state not in HANDED_OVER:
            raise AccessDenied(404, "no such approved departure")
        row = analysis.of_departure(s, dep, currency())
        return jsonify({"currency": currency(), **row.as_json(analysis.department_names(s))})


@bp.get("/<int:departure_id>/exit-answers")
@require_roles(*STAFF)
def exit_answers(departure_id: int) -> Any:
    with runtime().db.session_scope() as s:
        if get(s, departure_id) is None:
            raise AccessDenied(404, "no such departure")
        row = departure_exit.of_departure(s, departure_id)
        if row is None:
            raise AccessDenied(404, "the leaver was not sent a questionnaire for this departure")
        return jsonify(questionnaire.answer_json(row))
