"""A seeded company for the console: directory, customer pool (with one churn), receivables in every
aging bucket, a collection task with its letter, and archived chats mentioning 返点.

The console app is built with [web] oauth_authorize_url and sso_login_url pointing at the simulator,
so logging in is WeCom's real redirect dance, played by the simulator. Test clients say they are the
WeCom client (OAuth2) unless a test asks for a desktop browser (Web login, QR scan).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from storage.archive_store import append_messages
from storage.db import Database, utcnow
from tests.helpers import FAST_RETRY, WecomEnv, base_config, make_env, merge
from wecom_hr.app import create_app
from wecom_hr.archive.messages import parse_message
from wecom_hr.config import settings_from_mapping
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.customers.resync import resync_customers
from wecom_hr.receivables.ledger import parse_row, upsert_batch
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job
from wecom_hr.simulator import SeedResult, Simulator, seed_company
from wecom_hr.simulator.models import User
from wecom_hr.simulator.oauth import SSO_PATH

SH = ZoneInfo("Asia/Shanghai")
COMPLIANCE, ADMIN = "compliance1", "admin1"
SECRET_KEY = "console-test-secret-key"
# Outstanding per aging bucket in the seeded ledger (see seed_receivables).
BUCKET_TOTALS = {"0-30": "1000.00", "30-60": "2000.00", "60-90": "3000.00", "90+": "3500.00"}
WECOM_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 wxwork/4.1.0 MicroMessenger/7.0.1 Language/zh ColorScheme/Light")
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/126.0.0.0 Safari/537.36")


@dataclass
class Console:
    env: WecomEnv
    seed: SeedResult
    app: Flask
    runtime: Runtime

    @property
    def sim(self) -> Simulator:
        return self.env.sim

    def seller(self, dept: int = 0, n: int = 0) -> str:
        return self.seed.salespeople[self.seed.departments[dept]][n]

    def manager(self, dept: int = 0) -> str:
        return self.seed.managers[self.seed.departments[dept]]

    def client(self, user_agent: str = WECOM_UA) -> FlaskClient:
        """A browser inside the WeCom client, unless given another User-Agent (e.g. CHROME_UA)."""
        made = self.app.test_client()
        made.environ_base["HTTP_USER_AGENT"] = user_agent
        return made

    def login(self, client: FlaskClient, userid: str, path: str = "/console/", desktop: bool = False) -> Any:
        """The whole WeCom redirect through the simulator; returns the landing page. Inside the WeCom
        client that is OAuth2; ``desktop`` (a Chrome User-Agent) goes through the Web login (QR scan)."""
        first = client.get(path)
        assert first.status_code == 302 and first.headers["Location"].startswith("/login?next=")
        to_wecom = client.get(first.headers["Location"], headers={"User-Agent": CHROME_UA} if desktop else {})
        authorize = to_wecom.headers["Location"]
        if desktop:
            assert authorize.startswith(self.sim.sso_login_url + "?") and "login_type=CorpApp" in authorize
        else:
            assert authorize.startswith(self.sim.oauth_authorize_url) and "scope=snsapi_base" in authorize
        back = requests.get(authorize.split("#")[0] + f"&userid={userid}", allow_redirects=False, timeout=5)
        target = urlsplit(back.headers["Location"])
        assert target.path == "/oauth/callback" and "code" in parse_qs(target.query)
        landed = client.get(f"{target.path}?{target.query}")
        assert landed.status_code == 302, landed.get_data(as_text=True)
        return client.get(landed.headers["Location"])

    def users(self) -> dict[str, str]:
        return {"compliance": COMPLIANCE, "admin": ADMIN, "hr": self.seed.hr, "finance": self.seed.finance,
                "manager": self.manager(), "salesperson": self.seller()}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "page has no CSRF meta tag"
    return found.group(1)


def console_config(sim_base_url: str, db_url: str, oauth_url: str, public_url: str, hr: str,
                   finance: str, sso_url: str = "") -> dict[str, Any]:
    """``sso_url`` defaults to the Web login page of the simulator that serves ``oauth_url``."""
    roles = {"compliance": [COMPLIANCE], "admin": [ADMIN], "hr": [hr], "finance": [finance]}
    return merge(base_config(sim_base_url, db_url), {
        "roles": roles, "server": {"public_url": public_url},
        # Every test logs in from 127.0.0.1, many times a minute; test_security checks the default limit.
        "web": {"secret_key": SECRET_KEY, "oauth_authorize_url": oauth_url,
                "sso_login_url": sso_url or urljoin(oauth_url, SSO_PATH), "login_attempts_per_minute": 10000}})


def console_app(env: WecomEnv, seed: SeedResult, public_url: str = "http://console.test") -> tuple[Flask, Runtime]:
    raw = console_config(env.sim.base_url, env.runtime.db.url, env.sim.oauth_authorize_url, public_url,
                         seed.hr, seed.finance, env.sim.sso_login_url)
    runtime = Runtime(settings_from_mapping(raw, environ={}), db=env.runtime.db, retry=FAST_RETRY)
    app = create_app(runtime.settings, runtime)
    app.testing = True
    return app, runtime


def seed_receivables(env: WecomEnv, seed: SeedResult) -> None:
    today = datetime.now(SH).date()
    first = seed.salespeople[seed.departments[0]]
    second = seed.salespeople[seed.departments[1]]
    customers = {u: seed.customers[u] for u in (*first, *second)}

    def row(order: str, owner: str, days: int, amount: str, paid: str = "") -> dict[str, Any]:
        return {"order_no": order, "external_userid": customers[owner][0], "customer_name": f"客户{order}",
                "salesperson": owner, "amount": amount, "currency": "", "issued_on": "",
                "due_on": (today - timedelta(days=days)).isoformat(), "paid_amount": paid}

    rows = [row("A-10", first[0], 10, "1000.00"), row("A-45", first[0], 45, "2000.00"),
            row("B-75", second[0], 75, "3000.00"), row("B-120", second[0], 120, "4000.00", "500.00"),
            row("A-0", first[1], -5, "9000.00")]  # not yet due: in no bucket
    with env.runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row(r) for r in rows])
    # The 90-day tier opens a collection task and drafts its 追款函.
    run_job(env.runtime, "overdue-reminders", datetime.combine(today, datetime.min.time(), SH) + timedelta(hours=10))


def seed_archive(env: WecomEnv, seed: SeedResult) -> None:
    seller = seed.salespeople[seed.departments[0]][0]
    customer = seed.customers[seller][0]
    base = int((utcnow() - timedelta(days=3)).timestamp() * 1000)
    lines = [(seller, "您好，关于这批货的报价我发您"), (customer, "价格能不能再低一点？"),
             (seller, "可以给您申请 3% 返点，走公司合同"), (customer, "返点能直接打到我个人账户吗"),
             (seller, "这个不行，只能开票"), (customer, "好的<b>明白</b>")]
    messages = []
    for i, (sender, text) in enumerate(lines):
        to = [customer] if sender == seller else [seller]
        raw = {"msgid": f"msg-{i}", "action": "send", "from": sender, "tolist": to, "roomid": "",
               "msgtime": base + i * 60_000 + (86_400_000 if i >= 4 else 0), "msgtype": "text",
               "text": {"content": text}}
        messages.append(parse_message(json.dumps(raw, ensure_ascii=False), i + 1))
    with env.runtime.db.session_scope() as s:
        append_messages(s, messages)


def build_console(db: Database, public_url: str = "http://console.test") -> Console:
    env = make_env(db)
    seed = seed_company(env.sim, departments=2, salespeople_per_department=2, customers_per_salesperson=2)
    with env.sim.state.lock:
        for userid, name in ((COMPLIANCE, "合规官"), (ADMIN, "管理员")):
            env.sim.state.add_user(User(userid, name, [1]))
    with env.runtime.db.session_scope() as s:
        sync_directory(s, env.runtime.wecom("contact"), utcnow())
    resync_customers(env.runtime)
    churned = seed.salespeople[seed.departments[0]][0]
    env.sim.scenario.customer_deletes_member(churned, seed.customers[churned][1])
    env.drain()
    seed_receivables(env, seed)
    seed_archive(env, seed)
    env.drain()
    app, runtime = console_app(env, seed, public_url)
    return Console(env, seed, app, runtime)


@pytest.fixture
def console(db: Database) -> Iterator[Console]:
    made = build_console(db)
    try:
        yield made
    finally:
        made.runtime.close()
        made.env.close()
