"""The follow-up page: WeCom OAuth through the simulator, CSRF, and the note reaching the manager."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from storage.db import Database
from tests.helpers import FAST_RETRY, base_config, merge
from tests.receivables.conftest import ENV_CONFIG, NOW, SH, item, load
from wecom_hr.app import create_app
from wecom_hr.config import settings_from_mapping
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job


@pytest.fixture
def web(env: Any) -> Any:
    """The app again, with [web] oauth_authorize_url pointing at the simulator's login page."""
    raw = merge(base_config(env.sim.base_url, env.runtime.db.url, **ENV_CONFIG),
                {"web": {"oauth_authorize_url": env.sim.oauth_authorize_url}})  # in the WeCom client (login())
    runtime = Runtime(settings_from_mapping(raw, environ={}), db=env.runtime.db, retry=FAST_RETRY)
    app = create_app(runtime.settings, runtime)
    app.testing = True
    return app.test_client()


def login(sim: Any, client: Any, path: str, userid: str) -> Any:
    first = client.get(path, headers={"User-Agent": "Mozilla/5.0 (iPhone) wxwork/4.1.20"})  # a reminder's link
    assert first.status_code == 302
    authorize = first.headers["Location"]
    assert authorize.startswith(sim.oauth_authorize_url) and "scope=snsapi_base" in authorize
    # The member picks themselves on WeCom's page; WeCom redirects back with a code.
    back = requests.get(authorize.split("#")[0] + f"&userid={userid}", allow_redirects=False, timeout=5)
    assert back.status_code == 302
    target = urlsplit(back.headers["Location"])
    assert target.path == "/receivables/oauth" and "code" in parse_qs(target.query)
    landed = client.get(f"{target.path}?{target.query}")
    assert landed.status_code == 302
    return client.get(landed.headers["Location"])


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_salesperson_records_a_followup_the_manager_sees_it(env: Any, web: Any) -> None:
    today = datetime.now(SH).date()
    load(env.runtime.db, item("F-1", 40, today=today), item("F-2", 35, owner="bob", today=today))
    page = login(env.sim, web, "/receivables/followup?order=F-1", "alice")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "单号 F-1" in html and "逾期账款（1 笔）" in html and "F-2" not in html
    # The console's look (its stylesheet, not an inline one the CSP would block), names and ¥ amounts.
    assert "/console/static/web/console.css?v=" in html and "<style>" not in html
    assert "¥1,000.00" in html and "CNY" not in html and "李丽" in html
    assert '<ul class="cards">' in html and "<table" not in html  # cards on a phone, no squeezed columns
    form = {"order": "F-1", "note": "客户财务在走流程", "promised_on": "2026-05-10"}
    assert web.post("/receivables/followup", data=form).status_code == 403  # no CSRF token
    saved = web.post("/receivables/followup", data={**form, "csrf": csrf_of(html)})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("order=F-1&saved=1")
    shown = web.get(saved.headers["Location"]).get_data(as_text=True)
    assert "跟进说明已保存" in shown and "客户财务在走流程（承诺 2026-05-10 付款）" in shown
    assert "2026" in shown and "· 李丽</small>" in shown and "· alice<" not in shown  # the author by name
    assert web.get("/receivables/followup?order=F-2").status_code == 404  # bob's
    bad = web.post("/receivables/followup", data={**form, "promised_on": "明天", "csrf": csrf_of(shown)})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)

    # At 60 days the manager's digest carries the explanation.
    later = datetime.combine(today + timedelta(days=20), NOW.timetz())
    run_job(env.runtime, "overdue-reminders", later)
    manager = [b["markdown"]["content"] for b in env.sim.sent_messages if b["touser"] == "mgr"]
    assert len(manager) == 1 and "跟进：客户财务在走流程（承诺 2026-05-10 付款）" in manager[0]
    api = env.api("GET", "/api/v1/receivables?overdue=true", "mgr").json["items"]
    assert next(r for r in api if r["order_no"] == "F-1")["followup"]["note"] == "客户财务在走流程"


def test_login_refuses_a_replayed_or_forged_state(env: Any, web: Any) -> None:
    first = web.get("/receivables/followup")
    assert first.status_code == 302
    code = env.sim.oauth_code_for("alice")
    assert web.get(f"/receivables/oauth?code={code}&state=forged").status_code == 403
    assert web.get("/receivables/followup").status_code == 302  # still not logged in
    assert web.post("/receivables/followup", data={"order": "x", "note": "y"}).status_code == 401


def test_next_is_only_a_local_path(env: Any, web: Any, rdb: Database) -> None:
    from wecom_hr.receivables.weblogin import safe_next

    assert safe_next("//evil.example/x") == "/receivables/followup"
    assert safe_next("https://evil.example") == "/receivables/followup"
    assert safe_next("/receivables/followup?order=A") == "/receivables/followup?order=A"


def test_customer_shows_with_company_and_big_amounts_grouped(env: Any, web: Any) -> None:
    from storage.customers import Customer
    from storage.db import utcnow

    today = datetime.now(SH).date()
    with env.runtime.db.session_scope() as s:
        now = utcnow()
        s.add(Customer(external_userid="wmCUST1", name="张总", corp_name="华东贸易", created_at=now,
                       first_seen_at=now, updated_at=now))
    load(env.runtime.db, item("F-9", 50, amount="12800.00", customer="张总", external="wmCUST1", today=today))
    html = login(env.sim, web, "/receivables/followup?order=F-9", "alice").get_data(as_text=True)
    assert "张总（华东贸易）" in html and "¥12,800.00" in html
    assert "待补跟进说明" in html  # 50 days overdue, no 跟进说明 yet
