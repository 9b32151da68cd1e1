"""Archive pages for compliance and admin: search (hits over time drawn here; the hit list, context
and CSV export come from /api/v1/archive), watch-list rules and alerts, and the audit log (admin).

Customer names for the hit list come from the pool: compliance and admin see every customer there.
The 发送人 / 客户 / 群聊 filters take names; the page suggests them (/api/v1/archive/suggestions).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from markupsafe import Markup
from sqlalchemy import select

from storage.archive_query import QueryError
from storage.customers import Customer
from wecom_hr.api import messages
from wecom_hr.api.auth import runtime
from wecom_hr.archive.filters import FilterError, from_args, resolve
from wecom_hr.web import texts
from wecom_hr.web.archive_chart import hits_chart
from wecom_hr.web.pages import render
from wecom_hr.web.roles import Viewer, api_viewer, page

bp = Blueprint("archive", __name__, url_prefix="/console")
FILTERS = ("sender", "customer", "room", "msgtype", "from", "to")
MAX_NAMES = 200


def _chart(viewer: Viewer) -> tuple[Markup | None, str]:
    q = request.args.get("q", "").strip()
    if not q and not any(request.args.get(k, "").strip() for k in FILTERS):
        return None, ""
    tz = runtime().settings.timezone
    try:
        filters = from_args(request.args, tz)
        with runtime().db.session_scope() as s:
            return hits_chart(s, viewer.userid, q, resolve(s, filters), tz), ""
    except (FilterError, QueryError) as exc:  # the hit list explains it too; here in Chinese, once
        return None, messages.describe(400, str(exc))[1]


@bp.get("/archive")
@page("archive")
def search(viewer: Viewer) -> str:
    chart, problem = _chart(viewer)
    return render("web/archive.html", viewer, "archive", chart=chart, problem=problem,
                  msgtypes=texts.UI["msgtype"])


@bp.get("/archive/watch")
@page("watch")
def watch(viewer: Viewer) -> str:
    return render("web/watch.html", viewer, "watch", severities=texts.UI["severity"])


@bp.get("/archive/audit")
@page("audit")
def audit_log(viewer: Viewer) -> str:
    return render("web/audit.html", viewer, "audit")


@bp.get("/api/customer-names")
def customer_names() -> Any:
    """external_userid -> name for the ids asked (?ids=a,b), for people who may read the archive."""
    api_viewer("archive")
    ids = [i for i in request.args.get("ids", "").split(",") if i][:MAX_NAMES]
    with runtime().db.session_scope() as s:
        rows = s.execute(select(Customer.external_userid, Customer.name).where(Customer.external_userid.in_(ids)))
        return jsonify({ext: name or ext for ext, name in rows})
