"""Errors in Chinese (issue 20 item 4): API errors keep ``error`` and add a stable ``code`` and a
Chinese ``message``; pages that are not JSON get Chinese error pages in the console's look; a 500
shows no traceback and logs one line with a reference; the pager is clamped and stays silent when
the list is empty."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from storage.db import Database
from tests.helpers import WecomEnv, make_env
from tests.web.conftest import Console
from tests.web.test_browser import Live, browser, live, login  # noqa: F401  (fixtures)
from wecom_hr.api import messages
from wecom_hr.simulator.models import User

HR, SALES = "hr1", "sales1"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def env(db: Database) -> Iterator[WecomEnv]:
    made = make_env(db, {"roles": {"hr": [HR]}}, api_users=(HR, SALES))
    made.sim.state.add_user(User(userid=HR, name="人事"))

    def boom() -> Any:
        raise ZeroDivisionError("secret-token-123 must never be shown")

    made.app.add_url_rule("/api/v1/boom", "api_boom", boom)
    made.app.add_url_rule("/console/boom", "page_boom", boom)
    yield made
    made.close()


def test_a_feature_error_keeps_its_english_error_and_adds_code_and_chinese_message(env: WecomEnv) -> None:
    res = env.api("POST", "/api/v1/departures", HR, json={"userid": "nosuchuser"})
    assert res.status_code == 404
    assert res.get_json() == {"error": "'nosuchuser' is not in the directory", "code": "member_not_in_directory",
                              "message": "通讯录中没有成员「nosuchuser」"}


def test_auth_and_parameter_errors_are_explained(env: WecomEnv) -> None:
    anonymous = env.client.get("/api/v1/departures").get_json()
    assert anonymous["code"] == "unauthenticated" and anonymous["error"] == "missing or unknown credentials"
    assert anonymous["message"] == "未登录或登录已过期，请重新登录"
    role = env.api("GET", "/api/v1/departures", SALES).get_json()
    assert role == {"error": "your role does not allow this", "code": "role_forbidden",
                    "message": "您的角色无权执行此操作"}
    page = env.api("GET", "/api/v1/departures?page=abc", HR)
    assert page.status_code == 400 and page.get_json()["code"] == "bad_number"
    assert page.get_json()["message"] == "页码应为 1 到 1000000 之间的整数"


def test_unknown_texts_get_the_generic_chinese_sentence_with_the_english_detail() -> None:
    assert messages.describe(409, "something new") == ("conflict", "操作与当前状态冲突：something new")
    assert messages.describe(418, "odd") == ("bad_request", "请求有误：odd")
    assert messages.describe(400, "请填写跟进说明") == ("bad_request", "请填写跟进说明")  # already Chinese
    assert messages.describe(403, "this member has left the company; access is revoked", "access_revoked") == (
        "access_revoked", "该成员已离职，访问权限已收回")


def test_every_registered_text_is_chinese_with_a_snake_case_code() -> None:
    for known in messages.KNOWN:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", known.code), known.code
        fields = {name: "x" for name in known.pattern.groupindex}
        assert CJK.search(known.text.format(**fields)), known.code
    for code, text in messages.STATUS.values():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code) and CJK.search(text)


def test_unknown_api_paths_and_methods_answer_json_in_chinese(env: WecomEnv) -> None:
    missing = env.api("GET", "/api/v1/nothing-here", HR, headers=HTML)
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    assert missing.get_json()["code"] == "not_found" and missing.get_json()["message"] == "找不到该地址或记录"
    assert "error" in missing.get_json()
    wrong = env.api("DELETE", "/api/v1/departures", HR)
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


def test_pages_get_a_chinese_error_page_in_the_consoles_look(env: WecomEnv) -> None:
    res = env.client.get("/console/no-such-page", headers=HTML)
    html = res.get_data(as_text=True)
    assert res.status_code == 404 and res.mimetype == "text/html"
    assert "找不到页面" in html and "console.css" in html and 'lang="zh-CN"' in html and "Not Found" not in html
    plain = env.client.get("/no-such-page")  # no Accept header: still the page
    assert plain.status_code == 404 and "找不到页面" in plain.get_data(as_text=True)
    asked = env.client.get("/no-such-page", headers={"Accept": "application/json"})
    assert asked.get_json()["code"] == "not_found"


def test_a_500_shows_no_traceback_and_logs_one_line_with_its_reference(
        env: WecomEnv, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        page = env.client.get("/console/boom", headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 500 and "服务器出错了" in html
    reference = re.search(r'id="error-reference">([0-9a-f]{8})<', html)
    assert reference, html
    for banned in ("Traceback", "ZeroDivisionError", "secret-token-123"):
        assert banned not in html
    records = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is None and "\n" not in records[0].getMessage()
    assert "ZeroDivisionError" in records[0].getMessage() and "secret-token-123" not in records[0].getMessage()
    api = env.api("GET", "/api/v1/boom", HR)
    body = api.get_json()
    assert api.status_code == 500 and body["code"] == "internal_error" and body["error"] == "internal error"
    assert body["reference"] in body["message"] and "secret-token-123" not in api.get_data(as_text=True)


def test_a_signed_in_member_sees_the_menu_on_an_error_page(console: Console) -> None:
    client = console.client()
    console.login(client, console.seed.hr)
    res = client.get("/console/no-such-page", headers=HTML)
    html = res.get_data(as_text=True)
    assert res.status_code == 404 and "找不到页面" in html and 'class="menu"' in html and "返回首页" in html


@pytest.mark.browser
def test_the_pager_is_clamped_and_an_empty_list_says_so_once(browser: Any, live: Live) -> None:  # noqa: F811
    page = login(browser, live, "compliance1", "/console/archive?q=返点&page=99")
    page.wait_for_url(re.compile(r"page=1\b"))
    page.wait_for_selector("li.hit")
    assert page.inner_text("nav.pager") == "第 1 / 1 页，共 2 条"
    page.goto(live.url + "/console/archive?q=没有这个词")
    page.wait_for_selector("#hit-list p.muted:has-text('没有记录')")
    assert page.locator("nav.pager").count() == 0
    page.goto(live.url + "/console/archive?q=%22加 微信")
    error = page.wait_for_selector("#hit-list .message.error")
    assert error.inner_text().startswith("引号未闭合：")
    page.goto(live.url + "/console/no-such-page")
    assert "找不到页面" in page.inner_text("main") and page.locator("nav.menu a").count() >= 1
    page.context.close()
