"""/receivables/followup on a phone in the WeCom client (390×844), in Debian's Chromium: the page the
overdue reminder links to looks like the console, reads as cards, and saves a 跟进说明 (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest

from storage import directory
from tests.web.test_browser import PHONE, Live, browser, live, login, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_salesperson_reads_overdue_cards_and_saves_a_note_on_a_phone(browser: Any, live: Live) -> None:  # noqa: F811
    seller = live.console.seller()
    with live.console.env.runtime.db.session_scope() as s:
        name = directory.display_name(s, seller)
    page = login(browser, live, seller, "/receivables/followup?order=A-45", PHONE)
    assert page.viewport_size == {"width": 390, "height": 844}
    # The console's stylesheet applies (an inline <style> would be blocked by the CSP).
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 246, 247)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    cards = page.locator("#followup-list ul.cards > li")
    assert cards.count() == 2
    for box in (cards.nth(i).bounding_box() for i in range(2)):
        assert box is not None and box["width"] > 330  # a card across the screen, not a squeezed column
    title = cards.first.locator(".title").bounding_box()
    assert title is not None and title["height"] < 60  # the customer's name on one or two lines, not one per char
    text = page.inner_text("main")
    assert "¥2,000.00" in text and "¥1,000.00" in text and "CNY" not in text
    assert f"销售 {name}" in text and "已逾期 45 天" in text

    page.fill("#note", "客户说月底走付款流程")
    page.fill("#promised_on", "2030-01-31")
    page.click("#followup-detail button[type=submit]")
    page.wait_for_selector("p.message[role=status]")
    history = page.inner_text("#followup-history")
    assert "客户说月底走付款流程（承诺 2030-01-31 付款）" in history and name in history
    shot(page, "followup-salesperson-phone")
    page.context.close()


def test_finance_records_a_payment_closes_a_task_and_imports_on_a_phone(browser: Any, live: Live,  # noqa: F811
                                                                         tmp_path: Any) -> None:
    page = login(browser, live, live.console.seed.finance, "/console/receivables", PHONE)
    page.wait_for_selector("#overdue-list table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    rows = page.locator("#overdue-list tbody tr")
    late = rows.filter(has=page.locator(".status.note_overdue"))
    assert late.count() >= 2 and rows.filter(has_text="B-75").locator(".note_overdue").count() == 1
    assert rows.filter(has_text="A-10").locator(".note_overdue").count() == 0  # 10 days: not late yet
    badged = late.count()
    page.select_option("#overdue-filters select[name=note_overdue]", "true")
    page.click("#overdue-filters button[type=submit]")
    page.wait_for_url("**note_overdue=true")
    page.wait_for_selector("#overdue-list table")
    assert page.locator("#overdue-list tbody tr").count() == badged
    assert page.input_value("#overdue-filters select[name=note_overdue]") == "true"

    row = page.locator("#overdue-list tbody tr", has_text="B-75")
    row.locator("button.record-payment").click()
    row.locator("input[name=amount]").fill("1000.00")
    row.locator("button[type=submit]").click()
    page.locator("#overdue-list tbody tr", has_text="B-75").locator("td", has_text="¥2,000.00").wait_for()
    assert "部分付款" in page.locator("#overdue-list tbody tr", has_text="B-75").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#collection-list button.close-task").first.click()
    page.wait_for_selector("#collection-list p.muted:has-text('没有记录')")

    csv_file = tmp_path / "应收.csv"
    seller = live.console.seller()
    csv_file.write_text("order_no,customer_name,salesperson,amount,due_on\n"
                        f"N-1,新客户,{seller},800.00,2030-01-01\nN-2,坏行,{seller},abc,2030-01-01\n", encoding="utf-8")
    page.set_input_files("#import-file", str(csv_file))
    page.click("#csv-import button[type=submit]")
    page.wait_for_selector("#import-report")
    report = page.inner_text("#import-report")
    assert "新增 1 笔，更新 0 笔，1 行有问题未导入" in report and "3: amount" in report
    shot(page, "receivables-finance-actions-phone")
    page.context.close()


def test_the_exit_questionnaire_reads_well_on_a_phone(browser: Any, live: Live) -> None:  # noqa: F811
    from tests.departures.test_questionnaire import LINK, approved_departure, invitations

    console = live.console
    leaver = console.seller(0, 1)  # last in this module: the departure hands work to seller(0, 0)
    approved_departure(console, leaver, console.seller(0, 0))
    found = LINK.search(invitations(console, leaver)[0])
    assert found
    page = login(browser, live, leaver, f"/console/exit/{found.group(1)}", PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ticks = page.locator("#exit-form label.check")
    assert ticks.count() >= 3
    first = ticks.first.bounding_box()
    box = ticks.first.locator("input").bounding_box()
    assert first is not None and box is not None and first["height"] < 40 and box["width"] < 30  # box beside its text
    ticks.first.click()
    page.click("#exit-form button[type=submit]")
    page.wait_for_selector("#exit-saved")
    shot(page, "exit-questionnaire-phone")
    page.context.close()
