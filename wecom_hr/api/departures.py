"""/api/v1/departures: the departure handover (issue 5).

POST /api/v1/departures                      {userid, last_day, successor?, note?, submit?}   (hr, admin)
GET  /api/v1/departures?state=&page=&per_page=                                               (hr, admin)
GET  /api/v1/departures/<id>?successor=&page=&per_page=   state, customers, chats, receivables, cards
     (hr, admin, the member's managers; a successor sees the customers they inherit)
PUT  /api/v1/departures/<id>/customers/<external_userid>  {successor}   (hr, admin, the member's managers)
POST /api/v1/departures/<id>/submit          {successor?}   draft/rejected → a new approval card (hr, admin)
POST /api/v1/departures/<id>/cancel          before any transfer was requested (hr, admin)
POST /api/v1/departures/<id>/revoke          {reason}  end the member's access before the last day (hr, admin)
GET  /api/v1/departures/<id>/signoffs        the checklist: each step, its signers, who still has to act
     (hr, admin, the member's managers, and every step's signers)
POST /api/v1/departures/<id>/signoffs/<step>               {note?}  sign the step (its signers only)
POST /api/v1/departures/<id>/signoffs/<step>/items         {name}   add an item to tick (its signers only)
PUT  /api/v1/departures/<id>/signoffs/<step>/items/<index> {done}   tick or untick an item (its signers only)

A successor sees a departure only once it was approved, and only what it hands them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from storage import directory
from storage.db import utcnow
from storage.departures import HANDED_OVER, TRANSITIONS, Departure, cards_of, get
from wecom_hr.api.auth import AccessDenied, ApiUser, api_user, error_json, require_roles, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.archive.results import learn_chat_names
from wecom_hr.departures import report, signoffs
from wecom_hr.departures.signoffs import SignoffError
from wecom_hr.departures.start import (
    DepartureError,
    StartRequest,
    cancel,
    revoke_now,
    set_successor,
    start,
    submit,
)

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
    return error_json(exc.status, str(exc))


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


def _manager_choices(s: Any, user: ApiUser, dep: Departure) -> set[str]:
    """Whom a manager (not HR) may name: their team, themselves, and the members the cards offered."""
    offered = {u for card in cards_of(s, dep.id) for u in (card.options or [])}
    return directory.team_of(s, user.userid) | {user.userid} | offered


@bp.get("/<int:departure_id>")
def show(departure_id: int) -> Any:
    user = api_user()
    successor = request.args.get("successor", "").strip() or None
    with runtime().db.session_scope() as s:
        dep = _load(s, departure_id)
        page, per_page = int_arg("page", 1, 1, 10**6), int_arg("per_page", 500, 1, MAX_PER_PAGE)
        if _manages(s, user, dep):
            # Group chats by name: the ones not known yet are asked of WeCom (groupchat/get, bounded, cached).
            learn_chat_names(s, runtime().wecom("contact"), report.chat_ids(s, dep), utcnow())
            return jsonify(report.departure_json(s, dep, successor, page, per_page))
        # A successor has rights only through an approved departure, and only to what it hands them;
        # whether a departure exists is not for everyone else to learn.
        if successor != user.userid or dep.state not in HANDED_OVER:
            raise AccessDenied(404, "no such departure")
        mine = report.successor_json(s, dep, user.userid, page, per_page)
        if not (mine["customers"]["total"] or mine["receivables"]["items"] or mine["group_chats"]["items"]):
            raise AccessDenied(404, "no such departure")
        return jsonify(mine)


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
            if not user.has(*STAFF) and successor not in _manager_choices(s, user, dep):
                raise AccessDenied(403, "a manager may choose a successor from their own team or the card's options")
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


@bp.post("/<int:departure_id>/revoke")
@require_roles(*STAFF)
def revoke(departure_id: int) -> Any:
    reason = _text(_body(), "reason", 500, required=True)
    rt = runtime()
    try:
        with rt.db.session_scope() as s:
            dep = _load(s, departure_id)
            revoke_now(s, dep, api_user().userid, reason, utcnow())
            out = report.summary_json(s, dep)
    except DepartureError as exc:
        return _failed(exc)
    return jsonify(out)


# -- the handover checklist (issue 17) ----------------------------------------------------------

@bp.get("/<int:departure_id>/signoffs")
def checklist(departure_id: int) -> Any:
    user, rt = api_user(), runtime()
    with rt.db.session_scope() as s:
        dep = _load(s, departure_id)
        if not (_manages(s, user, dep) or signoffs.signer_of_any(s, rt.settings, dep, user.userid)):
            raise AccessDenied(404, "no such departure")
        return jsonify(signoffs.status_json(s, rt.settings, dep, user.userid))


def _signoff_call(departure_id: int, act: Any) -> Any:
    """Run ``act(session, departure)``; a refusal is answered after its audit entry is committed."""
    user, rt = api_user(), runtime()
    refused: SignoffError | None = None
    with rt.db.session_scope() as s:
        dep = _load(s, departure_id)
        try:
            act(s, dep, user.userid)
        except SignoffError as exc:
            refused = exc
        out = None if refused else signoffs.status_json(s, rt.settings, dep, user.userid)
    if refused is not None:
        return error_json(refused.status, str(refused))
    return jsonify(out)


@bp.post("/<int:departure_id>/signoffs/<step>")
def sign_off(departure_id: int, step: str) -> Any:
    body = request.get_json(silent=True) or {}
    note = _text(body, "note", 500) if isinstance(body, dict) else ""
    rt = runtime()

    def act(s: Any, dep: Departure, actor: str) -> None:
        row = signoffs.sign(s, rt.settings, dep, step, actor, utcnow(), note)
        signoffs.show_signed_from_console(rt, s, dep, row)
    return _signoff_call(departure_id, act)


@bp.post("/<int:departure_id>/signoffs/<step>/items")
def add_signoff_item(departure_id: int, step: str) -> Any:
    name = _text(_body(), "name", 64, required=True)
    rt = runtime()
    return _signoff_call(departure_id, lambda s, dep, actor: signoffs.add_item(s, rt.settings, dep, step, name,
                                                                               actor, utcnow()))


@bp.put("/<int:departure_id>/signoffs/<step>/items/<int:index>")
def tick_signoff_item(departure_id: int, step: str, index: int) -> Any:
    done = _body().get("done")
    if not isinstance(done, bool):
        raise AccessDenied(400, "done must be true or false")
    rt = runtime()
    return _signoff_call(departure_id, lambda s, dep, actor: signoffs.tick(s, rt.settings, dep, step, index, done,
                                                                           actor, utcnow()))
