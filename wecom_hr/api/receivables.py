"""/api/v1/receivables and /api/v1/collections.

POST /api/v1/receivables                      batch upsert by order_no (finance, admin)
GET  /api/v1/receivables?overdue=&salesperson=&note_overdue=&page=&per_page=
GET  /api/v1/receivables/<order_no>           with follow-ups, payments and reminded tiers
POST /api/v1/receivables/<order_no>/payments  {amount, paid_on, reference} (finance, admin)
POST /api/v1/receivables/<order_no>/followups {note, promised_on} (whoever may see it)
GET  /api/v1/collections?status=open|closed|all&page=    (finance, admin)
GET  /api/v1/collections/<id>                 with items
GET  /api/v1/collections/<id>/letter[?format=text]       the latest 追款函 draft, with its email state
POST /api/v1/collections/<id>/letter/send     {version?} email the latest draft, once (finance, admin)
POST /api/v1/collections/<id>/letter/status   {status: sent|failed|bounced, reason} (finance, admin)
POST /api/v1/collections/<id>/close           {reason?} end a task by hand (finance, admin; audited)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from storage import audit
from storage.db import utcnow
from storage.receivables import (
    CollectionTask,
    add_followup,
    add_payment,
    by_order,
    customer_key,
    latest_letter,
    remember_emails,
)
from wecom_hr.api import messages
from wecom_hr.api.auth import AccessDenied, api_user, error_json, require_roles, runtime
from wecom_hr.receivables import email as letters
from wecom_hr.receivables import queries
from wecom_hr.receivables.csv_import import email_field
from wecom_hr.receivables.followup_form import FormError, parse_followup
from wecom_hr.receivables.ledger import RowError, amount_field, date_field, parse_row, upsert_batch
from wecom_hr.receivables.settings import from_settings

bp = Blueprint("receivables_api", __name__, url_prefix="/api/v1")
MAX_BATCH = 1000


def _today() -> date:
    return from_settings(runtime().settings).policy.local_today(utcnow())


def _bad(message: str, status: int = 400) -> Any:
    return error_json(status, message)


@bp.post("/receivables")
@require_roles("finance", "admin")
def upsert() -> Any:
    body = request.get_json(silent=True)
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        return _bad("body must be {\"items\": [...]} with at least one receivable")
    if len(items) > MAX_BATCH:
        return _bad(f"at most {MAX_BATCH} items per request")
    currency = from_settings(runtime().settings).ledger.default_currency
    good, errors, emails = [], [], []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise RowError("must be an object")
            address = email_field(item)  # optional, as in the CSV (issue 17)
            good.append(parse_row(item, currency))
            if address:
                emails.append((customer_key(good[-1].external_userid, good[-1].customer_name), address))
        except RowError as exc:
            order_no = item.get("order_no") if isinstance(item, dict) else None
            code, message = messages.describe(400, str(exc))
            errors.append({"index": i, "order_no": order_no, "error": str(exc), "code": code, "message": message})
    user = api_user()
    with runtime().db.session_scope() as s:
        counts = upsert_batch(s, good)
        remember_emails(s, emails)
        audit.record(s, user.userid, "receivables.upsert", {"created": counts.created, "updated": counts.updated,
                                                            "bad_items": len(errors)})
    return jsonify(created=counts.created, updated=counts.updated, errors=errors)


@bp.get("/receivables")
@require_roles()
def listing() -> Any:
    user = api_user()
    args = request.args
    try:
        page, per_page = queries.page_args(args.get("page", ""), args.get("per_page", ""))
        with runtime().db.session_scope() as s:
            owners = queries.visible_owners(s, user.userid, user.roles)
            found = queries.listing(s, owners, _today(), overdue=args.get("overdue", ""),
                                    salesperson=args.get("salesperson", ""), page=page, per_page=per_page,
                                    note_overdue=args.get("note_overdue", ""),
                                    note_after=from_settings(runtime().settings).policy.note_overdue_after)
    except queries.BadQuery as exc:
        return _bad(str(exc))
    return jsonify(items=found.items, total=found.total, page=found.page, per_page=found.per_page)


def _visible(s: Any, order_no: str) -> Any:
    user = api_user()
    row = by_order(s, order_no)
    # Someone else's receivable answers like a missing one: order numbers are not an oracle.
    if row is None or not queries.may_see(s, user.userid, user.roles, row):
        raise AccessDenied(404, f"no receivable {order_no}")
    return row


@bp.get("/receivables/<path:order_no>")
@require_roles()
def detail(order_no: str) -> Any:
    with runtime().db.session_scope() as s:
        return jsonify(queries.detail_json(s, _visible(s, order_no), _today()))


@bp.post("/receivables/<path:order_no>/payments")
@require_roles("finance", "admin")
def payment(order_no: str) -> Any:
    body = request.get_json(silent=True) or {}
    try:
        amount = amount_field(body, "amount", required=True)
        paid_on = date_field(body, "paid_on", required=False) or _today()
    except RowError as exc:
        return _bad(str(exc))
    if not amount:
        return _bad("amount: must be more than 0")
    reference = str(body["reference"])[:128] if body.get("reference") else None
    user = api_user()
    with runtime().db.session_scope() as s:
        row = _visible(s, order_no)
        if row.outstanding < amount:
            return _bad(f"amount: {amount} is more than the outstanding {row.outstanding}", 409)
        added = add_payment(s, row, amount, paid_on, source="api", reference=reference, actor=user.userid)
        if added:
            audit.record(s, user.userid, "receivables.payment", {"order_no": order_no, "amount": str(amount)})
        return jsonify(recorded=added, status=row.status, paid_amount=str(row.paid_amount),
                       outstanding=str(row.outstanding)), 201 if added else 200


@bp.post("/receivables/<path:order_no>/followups")
@require_roles()
def followup(order_no: str) -> Any:
    body = request.get_json(silent=True) or {}
    try:
        note, promised = parse_followup(str(body.get("note", "")), str(body.get("promised_on") or ""))
    except FormError as exc:
        return _bad(str(exc))
    user = api_user()
    with runtime().db.session_scope() as s:
        row = _visible(s, order_no)
        entry = add_followup(s, row, user.userid, note, promised)
        audit.record(s, user.userid, "receivables.followup", {"order_no": order_no})
        return jsonify(queries.followup_json(entry)), 201


@bp.get("/collections")
@require_roles("finance", "admin")
def collections() -> Any:
    status = request.args.get("status", "open")
    if status not in ("open", "closed", "all"):
        return _bad("status: must be open, closed or all")
    try:
        page, per_page = queries.page_args(request.args.get("page", ""), request.args.get("per_page", ""))
    except queries.BadQuery as exc:
        return _bad(str(exc))
    with runtime().db.session_scope() as s:
        found = queries.collections(s, status, page, per_page)
    return jsonify(items=found.items, total=found.total, page=found.page, per_page=found.per_page)


@bp.get("/collections/<int:task_id>")
@require_roles("finance", "admin")
def collection(task_id: int) -> Any:
    with runtime().db.session_scope() as s:
        task = s.get(CollectionTask, task_id)
        if task is None:
            return _bad(f"no collection task {task_id}", 404)
        return jsonify(queries.task_json(s, task, _today()))


@bp.get("/collections/<int:task_id>/letter")
@require_roles("finance", "admin")
def letter(task_id: int) -> Any:
    with runtime().db.session_scope() as s:
        found = latest_letter(s, task_id)
        if found is None:
            return _bad(f"no letter for collection task {task_id}", 404)
        if request.args.get("format") == "text":
            return Response(found.body, mimetype="text/plain; charset=utf-8")
        task = s.get(CollectionTask, task_id)
        return jsonify(task_id=task_id, version=found.version, drafted_at=found.drafted_at.isoformat(),
                       body=found.body, email=letters.email_json(task) if task else None)


@bp.post("/collections/<int:task_id>/letter/send")
@require_roles("finance", "admin")
def send_letter(task_id: int) -> Any:
    body = request.get_json(silent=True) or {}
    version = body.get("version") if isinstance(body, dict) else None
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return _bad("version: must be the letter version you reviewed (an integer)")
    try:
        done = letters.send_letter(runtime().db, runtime().settings, task_id, api_user().userid, version=version)
    except letters.LetterSendError as exc:
        return _bad(str(exc), exc.http_status)
    answer = jsonify(task_id=task_id, status=done.status, version=done.version, to=done.to,
                     error=done.error or None, already_sent=done.already_sent)
    return answer, 502 if done.status in (letters.FAILED, letters.BOUNCED) else 200


@bp.post("/collections/<int:task_id>/letter/status")
@require_roles("finance", "admin")
def letter_status(task_id: int) -> Any:
    body = request.get_json(silent=True) or {}
    status = str(body.get("status", "")) if isinstance(body, dict) else ""
    reason = str(body.get("reason") or "") if isinstance(body, dict) else ""
    if status not in (letters.SENT, letters.FAILED, letters.BOUNCED):
        return _bad("status: must be sent, failed or bounced")
    try:
        before = letters.set_status(runtime().db, task_id, status, reason, api_user().userid)
    except letters.LetterSendError as exc:
        return _bad(str(exc), exc.http_status)
    return jsonify(task_id=task_id, status=status, previous=before or None)


@bp.post("/collections/<int:task_id>/close")
@require_roles("finance", "admin")
def close_collection(task_id: int) -> Any:
    """Finance ends a task (settled outside the ledger, written off...). Repeating it changes nothing;
    the customer's next item reaching the collect tier reopens the task, as after close_paid."""
    body = request.get_json(silent=True) or {}
    reason = str(body.get("reason") or "")[:500] if isinstance(body, dict) else ""
    user = api_user()
    with runtime().db.session_scope() as s:
        task = s.get(CollectionTask, task_id)
        if task is None:
            return _bad(f"no collection task {task_id}", 404)
        already = task.status == "closed"
        if not already:
            now = utcnow()
            task.status, task.closed_at, task.updated_at = "closed", now, now
            audit.record(s, user.userid, "collections.close", {"task_id": task_id, "reason": reason})
        return jsonify(task_id=task_id, status=task.status, already_closed=already)
