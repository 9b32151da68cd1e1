"""A seeded corp whose directory and customer pool are synced, plus helpers to drive a departure.

seed_company: 销售一部/二部/三部 (departments 2-4), each with a leader and four salespeople, each
salesperson with customers and one customer group chat; 人力资源部 (HR) and 财务部 (finance).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from storage import audit
from storage.db import Database, utcnow
from storage.departures import Departure, DepartureItem
from tests.helpers import SeededCorp, closing_each, make_env, merge
from tests.web.conftest import console  # noqa: F401  (the seeded console, for departure pages and APIs)
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.customers.resync import resync_customers
from wecom_hr.scheduler import run_job
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.simulator.models import ExternalContact, Follow, GroupChat, User

ADMIN = "admin1"


@dataclass
class Corp(SeededCorp):
    def sync_pool(self) -> None:
        with self.env.runtime.db.session_scope() as s:
            sync_directory(s, self.env.runtime.wecom("contact"), utcnow())
        resync_customers(self.env.runtime)

    def add_customers(self, userid: str, count: int, prefix: str = "wmBulk") -> list[str]:
        """More customers for ``userid`` straight into the simulated corp (then sync_pool)."""
        state, now = self.sim.state, self.sim.state.now()
        exts = [f"{prefix}{secrets.token_hex(6)}" for _ in range(count)]
        with state.lock:
            for i, ext in enumerate(exts):
                state.add_external_contact(ExternalContact(ext, f"客户{i:03d}"))
                state.add_follow(Follow(userid, ext, now - 86400 * (i + 1), remark=f"客户{i:03d}"))
        return exts

    def add_chats(self, owner: str, count: int) -> list[str]:
        with self.sim.state.lock:
            ids = [f"wrBulk{secrets.token_hex(6)}" for _ in range(count)]
            for chat_id in ids:
                self.sim.state.group_chats[chat_id] = GroupChat(chat_id, "服务群", owner, self.sim.state.now())
        return ids

    def start(self, userid: str, successor: str | None = None, last_day: date | None = None,
              **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"userid": userid, "note": "测试交接", **extra}
        if successor:
            body["successor"] = successor
        if last_day:
            body["last_day"] = last_day.isoformat()
        res = self.env.api("POST", "/api/v1/departures", self.hr, json=body)
        assert res.status_code == 201, res.get_json()
        self.env.drain()
        return dict(res.get_json())

    def cards(self, departure_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sim.sent_messages if m.get("msgtype") == "template_card"
                and m["template_card"]["task_id"].startswith(f"dep-{departure_id}-")]

    def card(self, departure_id: int) -> dict[str, Any]:
        return dict(self.cards(departure_id)[-1]["template_card"])

    def approve(self, departure_id: int, by: str, successor: str | None = None) -> None:
        card = self.card(departure_id)
        if card["card_type"] == "button_interaction":
            self.sim.scenario.click_card(by, card["task_id"], "approve")
        else:
            chosen = successor or card["select_list"][1]["selected_id"]
            self.sim.scenario.click_card(by, card["task_id"], "submit",
                                         selected={"decision": ["approve"], "successor": [chosen]})
        self.env.drain()

    def run(self, job: str) -> dict[str, Any]:
        result = run_job(self.env.runtime, job)
        self.env.drain()
        return result

    def departure(self, departure_id: int) -> Departure:
        with self.env.runtime.db.session_scope() as s:
            dep = s.get(Departure, departure_id)
            assert dep is not None
            return dep

    def items(self, departure_id: int, kind: str = "customer") -> dict[str, DepartureItem]:
        with self.env.runtime.db.session_scope() as s:
            rows = s.scalars(select(DepartureItem).where(DepartureItem.departure_id == departure_id,
                                                         DepartureItem.kind == kind))
            return {r.ref: r for r in rows}

    def audit(self, action: str) -> list[audit.AuditEntry]:
        with self.env.runtime.db.session_scope() as s:
            return audit.entries(s, action=action, limit=1000)

    def messages_to(self, userid: str, kind: str = "markdown") -> list[str]:
        return [m[kind]["content"] for m in self.sim.sent_messages
                if userid in str(m.get("touser", "")).split("|") and m.get("msgtype") == kind]


def build_corp(db: Database, customers_per_salesperson: int = 3, config: dict[str, Any] | None = None,
               latency: float = 0.0) -> Corp:
    probe = seed_company(Simulator(), customers_per_salesperson=customers_per_salesperson)
    users = (*probe.all_salespeople, *probe.managers.values(), probe.hr, probe.finance, ADMIN)
    roles = {"hr": [probe.hr], "admin": [ADMIN], "finance": [probe.finance]}
    # The tests run the transfer job themselves unless they ask for transfers right after the approval.
    # No finance/HR sign-offs either: tests of the checklist (test_signoffs.py) configure their own steps.
    base = {"roles": roles, "departures": {"transfer_on_approval": False, "signoffs": []}}
    env = make_env(db, config=merge(base, config or {}), latency=latency, api_users=users)
    seed = seed_company(env.sim, customers_per_salesperson=customers_per_salesperson)
    with env.sim.state.lock:
        env.sim.state.add_user(User(ADMIN, "管理员", [1]))
    corp = Corp(env, seed)
    corp.sync_pool()
    return corp


@pytest.fixture
def corp_factory(db: Database) -> Iterator[Callable[..., Corp]]:
    with closing_each(lambda **kwargs: build_corp(db, **kwargs)) as make:
        yield make


@pytest.fixture
def corp(corp_factory: Callable[..., Corp]) -> Corp:
    return corp_factory()
