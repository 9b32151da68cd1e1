"""The browser side of WeCom login: /connect/oauth2/authorize (inside the WeCom client) and
/wwlogin/sso/login (企业微信Web登录, doc 98173: a QR code scanned with the WeCom app, for desktops).

A person sees the seeded members as links and picks one (standing for the silent login or the scan);
tests and the demo add ``&userid=X`` and are redirected at once to ``redirect_uri?code=...&state=...``.
Both pages mint the same single-use codes, which ``auth/getuserinfo`` exchanges.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from wecom_hr.simulator.state import CorpState

AUTHORIZE_PATH = "/connect/oauth2/authorize"
SSO_PATH = "/wwlogin/sso/login"
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>企业微信登录（模拟）</title>
</head><body><h1>选择登录成员</h1><ul>{items}</ul></body></html>"""


def authorize(state: CorpState, query: dict[str, str]) -> Response:
    if query.get("appid") != state.corp_id:
        return _problem("appid 参数错误")
    if not query.get("redirect_uri") or query.get("response_type") != "code":
        return _problem("redirect_uri 或 response_type 参数错误")
    return _log_in(state, query)


def sso_login(state: CorpState, query: dict[str, str]) -> Response:
    """The Web login page; WeCom shows a QR code here, the simulator the member list."""
    if query.get("login_type") != "CorpApp":
        return _problem("login_type 参数错误")
    if query.get("appid") != state.corp_id:
        return _problem("appid 参数错误")
    if query.get("agentid") != str(state.agent_id):
        return _problem("agentid 参数错误")
    if not query.get("redirect_uri") or not query.get("state"):
        return _problem("redirect_uri 或 state 参数错误")
    return _log_in(state, query)


def _log_in(state: CorpState, query: dict[str, str]) -> Response:
    userid = query.get("userid")
    if userid is None:
        return _chooser(state, query)
    with state.lock:
        known = state.active_user(userid) is not None
        code = state.mint_oauth_code(userid) if known else ""
    if not known:
        return _problem("成员不存在")
    return redirect(_with_query(query["redirect_uri"], code=code, state=query.get("state", "")), 302)


def _chooser(state: CorpState, query: dict[str, str]) -> Response:
    with state.lock:
        users = [(u.userid, u.name) for u in state.active_users()]
    items = "".join(
        f'<li><a href="?{escape(urlencode({**query, "userid": userid}))}">{escape(name)}'
        f" ({escape(userid)})</a></li>" for userid, name in users)
    return Response(PAGE.format(items=items), 200, content_type="text/html; charset=utf-8")


def _problem(text: str) -> Response:
    return Response(PAGE.format(items=f"<li>{escape(text)}</li>"), 400,
                    content_type="text/html; charset=utf-8")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
