"""Fixtures for receivables: settings built from a dict, a small directory, helpers to load items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage import directory, outbox
from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.config import Settings, settings_from_mapping
from wecom_hr.receivables.ledger import parse_row, upsert_batch

SH = ZoneInfo("Asia/Shanghai")
# A Wednesday, at the default send time.
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=SH)
TODAY = NOW.date()


def make_settings(db_url: str, extra: dict[str, Any] | None = None,
                  api_base_url: str = "http://127.0.0.1:9") -> Settings:
    raw: dict[str, Any] = {
        "wecom": {"corp_id": TEST_CORP, "agent_id": 1000002, "secret": "app-secret", "token": TEST_TOKEN,
                  "encoding_aes_key": TEST_AES_KEY, "api_base_url": api_base_url},
        "database": {"url": db_url},
        "server": {"public_url": "http://hr.example.test"},
        "roles": {"finance": ["fin1"], "admin": ["boss"]},
        "api": {"tokens": [{"token": "finance-token-0123456789", "userid": "fin1"},
                           {"token": "sales-token-0123456789ab", "userid": "alice"},
                           {"token": "manager-token-0123456789", "userid": "mgr"},
                           {"token": "outsider-token-012345678", "userid": "carol"}]},
        "web": {"secret_key": "test-secret-key"},
    }
    for key, value in (extra or {}).items():
        raw.setdefault(key, {}).update(value)
    return settings_from_mapping(raw, environ={})


def seed_directory(db: Database) -> None:
    """Sales (dept 2, led by mgr) with alice and bob; carol in Support (dept 3); fin1 in Finance."""
    with db.session_scope() as s:
        directory.upsert_department(s, 1, "公司", None)
        directory.upsert_department(s, 2, "销售部", 1)
        directory.upsert_department(s, 3, "客服部", 1)
        directory.upsert_department(s, 4, "财务部", 1)
        directory.upsert_member(s, "mgr", name="王经理", departments=[2], leader_in=[1])
        directory.upsert_member(s, "alice", name="李丽", departments=[2], leader_in=[0])
        directory.upsert_member(s, "bob", name="赵博", departments=[2], leader_in=[0])
        directory.upsert_member(s, "carol", name="陈晨", departments=[3], leader_in=[0])
        directory.upsert_member(s, "fin1", name="钱财", departments=[4], leader_in=[0])


def item(order_no: str, days_overdue: int, *, owner: str = "alice", amount: str = "1000.00",
         paid: str | None = None, customer: str = "", external: str = "", today: date = TODAY) -> dict[str, Any]:
    return {"order_no": order_no, "external_userid": external, "customer_name": customer or f"客户{order_no}",
            "salesperson": owner, "amount": amount, "currency": "", "issued_on": "",
            "due_on": (today - timedelta(days=days_overdue)).isoformat(), "paid_amount": paid or ""}


def load(db: Database, *rows: dict[str, Any]) -> None:
    with db.session_scope() as s:
        upsert_batch(s, [parse_row(r) for r in rows])


def queued(db: Database) -> list[outbox.OutboxMessage]:
    with db.session_scope() as s:
        return list(s.scalars(select(outbox.OutboxMessage).order_by(outbox.OutboxMessage.id)))


def by_user(db: Database) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in queued(db):
        out.setdefault(m.touser, []).append(m.payload["markdown"]["content"])
    return out


PEOPLE = [("mgr", "王经理", 2, 1), ("alice", "李丽", 2, 0), ("bob", "赵博", 2, 0), ("carol", "陈晨", 3, 0),
          ("fin1", "钱财", 4, 0)]


def mirror_in_simulator(sim: Any) -> None:
    """The same people in the simulated corp, so message/send accepts them as members."""
    from wecom_hr.simulator.models import Department, User

    with sim.state.lock:
        for dept_id, name in ((2, "销售部"), (3, "客服部"), (4, "财务部")):
            sim.state.add_department(Department(dept_id, name, 1, dept_id))
        for userid, name, dept, leader in PEOPLE:
            sim.state.add_user(User(userid, name, [dept], [leader]))


ENV_CONFIG: dict[str, Any] = {
    "server": {"public_url": "http://hr.example.test"},
    "roles": {"finance": ["fin1"], "admin": ["boss"]},
    "web": {"secret_key": "test-secret-key"},
}


@pytest.fixture
def env(rdb: Database) -> Iterator[Any]:
    """Simulator + app + runtime on the test database, with the seeded directory on both sides."""
    from tests.helpers import make_env

    e = make_env(rdb, config=ENV_CONFIG, api_users=("fin1", "alice", "bob", "mgr", "carol", "boss"))
    mirror_in_simulator(e.sim)
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def rdb(db: Database) -> Iterator[Database]:
    seed_directory(db)
    yield db


@pytest.fixture
def loader(rdb: Database) -> Callable[..., None]:
    return lambda *rows: load(rdb, *rows)
