from __future__ import annotations

from defusedxml import ElementTree

from tests.conftest import TEST_CORP
from tests.simulator.conftest import AGENT_ID, Api
from tests.simulator.receiver import Receiver, serving
from wecom_hr.simulator import Simulator, seed_company


def _fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}


def test_add_customer_changes_state_then_delivers(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1, customers_per_salesperson=0)
    receiver = Receiver()
    sim.callback_url = receiver
    sent = sim.scenario.add_customer("lina", "wmNEWCUSTOMER000000000", "王总", corp_name="某某贸易",
                                     remark="王总-某某贸易", state="expo2024")
    assert receiver.received == [sent]
    event = _fields(sent)
    assert event == {"ToUserName": TEST_CORP, "FromUserName": "sys", "CreateTime": event["CreateTime"],
                     "MsgType": "event", "Event": "change_external_contact",
                     "ChangeType": "add_external_contact", "UserID": "lina",
                     "ExternalUserID": "wmNEWCUSTOMER000000000", "State": "expo2024",
                     "WelcomeCode": event["WelcomeCode"]}
    assert event["CreateTime"].isdigit() and "<![CDATA[lina]]>" in sent
    reply = api.get("externalcontact/get", external_userid="wmNEWCUSTOMER000000000")
    assert reply["external_contact"]["corp_name"] == "某某贸易"
    assert reply["follow_user"][0]["state"] == "expo2024"
    assert sim.deliveries[-1].statuses == [200]


def test_customer_events_over_http(sim: Simulator) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=2)
    ext = seeded.customers["lina"][0]
    receiver = Receiver()
    with serving(receiver) as url:
        sim.callback_url = url
        sim.scenario.edit_customer("lina", ext, remark="新备注")
        sim.scenario.customer_deletes_member("lina", ext)
        sim.scenario.member_deletes_customer("lina", ext, by_transfer=True)
        sim.scenario.transfer_fail("wangfang", seeded.customers["lina"][1], reason="customer_limit_exceed")
        sim.scenario.msg_audit_approved("wangfang", seeded.customers["wangfang"][0])
    kinds = [_fields(x)["ChangeType"] for x in receiver.received]
    assert kinds == ["edit_external_contact", "del_follow_user", "del_external_contact", "transfer_fail",
                     "msg_audit_approved"]
    assert _fields(receiver.received[2])["Source"] == "DELETE_BY_TRANSFER"
    assert _fields(receiver.received[3])["FailReason"] == "customer_limit_exceed"
    assert sim.state.follow("lina", ext) is None
    assert sim.state.agreements[("wangfang", seeded.customers["wangfang"][0])][0] == "Agree"


def test_contact_changes(sim: Simulator, api: Api) -> None:
    receiver = Receiver()
    sim.callback_url = receiver
    created = _fields(sim.scenario.create_user("zhaolei", "赵磊", department=[1], is_leader_in_dept=[1],
                                               position="销售总监", mobile="13800000000"))
    assert (created["Event"], created["ChangeType"], created["Department"], created["IsLeaderInDept"]) == (
        "change_contact", "create_user", "1", "1")
    assert api.get("user/get", userid="zhaolei")["position"] == "销售总监"
    updated = _fields(sim.scenario.update_user("zhaolei", new_userid="zhaolei2", position="副总"))
    assert (updated["UserID"], updated["NewUserID"], updated["Position"]) == ("zhaolei", "zhaolei2", "副总")
    deleted = _fields(sim.scenario.delete_user("zhaolei2"))
    assert set(deleted) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "ChangeType", "UserID"}
    assert sim.state.users["zhaolei2"].status == 5 and len(receiver.received) == 3


def test_card_click_carries_a_fresh_response_code(sim: Simulator, api: Api) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    card = {"card_type": "multiple_interaction", "task_id": "review-42", "main_title": {"title": "复核"},
            "select_list": [{"question_key": "q1", "option_list": [{"id": "a", "text": "同意"}]}],
            "submit_button": {"text": "提交", "key": "submit"}}
    sent = api.post("message/send", {"touser": "zhangwei", "msgtype": "template_card", "agentid": AGENT_ID,
                                     "template_card": card})
    receiver = Receiver()
    sim.callback_url = receiver
    xml = sim.scenario.click_card("zhangwei", "review-42", "submit", selected={"q1": ["a", "b"]})
    root = ElementTree.fromstring(xml)
    assert root.findtext("FromUserName") == "zhangwei" and root.findtext("CardType") == "multiple_interaction"
    assert root.findtext("AgentID") == str(AGENT_ID)
    assert [o.text for o in root.iterfind("SelectedItems/SelectedItem/OptionIds/OptionId")] == ["a", "b"]
    code = root.findtext("ResponseCode")
    assert code and code != sent["response_code"]
    update = {"userids": ["zhangwei"], "agentid": AGENT_ID, "response_code": code,
              "button": {"replace_name": "已提交"}}
    assert api.post("message/update_template_card", update)["errcode"] == 0
    assert api.post("message/update_template_card", update)["errcode"] == 60140  # single use (doc 94945)


def test_other_app_events(sim: Simulator) -> None:
    seed_company(sim, departments=1, salespeople_per_department=1)
    receiver = Receiver()
    sim.callback_url = receiver
    assert _fields(sim.scenario.msgaudit_notify())["Event"] == "msgaudit_notify"
    approval = ElementTree.fromstring(sim.scenario.approval_change("202406010001", "lina", status=2))
    assert approval.findtext("Event") == "sys_approval_change"
    assert approval.findtext("ApprovalInfo/SpNo") == "202406010001"
    assert approval.findtext("ApprovalInfo/SpStatus") == "2"
    assert approval.findtext("ApprovalInfo/Applyer/UserId") == "lina"
    assert approval.findtext("ApprovalInfo/SpRecord/Details/Approver/UserId") == "zhangwei"
    raw = sim.scenario.deliver("<xml><Event><![CDATA[custom]]></Event></xml>")
    assert receiver.received[-1] == raw and len(receiver.received) == 3


def test_complete_transfers_can_notify(sim: Simulator, api: Api) -> None:
    seeded = seed_company(sim, departments=1, salespeople_per_department=2, customers_per_salesperson=2)
    mine = seeded.customers["lina"]
    api.post("externalcontact/transfer_customer",
             {"handover_userid": "lina", "takeover_userid": "wangfang", "external_userid": mine})
    receiver = Receiver()
    sim.callback_url = receiver
    sim.complete_transfers(refuse={mine[1]}, notify=True)
    events = [_fields(x) for x in receiver.received]
    # WECOM.md §6 Transfers (doc 96325): the successor adds the customer, the old owner loses it.
    assert [(e["ChangeType"], e["UserID"]) for e in events] == [
        ("add_external_contact", "wangfang"), ("del_external_contact", "lina"), ("transfer_fail", "wangfang")]
    assert events[1]["Source"] == "DELETE_BY_TRANSFER" and events[2]["FailReason"] == "customer_refused"


def test_without_callback_url_only_state_changes(sim: Simulator) -> None:
    sim.scenario.create_user("solo", "独行")
    assert "solo" in sim.state.users and sim.deliveries[-1].statuses == []
