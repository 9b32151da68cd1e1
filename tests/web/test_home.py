"""Issue 20 items 2 and 5: the home page lists what waits for each role, each line linking to where it
is done; an empty role sees one empty state; compliance opens the audit page; menus only where the
role has content (a finance member who leads 财务部 alone gets no 客户池 / 离职交接)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage.archive import WatchHit
from storage.db import utcnow
from storage.risk import RiskAlert
from tests.web.conftest import Console, csrf_of
from tests.web.test_browser import DESKTOP, PHONE, Live, browser, live, login, shot  # noqa: F401 (fixtures)


def _signed_in(console: Console, userid: str) -> tuple[FlaskClient, str]:
    client = console.client()
    return client, console.login(client, userid).get_data(as_text=True)


def _start_departure(console: Console, leaver: str) -> int:
    hr, html = _signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": leaver, "last_day": "2030-01-31"},
                  headers={"X-CSRF-Token": csrf_of(html)})
    assert res.status_code == 201, res.get_json()
    console.env.drain()
    return int(res.get_json()["id"])


def _add_alert(console: Console, userid: str, n: int) -> None:
    now = utcnow()
    with console.runtime.db.session_scope() as s:
        s.add(RiskAlert(key=f"test:{userid}:{n}", rule="<i>私下联系</i>", kind="contact_diversion", severity="high",
                        userid=userid, external_userid=console.seed.customers[userid][0], value=3, threshold=1,
                        window_days=7, evidence=[], status="open", created_at=now, updated_at=now))


def _add_hit(console: Console, hours_ago: int, msgid: str) -> None:
    with console.runtime.db.session_scope() as s:
        s.add(WatchHit(rule="<script>返点</script>", msgid=msgid, severity="high", sender=console.seller(),
                       customer=console.seed.customers[console.seller()][0], snippet="返点能直接打到<b>个人</b>账户吗",
                       msgtime=0, hit_at=utcnow() - timedelta(hours=hours_ago)))


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section class="card todo" id="todo-{key}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def _menu(html: str) -> str:
    found = re.search(r'<nav class="menu">.*?</nav>', html, re.S)
    assert found, "page has no menu"
    return found.group(0)


def _name(console: Console, userid: str) -> str:
    return console.sim.state.users[userid].name


def test_each_role_sees_its_todos_with_links(console: Console) -> None:
    departure_id = _start_departure(console, console.seller(0, 1))
    _add_alert(console, console.seller(0, 0), 1)
    _add_alert(console, console.seller(1, 0), 2)
    _add_hit(console, 2, "msg-2")
    _add_hit(console, 72, "msg-3")
    link = f'href="/console/departures/{departure_id}"'

    _, manager = _signed_in(console, console.manager())
    approvals = _section(manager, "approvals")
    assert "待我审批的离职交接" in approvals and link in approvals and _name(console, console.seller(0, 1)) in approvals
    risk = _section(manager, "risk")  # their team's cases only, linked to the member's KPI figures
    assert _name(console, console.seller(0, 0)) in risk and _name(console, console.seller(1, 0)) not in risk
    assert f"/console/kpis?member={console.seller(0, 0)}" in risk
    team = _section(manager, "overdue_team")
    assert "A-10" in team and "A-45" in team and "B-75" not in team and "¥2,000.00" in team
    assert 'href="/console/receivables#overdue-list"' in team
    assert not _section(manager, "watch_hits") and not _section(manager, "departures")

    _, finance = _signed_in(console, console.seed.finance)
    signoffs = _section(finance, "signoffs")
    assert "待我签字的交接清单" in signoffs and link in signoffs and "待您签字" in signoffs
    assert "B-120" in _section(finance, "overdue_all") and "/console/receivables#collection-list" in _section(
        finance, "collections")
    assert not _section(finance, "approvals") and not _section(finance, "risk")

    _, hr = _signed_in(console, console.seed.hr)
    progress = _section(hr, "departures")
    assert "进行中的离职交接" in progress and link in progress and "待经理审批" in progress
    assert not _section(hr, "overdue_all") and not _section(hr, "risk")

    _, compliance = _signed_in(console, "compliance1")
    hits = _section(compliance, "watch_hits")
    assert "近 24 小时 1 条，近 7 天 2 条" in hits and 'href="/console/archive/watch"' in hits
    assert "/console/archive?context=msg-2" in hits
    assert "&lt;script&gt;返点&lt;/script&gt;" in hits and "&lt;b&gt;个人&lt;/b&gt;" in hits  # typed text, escaped
    assert "<script>返点" not in compliance and "<b>个人" not in compliance
    risk = _section(compliance, "risk")
    assert _name(console, console.seller(1, 0)) in risk and "/console/archive?sender=" in risk
    assert "&lt;i&gt;" not in risk  # the kind's label is shown, not the rule a member named

    seller, html = _signed_in(console, console.seller())
    own = _section(html, "overdue_own")
    assert "我的逾期应收" in own and "A-10" in own and "逾期 45 天" in own
    assert [s for s in ("approvals", "signoffs", "risk", "watch_hits", "departures") if _section(html, s)] == []

    data: Any = seller.get("/console/api/todo").json
    assert [s["key"] for s in data["sections"]] == ["overdue_own"]
    [section] = data["sections"]
    assert section["count"] == 2 and section["link"] == "/console/receivables#overdue-list"
    assert {line["link"] for line in section["lines"]} == {"/console/receivables#overdue-list"}


def test_a_role_with_nothing_to_do_sees_one_empty_state(console: Console) -> None:
    _, html = _signed_in(console, console.seller(1, 1))  # owns no receivable, nothing waits for them
    assert html.count("暂无待办事项") == 1 and 'class="card todo"' not in html
    assert 'href="/console/kpis"' in html  # the KPI page is always at hand
    client, _ = _signed_in(console, console.seed.hr)
    assert client.get("/console/api/todo").json == {"sections": []}
    assert console.client().get("/console/api/todo").status_code == 401


def test_compliance_opens_the_audit_page(console: Console) -> None:
    client, html = _signed_in(console, "compliance1")
    assert 'href="/console/archive/audit"' in _menu(html)
    assert client.get("/console/archive/audit").status_code == 200
    assert client.get("/api/v1/audit").status_code == 200


def test_menus_only_where_the_role_has_content(console: Console) -> None:
    _, finance = _signed_in(console, console.seed.finance)  # leads 财务部, where nobody else is
    menu = _menu(finance)
    assert "/console/receivables" in menu
    assert "/console/customers" not in menu and "/console/departures" not in menu and "/console/kpis" not in menu
    assert "经理" not in finance.split('class="who"')[1].split("</span>")[0]
    _, manager = _signed_in(console, console.manager())
    assert all(p in _menu(manager) for p in ("/console/customers", "/console/departures", "/console/receivables",
                                             "/console/kpis"))
    _, hr = _signed_in(console, console.seed.hr)
    assert "/console/departures" in _menu(hr) and "/console/customers" in _menu(hr)
    assert "/console/receivables" not in _menu(hr)
    _, seller = _signed_in(console, console.seller())
    assert "/console/departures" not in _menu(seller) and "/console/customers" in _menu(seller)


@pytest.mark.browser
def test_a_manager_goes_from_the_home_page_to_the_approval(browser: Any, live: Live) -> None:  # noqa: F811
    console = live.console
    departure_id = _start_departure(console, console.seller(1, 1))
    for device, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = login(browser, live, console.manager(1), "/console/", device)
        section = page.locator("#todo-approvals")
        assert "待我审批的离职交接" in section.inner_text() and page.locator("#todo-overdue_team").count() == 1
        shot(page, f"home-manager-{name}")
        section.locator(f'a[href="/console/departures/{departure_id}"]').first.click()
        page.wait_for_url(f"**/console/departures/{departure_id}")
        page.context.close()
