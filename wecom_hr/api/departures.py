"""/api/v1/departures: the departure handover (issue 5).

POST /api/v1/departures                      {userid, last_day, successor?, note?, submit?}   (hr, admin)
GET  /api/v1/departures?state=&page=&per_page=                                               (hr, admin)
GET  /api/v1/departures/<id>?successor=&page=&per_page=   state, customers, chats, receivables, cards
     (hr, admin, the member's managers; a successor sees the customers they inherit)
PUT  /api/v1/departures/<id>/customers/<external_userid>  {successor}   (hr, admin, the member's managers)
POST /api/v1/departures/<id>/submit          {successor?}   draft/rejected → a new approval card (hr, admin)
POST /api/v1/departures/<id>/cancel          before any transfer was requested (hr, admin)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from storage import directory
from storage.db import utcnow
from storage.departures import TRANSITIONS, Departure, get
from wecom_hr.api.auth import AccessDenied, ApiUser, api_user, require_roles, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.departures import report
from wecom_hr.departures.start import DepartureError, StartRequest, cancel, set_successor, start, submit

bp = Blueprint("departures_api", __name__, url_prefix="/api/v1/departures")
STAFF = ("hr", "admin")
MAX_PER_PAGE = 5000


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AccessDenied(400, "send a JSON object")
    return body


def _text(body: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        suffix = " (required)" if required else ""
        raise AccessDenied(400, f"{name} must be text of at most {limit} characters{suffix}")
    return value.strip()


def _date(body: dict[str, Any], name: str) -> date | None:
    raw = _text(body, name, 10)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AccessDenied(400, f"{name} must be a date YYYY-MM-DD") from None


def _failed(exc: DepartureError) -> Any:
    return jsonify(error=str(exc)), exc.status


@bp.post("")
@require_roles(*STAFF)
def create() -> Any:
    body, user = _body(), api_user()
    req = StartRequest(userid=_text(body, "userid", 64, required=True), last_day=_date(body, "last_day"),
                       successor=_text(body, "successor", 64) or None, note=_text(body, "note", 2000),
                       actor=user.userid, source="api", submit=body.get("submit", True) is not False)
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            dep = start(s, rt, req, utcnow())
            out = report.departure_json(s, dep)
    except DepartureError as exc:  # raised inside the scope: nothing was written
        return _failed(exc)
    rt.wakeup.set()  # an embedded worker delivers the card now
    return jsonify(out), 201


@bp.get("")
@require_roles(*STAFF)
def list_departures() -> Any:
    state = request.args.get("state", "").strip()
    if state and state not in TRANSITIONS:
        raise AccessDenied(400, f"state must be one of {', '.join(TRANSITIONS)}")
    with runtime().db.session_scope() as s:
        return jsonify(report.list_json(s, state or None, int_arg("page", 1, 1, 10**6),
                                        int_arg("per_page", 50, 1, 200)))


def _load(s: Any, departure_id: int) -> Departure:
    dep = get(s, departure_id, lock=request.method != "GET")
    if dep is None:
        raise AccessDenied(404, "no such departure")
    return dep


def _manages(s: Any, user: ApiUser, dep: Departure) -> bool:
    return user.has(*STAFF) or user.userid in directory.managers_of(s, dep.userid)


@bp.get("/<int:departure_id>")
def show(departure_id: int) -> Any:
    user = api_user()
    successor = request.args.get("successor", "").strip() or None
    with runtime().db.session_scope() as s:
        dep = _load(s, departure_id)
        if not _manages(s, user, dep):
            if successor != user.userid:
                raise AccessDenied(404, "no such departure")  # whether it exists is not for everyone to learn
            if not report.customers_page(s, dep, successor, 1, 1)["total"]:
                raise AccessDenied(404, "no such departure")
        return jsonify(report.departure_json(s, dep, successor, int_arg("page", 1, 1, 10**6),
                                             int_arg("per_page", 500, 1, MAX_PER_PAGE)))


@bp.put("/<int:departure_id>/customers/<external_userid>")
def reassign(departure_id: int, external_userid: str) -> Any:
    user, body = api_user(), _body()
    successor = _text(body, "successor", 64, required=True)
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            dep = _load(s, departure_id)
            if not _manages(s, user, dep):
                raise AccessDenied(403, "only HR, admin or the member's manager may reassign customers")
            set_successor(s, rt, dep, external_userid, successor, user.userid, utcnow())
            row = report.customers_page(s, dep, None, 1, 1)["counts"]
    except DepartureError as exc:
        return _failed(exc)
    return jsonify({"departure_id": departure_id, "external_userid": external_userid, "successor": successor,
                    "counts": row})


@bp.post("/<int:departure_id>/submit")
@require_roles(*STAFF)
def resubmit(departure_id: int) -> Any:
    body = request.get_json(silent=True) or {}
    successor = _text(body, "successor", 64) if isinstance(body, dict) else ""
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            dep = _load(s, departure_id)
            submit(s, rt, dep, api_user().userid, utcnow(), successor or None)
            out = report.summary_json(s, dep)
    except DepartureError as exc:
        return _failed(exc)
    rt.wakeup.set()
    return jsonify(out)


@bp.post("/<int:departure_id>/cancel")
@require_roles(*STAFF)
def withdraw(departure_id: int) -> Any:
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            dep = _load(s, departure_id)
            cancel(s, rt, dep, api_user().userid, utcnow())
            out = report.summary_json(s, dep)
    except DepartureError as exc:
        return _failed(exc)
    return jsonify(out)
