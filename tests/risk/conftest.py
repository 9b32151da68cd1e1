"""A seeded corp (see tests/customers/conftest.py) with its pool resynced, and chats fed to the risk
listener as the archive would: NewMessage objects built by wecom_hr.archive.messages.parse_message.

销售一部 (department 2): manager() and sellers seller(0, 0..3); 销售二部 (3) likewise. Each seller
owns customers_of(seller) (first adder)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from storage.archive_store import NewMessage, append_messages
from storage.db import Database, utcnow
from tests.helpers import SeededCorp, closing_each, make_env
from wecom_hr.archive.messages import parse_message
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.customers.resync import resync_customers
from wecom_hr.dispatch import HandlerContext
from wecom_hr.risk.detectors import on_messages_archived
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.simulator.models import User

COMPLIANCE, ADMIN = "compliance1", "admin1"
_ids = itertools.count(1)


def chat(sender: str, to: str, text: str = "", at: datetime | None = None, msgtype: str = "text",
         roomid: str = "") -> NewMessage:
    n = next(_ids)
    when = at or utcnow()
    raw: dict[str, Any] = {"msgid": f"risk-msg-{n}", "action": "send", "from": sender, "tolist": [to], "roomid": roomid,
                           "msgtime": int(when.timestamp() * 1000), "msgtype": msgtype}
    raw[msgtype] = {"content": text} if msgtype == "text" else {"sdkfileid": f"file-{n}", "md5sum": "0" * 32}
    return parse_message(json.dumps(raw, ensure_ascii=False), n)


@dataclass
class RiskCorp(SeededCorp):
    clock: datetime = field(default_factory=utcnow)

    def customers_of(self, seller: str) -> list[str]:
        return list(self.seed.customers[seller])

    def archive(self, *messages: NewMessage, now: datetime | None = None) -> None:
        """What the archive path does after appending: emit MESSAGES_ARCHIVED in its unit of work."""
        with self.env.runtime.db.session_scope() as s:
            append_messages(s, list(messages))
            on_messages_archived(HandlerContext(self.env.runtime, s, 0, now or utcnow()), list(messages))
        self.env.drain()

    def contacts(self, sender: str, customer: str, count: int) -> None:
        """``count`` one-to-one messages, a minute apart, each archived in its own pull."""
        for i in range(count):
            self.archive(chat(sender, customer, f"您好，第{i + 1}次跟进", self.clock + timedelta(minutes=i)))

    def alerts(self, userid: str, **query: str) -> list[dict[str, Any]]:
        res = self.env.api("GET", "/api/v1/risk/alerts", userid, query_string=query)
        assert res.status_code == 200, res.get_data(as_text=True)
        return list(res.get_json())

    def cards_to(self, userid: str) -> list[dict[str, Any]]:
        return [m["template_card"] for m in self.sim.sent_messages
                if m.get("msgtype") == "template_card" and userid in str(m.get("touser", "")).split("|")
                and m["template_card"].get("source", {}).get("desc") == "跑单预警"]


def build(db: Database, config: dict[str, Any] | None = None) -> RiskCorp:
    probe = seed_company(Simulator(), customers_per_salesperson=2)
    users = (*probe.all_salespeople, *probe.managers.values(), probe.hr, probe.finance, COMPLIANCE, ADMIN)
    roles = {"compliance": [COMPLIANCE], "admin": [ADMIN], "hr": [probe.hr], "finance": [probe.finance]}
    env = make_env(db, config={"roles": roles, **(config or {})}, api_users=users)
    seed = seed_company(env.sim, customers_per_salesperson=2)
    with env.sim.state.lock:
        for userid in (COMPLIANCE, ADMIN):
            env.sim.state.add_user(User(userid, userid, [1]))
    with env.runtime.db.session_scope() as s:
        sync_directory(s, env.runtime.wecom("contact"), utcnow())
    resync_customers(env.runtime)
    env.drain()
    return RiskCorp(env, seed)


@pytest.fixture
def corp_factory(db: Database) -> Iterator[Callable[..., RiskCorp]]:
    with closing_each(lambda **kwargs: build(db, **kwargs)) as make:
        yield make


@pytest.fixture
def corp(corp_factory: Callable[..., RiskCorp]) -> RiskCorp:
    return corp_factory()
