from __future__ import annotations

import re
import time

from wecom_hr.simulator import Simulator, seed_bulk, seed_company


def test_seed_company_builds_a_realistic_sales_org_without_callbacks() -> None:
    sim = Simulator()
    seeded = seed_company(sim, departments=3, salespeople_per_department=4, customers_per_salesperson=5)
    names = [sim.state.departments[d].name for d in seeded.departments]
    assert names == ["销售一部", "销售二部", "销售三部"]
    assert seeded.managers[2] == "zhangwei" and seeded.salespeople[2][0] == "lina"
    assert sim.state.users["lina"].name == "李娜" and sim.state.users["lina"].direct_leader == ["zhangwei"]
    assert sim.state.users["zhangwei"].is_leader_in_dept == [1]
    assert seeded.relations == 60 and len(sim.state.follows) == 60 and len(seeded.group_chats) == 12
    ext = seeded.customers["lina"][0]
    assert re.fullmatch(r"wm[A-Za-z0-9]{20}", ext)
    contact, follow = sim.state.external_contacts[ext], sim.state.follow("lina", ext)
    assert follow is not None and follow.remark.startswith(contact.name)
    assert follow.remark_corp_name.endswith("有限公司")
    assert seeded.hr and seeded.finance and sim.deliveries == []
    again = seed_company(Simulator(), departments=3, salespeople_per_department=4, customers_per_salesperson=5)
    assert again.customers == seeded.customers  # same rng_seed, same corp


def test_seed_bulk_is_fast_enough_for_benchmarks() -> None:
    sim = Simulator()
    started = time.monotonic()
    seeded = seed_bulk(sim, members=500, customers_per_member=200)
    assert time.monotonic() - started < 10  # ~1 s on a quiet machine; CI machines are shared
    assert seeded.relations == 100_000 and len(sim.state.follows) == 100_000
    assert len(seeded.all_salespeople) == 500 and seeded.all_salespeople[0].startswith("sales")
