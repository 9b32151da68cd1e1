"""The console in Debian's Chromium, against the real server (werkzeug, threaded, port 0) and the
simulator playing WeCom's login page. Screenshots of every page go to artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from handlers import ROUTES
from storage.db import Database
from tests.conftest import wipe
from tests.web.conftest import ADMIN, BUCKET_TOTALS, COMPLIANCE, Console, build_console
from wecom_hr.dispatch import Dispatcher
from wecom_hr.scheduler import run_job

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# A phone inside the WeCom client (its User-Agent says wxwork): the silent OAuth2 login. The desktop is an
# ordinary browser: WeCom's Web login (QR scan), both played by the simulator.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                       "(KHTML, like Gecko) Mobile/15E148 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@dataclass
class Live:
    url: str
    console: Console


@pytest.fixture(scope="module")
def live(db_url: str) -> Iterator[Live]:
    database = Database(db_url)
    wipe(database)
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    console = build_console(database, public_url=url)
    holder["app"] = console.app
    thread = threading.Thread(target=server.serve_forever, name="console-http", daemon=True)
    thread.start()
    try:
        yield Live(url, console)
    finally:
        server.shutdown()
        console.runtime.close()
        console.env.close()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


def login(browser: Any, live: Live, userid: str, path: str, device: dict[str, Any] = DESKTOP) -> Any:
    """Open ``path``, get sent to WeCom's (the simulator's) member list, pick ``userid``, land back."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True, **device)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live.url + path)
    in_client = "wxwork" in str(device.get("user_agent", ""))
    sim = live.console.sim
    assert page.url.startswith(sim.oauth_authorize_url if in_client else sim.sso_login_url), page.url
    page.click(f'a[href*="userid={userid}"]')
    page.wait_for_url(re.compile(re.escape(live.url + path.split("?")[0])))
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full-page shot
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_compliance_searches_opens_context_and_exports(browser: Any, live: Live) -> None:
    page = login(browser, live, COMPLIANCE, "/console/archive")
    page.fill("input[name=q]", "返点")
    page.click("form#filters button[type=submit]")
    page.wait_for_selector("li.hit")
    assert page.inner_text("#hit-total") == "共 2 条"
    marks = page.locator("li.hit .snippet mark")
    assert marks.count() == 2 and set(marks.all_inner_texts()) == {"返点"}
    assert page.locator("#archive-hits .bar").count() >= 1  # hits over time, drawn by the server
    page.locator("li.hit").nth(1).locator("button.context-toggle").click()
    conversation = page.locator("li.hit").nth(1).locator(".conversation")
    conversation.locator(".bubble.focus").wait_for()
    assert "申请 3% 返点" in conversation.locator(".bubble.focus").inner_text()
    assert conversation.locator(".bubble").count() >= 4
    # A customer's "<b>" stays text: the page never turns archived text into markup.
    assert "好的<b>明白</b>" in conversation.inner_text() and conversation.locator("b").count() == 0
    shot(page, "archive-search")
    with page.expect_download() as download:
        page.click("#export")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["msgid", "time"] and {r[0] for r in rows[1:]} == {"msg-2", "msg-3"}
    page.context.close()


def test_salesperson_is_refused_the_archive(browser: Any, live: Live) -> None:
    seller = live.console.seller()
    page = login(browser, live, seller, "/console/archive", PHONE)
    assert "无权" in page.inner_text("main")
    assert page.locator("nav.menu a", has_text="会话存档").count() == 0
    shot(page, "archive-refused-salesperson-phone")
    page.goto(live.url + "/console/customers")
    page.wait_for_selector("#customer-list table")
    shot(page, "customers-salesperson-phone")
    response = page.request.get(live.url + "/api/v1/archive/search?q=返点")
    assert response.status == 403  # the API refuses the same session too
    page.context.close()


def test_finance_sees_the_aging_chart_with_the_right_totals(browser: Any, live: Live) -> None:
    page = login(browser, live, live.console.seed.finance, "/console/receivables")
    chart = page.locator("#aging-amount-CNY")
    chart.wait_for()
    found = {b.get_attribute("data-key"): b.get_attribute("data-value") for b in chart.locator("g.bar").all()}
    assert {k: float(v or 0) for k, v in found.items()} == {k: float(v) for k, v in BUCKET_TOTALS.items()}
    assert chart.locator("text.value").all_text_contents() == ["¥1,000.00", "¥2,000.00", "¥3,000.00", "¥3,500.00"]
    assert chart.bounding_box()["height"] > 100  # really drawn, not an empty box
    assert page.locator("#aging-people-CNY g.row").count() == 2
    page.wait_for_selector("#overdue-list table")
    page.wait_for_selector("#collection-list table")
    page.locator("#collection-list button", has_text="追款函").first.click()
    page.wait_for_selector("#letter pre.letter")
    shot(page, "receivables-finance")
    page.context.close()


def test_manager_sees_the_team_pool_and_a_churned_customer(browser: Any, live: Live) -> None:
    page = login(browser, live, live.console.manager(), "/console/customers")
    page.wait_for_selector("#customer-list table")
    shot(page, "customers-manager")
    page.select_option("select[name=status]", "churned")
    page.click("form#filters button[type=submit]")
    page.wait_for_selector("#customer-list table a")
    page.locator("#customer-list table a").first.click()
    page.wait_for_selector(".timeline li.alert")
    assert "客户删除了销售" in page.inner_text("main")
    shot(page, "customer-detail-manager")
    page.context.close()


def test_hr_starts_a_departure_and_follows_its_progress(browser: Any, live: Live) -> None:
    console, leaver, successor = live.console, live.console.seller(0, 1), live.console.seller(0, 0)
    page = login(browser, live, console.seed.hr, "/console/departures")
    page.fill("#start-departure input[name=userid]", leaver)
    page.fill("#start-departure input[name=last_day]", "2030-01-31")
    page.fill("#start-departure textarea[name=note]", "个人原因离职")
    page.click("#start-departure button[type=submit]")
    page.locator("#start-message a", has_text="查看进度").click()
    page.wait_for_selector("#departure-progress")
    assert "待经理审批" in page.inner_text("h1")
    assert "转接进度：0 / 3" in page.inner_text("#departure-progress")  # 2 customers and 1 group chat
    shot(page, "departure-pending-hr")
    departure_id = int(page.url.rsplit("/", 1)[1])

    # The manager approves here rather than on the WeCom card; WeCom moves the customers, one refuses.
    env = console.env
    env.drain()
    approver = login(browser, live, console.manager(), f"/console/departures/{departure_id}", PHONE)
    approver.wait_for_selector("#approval")
    approver.select_option("#approval select[name=successor]", successor)
    shot(approver, "departure-approval-manager-phone")
    approver.click("#approval button[data-decision=approve]")
    approver.wait_for_selector("#approval", state="detached")
    assert "待经理审批" not in approver.inner_text("h1")
    approver.context.close()
    run_job(env.runtime, "transfer-departures")  # a second run changes nothing if the approval already ran it
    env.drain()
    refused = console.seed.customers[leaver][0]
    console.sim.complete_transfers(refuse={refused})
    run_job(env.runtime, "follow-up-departures")
    env.drain()

    # Customers are final, but the handover checklist is not: the page says who still has to act.
    page.reload()
    page.wait_for_selector("#checklist")
    assert "转接中" in page.inner_text("h1") and "待办：" in page.inner_text("#checklist")
    finance_card = next(m["template_card"] for m in console.sim.sent_messages if m.get("msgtype") == "template_card"
                        and str(m["template_card"].get("task_id", "")).startswith("dso-"))
    console.sim.scenario.click_card(console.seed.finance, finance_card["task_id"], "signoff_confirm")
    Dispatcher(console.runtime, ROUTES).drain()  # the console's settings name finance ([roles])
    page.reload()
    page.wait_for_selector("li.signoff[data-step=hr] input[type=checkbox]")
    boxes = "li.signoff[data-step=hr] input[type=checkbox]"
    for n in range(page.locator(boxes).count()):  # each tick saves, then re-draws the checklist
        page.locator(boxes).nth(n).check()
        page.wait_for_function(f"document.querySelectorAll('{boxes}')[{n}].checked")
        page.wait_for_load_state("networkidle")
    page.click("li.signoff[data-step=hr] button[data-sign=hr]")
    page.wait_for_selector("#checklist >> text=全部签署完成")
    shot(page, "departure-checklist-hr")
    run_job(env.runtime, "follow-up-departures")
    env.drain()

    page.reload()
    page.wait_for_selector("#departure-progress")
    assert "已完成" in page.inner_text("h1")
    assert "转接进度：3 / 3" in page.inner_text("#departure-progress")
    assert page.locator("td span.status.refused").count() == 1
    shot(page, "departure-completed-hr")
    page.goto(live.url + "/console/departures")
    page.wait_for_selector("#departure-list table")
    shot(page, "departures-hr")
    page.context.close()


def test_admin_pages_watch_list_and_audit_log(browser: Any, live: Live) -> None:
    page = login(browser, live, ADMIN, "/console/archive/watch")
    page.wait_for_selector("#watch-rules table")
    page.fill("#new-rule input[name=name]", "测试规则")
    page.fill("#new-rule textarea[name=keywords]", "私下转账")
    page.click("#new-rule button[type=submit]")
    page.locator("#watch-rules td", has_text="测试规则").wait_for()
    shot(page, "watch-admin")
    page.goto(live.url + "/console/archive/audit")
    page.locator("#audit-list td", has_text="archive.rule.create").wait_for()
    shot(page, "audit-admin")
    page.goto(live.url + "/console/")
    shot(page, "home-admin")
    page.context.close()

