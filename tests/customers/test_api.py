"""GET /api/v1/customers[/<id>] per role; core fields are read-only through the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers.conftest import ADMIN, COMPLIANCE, Corp
from wecom_hr.customers.resync import resync_customers

API = "/api/v1/customers"


@pytest.fixture
def pool(corp: Corp) -> Corp:
    resync_customers(corp.env.runtime)
    return corp


def get(corp: Corp, userid: str, path: str = API, **query: Any) -> Any:
    return corp.env.api("GET", path, userid, query_string=query)


def ids(res: Any) -> set[str]:
    assert res.status_code == 200, res.get_json()
    return {c["external_userid"] for c in res.get_json()["items"]}


def test_a_salesperson_sees_only_their_own_customers(pool: Corp) -> None:
    me, other = pool.seller(0, 0), pool.seller(0, 1)
    assert ids(get(pool, me)) == set(pool.seed.customers[me])
    mine, theirs = pool.seed.customers[me][0], pool.seed.customers[other][0]
    detail = get(pool, me, f"{API}/{mine}")
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["customer"]["external_userid"] == mine and body["relations"]["current"][0]["userid"] == me
    assert [h["kind"] for h in body["history"]] == ["customer_created", "relation_opened"]
    assert get(pool, me, f"{API}/{theirs}").status_code == 404
    assert get(pool, me, f"{API}/wmDoesNotExist").status_code == 404
    assert get(pool, me, owner=other).status_code == 403
    assert get(pool, me, department=pool.seed.departments[1]).status_code == 403


def test_a_manager_sees_the_department_including_deleted_customers(pool: Corp) -> None:
    manager, seller = pool.manager(0), pool.seller(0, 0)
    team = {e for s in pool.seed.salespeople[pool.seed.departments[0]] for e in pool.seed.customers[s]}
    assert ids(get(pool, manager, per_page=100)) == team
    deleted = pool.seed.customers[seller][0]
    pool.sim.scenario.member_deletes_customer(seller, deleted)
    pool.env.drain()
    res = get(pool, manager, f"{API}/{deleted}")
    assert res.status_code == 200 and res.get_json()["relations"]["past"][0]["end_reason"] == "member_deleted"
    assert ids(get(pool, manager, status="lost")) == {deleted}
    assert get(pool, seller, f"{API}/{deleted}").status_code == 404  # no longer theirs
    assert ids(get(pool, manager, owner=seller)) == set(pool.seed.customers[seller][1:])
    other_dept = pool.seed.customers[pool.seller(1, 0)][0]
    assert get(pool, manager, f"{API}/{other_dept}").status_code == 404
    assert get(pool, manager, department=pool.seed.departments[1]).status_code == 403


@pytest.mark.parametrize("role", ["compliance", "hr", "admin"])
def test_compliance_hr_and_admin_see_everything(pool: Corp, role: str) -> None:
    userid = {"compliance": COMPLIANCE, "admin": ADMIN, "hr": pool.seed.hr}[role]
    first = get(pool, userid, per_page=10).get_json()
    assert first["total"] == pool.seed.relations and len(first["items"]) == 10
    everything = ids(get(pool, userid, per_page=100))
    assert everything == {e for exts in pool.seed.customers.values() for e in exts}
    dept = pool.seed.departments[2]
    in_dept = {e for s in pool.seed.salespeople[dept] for e in pool.seed.customers[s]}
    assert ids(get(pool, userid, department=dept, per_page=100)) == in_dept


def test_others_see_nothing(pool: Corp) -> None:
    finance = pool.seed.finance  # leads 财务部, which follows no customers; no pool role
    assert ids(get(pool, finance)) == set()
    assert get(pool, finance, f"{API}/{pool.seed.customers[pool.seller()][0]}").status_code == 404
    assert pool.env.client.get(API).status_code == 401
    assert pool.env.client.get(API, headers={"Authorization": "Bearer not-a-token-at-all"}).status_code == 401


def test_search_and_filters(pool: Corp) -> None:
    me = pool.seller(1, 1)
    ext = pool.seed.customers[me][0]
    customer = pool.customer(ext)
    follow = pool.follow(ext, me)
    assert customer is not None and follow is not None
    assert ext in ids(get(pool, COMPLIANCE, q=customer.name))
    assert ext in ids(get(pool, COMPLIANCE, q=follow.remark.split("-")[0]))
    assert get(pool, COMPLIANCE, status="gone").status_code == 400
    assert get(pool, COMPLIANCE, page="zero").status_code == 400


def test_core_fields_cannot_be_changed_through_the_api(pool: Corp) -> None:
    me = pool.seller()
    ext = pool.seed.customers[me][0]
    for body in ({"name": "改名"}, {"first_owner": me}, {"created_at": "2020-01-01"}, {"corp_name": "x", "note": "y"}):
        res = pool.env.api("PATCH", f"{API}/{ext}", me, json=body)
        assert res.status_code == 403, body
    res = pool.env.api("PATCH", f"{API}/{ext}", ADMIN, json={"name": "改名"})
    assert res.status_code == 403
    res = pool.env.api("PATCH", f"{API}/{ext}", me, json={"note": "下周回访"})
    assert res.status_code == 200 and res.get_json()["customer"]["note"] == "下周回访"
    change = pool.history(ext)[-1]
    assert (change.kind, change.source, change.actor) == ("note_updated", "api", me)
    other = pool.seller(1, 0)
    assert pool.env.api("PATCH", f"{API}/{ext}", other, json={"note": "x"}).status_code == 404
    customer = pool.customer(ext)
    assert customer is not None and customer.first_owner == me


def test_a_shared_customer_shows_a_salesperson_only_their_own_remarks(pool: Corp) -> None:
    """Issue 16 row 12: what a colleague wrote on their relation (remark, description, mobile) is theirs."""
    me, colleague = pool.seller(0, 0), pool.seller(1, 0)
    shared = pool.seed.customers[me][0]
    pool.sim.scenario.add_customer(colleague, shared, "共享客户", remark="王总-私人", description="只和我谈价",
                                   remark_mobiles=["13900001111"])
    pool.env.drain()
    body = get(pool, me, f"{API}/{shared}").get_json()
    relations = {r["userid"]: r for r in body["relations"]["current"]}
    assert set(relations) == {me, colleague}
    theirs = relations[colleague]
    assert theirs["private"] is True and theirs["remark"] is None and theirs["remark_mobiles"] is None
    assert "13900001111" not in str(body) and "只和我谈价" not in str(body) and "王总-私人" not in str(body)
    assert relations[me].get("private") is None  # their own relation is whole
    full = get(pool, COMPLIANCE, f"{API}/{shared}").get_json()  # compliance sees everything
    assert "13900001111" in str(full) and "只和我谈价" in str(full)
