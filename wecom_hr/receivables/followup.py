"""/receivables/followup: the page a salesperson's digest links to, to record 账款跟进说明.

GET shows the caller's overdue receivables (and one of them with its history and a form, with
``?order=``); POST stores the note and the promised date, then redirects back (no double posts).
Login is WeCom OAuth (weblogin); the form carries a CSRF token tied to the session. The page is the
console's (base.html, console.css): phone first, people by name, customers with their company, ¥.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from storage import audit, directory
from storage.customers import Customer
from storage.db import utcnow
from storage.receivables import add_followup, by_order, followups_of
from wecom_hr.api.auth import AccessDenied, runtime
from wecom_hr.customers.messages import customer_label
from wecom_hr.receivables import queries, weblogin
from wecom_hr.receivables.digest import fmt_money
from wecom_hr.receivables.followup_form import FormError, parse_followup
from wecom_hr.receivables.settings import from_settings
from wecom_hr.web.roles import Viewer, current_viewer

bp = Blueprint("receivables_page", __name__, template_folder="templates")
PATH = "/receivables/followup"


def shown(amount: str | Decimal, currency: str) -> str:
    """¥12,800.00, as the console's receivables page shows money."""
    return fmt_money(Decimal(amount), currency or "CNY")


def _page(status: int = 200, viewer: Viewer | None = None, **context: Any) -> tuple[str, int]:
    return render_template("receivables/followup.html", csrf=weblogin.csrf_token(), viewer=viewer,
                           active="receivables", **context), status


def _caller() -> Viewer | None:
    if not isinstance(session.get("userid"), str):
        return None
    return current_viewer()  # runs ACCESS_CHECKS: a member who left is refused even with a live cookie


def _dressed(s: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what a person reads: the customer with company, the salesperson's name, amounts in ¥."""
    exts = {r["external_userid"] for r in rows if r["external_userid"]}
    corps: dict[str, str] = {}
    if exts:
        found = s.execute(select(Customer.external_userid, Customer.corp_name)
                          .where(Customer.external_userid.in_(sorted(exts))))
        corps = {ext: corp for ext, corp in found}  # a Result has .keys(): dict(result) misreads it
    names: dict[str, str] = {}
    for r in rows:
        owner = r["salesperson"]
        names.setdefault(owner, directory.display_name(s, owner))
        r["customer"] = customer_label(r["customer_name"], corps.get(r["external_userid"], ""), r["external_userid"])
        r["salesperson_name"] = names[owner]
        for key in ("amount", "paid_amount", "outstanding"):
            r[f"{key}_shown"] = shown(r[key], r["currency"])
        if r.get("followup"):
            r["followup"]["author_name"] = directory.display_name(s, r["followup"]["author"])
    return rows


def _view(user: Viewer, order_no: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    today = from_settings(runtime().settings).policy.local_today(utcnow())
    with runtime().db.session_scope() as s:
        owners = queries.visible_owners(s, user.userid, user.roles)
        mine = queries.listing(s, owners, today, overdue="true", per_page=queries.MAX_PER_PAGE)
        items = _dressed(s, mine.items)
        item, notes = None, []
        if order_no:
            row = by_order(s, order_no)
            if row is None or not queries.may_see(s, user.userid, user.roles, row):
                return _page(404, user, error="找不到该账款，或您无权查看", items=items, total=mine.total)
            item = _dressed(s, [queries.receivable_json(row, today)])[0]
            notes = [{**queries.followup_json(f), "author_name": directory.display_name(s, f.author)}
                     for f in followups_of(s, row.id)]
    return _page(status, user, items=items, total=mine.total, item=item, notes=notes, **extra)


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
        return _page(403, user, error="页面已过期，请刷新后重试")
    order_no = request.form.get("order", "")
    try:
        note, promised = parse_followup(request.form.get("note", ""), request.form.get("promised_on", ""))
    except FormError as exc:
        return _view(user, order_no, 400, error=str(exc), draft=request.form.get("note", ""))
    with runtime().db.session_scope() as s:
        row = by_order(s, order_no)
        if row is None or not queries.may_see(s, user.userid, user.roles, row):
            return _page(404, user, error="找不到该账款，或您无权查看")
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
