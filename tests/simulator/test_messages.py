from __future__ import annotations

from typing import Any

from tests.simulator.conftest import AGENT_ID, Api
from wecom_hr.simulator import Simulator, seed_company


def _text(touser: str, content: str = "客户跟进提醒") -> dict[str, Any]:
    return {"touser": touser, "msgtype": "text", "agentid": AGENT_ID, "text": {"content": content}}


def _card(task_id: str, card_type: str = "button_interaction") -> dict[str, Any]:
    card = {"card_type": card_type, "task_id": task_id, "main_title": {"title": "离职交接"},
            "button_list": [{"text": "确认", "style": 1, "key": "confirm"}]}
    return {"touser": "lina", "msgtype": "template_card", "agentid": AGENT_ID, "template_card": card}


def test_send_reports_invalid_users_and_records_messages(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=2)
    reply = api.post("message/send", _text("lina|ghost|wangfang|nobody"))
    assert reply["errcode"] == 0 and reply["invaliduser"] == "ghost|nobody" and reply["msgid"]
    assert api.post("message/send", _text("ghost"))["errcode"] == 81013
    assert api.post("message/send", {**_text("lina"), "agentid": 1})["errcode"] == 40056
    assert api.post("message/send", {**_text("lina"), "msgtype": "fax"})["errcode"] == 40008
    assert api.post("message/send", _text("lina", content=" "))["errcode"] == 44004
    assert [m["msgid"] for m in sim.sent_messages] == [reply["msgid"]]
    assert sim.sent_messages[0]["response_code"] is None
    assert sim.inbox("wangfang")[0]["text"]["content"] == "客户跟进提醒"
    by_party = api.post("message/send", {**_text(""), "toparty": "2|99"})
    assert by_party["invalidparty"] == "99" and len(sim.inbox("lina")) == 2


def test_interactive_cards_get_a_response_code_and_unique_task_ids(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    first = api.post("message/send", _card("handover-1"))
    assert first["errcode"] == 0 and first["response_code"]
    assert sim.sent_messages[-1]["response_code"] == first["response_code"]
    assert api.post("message/send", _card("handover-1"))["errcode"] == 40058
    assert api.post("message/send", _card("bad task id!"))["errcode"] == 40058
    notice = _card("notice-1", card_type="text_notice")
    assert "response_code" not in api.post("message/send", notice)
    too_many = _card("handover-2")
    too_many["template_card"]["button_list"] *= 7
    assert api.post("message/send", too_many)["errcode"] == 40058
    update = {"userids": ["lina", "ghost"], "agentid": AGENT_ID, "response_code": first["response_code"],
              "button": {"replace_name": "已确认"}}
    assert api.post("message/update_template_card", update)["invaliduser"] == ["ghost"]
    assert sim.card_updates[0]["task_id"] == "handover-1"
    assert api.post("message/update_template_card", update)["errcode"] == 60140  # a used response_code (doc 94945)


def test_wecom_silently_drops_more_than_30_a_minute(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    replies = [api.post("message/send", _text("lina", f"第{i}条")) for i in range(35)]
    assert all(r["errcode"] == 0 for r in replies) and len(sim.sent_messages) == 35
    assert len(sim.inbox("lina")) == 30 and sim.dropped_messages == 5


def test_msgaudit_endpoints(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=1, customers_per_salesperson=2)
    archive = Api(sim, "s3")
    assert "lina" in archive.post("msgaudit/get_permit_user_list", {})["ids"]
    ext = seeded.customers["lina"][0]
    sim.scenario.msg_audit_approved("lina", ext)
    info = [{"userid": "lina", "exteranalopenid": ext},
            {"userid": "lina", "exteranalopenid": seeded.customers["lina"][1]}]
    answers = archive.post("msgaudit/check_single_agree", {"info": info})["agreeinfo"]
    assert [a["agree_status"] for a in answers] == ["Agree", "Disagree"]
    room = archive.post("msgaudit/groupchat/get", {"roomid": seeded.group_chats[0]})
    assert room["creator"] == "lina" and room["members"][0]["memberid"] == "lina"
    assert archive.post("msgaudit/groupchat/get", {"roomid": "wrnope"})["errcode"] == 40050
