"""Issue 16, web rows: open redirect (1), sessions ended on the server (7), bounded request parsing
(10), security headers on every response (11), login rate limit (13)."""

from __future__ import annotations

import logging

import pytest

from storage.db import Database
from tests.core.test_callback import make_client, post, sealed
from tests.helpers import FAST_RETRY
from tests.web.conftest import COMPLIANCE, Console, console_config, csrf_of
from wecom_hr.app import create_app
from wecom_hr.config import settings_from_mapping
from wecom_hr.runtime import Runtime


@pytest.mark.parametrize("target", ["/\t/evil.example", "/%09/evil.example", "/\r/x", "/\n/x", "/%0d/x",
                                    "/ /evil.example", "/\x0b/evil.example", "///evil.example"])
def test_next_with_whitespace_or_control_characters_stays_on_the_site(console: Console, target: str) -> None:
    client = console.client()
    res = client.get("/login?next=" + target.replace("\t", "%09").replace("\r", "%0D").replace("\n", "%0A")
                     .replace(" ", "%20").replace("\x0b", "%0B"))
    assert res.status_code == 302
    with client.session_transaction() as s:
        assert s["oauth_next"] == "/console/"
    console.login(client, console.seller())  # signed in: /login redirects at once
    again = client.get("/login?next=/%09/evil.example")
    assert again.status_code == 302 and again.headers["Location"] == "/console/"


def test_a_copied_cookie_stops_working_after_logout(console: Console) -> None:
    client = console.client()
    html = console.login(client, console.seller()).get_data(as_text=True)
    stolen = client.get_cookie("session")
    assert stolen is not None
    copy = console.client()
    copy.set_cookie("session", stolen.value, domain=stolen.domain)
    assert copy.get("/api/v1/customers").status_code == 200  # the copy works while the session lives
    assert client.post("/logout", data={"csrf": csrf_of(html)}).status_code == 200
    assert copy.get("/api/v1/customers").status_code == 401
    assert copy.get("/console/").status_code == 302


def test_hr_revoking_access_ends_the_members_sessions(console: Console) -> None:
    seller = console.seller(1)
    client = console.client()
    console.login(client, seller)
    assert client.get("/api/v1/customers").status_code == 200
    hr = console.client()
    token = {"X-CSRF-Token": csrf_of(console.login(hr, console.seed.hr).get_data(as_text=True))}
    dep = hr.post("/api/v1/departures", json={"userid": seller, "submit": False}, headers=token)
    assert dep.status_code == 201, dep.get_json()
    res = hr.post(f"/api/v1/departures/{dep.get_json()['id']}/revoke", json={"reason": "调查"}, headers=token)
    assert res.status_code == 200
    assert client.get("/api/v1/customers").status_code == 401


def test_unreadable_parameters_are_400_not_500(console: Console) -> None:
    client = console.client()
    client.get("/login")
    assert client.get("/oauth/callback?code=x&state=%C3%A9").status_code == 403
    console.login(client, COMPLIANCE)
    for path in ("/api/v1/customers?page=%C2%B2", "/api/v1/customers?page=" + "9" * 20,
                 "/api/v1/archive/search?q=返点&from=" + "1" * 30,
                 "/api/v1/archive/search?q=返点&to=9999-12-31"):
        res = client.get(path)
        assert res.status_code == 400, (path, res.status_code)
    finance = console.client()
    console.login(finance, console.seed.finance)
    for path in ("/api/v1/receivables?overdue=99999999", "/api/v1/receivables?page=%C2%B2",
                 "/api/v1/receivables?page=" + "9" * 20):
        res = finance.get(path)
        assert res.status_code == 400, (path, res.status_code)


def test_deeply_nested_xml_is_400_without_a_traceback(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(db)
    deep = b"<xml>" + b"<a>" * 9000 + b"</a>" * 9000 + b"</xml>"  # not WeCom's envelope: reaches the parser
    params, _ = sealed("<xml></xml>")
    with caplog.at_level(logging.DEBUG):
        assert post(client, params, deep) == 400
        signed_deep = "<xml><MsgType>event</MsgType>" + "<a>" * 2000 + "</a>" * 2000 + "</xml>"  # > recursion limit
        assert post(client, *sealed(signed_deep)) == 400
        assert post(client, *sealed("<xml><CreateTime>" + "9" * 5000 + "</CreateTime></xml>")) == 400
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_stale_callbacks_are_refused_by_default(db: Database) -> None:
    client = make_client(db)
    xml = "<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_user</ChangeType></xml>"
    for stamp in ("946684800", "4102444800"):  # 2000 and 2100
        assert post(client, *sealed(xml, stamp)) == 403
    assert post(client, *sealed(xml)) == 200


def test_security_headers_on_every_html_and_json_response(console: Console) -> None:
    client = console.client()
    for path in ("/receivables/followup", "/api/v1/customers", "/console/"):
        res = client.get(path)
        assert res.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'self'" in res.headers["Content-Security-Policy"], path
    console.login(client, console.seller())
    for path in ("/receivables/followup", "/api/v1/customers", "/api/v1/receivables"):
        res = client.get(path)
        assert res.headers["Cache-Control"] == "no-store", (path, res.headers.get("Cache-Control"))


def test_login_attempts_are_limited_per_address(console: Console) -> None:
    raw = console_config(console.sim.base_url, console.env.runtime.db.url, console.sim.oauth_authorize_url,
                         "http://console.test", console.seed.hr, console.seed.finance)
    del raw["web"]["login_attempts_per_minute"]  # the default: 30 a minute per address
    runtime = Runtime(settings_from_mapping(raw, environ={}), db=console.env.runtime.db, retry=FAST_RETRY)
    app = create_app(runtime.settings, runtime)
    try:
        client, statuses = app.test_client(), []
        for _ in range(20):  # what an attacker does: /login for a state, then a random code
            first = client.get("/login")
            statuses.append(first.status_code)
            if first.status_code != 302:
                break
            with client.session_transaction() as s:
                state = s["oauth_state"]
            statuses.append(client.get(f"/oauth/callback?code=random&state={state}").status_code)
        assert statuses[:30] == [302, 403] * 15 and statuses[30:] == [429]
        assert len(console.sim.calls_to("/cgi-bin/auth/getuserinfo")) <= 15
        assert client.get("/oauth/callback?code=x&state=y").headers["Retry-After"] == "60"
        other = app.test_client()  # another address is not held up
        assert other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302
    finally:
        runtime.close()
