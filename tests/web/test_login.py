"""Console login (WeCom OAuth through the simulator), the session cookie, logout and CSRF refusals."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.helpers import FAST_RETRY
from tests.web.conftest import CHROME_UA, COMPLIANCE, Console, console_config, csrf_of
from wecom_hr.api import auth
from wecom_hr.app import create_app
from wecom_hr.config import settings_from_mapping
from wecom_hr.runtime import Runtime
from wecom_hr.web import login, texts


def test_login_redirects_through_wecom_and_lands_on_the_asked_page(console: Console) -> None:
    client = console.client()
    first = client.get("/console/receivables?x=1")
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=/console/receivables?x%3D1"
    to_wecom = client.get(first.headers["Location"])
    query = parse_qs(urlsplit(to_wecom.headers["Location"].split("#")[0]).query)
    assert query["scope"] == ["snsapi_base"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://console.test/oauth/callback"] and query["appid"][0]
    assert to_wecom.headers["Location"].endswith("#wechat_redirect")
    page = console.login(console.client(), console.seed.finance, "/console/receivables")
    assert page.status_code == 200 and "应收账款" in page.get_data(as_text=True)


def test_session_cookie_is_signed_httponly_and_samesite(console: Console) -> None:
    client = console.client()
    console.login(client, console.seller())
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert console.seller() not in cookie.value  # signed and encoded: not a readable userid
    forged = console.client()
    forged.set_cookie("session", cookie.value[:-4] + "AAAA")
    assert forged.get("/console/").status_code == 302  # a tampered cookie is no session


def test_forged_state_and_replayed_code_are_refused(console: Console) -> None:
    client = console.client()
    client.get("/login?next=/console/")
    code = console.sim.oauth_code_for(console.seller())
    assert client.get(f"/oauth/callback?code={code}&state=forged").status_code == 403
    assert client.get("/console/").status_code == 302  # still not signed in
    # A state is used once: the same answer again finds no state in the session.
    client.get("/login?next=/console/")
    with client.session_transaction() as s:
        state = s["oauth_state"]
    assert client.get(f"/oauth/callback?code={code}&state={state}").status_code == 302
    again = console.client()  # WeCom's codes are single use: the same code with a fresh state fails
    again.get("/login?next=/console/")
    with again.session_transaction() as s:
        fresh_state = s["oauth_state"]
    assert again.get(f"/oauth/callback?code={code}&state={fresh_state}").status_code == 403


def test_a_code_wecom_does_not_know_is_refused(console: Console) -> None:
    client = console.client()
    client.get("/login")
    with client.session_transaction() as s:
        state = s["oauth_state"]
    res = client.get(f"/oauth/callback?code=not-a-code&state={state}")
    assert res.status_code == 403 and "企业微信登录失败" in res.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_next_is_only_a_local_path(console: Console, target: str) -> None:
    client = console.client()
    res = client.get("/login", query_string={"next": target})
    with client.session_transaction() as s:
        assert s["oauth_next"] == "/console/"
    assert res.status_code == 302


def test_logout_needs_the_csrf_token_and_ends_the_session(console: Console) -> None:
    client = console.client()
    html = console.login(client, console.seller()).get_data(as_text=True)
    assert client.post("/logout").status_code == 403
    assert client.get("/console/").status_code == 200  # the refused logout changed nothing
    assert client.post("/logout", data={"csrf": csrf_of(html)}).status_code == 200
    assert client.get("/console/").status_code == 302


def test_a_new_login_gets_a_new_csrf_token(console: Console) -> None:
    client = console.client()
    first = csrf_of(console.login(client, console.seller()).get_data(as_text=True))
    client.post("/logout", data={"csrf": first})
    second = csrf_of(console.login(client, console.seller()).get_data(as_text=True))
    assert first != second


def test_session_api_writes_need_the_csrf_header_bearer_tokens_do_not(console: Console) -> None:
    client = console.client()
    html = console.login(client, console.seller()).get_data(as_text=True)
    note = {"note": "客户说月底付"}
    refused = client.post("/api/v1/receivables/A-10/followups", json=note)
    assert refused.status_code == 403 and refused.json == {
        "error": "missing or wrong CSRF token", "code": "csrf_refused", "message": "页面已过期，请刷新后重试"}
    wrong = client.post("/api/v1/receivables/A-10/followups", json=note, headers={"X-CSRF-Token": "x" * 32})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/receivables/A-10/followups", json=note, headers={"X-CSRF-Token": csrf_of(html)})
    assert ok.status_code == 201


def test_an_old_session_expires(console: Console) -> None:
    client = console.client()
    console.login(client, console.seller())
    with client.session_transaction() as s:
        s["login_at"] = int(time.time()) - 13 * 3600  # [web] session_hours defaults to 12
    assert client.get("/console/").status_code == 302
    assert client.get("/api/v1/customers").status_code == 401  # the API no longer sees a session either


def test_revoked_access_ends_the_console_session(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    client = console.client()
    console.login(client, COMPLIANCE)

    def departed(_runtime: Any, userid: str) -> str | None:
        return "member has left" if userid == COMPLIANCE else None

    monkeypatch.setattr(auth, "ACCESS_CHECKS", [departed])
    res = client.get("/console/archive")
    assert res.status_code == 403 and "无权访问" in res.get_data(as_text=True)
    assert client.get("/api/v1/archive/search?q=返点").status_code in (401, 403)
    fresh = console.client()  # and no new session can start
    fresh.get("/login")
    with fresh.session_transaction() as s:
        state = s["oauth_state"]
    code = console.sim.oauth_code_for(COMPLIANCE)
    assert fresh.get(f"/oauth/callback?code={code}&state={state}").status_code == 403
    with fresh.session_transaction() as s:
        assert "userid" not in s


def test_security_headers_on_console_pages(console: Console) -> None:
    client = console.client()
    page = console.login(client, console.seller())
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors" in csp and "'unsafe-inline'" not in csp
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Content-Type-Options"] == "nosniff"


def test_a_desktop_browser_signs_in_through_the_web_login_page(console: Console) -> None:
    oauth_before = len(console.sim.calls_to("connect/oauth2/authorize"))
    client = console.client(CHROME_UA)
    page = console.login(client, COMPLIANCE, "/console/archive", desktop=True)
    assert page.status_code == 200 and "会话存档" in page.get_data(as_text=True)
    assert console.sim.calls_to("wwlogin/sso/login")[-1].http_status == 302  # the "QR scan" answered
    assert len(console.sim.calls_to("connect/oauth2/authorize")) == oauth_before  # never the OAuth2 page
    with client.session_transaction() as s:
        assert s["userid"] == COMPLIANCE and "oauth_state" not in s


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.0 MicroMessenger/7.0.1",
                                   "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 WxWork/4.1.0"])
def test_the_wecom_client_keeps_the_silent_oauth2_login(console: Console, agent: str) -> None:
    client = console.client(agent)
    location = client.get("/login?next=/console/").headers["Location"]
    assert location.startswith(console.sim.oauth_authorize_url + "?") and location.endswith("#wechat_redirect")
    assert "scope=snsapi_base" in location and console.sim.sso_login_url not in location
    assert console.login(client, console.seller()).status_code == 200


def test_the_web_login_redirect_carries_what_wecom_needs(console: Console) -> None:
    client = console.client(CHROME_UA)
    location = client.get("/login?next=/console/customers").headers["Location"]
    assert location.startswith(console.sim.sso_login_url + "?") and "#" not in location
    query = parse_qs(urlsplit(location).query)
    with client.session_transaction() as s:
        state, next_path = s["oauth_state"], s["oauth_next"]
    assert query == {"login_type": ["CorpApp"], "appid": [console.runtime.settings.wecom.corp_id],
                     "agentid": [str(console.runtime.settings.wecom.agent_id)],
                     "redirect_uri": ["http://console.test/oauth/callback"], "state": [state]}
    assert next_path == "/console/customers"


def test_a_forged_state_on_the_web_login_path_is_refused(console: Console) -> None:
    client = console.client(CHROME_UA)
    location = client.get("/login?next=/console/").headers["Location"]
    forged = location.replace("state=", "state=forged", 1)  # WeCom hands back whatever state it was given
    back = requests.get(forged + f"&userid={COMPLIANCE}", allow_redirects=False, timeout=5)
    target = urlsplit(back.headers["Location"])
    assert parse_qs(target.query)["state"][0].startswith("forged")
    exchanges = len(console.sim.calls_to("auth/getuserinfo"))
    refused = client.get(f"{target.path}?{target.query}")
    assert refused.status_code == 403 and texts.LOGIN_EXPIRED in refused.get_data(as_text=True)
    assert len(console.sim.calls_to("auth/getuserinfo")) == exchanges  # the state is checked before the code
    assert client.get("/console/").status_code == 302  # still not signed in


def test_the_followup_page_sends_a_desktop_browser_to_the_web_login(console: Console) -> None:
    client = console.client(CHROME_UA)
    location = client.get("/receivables/followup?order=A-10").headers["Location"]
    assert location.startswith(console.sim.sso_login_url + "?")
    assert parse_qs(urlsplit(location).query)["redirect_uri"] == ["http://console.test/receivables/oauth"]
    back = requests.get(location + f"&userid={console.seller()}", allow_redirects=False, timeout=5)
    target = urlsplit(back.headers["Location"])
    landed = client.get(f"{target.path}?{target.query}")
    assert landed.status_code == 302 and landed.headers["Location"] == "/receivables/followup?order=A-10"
    assert client.get(landed.headers["Location"]).status_code == 200


def test_the_web_login_defaults_to_wecom(console: Console) -> None:
    raw = console_config(console.sim.base_url, console.env.runtime.db.url, console.sim.oauth_authorize_url,
                         "http://console.test", console.seed.hr, console.seed.finance)
    del raw["web"]["sso_login_url"]
    runtime = Runtime(settings_from_mapping(raw, environ={}), db=console.env.runtime.db, retry=FAST_RETRY)
    try:
        client = create_app(runtime.settings, runtime).test_client()
        location = client.get("/login", headers={"User-Agent": CHROME_UA}).headers["Location"]
        assert location.startswith(login.DEFAULT_SSO_LOGIN_URL + "?login_type=CorpApp&")
    finally:
        runtime.close()
