"""Event parsing: typed, snake_case, and hostile XML refused."""

from __future__ import annotations

import pytest

from wecom_hr.events import MalformedEventError, parse_event, snake

ADD = """<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID>
<State><![CDATA[渠道A]]></State><WelcomeCode><![CDATA[CALLBACK_CODE]]></WelcomeCode></xml>"""

CARD = """<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>
<CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[approve]]></EventKey><TaskId><![CDATA[dep-1]]></TaskId><CardType><![CDATA[multiple_interaction]]></CardType>
<ResponseCode><![CDATA[rc]]></ResponseCode><AgentID>1</AgentID><SelectedItems>
<SelectedItem><QuestionKey><![CDATA[successor]]></QuestionKey><OptionIds><OptionId><![CDATA[wangwu]]></OptionId>
<OptionId><![CDATA[zhaoliu]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>"""


def test_change_external_contact_fields_are_snake_case() -> None:
    event = parse_event(ADD)
    assert event.key == ("change_external_contact", "add_external_contact")
    assert event.get("user_id") == "zhangsan"
    assert event.get("external_user_id") == "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"
    assert event.get("state") == "渠道A"
    assert event.create_time == 1403610513


def test_card_selection_keeps_repeated_option_ids_as_a_list() -> None:
    event = parse_event(CARD)
    item = event.fields["selected_items"]["selected_item"]
    assert item["question_key"] == "successor"
    assert item["option_ids"]["option_id"] == ["wangwu", "zhaoliu"]


@pytest.mark.parametrize("name,expected", [("ExternalUserID", "external_user_id"), ("ChatId", "chat_id"),
                                           ("IsLeaderInDept", "is_leader_in_dept"), ("NewUserID", "new_user_id"),
                                           ("AgentID", "agent_id"), ("MsgType", "msg_type")])
def test_snake(name: str, expected: str) -> None:
    assert snake(name) == expected


BOMB = """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Event>&lol3;</Event></xml>"""
XXE = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Event>&xxe;</Event></xml>"""


@pytest.mark.parametrize("doc", [BOMB, XXE, "<xml><Event>", "not xml", "<root><Event>x</Event></root>",
                                 "<xml><CreateTime>soon</CreateTime></xml>", ""])
def test_hostile_or_broken_xml_is_malformed(doc: str) -> None:
    with pytest.raises(MalformedEventError):
        parse_event(doc)
