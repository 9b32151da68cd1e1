"""GET /api/v1/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD&department=&member= (public contract, issue 18).

Returns {"members": [...], "team": {...}} with the fields of wecom_hr.kpi.report.FIELDS, for the
members the caller may see (wecom_hr.kpi.scope). Without dates: the last 30 days up to today.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, jsonify, request

from storage.db import utcnow
from wecom_hr.api.auth import AccessDenied, api_user, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.report import kpis
from wecom_hr.kpi.scope import OutOfScopeError, members_for
from wecom_hr.kpi.settings import KpiSettings, from_settings

bp = Blueprint("kpis_api", __name__, url_prefix="/api/v1/kpis")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_DAYS = 400
DEFAULT_DAYS = 30


def _day(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if DAY.match(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise AccessDenied(400, f"{name} must be a date YYYY-MM-DD")


def period_from_args(settings: KpiSettings) -> Period:
    today = utcnow().astimezone(settings.tz).date()
    end = _day("to") or today
    start = _day("from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise AccessDenied(400, "from must not be after to")
    if (end - start).days + 1 > MAX_DAYS:
        raise AccessDenied(400, f"the period may span at most {MAX_DAYS} days")
    return Period(start, end, settings.tz)


def _member() -> str:
    member = request.args.get("member", "").strip()
    if len(member) > 64:
        raise AccessDenied(400, "member must be a userid of at most 64 characters")
    return member


@bp.get("")
def get_kpis() -> Any:
    user = api_user()
    settings = from_settings(runtime().settings)
    period = period_from_args(settings)
    department, member = int_arg("department", None, 1, 2**31 - 1), _member()
    with runtime().db.session_scope() as session:
        try:
            userids = members_for(session, user, department, member)
        except OutOfScopeError:
            raise AccessDenied(403, "this member is not in your scope") from None
        return jsonify(kpis(session, sorted(userids), period, settings))
