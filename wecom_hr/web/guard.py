"""Checks that run before every request of the app, whoever's blueprint serves it.

A browser session (the signed cookie) is only as good as its age ([web] session_hours), and a
state-changing request made with it must carry the session's CSRF token: the ``X-CSRF-Token``
header (fetch) or a ``csrf`` form field. Requests with a bearer token carry no ambient credential
and are left to api.auth; requests without a session have nothing to forge.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from flask import jsonify, render_template, request, session

from storage import sessions
from wecom_hr.api.auth import runtime
from wecom_hr.web import texts
from wecom_hr.web.login import session_seconds

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(given: str) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and bool(given) and hmac.compare_digest(token.encode(), given.encode())


def _expired() -> bool:
    login_at = session.get("login_at")
    if not isinstance(login_at, int):
        session["login_at"] = int(time.time())  # sessions from before login_at existed start now
        return False
    return time.time() - login_at > session_seconds(runtime().settings)


def _refuse() -> Any:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error="missing or wrong CSRF token"), 403
    return render_template("web/message.html", message=texts.CSRF_REFUSED, viewer=None), 403


def _ended(userid: str) -> bool:
    """The member logged out (anywhere) or lost access since this cookie was issued."""
    gen = session.get("gen", 0)
    with runtime().db.session_scope() as s:
        return not isinstance(gen, int) or sessions.generation(s, userid) != gen


def check_request() -> Any:
    userid = session.get("userid")
    if not isinstance(userid, str):
        return None
    if _expired() or _ended(userid):
        session.clear()
        return None
    if request.method in SAFE_METHODS or request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    given = request.headers.get(CSRF_HEADER) or request.form.get("csrf", "")
    return None if csrf_ok(given) else _refuse()
