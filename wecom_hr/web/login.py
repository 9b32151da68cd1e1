"""Console login through WeCom: /login → WeCom → /oauth/callback → session.

Inside the WeCom client (its User-Agent says ``wxwork``) /login goes to OAuth2 (snsapi_base,
[web] oauth_authorize_url) and the redirect is silent: the member is signed in as themselves, without
a password. That page works only inside the client, so an ordinary browser goes to 企业微信Web登录
([web] sso_login_url, doc 98173), where the member scans a QR code with the WeCom app. Both answer
with a code for the same ``auth/getuserinfo`` exchange, at the same callback, under the same state.
The session is Flask's signed, HttpOnly, SameSite=Lax cookie ([web] secret_key, set by create_app);
``state`` binds WeCom's answer to the browser that asked, and only local paths are followed after
login. The session keys (userid, csrf) are the ones api.auth and the receivables page read.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from storage import sessions
from storage.db import utcnow
from wecom_hr.api.auth import AccessDenied, api_user, runtime
from wecom_hr.config import Settings, get
from wecom_hr.web import texts, throttle
from wecom_hr.wecom.errors import WeComError

bp = Blueprint("login", __name__)
DEFAULT_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
DEFAULT_SSO_LOGIN_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"
WECOM_CLIENT_MARK = "wxwork"  # in the User-Agent of WeCom's desktop and mobile clients
CALLBACK_PATH = "/oauth/callback"
HOME = "/console/"
DEFAULT_SESSION_HOURS = 12
MAX_NEXT = 2000


class LoginError(Exception):
    """The login could not be completed; the message is shown to the person."""


def session_seconds(settings: Settings) -> int:
    hours: int = get(settings.section("web"), "web", "session_hours", int, DEFAULT_SESSION_HOURS)
    return max(1, hours) * 3600


def safe_next(path: str, default: str = HOME) -> str:
    """Only a path on this site: never another host, scheme-relative URL or backslash trick.

    Any whitespace or control character refuses the path: werkzeug drops a TAB from ``Location``
    (``/\t/evil.example`` would become ``//evil.example``) and a CR or LF cannot go in a header.
    """
    if len(path) > MAX_NEXT or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in path):
        return default
    parts = urlsplit(path)
    return path if not parts.scheme and not parts.netloc and parts.path.startswith("/") else default


def login_url(next_path: str) -> str:
    return url_for("web.login.login", next=next_path)


def in_wecom_client(user_agent: str) -> bool:
    return WECOM_CLIENT_MARK in user_agent.lower()


def authorize_url(settings: Settings, next_path: str, callback_path: str = CALLBACK_PATH) -> str:
    """WeCom's login page for this request's browser; remembers state and where to go after."""
    state = secrets.token_urlsafe(16)
    session["oauth_state"], session["oauth_next"] = state, safe_next(next_path)
    redirect_uri = settings.public_url + callback_path
    if in_wecom_client(request.headers.get("User-Agent", "")):
        return oauth2_url(settings, redirect_uri, state)
    return sso_url(settings, redirect_uri, state)


def oauth2_url(settings: Settings, redirect_uri: str, state: str) -> str:
    base = get(settings.section("web"), "web", "oauth_authorize_url", str, DEFAULT_AUTHORIZE_URL)
    query = {"appid": settings.wecom.corp_id, "redirect_uri": redirect_uri,
             "response_type": "code", "scope": "snsapi_base", "state": state,
             "agentid": str(settings.wecom.agent_id)}
    return f"{base}?{urlencode(query)}#wechat_redirect"


def sso_url(settings: Settings, redirect_uri: str, state: str) -> str:
    base = get(settings.section("web"), "web", "sso_login_url", str, DEFAULT_SSO_LOGIN_URL)
    query = {"login_type": "CorpApp", "appid": settings.wecom.corp_id,
             "agentid": str(settings.wecom.agent_id), "redirect_uri": redirect_uri, "state": state}
    return f"{base}?{urlencode(query)}"


def userid_for_code(code: str) -> str:
    try:
        answer = runtime().wecom("app").call("GET", "auth/getuserinfo", params={"code": code})
    except WeComError:
        raise LoginError(texts.LOGIN_FAILED) from None
    userid = answer.get("userid") or answer.get("UserId")
    if not userid:  # an outsider (openid only) or a WeChat user: not a member of the corp
        raise LoginError(texts.LOGIN_MEMBERS_ONLY)
    return str(userid)


def complete(code: str, state: str, default_next: str = HOME) -> str:
    """Check state, exchange the code, start a fresh session; returns where to go next."""
    expected = session.pop("oauth_state", None)
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), state.encode()):
        raise LoginError(texts.LOGIN_EXPIRED)
    if not code:
        raise LoginError(texts.LOGIN_NO_CODE)
    userid = userid_for_code(code)
    next_path = safe_next(str(session.get("oauth_next") or default_next), default_next)
    with runtime().db.session_scope() as s:
        gen = sessions.generation(s, userid)
    session.clear()  # no fixation: a login always gets a new session and a new CSRF token
    session["userid"], session["login_at"], session["gen"] = userid, int(time.time()), gen
    return next_path


def problem(status: int, message: str) -> tuple[str, int]:
    return render_template("web/message.html", message=message, viewer=None, show_login=True), status


@bp.get("/")
def root() -> Response:
    return redirect(HOME, 302)  # the address configured in WeCom's workbench may be the bare host


def too_many() -> tuple[str, int, dict[str, str]]:
    page, status = problem(429, texts.LOGIN_THROTTLED)
    return page, status, {"Retry-After": "60"}


@bp.get("/login")
def login() -> Any:
    next_path = safe_next(request.args.get("next", HOME))
    if isinstance(session.get("userid"), str):
        return redirect(next_path, 302)
    if not throttle.allow_attempt():
        return too_many()
    return redirect(authorize_url(runtime().settings, next_path), 302)


@bp.get(CALLBACK_PATH)
def oauth_callback() -> Any:
    if not throttle.allow_attempt():
        return too_many()
    try:
        target = complete(request.args.get("code", ""), request.args.get("state", ""))
        api_user()  # ACCESS_CHECKS: a member who left cannot start a session
    except LoginError as exc:
        return problem(403, str(exc))
    except AccessDenied:
        session.clear()
        return problem(403, texts.ACCOUNT_REVOKED)
    return redirect(target, 302)


@bp.get("/logout")
def logout_form() -> Any:
    if not isinstance(session.get("userid"), str):
        return redirect(HOME, 302)
    return render_template("web/logout.html", viewer=None)


@bp.post("/logout")
def logout() -> tuple[str, int]:
    userid = session.get("userid")
    if isinstance(userid, str):  # ends the session on the server too: a copied cookie stops working
        with runtime().db.session_scope() as s:
            sessions.end_all(s, userid, utcnow())
    session.clear()  # the CSRF check (guard.py) ran before this view
    return render_template("web/message.html", message=texts.LOGGED_OUT, viewer=None, show_login=True), 200
