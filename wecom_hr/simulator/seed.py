"""Seeded corps: a realistic small company for tests and the demo, a large one for benchmarks.

Seeding writes state directly and sends no callbacks (the corp existed before the app did).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wecom_hr.simulator import names
from wecom_hr.simulator.models import ChatMember, Department, ExternalContact, Follow, GroupChat, Tag, User
from wecom_hr.simulator.state import CorpState

if TYPE_CHECKING:
    from wecom_hr.simulator.simulator import Simulator

DAY = 86400
ADD_WAYS = [1, 2, 3, 5, 201]  # QR code, mobile search, card share, contacts, contact way


@dataclass
class SeedResult:
    company: str
    departments: list[int] = field(default_factory=list)          # the sales departments
    managers: dict[int, str] = field(default_factory=dict)         # department id -> leader
    salespeople: dict[int, list[str]] = field(default_factory=dict)  # department id -> members
    customers: dict[str, list[str]] = field(default_factory=dict)  # member -> external_userids
    group_chats: list[str] = field(default_factory=list)
    hr: str = ""
    finance: str = ""

    @property
    def all_salespeople(self) -> list[str]:
        return [u for members in self.salespeople.values() for u in members]

    @property
    def relations(self) -> int:
        return sum(len(c) for c in self.customers.values())


def seed_company(sim: Simulator, departments: int = 3, salespeople_per_department: int = 4,
                 customers_per_salesperson: int = 5, rng_seed: int = 1) -> SeedResult:
    """销售一部…: each with a manager (leader) and salespeople, each salesperson with customers
    and one customer group chat; plus 人力资源部 and 财务部 with one member each."""
    rng = random.Random(rng_seed)
    state, people = sim.state, names.people(rng)
    with state.lock:
        result = SeedResult(_name_root(state, rng))
        for index in range(departments):
            dept = state.add_department(Department(index + 2, names.sales_department_name(index), 1, index + 1))
            result.departments.append(dept.id)
            manager = _member(state, people, rng, dept.id, "销售经理", leader=True)
            result.managers[dept.id] = manager.userid
            result.salespeople[dept.id] = []
            for _ in range(salespeople_per_department):
                seller = _member(state, people, rng, dept.id, "销售代表", boss=manager.userid)
                result.salespeople[dept.id].append(seller.userid)
                owned = [_customer(state, rng, seller.userid) for _ in range(customers_per_salesperson)]
                result.customers[seller.userid] = owned
                if owned:
                    result.group_chats.append(_group_chat(state, rng, seller.userid, manager.userid, owned))
        result.hr = _support_member(state, people, rng, departments + 2, "人力资源部", "HRBP")
        result.finance = _support_member(state, people, rng, departments + 3, "财务部", "财务经理")
    return result


def seed_bulk(sim: Simulator, members: int = 500, customers_per_member: int = 200, departments: int = 10,
              rng_seed: int = 1) -> SeedResult:
    """A large corp for benchmarks (500 x 200 = 100,000 relations in about a second).
    Members are ``sales0001``…; no group chats, mobiles or tags, to stay fast."""
    rng = random.Random(rng_seed)
    state, people, now = sim.state, names.people(rng), sim.state.now()
    with state.lock, _collector_paused():
        result = SeedResult(_name_root(state, rng))
        for index in range(departments):
            state.add_department(Department(index + 2, names.sales_department_name(index), 1, index + 1))
            result.departments.append(index + 2)
            result.salespeople[index + 2] = []
        for number in range(members):
            dept_id = result.departments[number % departments]
            userid = f"sales{number + 1:04d}"
            state.add_user(User(userid, next(people)[0], [dept_id], position="销售代表"))
            result.salespeople[dept_id].append(userid)
            result.customers[userid] = [_bulk_customer(state, rng, userid, now)
                                        for _ in range(customers_per_member)]
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """200,000 new objects would trigger many useless GC passes (none of them is garbage)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _name_root(state: CorpState, rng: random.Random) -> str:
    short, _ = names.company(rng)
    state.departments[1].name = f"{short}有限公司"
    return state.departments[1].name


def _member(state: CorpState, people: Iterator[tuple[str, str, str]], rng: random.Random, dept_id: int,
            position: str, leader: bool = False, boss: str = "") -> User:
    name, userid, gender = next(people)
    return state.add_user(User(userid, name, [dept_id], [1 if leader else 0], position=position,
                               mobile=names.mobile(rng), gender=gender, email=f"{userid}@example.com",
                               direct_leader=[boss] if boss else []))


def _support_member(state: CorpState, people: Iterator[tuple[str, str, str]], rng: random.Random,
                    dept_id: int, dept_name: str, position: str) -> str:
    state.add_department(Department(dept_id, dept_name, 1, dept_id))
    return _member(state, people, rng, dept_id, position, leader=True).userid


def _customer(state: CorpState, rng: random.Random, userid: str) -> str:
    """Half are WeCom users (type 2, corp_name set); the rest WeChat users with a remark company."""
    short, full = names.company(rng)
    name, ext = names.customer_name(rng), names.random_id(rng, "wm")
    wecom_user = rng.random() < 0.5
    state.add_external_contact(ExternalContact(ext, name, 2 if wecom_user else 1,
                                               corp_name=short if wecom_user else "",
                                               corp_full_name=full if wecom_user else "",
                                               gender=rng.choice([1, 2])))
    tag_id, tag_name = rng.choice(names.TAGS)
    state.add_follow(Follow(userid, ext, state.now() - rng.randrange(1, 365) * DAY, remark=f"{name}-{short}",
                            remark_corp_name=full, remark_mobiles=[names.mobile(rng)],
                            tags=[Tag(tag_id, tag_name)], add_way=rng.choice(ADD_WAYS)))
    return ext


def _bulk_customer(state: CorpState, rng: random.Random, userid: str, now: int) -> str:
    ext = names.random_id(rng, "wm")
    state.add_external_contact(ExternalContact(ext, names.customer_name(rng)))
    state.add_follow(Follow(userid, ext, now - rng.randrange(1, 365) * DAY))
    return ext


def _group_chat(state: CorpState, rng: random.Random, owner: str, manager: str, customers: list[str]) -> str:
    chat_id, created = names.random_id(rng, "wr"), state.now() - rng.randrange(30, 365) * DAY
    corp = state.follows[(owner, customers[0])].remark.split("-")[-1]
    members = [ChatMember(owner, 1, created, 1), ChatMember(manager, 1, created, 1, owner)]
    members += [ChatMember(ext, 2, created + DAY, 3, owner) for ext in customers[:3]]
    state.group_chats[chat_id] = GroupChat(chat_id, f"{corp} 服务群", owner, created, members)
    return chat_id
