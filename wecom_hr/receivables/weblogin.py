"""WeCom web login (OAuth snsapi_base) for the follow-up page: redirect → code → userid → session.

The session is Flask's signed cookie ([web] secret_key); ``state`` ties the answer to the browser
that asked, and only local paths are accepted as the place to return to.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import session

from wecom_hr.config import Settings, get
from wecom_hr.runtime import Runtime
from wecom_hr.wecom.errors import WeComError

DEFAULT_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
CALLBACK_PATH = "/receivables/oauth"


class LoginError(Exception):
    """The login could not be completed; the message is shown to the person, in Chinese."""


def authorize_url(settings: Settings, next_path: str) -> str:
    state = secrets.token_urlsafe(16)
    session["oauth_state"], session["oauth_next"] = state, safe_next(next_path)
    base = get(settings.section("web"), "web", "oauth_authorize_url", str, DEFAULT_AUTHORIZE_URL)
    query = {"appid": settings.wecom.corp_id, "redirect_uri": settings.public_url + CALLBACK_PATH,
             "response_type": "code", "scope": "snsapi_base", "state": state,
             "agentid": str(settings.wecom.agent_id)}
    return f"{base}?{urlencode(query)}#wechat_redirect"


def safe_next(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/receivables/followup"


def complete(runtime: Runtime, code: str, state: str) -> str:
    """Exchange the code for a userid and log the browser in; returns where to go next."""
    expected = session.pop("oauth_state", None)
    if not expected or not hmac.compare_digest(str(expected), state):
        raise LoginError("登录已过期，请重新打开链接")
    if not code:
        raise LoginError("未获得授权")
    try:
        answer = runtime.wecom("app").call("GET", "auth/getuserinfo", params={"code": code})
    except WeComError:
        raise LoginError("企业微信登录失败，请稍后重试") from None
    userid = answer.get("userid") or answer.get("UserId")
    if not userid:
        raise LoginError("仅限企业成员使用")
    next_path = safe_next(str(session.get("oauth_next") or "/receivables/followup"))
    session.clear()  # a new login gets a fresh session (and CSRF token)
    session["userid"] = str(userid)
    return next_path


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(given: str) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and hmac.compare_digest(token, given)
