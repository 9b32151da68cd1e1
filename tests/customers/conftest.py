"""A seeded corp in the simulator, its directory synced into the test database, and helpers.

The seeded company (seed_company): 销售一部/二部/三部 (departments 2-4), each with a leader and
salespeople; 人力资源部 and 财务部 with one member each. COMPLIANCE and ADMIN are extra members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from storage.customers import Customer, CustomerChange, CustomerFollow
from storage.db import Database, utcnow
from tests.helpers import SeededCorp, closing_each, make_env
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.simulator.models import User

COMPLIANCE, ADMIN = "compliance1", "admin1"


@dataclass
class Corp(SeededCorp):
    def follow(self, ext: str, userid: str) -> CustomerFollow | None:
        """The open relation, if any."""
        with self.env.runtime.db.session_scope() as s:
            return s.scalar(select(CustomerFollow).where(CustomerFollow.external_userid == ext,
                                                         CustomerFollow.userid == userid,
                                                         CustomerFollow.ended_at.is_(None)))

    def episodes(self, ext: str, userid: str | None = None) -> list[CustomerFollow]:
        with self.env.runtime.db.session_scope() as s:
            q = select(CustomerFollow).where(CustomerFollow.external_userid == ext).order_by(CustomerFollow.id)
            if userid:
                q = q.where(CustomerFollow.userid == userid)
            return list(s.scalars(q))

    def customer(self, ext: str) -> Customer | None:
        with self.env.runtime.db.session_scope() as s:
            return s.get(Customer, ext)

    def history(self, ext: str) -> list[CustomerChange]:
        with self.env.runtime.db.session_scope() as s:
            return list(s.scalars(select(CustomerChange).where(CustomerChange.external_userid == ext)
                                  .order_by(CustomerChange.id)))

    def messages_to(self, userid: str) -> list[str]:
        """Markdown contents WeCom accepted for ``userid``."""
        return [m["markdown"]["content"] for m in self.sim.sent_messages
                if userid in str(m.get("touser", "")).split("|") and m.get("msgtype") == "markdown"]


def pool_snapshot(db: Database) -> dict[str, Any]:
    """Everything that defines the pool's state, for comparing two runs."""
    with db.session_scope() as s:
        customers = sorted((c.external_userid, c.name, c.status, c.first_owner) for c in s.scalars(select(Customer)))
        follows = sorted((f.external_userid, f.userid, f.remark, f.end_reason, f.ended_at is None, f.half)
                         for f in s.scalars(select(CustomerFollow)))
    return {"customers": customers, "follows": follows}


def build_corp(db: Database, config: dict[str, Any] | None = None, customers_per_salesperson: int = 2,
               latency: float = 0.0) -> Corp:
    # The seed is deterministic: a simulator that is never started tells us the userids to give tokens to.
    probe = seed_company(Simulator(), customers_per_salesperson=customers_per_salesperson)
    users = (*probe.all_salespeople, *probe.managers.values(), probe.hr, probe.finance, COMPLIANCE, ADMIN)
    roles = {"compliance": [COMPLIANCE], "admin": [ADMIN], "hr": [probe.hr], "finance": [probe.finance]}
    env = make_env(db, config={"roles": roles, **(config or {})}, latency=latency, api_users=users)
    seed = seed_company(env.sim, customers_per_salesperson=customers_per_salesperson)
    assert seed.all_salespeople == probe.all_salespeople
    with env.sim.state.lock:
        for userid in (COMPLIANCE, ADMIN):
            env.sim.state.add_user(User(userid, userid, [1]))
    with env.runtime.db.session_scope() as s:
        sync_directory(s, env.runtime.wecom("contact"), utcnow())
    return Corp(env, seed)


@pytest.fixture
def corp_factory(db: Database) -> Iterator[Callable[..., Corp]]:
    with closing_each(lambda **kwargs: build_corp(db, **kwargs)) as make:
        yield make


@pytest.fixture
def corp(corp_factory: Callable[..., Corp]) -> Corp:
    return corp_factory()
