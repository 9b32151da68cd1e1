from __future__ import annotations

from typing import Any

from tests.simulator.conftest import Api
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.simulator.models import Follow


def _all_batch_pages(api: Api, userids: list[str], limit: int) -> tuple[list[dict[str, Any]], int]:
    items, cursor, pages = [], "", 0
    while True:
        reply = api.post("externalcontact/batch/get_by_user",
                         {"userid_list": userids, "cursor": cursor, "limit": limit})
        assert reply["errcode"] == 0, reply
        items += reply["external_contact_list"]
        pages += 1
        cursor = reply["next_cursor"]
        if not cursor:
            return items, pages


def test_batch_get_by_user_pages_across_members_in_a_stable_order(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=3, customers_per_salesperson=5)
    sellers = seeded.all_salespeople
    items, pages = _all_batch_pages(api, sellers, limit=4)
    assert pages == 4  # 15 relations in pages of 4
    got = [(i["follow_info"]["userid"], i["external_contact"]["external_userid"]) for i in items]
    assert got == [(u, e) for u in sellers for e in seeded.customers[u]]
    first = items[0]
    assert set(first["follow_info"]) >= {"userid", "remark", "description", "createtime", "tag_id",
                                         "remark_mobiles", "add_way", "oper_userid"}
    assert _all_batch_pages(api, sellers, limit=100) == (items, 1)


def test_batch_get_by_user_rejects_legacy_and_oversized_requests(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1)
    assert api.post("externalcontact/batch/get_by_user", {"userid": "lina"})["errcode"] == 40058
    too_many = {"userid_list": [f"u{i}" for i in range(101)]}
    assert api.post("externalcontact/batch/get_by_user", too_many)["errcode"] == 40058
    assert api.post("externalcontact/batch/get_by_user",
                    {"userid_list": ["lina"], "limit": 101})["errcode"] == 40058
    assert api.post("externalcontact/batch/get_by_user", {"userid_list": ["ghost"]})["errcode"] == 60111
    assert api.post("externalcontact/batch/get_by_user",
                    {"userid_list": ["lina"], "cursor": "garbage!"})["errcode"] == 40058


def test_externalcontact_get_pages_follow_users(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=4, customers_per_salesperson=1)
    ext = seeded.customers["lina"][0]
    for userid in ["zhangwei", "wangfang", "liuyang", "chenjing"]:
        sim.state.add_follow(Follow(userid, ext, 1_700_000_000, remark="共同跟进"))
    sim.state.follow_page_size = 2
    followers, cursor = [], ""
    while True:
        reply = api.get("externalcontact/get", external_userid=ext, cursor=cursor)
        assert reply["errcode"] == 0 and len(reply["follow_user"]) <= 2
        assert reply["external_contact"]["external_userid"] == ext
        followers += [f["userid"] for f in reply["follow_user"]]
        cursor = reply["next_cursor"]
        if not cursor:
            break
    assert followers == ["lina", "zhangwei", "wangfang", "liuyang", "chenjing"]
    assert api.get("externalcontact/get", external_userid="wmnobody")["errcode"] == 40096


def test_member_lists_and_the_84061_trap(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=3)
    assert api.get("externalcontact/list", userid="lina")["external_userid"] == seeded.customers["lina"]
    assert api.get("externalcontact/list", userid=seeded.managers[2])["errcode"] == 84061
    assert api.get("externalcontact/list", userid="ghost")["errcode"] == 60111
    assert "lina" in api.get("externalcontact/get_follow_user_list")["follow_user"]


def test_directory_endpoints(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=2, salespeople_per_department=2)
    depts = api.get("department/list")["department"]
    assert [d["name"] for d in depts][1:3] == ["销售一部", "销售二部"]
    assert depts[1]["department_leader"] == [seeded.managers[2]]
    manager = api.get("user/get", userid=seeded.managers[2])
    assert manager["is_leader_in_dept"] == [1] and manager["department"] == [2]
    in_dept = api.get("user/simplelist", department_id=2)["userlist"]
    assert {u["userid"] for u in in_dept} == {seeded.managers[2], *seeded.salespeople[2]}
    # fetch_child is ignored: only the department's own members (WECOM.md §6 Directory, doc 96260)
    assert api.get("user/list", department_id=1, fetch_child=1)["userlist"] == []
    assert api.get("user/list", department_id=1)["userlist"] == []
    assert api.get("user/get", userid="ghost")["errcode"] == 60111
    assert api.get("user/list", department_id=99)["errcode"] == 60123
