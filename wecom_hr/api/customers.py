"""/api/v1/customers: the pool, seen through the caller's rights (wecom_hr.customers.access).

Customers and relations come from WeCom and are read-only here: no API changes a name, an owner or
a creation date. The pool's own ``note`` is the one field a caller who may see the customer can set.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from storage.customers import ACTIVE, CHURNED, LOST, Customer
from storage.db import utcnow
from wecom_hr.api.auth import AccessDenied, api_user, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.customers import queries
from wecom_hr.customers.access import can_see, scope_for
from wecom_hr.customers.fields import Origin
from wecom_hr.customers.pool import history

bp = Blueprint("customers_api", __name__, url_prefix="/api/v1/customers")
STATUSES = (ACTIVE, LOST, CHURNED)
EDITABLE = ("note",)
MAX_PER_PAGE = 100


def _filters() -> queries.Filters:
    status = request.args.get("status", "").strip()
    if status and status not in STATUSES:
        raise AccessDenied(400, f"status must be one of {', '.join(STATUSES)}")
    return queries.Filters(owner=request.args.get("owner", "").strip(),
                           department=int_arg("department", None, 1, 2**31 - 1), status=status,
                           q=request.args.get("q", "").strip()[:100],
                           page=int_arg("page", 1, 1, 10**6),
                           per_page=int_arg("per_page", 20, 1, MAX_PER_PAGE))


@bp.get("")
def list_customers() -> Any:
    user = api_user()
    filters = _filters()
    with runtime().db.session_scope() as session:
        try:
            return jsonify(queries.list_customers(session, scope_for(session, user), filters))
        except queries.ForbiddenFilterError as exc:
            raise AccessDenied(403, str(exc)) from None


def _visible_customer(session: Any, external_userid: str) -> Customer:
    # 404 rather than 403: whether a customer exists is itself not for everyone to learn.
    customer = session.get(Customer, external_userid)
    if customer is None or not can_see(session, scope_for(session, api_user()), external_userid):
        raise AccessDenied(404, "no such customer")
    return customer


@bp.get("/<external_userid>")
def get_customer(external_userid: str) -> Any:
    with runtime().db.session_scope() as session:
        customer = _visible_customer(session, external_userid)
        return jsonify(queries.customer_detail(session, customer, scope_for(session, api_user()).allows_owner))


@bp.patch("/<external_userid>")
def update_customer(external_userid: str) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body:
        raise AccessDenied(400, "send a JSON object")
    refused = sorted(k for k in body if k not in EDITABLE)
    if refused:
        raise AccessDenied(403, f"read-only (WeCom is the source of truth): {', '.join(refused)}")
    note = body["note"]
    if not isinstance(note, str) or len(note) > 2000:
        raise AccessDenied(400, "note must be text of at most 2000 characters")
    user = api_user()
    with runtime().db.session_scope() as session:
        customer = _visible_customer(session, external_userid)
        if customer.note != note:
            history(session, external_userid, "note_updated", {"note": [customer.note, note]},
                    Origin("api", api_call="PATCH /api/v1/customers", actor=user.userid), utcnow())
            customer.note = note
        return jsonify(queries.customer_detail(session, customer, scope_for(session, user).allows_owner))

