"""/api/v1/risk: alerts (cases) and rules; PUT /api/v1/customers/<external_userid>/owner.

Alerts are seen through wecom_hr.risk.access (compliance/admin all, managers their team, others
none). Owners are changed by admins, and by managers within their team (the current and the new
owner both in it); every change is audited.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit, directory
from storage.customers import Customer
from storage.db import iso, utcnow
from storage.risk import SET_BY_HAND, STATUSES, RiskAlert, notes_of
from wecom_hr.api.auth import AccessDenied, ApiUser, api_user, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.risk import messages
from wecom_hr.risk.access import AlertScope, alert_scope
from wecom_hr.risk.cases import CaseError, change_status
from wecom_hr.risk.ownership import owner_of, set_owner
from wecom_hr.risk.rules import SIGNALS
from wecom_hr.risk.settings import from_settings

bp = Blueprint("risk_api", __name__, url_prefix="/api/v1/risk")
owner_bp = Blueprint("risk_owner_api", __name__, url_prefix="/api/v1/customers")
MAX_ALERTS = 500


def alert_json(alert: RiskAlert) -> dict[str, Any]:
    return {"id": alert.id, "rule": alert.rule, "kind": alert.kind, "userid": alert.userid,
            "external_userid": alert.external_userid, "value": alert.value, "threshold": alert.threshold,
            "window_days": alert.window_days, "evidence": list(alert.evidence), "status": alert.status,
            "created_at": iso(alert.created_at)}


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        raise AccessDenied(400, f"{name} must be one of {', '.join(allowed)}")
    return value


@bp.get("/alerts")
def list_alerts() -> Any:
    status, kind = _choice("status", STATUSES), _choice("kind", SIGNALS)
    member = request.args.get("member", "").strip()[:64]
    limit = int_arg("limit", 100, 1, MAX_ALERTS)
    user = api_user()
    with runtime().db.session_scope() as session:
        scope = alert_scope(session, user)
        if scope.empty or (member and not scope.allows(member)):
            return jsonify([])
        query = select(RiskAlert).order_by(RiskAlert.id.desc()).limit(limit)
        if not scope.everything:
            query = query.where(RiskAlert.userid.in_(sorted(scope.members)))
        if status:
            query = query.where(RiskAlert.status == status)
        if kind:
            query = query.where(RiskAlert.kind == kind)
        if member:
            query = query.where(RiskAlert.userid == member)
        return jsonify([alert_json(a) for a in session.scalars(query)])


def _visible_alert(session: Session, user: ApiUser, alert_id: int) -> tuple[RiskAlert, AlertScope]:
    alert = session.get(RiskAlert, alert_id)
    scope = alert_scope(session, user)
    if alert is None or not scope.allows(alert.userid):
        raise AccessDenied(404, messages.NO_SUCH_ALERT)
    return alert, scope


def _detail(session: Session, alert: RiskAlert) -> dict[str, Any]:
    notes = [{"actor": n.actor, "from": n.status_before, "to": n.status_after, "note": n.note, "at": iso(n.at)}
             for n in notes_of(session, alert.id)]
    return {**alert_json(alert), "severity": alert.severity, "notes": notes}


@bp.get("/alerts/<int:alert_id>")
def get_alert(alert_id: int) -> Any:
    user = api_user()
    with runtime().db.session_scope() as session:
        alert, _ = _visible_alert(session, user, alert_id)
        return jsonify(_detail(session, alert))


@bp.post("/alerts/<int:alert_id>/status")
def post_status(alert_id: int) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        raise AccessDenied(400, messages.SEND_OBJECT)
    note = body.get("note", "")
    if not isinstance(note, str):
        raise AccessDenied(400, messages.BAD_NOTE)
    user = api_user()
    with runtime().db.session_scope() as session:
        alert, _ = _visible_alert(session, user, alert_id)
        try:
            change_status(session, alert, body["status"], note, user.userid, utcnow())
        except CaseError as exc:
            raise AccessDenied(exc.status, str(exc)) from None
        return jsonify(_detail(session, alert))


@bp.get("/rules")
def list_rules() -> Any:
    user = api_user()
    with runtime().db.session_scope() as session:
        if alert_scope(session, user).empty:
            raise AccessDenied(403, messages.ALERTS_ROLE)
    rules = from_settings(runtime().settings).rules
    return jsonify([{"name": r.name, "signal": r.signal, "op": r.op, "threshold": r.threshold,
                     "window_days": r.window_days, "members": list(r.members), "departments": list(r.departments),
                     "severity": r.severity, "notify": list(r.notify), "evaluated": r.evaluated, "note": r.note}
                    for r in rules])


@owner_bp.put("/<external_userid>/owner")
def put_owner(external_userid: str) -> Any:
    body = request.get_json(silent=True)
    owner = body.get("owner") if isinstance(body, dict) else None
    if not isinstance(owner, str) or not owner.strip() or len(owner) > 64:
        raise AccessDenied(400, messages.SEND_OBJECT + ' with "owner": a userid')
    owner = owner.strip()
    user = api_user()
    mode = from_settings(runtime().settings).ownership
    with runtime().db.session_scope() as session:
        is_admin = user.has("admin")
        if not is_admin and not directory.is_manager(session, user.userid):
            raise AccessDenied(403, messages.OWNER_ROLE)
        if session.get(Customer, external_userid) is None:
            raise AccessDenied(404, messages.NO_SUCH_CUSTOMER)
        before = owner_of(session, external_userid, mode)
        if not is_admin:
            team = directory.team_of(session, user.userid)
            if before not in team or owner not in team:
                raise AccessDenied(403, messages.NOT_YOUR_TEAM)
        member = directory.member(session, owner)
        if member is None or member.status == directory.LEFT:
            raise AccessDenied(400, messages.UNKNOWN_MEMBER)
        now = utcnow()
        if set_owner(session, external_userid, owner, mode=mode, source=SET_BY_HAND, actor=user.userid, now=now):
            audit.record(session, user.userid, "customer_owner_changed",
                         {"external_userid": external_userid, "before": before, "after": owner}, at=now)
        return jsonify({"external_userid": external_userid, "owner": owner, "previous": before})
