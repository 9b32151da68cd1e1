from __future__ import annotations

from typing import Any

from tests.simulator.conftest import Api
from wecom_hr.simulator import Simulator, seed_company


def _transfer(api: Api, handover: str, takeover: str, customers: list[str], resigned: bool = False) -> dict[str, Any]:
    path = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
    return api.post(path, {"handover_userid": handover, "takeover_userid": takeover,
                           "external_userid": customers})


def _result(api: Api, handover: str, takeover: str, resigned: bool = False) -> dict[str, int]:
    path = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
    reply = api.post(path, {"handover_userid": handover, "takeover_userid": takeover})
    return {row["external_userid"]: row["status"] for row in reply["customer"]}


def test_onjob_transfer_reports_each_customer(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=3)
    mine, theirs = seeded.customers["lina"], seeded.customers["wangfang"]
    sim.set_transfer_error(mine[2], 40099)
    reply = _transfer(api, "lina", "wangfang", [mine[0], theirs[0], mine[2], "wmunknown"])
    assert reply["errcode"] == 0
    assert [c["errcode"] for c in reply["customer"]] == [0, 40131, 40099, 40096]
    assert [c["errcode"] for c in _transfer(api, "lina", "wangfang", [mine[0]])["customer"]] == [40129]
    assert _transfer(api, "lina", "lina", mine)["errcode"] == 40130
    assert _transfer(api, "lina", "wangfang", [f"wm{i}" for i in range(101)])["errcode"] == 40058
    assert _result(api, "lina", "wangfang") == {mine[0]: 2}


def test_completion_moves_the_relation_and_refusals_keep_it(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=3)
    mine = seeded.customers["lina"]
    _transfer(api, "lina", "wangfang", mine)
    finished = sim.complete_transfers(refuse={mine[1]}, at_limit={mine[2]})
    assert {t.external_userid: t.status for t in finished} == {mine[0]: 1, mine[1]: 3, mine[2]: 4}
    assert _result(api, "lina", "wangfang") == {mine[0]: 1, mine[1]: 3, mine[2]: 4}
    assert sim.state.follow("wangfang", mine[0]) is not None and sim.state.follow("lina", mine[0]) is None
    assert sim.state.follow("lina", mine[1]) is not None
    followers = api.get("externalcontact/get", external_userid=mine[0])["follow_user"]
    assert [f["userid"] for f in followers] == ["wangfang"]


def test_a_customer_moves_at_most_twice_in_90_days(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=3, customers_per_salesperson=1)
    ext = seeded.customers["lina"][0]
    for handover, takeover in [("lina", "wangfang"), ("wangfang", "liuyang")]:
        assert _transfer(api, handover, takeover, [ext])["customer"][0]["errcode"] == 0
        sim.complete_transfers()
    assert _transfer(api, "liuyang", "lina", [ext])["customer"][0]["errcode"] == 40128


def test_resigned_transfer_needs_a_member_who_left(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=2)
    mine = seeded.customers["lina"]
    assert _transfer(api, "lina", "wangfang", mine, resigned=True)["errcode"] == 40097
    sim.scenario.delete_user("lina")
    unassigned = api.post("externalcontact/get_unassigned_list", {"page_size": 100})
    assert [row["external_userid"] for row in unassigned["info"]] == mine and unassigned["is_last"]
    assert api.get("user/get", userid="lina")["errcode"] == 60111
    reply = _transfer(api, "lina", "wangfang", mine, resigned=True)
    assert [c["errcode"] for c in reply["customer"]] == [0, 0]
    assert api.post("externalcontact/get_unassigned_list", {})["info"] == []
    assert _result(api, "lina", "wangfang", resigned=True) == {mine[0]: 2, mine[1]: 2}
    assert _result(api, "lina", "wangfang") == {}


def test_group_chat_transfers(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=2)
    chat_lina, chat_wang = seeded.group_chats
    listed = api.post("externalcontact/groupchat/list", {"limit": 10, "owner_filter": {"userid_list": ["lina"]}})
    assert listed["group_chat_list"] == [{"chat_id": chat_lina, "status": 0}]
    chat = api.post("externalcontact/groupchat/get", {"chat_id": chat_lina})["group_chat"]
    assert chat["owner"] == "lina" and {m["type"] for m in chat["member_list"]} == {1, 2}
    body = {"chat_id_list": [chat_lina, "wrnope"], "new_owner": "zhangwei"}
    failed = api.post("externalcontact/groupchat/transfer", body)["failed_chat_list"]
    assert [(f["chat_id"], f["errcode"]) for f in failed] == [(chat_lina, 90500), ("wrnope", 40050)]
    onjob = api.post("externalcontact/groupchat/onjob_transfer", {"chat_id_list": [chat_wang], "new_owner": "lina"})
    assert onjob["failed_chat_list"] == [] and sim.state.group_chats[chat_wang].owner == "lina"
    sim.scenario.delete_user("lina")
    body = {"chat_id_list": [chat_lina, chat_wang], "new_owner": "zhangwei"}
    assert api.post("externalcontact/groupchat/transfer", body)["failed_chat_list"] == []
    assert sim.state.group_chats[chat_lina].owner == "zhangwei"
