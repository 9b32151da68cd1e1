"""/api/v1/archive (search, context, CSV export, name suggestions for the filters, watch-list rules and
hits, legal holds) and /api/v1/audit. Filters may name a member, customer or group chat by name.

Only the compliance and admin roles may read the archive, and every search, context view and
export is written to the audit log first, in the same transaction as the read; so are legal
holds placed and released.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context
from sqlalchemy import select

from storage import archive_holds, audit, groupchat_names
from storage.archive import LegalHold, WatchHit, WatchRuleRow
from storage.archive_query import QueryError
from storage.db import iso, utcnow
from wecom_hr.api.auth import AccessDenied, api_user, require_roles, runtime
from wecom_hr.api.params import int_arg
from wecom_hr.archive import metrics as archive_metrics
from wecom_hr.archive import results
from wecom_hr.archive.filters import FilterError, from_args, resolve, suggestions
from wecom_hr.archive.service import archive_settings
from wecom_hr.archive.settings import watch_rule
from wecom_hr.archive.watch import DEFAULT_PACK
from wecom_hr.config import ConfigError

bp = Blueprint("archive_api", __name__, url_prefix="/api/v1/archive")
audit_bp = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit")
ROLES = ("compliance", "admin")
MAX_PER_PAGE, MAX_EXPORT = 200, 100_000
MAX_ROOM_IDS = 100
log = logging.getLogger("wecom_hr.archive")


@bp.before_app_request
def _refresh_archive_gauges() -> None:
    """The archive's lag gauges come from the database at scrape time: the pull runs in another
    process, and /metrics (wecom_hr.health) knows nothing about the archive."""
    if request.path != "/metrics":
        return
    try:
        with runtime().db.session_scope() as s:
            archive_metrics.refresh(s, utcnow())
    except Exception:  # metrics must answer even when the database does not
        log.debug("archive gauges not refreshed", exc_info=True)


def _query_and_filters() -> tuple[str, Any]:
    q = request.args.get("q", "").strip()
    try:
        return q, from_args(request.args, runtime().settings.timezone)
    except FilterError as exc:
        raise AccessDenied(400, str(exc)) from None


def _resolved(s: Any, filters: Any) -> Any:
    try:
        return resolve(s, filters)
    except FilterError as exc:
        raise AccessDenied(400, str(exc)) from None


@bp.get("/search")
@require_roles(*ROLES)
def search() -> Any:
    q, filters = _query_and_filters()
    page, per_page = int_arg("page", 1, 1, 10_000), int_arg("per_page", 50, 1, MAX_PER_PAGE)
    with runtime().db.session_scope() as s:
        try:
            return jsonify(results.find(s, api_user().userid, q, _resolved(s, filters), page, per_page))
        except QueryError as exc:
            raise AccessDenied(400, str(exc)) from None


@bp.get("/messages/<msgid>/context")
@require_roles(*ROLES)
def message_context(msgid: str) -> Any:
    before, after = int_arg("before", 10, 0, 100), int_arg("after", 10, 0, 100)
    with runtime().db.session_scope() as s:
        found = results.context(s, msgid, before, after)
        if found is None:
            raise AccessDenied(404, "no archived message with this msgid")
        audit.record(s, api_user().userid, "archive.context", {"msgid": msgid})
        return jsonify(found)


@bp.get("/export.csv")
@require_roles(*ROLES)
def export_csv() -> Any:
    q, filters = _query_and_filters()
    limit = int_arg("limit", MAX_EXPORT, 1, MAX_EXPORT)
    db, actor, tz = runtime().db, api_user().userid, runtime().settings.timezone
    with db.session_scope() as s:
        try:
            ids = results.export_ids(s, actor, q, _resolved(s, filters), limit)
        except QueryError as exc:
            raise AccessDenied(400, str(exc)) from None

    def rows() -> Any:
        with db.session_scope() as s:
            yield "\ufeff"  # BOM: Excel opens UTF-8 Chinese text correctly only with it
            yield from results.csv_lines(s, ids, tz=tz)

    name = f"archive-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(rows()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/suggestions")
@require_roles(*ROLES)
def name_suggestions() -> Any:
    """?field=sender|customer|room&q=张: names the filter input may offer (members by name, customers by
    name or company, group chats by name). Group chats of the archive not yet named are looked up first."""
    field, text = request.args.get("field", ""), request.args.get("q", "")
    rt = runtime()
    with rt.db.session_scope() as s:
        if field == "room" and text.strip():
            results.learn_chat_names(s, rt.wecom("contact"), groupchat_names.unasked_rooms(s, results.LEARN_BUDGET),
                                     utcnow())
        return jsonify(field=field, suggestions=suggestions(s, field, text))


@bp.get("/room-names")
@require_roles(*ROLES)
def room_names() -> Any:
    """?ids=wr…,wr…: chat_id -> name for the group chats asked (looked up in WeCom when unknown or old)."""
    ids = [i for i in request.args.get("ids", "").split(",") if i and not i.startswith("p:")][:MAX_ROOM_IDS]
    rt = runtime()
    with rt.db.session_scope() as s:
        results.learn_chat_names(s, rt.wecom("contact"), ids, utcnow())
        return jsonify(groupchat_names.names_of(s, ids))


def _rule_json(key: str, spec: Any, source: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "source": source, "name": spec.name, "keywords": list(spec.keywords),
            "regexes": list(spec.regexes), "members": list(spec.members), "departments": list(spec.departments),
            "severity": spec.severity, "enabled": spec.enabled, **extra}


@bp.get("/watch-rules")
@require_roles(*ROLES)
def list_rules() -> Any:
    settings = archive_settings(runtime())
    rules = [_rule_json(f"default:{s.name}", s, "default", enabled=settings.default_rules) for s in DEFAULT_PACK]
    rules += [_rule_json(f"config:{s.name}", s, "config") for s in settings.watch_rules]
    with runtime().db.session_scope() as s:
        for row in s.scalars(select(WatchRuleRow).order_by(WatchRuleRow.id)):
            spec = watch_rule({**row.spec, "enabled": row.enabled}, f"rule {row.id}")
            rules.append(_rule_json(f"api:{row.id}", spec, "api", id=row.id, created_by=row.created_by))
    return jsonify(rules=rules)


@bp.post("/watch-rules")
@require_roles(*ROLES)
def create_rule() -> Any:
    raw = request.get_json(silent=True)
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        spec = watch_rule(body, "rule")
    except ConfigError as exc:
        raise AccessDenied(400, str(exc).removeprefix("config error: ")) from None
    user = api_user()
    with runtime().db.session_scope() as s:
        if s.scalar(select(WatchRuleRow.id).where(WatchRuleRow.name == spec.name)) is not None:
            raise AccessDenied(409, "a rule with this name exists")
        row = WatchRuleRow(name=spec.name, spec={k: v for k, v in body.items() if k != "enabled"},
                           enabled=spec.enabled, created_by=user.userid, created_at=utcnow())
        s.add(row)
        s.flush()
        audit.record(s, user.userid, "archive.rule.create", {"rule": row.id, "name": spec.name})
        return jsonify(_rule_json(f"api:{row.id}", spec, "api", id=row.id, created_by=user.userid)), 201


@bp.delete("/watch-rules/<int:rule_id>")
@require_roles(*ROLES)
def delete_rule(rule_id: int) -> Any:
    user = api_user()
    with runtime().db.session_scope() as s:
        row = s.get(WatchRuleRow, rule_id)
        if row is None:
            raise AccessDenied(404, "no such rule")
        audit.record(s, user.userid, "archive.rule.delete", {"rule": rule_id, "name": row.name})
        s.delete(row)  # past hits keep the rule's key; the digest shows the key if the name is gone
    return "", 204


@bp.get("/watch-hits")
@require_roles(*ROLES)
def list_hits() -> Any:
    days = int_arg("days", 7, 1, 366)
    since: datetime = utcnow() - timedelta(days=days)
    with runtime().db.session_scope() as s:
        rows = s.scalars(select(WatchHit).where(WatchHit.hit_at >= since).order_by(WatchHit.id.desc()).limit(500))
        return jsonify(hits=[{"rule": h.rule, "msgid": h.msgid, "severity": h.severity, "sender": h.sender,
                              "customer": h.customer, "snippet": h.snippet, "time": results.iso(h.msgtime),
                              "hit_at": h.hit_at.isoformat()} for h in rows])


def _hold_json(h: LegalHold) -> dict[str, Any]:
    return {"id": h.id, "source": "api", "kind": h.kind, "userid": h.userid, "reason": h.reason,
            "created_by": h.created_by, "created_at": h.created_at.isoformat(), "released_by": h.released_by,
            "released_at": iso(h.released_at)}


@bp.get("/legal-holds")
@require_roles(*ROLES)
def list_holds() -> Any:
    settings = archive_settings(runtime())
    found: list[dict[str, Any]] = [{"id": None, "source": "config", "kind": kind, "userid": userid}
                                   for kind, ids in (("member", settings.hold_members),
                                                     ("customer", settings.hold_customers)) for userid in ids]
    with runtime().db.session_scope() as s:
        found += [_hold_json(h) for h in archive_holds.holds(s, include_released=request.args.get("all") == "1")]
    return jsonify(holds=found, retention_days=settings.retention_days)


@bp.post("/legal-holds")
@require_roles(*ROLES)
def place_hold() -> Any:
    raw = request.get_json(silent=True)
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind, userid, reason = body.get("kind"), body.get("userid"), body.get("reason")
    if kind not in archive_holds.KINDS:
        raise AccessDenied(400, "kind must be member or customer")
    if not isinstance(userid, str) or not userid.strip() or len(userid) > 128:
        raise AccessDenied(400, "userid must be a WeCom userid or external userid")
    if not isinstance(reason, str) or not reason.strip():
        raise AccessDenied(400, "reason is required (e.g. the matter or case number)")
    user = api_user()
    with runtime().db.session_scope() as s:
        hold, created = archive_holds.place(s, kind, userid.strip(), reason.strip(), user.userid, utcnow())
        if created:
            audit.record(s, user.userid, "archive.hold.place",
                         {"hold": hold.id, "kind": kind, "userid": hold.userid, "reason": hold.reason})
        return jsonify(_hold_json(hold)), 201 if created else 200


@bp.delete("/legal-holds/<int:hold_id>")
@require_roles(*ROLES)
def release_hold(hold_id: int) -> Any:
    user = api_user()
    with runtime().db.session_scope() as s:
        hold = archive_holds.release(s, hold_id, user.userid, utcnow())
        if hold is None:
            raise AccessDenied(404, "no active legal hold with this id (holds in config are changed there)")
        audit.record(s, user.userid, "archive.hold.release",
                     {"hold": hold_id, "kind": hold.kind, "userid": hold.userid})
    return "", 204


@audit_bp.get("")
@require_roles(*ROLES)
def audit_log() -> Any:
    per_page = int_arg("per_page", 50, 1, MAX_PER_PAGE)
    offset = (int_arg("page", 1, 1, 10_000) - 1) * per_page
    action = request.args.get("action", "").strip() or None
    actor = request.args.get("actor", "").strip() or None
    with runtime().db.session_scope() as s:
        entries = audit.entries(s, action=action, actor=actor, limit=per_page, offset=offset)
        return jsonify(entries=[{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                                 "detail": e.detail} for e in entries])
