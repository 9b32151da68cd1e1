"""/receivables/followup: the page a salesperson's digest links to, to record 账款跟进说明.

GET shows the caller's overdue receivables (and one of them with its history and a form, with
``?order=``); POST stores the note and the promised date, then redirects back (no double posts).
Login is WeCom OAuth (weblogin); the form carries a CSRF token tied to the session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, session
from werkzeug.wrappers import Response

from storage import audit
from storage.db import utcnow
from storage.receivables import add_followup, by_order, followups_of
from wecom_hr.api.auth import AccessDenied, api_user, runtime
from wecom_hr.receivables import queries, weblogin
from wecom_hr.receivables.followup_form import FormError, parse_followup
from wecom_hr.receivables.settings import from_settings

bp = Blueprint("receivables_page", __name__, template_folder="templates")
PATH = "/receivables/followup"


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template("receivables/followup.html", csrf=weblogin.csrf_token(), **context), status


def _caller() -> Any:
    if not isinstance(session.get("userid"), str):
        return None
    return api_user()  # runs ACCESS_CHECKS: a member who left is refused even with a live cookie


def _view(user: Any, order_no: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    today = from_settings(runtime().settings).policy.local_today(utcnow())
    with runtime().db.session_scope() as s:
        owners = queries.visible_owners(s, user.userid, user.roles)
        mine = queries.listing(s, owners, today, overdue="true", per_page=queries.MAX_PER_PAGE)
        item, notes = None, []
        if order_no:
            row = by_order(s, order_no)
            if row is None or not queries.may_see(s, user.userid, user.roles, row):
                return _page(404, error="找不到该账款，或您无权查看", items=mine.items, total=mine.total)
            item = queries.receivable_json(row, today)
            notes = [queries.followup_json(f) for f in followups_of(s, row.id)]
    return _page(status, items=mine.items, total=mine.total, item=item, notes=notes, **extra)


@bp.get(PATH)
def show() -> Any:
    try:
        user = _caller()
    except AccessDenied as exc:
        return _page(exc.status, error="您的账号已无权访问")
    if user is None:
        return redirect(weblogin.authorize_url(runtime().settings, request.full_path.rstrip("?")), 302)
    return _view(user, request.args.get("order", ""), saved=request.args.get("saved") == "1")


@bp.post(PATH)
def save() -> Any:
    try:
        user = _caller()
    except AccessDenied as exc:
        return _page(exc.status, error="您的账号已无权访问")
    if user is None:
        return _page(401, error="登录已过期，请从企业微信消息重新打开")
    if not weblogin.csrf_ok(request.form.get("csrf", "")):
        return _page(403, error="页面已过期，请刷新后重试")
    order_no = request.form.get("order", "")
    try:
        note, promised = parse_followup(request.form.get("note", ""), request.form.get("promised_on", ""))
    except FormError as exc:
        return _view(user, order_no, 400, error=str(exc), draft=request.form.get("note", ""))
    with runtime().db.session_scope() as s:
        row = by_order(s, order_no)
        if row is None or not queries.may_see(s, user.userid, user.roles, row):
            return _page(404, error="找不到该账款，或您无权查看")
        add_followup(s, row, user.userid, note, promised)
        audit.record(s, user.userid, "receivables.followup", {"order_no": order_no, "via": "page"})
    return redirect(f"{PATH}?{urlencode({'order': order_no, 'saved': 1})}", 303)


@bp.get(weblogin.CALLBACK_PATH)
def oauth_callback() -> Response | tuple[str, int]:
    try:
        target = weblogin.complete(request.args.get("code", ""), request.args.get("state", ""))
    except weblogin.LoginError as exc:
        return _page(403, error=str(exc))
    return redirect(target, 302)
