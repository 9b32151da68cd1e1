"""Decrypted callback XML, field for field as WeCom sends it (CDATA strings, bare numbers)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence


class Raw(str):
    """Already-built XML (a nested element list, or a bare value WeCom sends without CDATA)."""


def element(name: str, value: str | int) -> str:
    if isinstance(value, (Raw, int)):
        return f"<{name}>{value}</{name}>"
    return f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


def event_xml(corp_id: str, event: str, fields: Iterable[tuple[str, str | int]], from_user: str = "sys",
              create_time: int | None = None) -> str:
    head: list[tuple[str, str | int]] = [("ToUserName", corp_id), ("FromUserName", from_user),
            ("CreateTime", int(time.time()) if create_time is None else create_time),
            ("MsgType", "event"), ("Event", event)]
    return "<xml>" + "".join(element(n, v) for n, v in [*head, *fields]) + "</xml>"


def external_contact(corp_id: str, change_type: str, userid: str, external_userid: str,
                     **extra: str) -> str:
    """change_external_contact; ``extra`` adds State/WelcomeCode/Source/FailReason in WeCom's order."""
    fields: list[tuple[str, str | int]] = [("ChangeType", change_type)]
    if "FailReason" in extra:
        fields.append(("FailReason", extra.pop("FailReason")))
    fields += [("UserID", userid), ("ExternalUserID", external_userid), *extra.items()]
    return event_xml(corp_id, "change_external_contact", fields)


def contact(corp_id: str, change_type: str, fields: Sequence[tuple[str, str | int]]) -> str:
    """change_contact: create_user / update_user / delete_user, lists joined with commas."""
    return event_xml(corp_id, "change_contact", [("ChangeType", change_type), *fields])


def user_fields(user: Mapping[str, object]) -> list[tuple[str, str | int]]:
    """The change_contact fields of a member, in WeCom's order, from user/get-style keys."""
    names = [("userid", "UserID"), ("new_userid", "NewUserID"), ("name", "Name"),
             ("department", "Department"), ("main_department", "MainDepartment"),
             ("is_leader_in_dept", "IsLeaderInDept"), ("direct_leader", "DirectLeader"),
             ("position", "Position"), ("mobile", "Mobile"), ("gender", "Gender"), ("email", "Email"),
             ("status", "Status"), ("avatar", "Avatar"), ("alias", "Alias")]
    bare = {"MainDepartment", "Mobile", "Gender", "Status"}
    fields: list[tuple[str, str | int]] = []
    for key, tag in names:
        if key not in user:
            continue
        value = user[key]
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        fields.append((tag, Raw(text) if tag in bare else text))
    return fields


def template_card(corp_id: str, agent_id: int, userid: str, task_id: str, event_key: str, card_type: str,
                  response_code: str, selected: Mapping[str, Sequence[str]] | None = None) -> str:
    fields: list[tuple[str, str | int]] = [
        ("EventKey", event_key), ("TaskId", task_id), ("CardType", card_type),
        ("ResponseCode", response_code), ("AgentID", agent_id)]
    if selected:
        fields.append(("SelectedItems", Raw(_selected_items(selected))))
    return event_xml(corp_id, "template_card_event", fields, from_user=userid)


def _selected_items(selected: Mapping[str, Sequence[str]]) -> str:
    items = []
    for question, options in selected.items():
        ids = "".join(element("OptionId", str(o)) for o in options)
        items.append(f"<SelectedItem>{element('QuestionKey', question)}<OptionIds>{ids}</OptionIds>"
                     "</SelectedItem>")
    return "".join(items)


def msgaudit_notify(corp_id: str, agent_id: int) -> str:
    return event_xml(corp_id, "msgaudit_notify", [("AgentID", agent_id)])


# SpStatus -> StatuChangeEvent (WeCom's spelling): 1 submitted, 2 approved, 3 rejected, 6 withdrawn
STATUS_CHANGE_EVENT = {1: 1, 2: 2, 3: 3, 4: 6}


def approval_change(corp_id: str, agent_id: int, sp_no: str, sp_name: str, applyer: str, party: str,
                    status: int, template_id: str, approver: str, apply_time: int) -> str:
    decided = 0 if status == 1 else int(time.time())
    record = (f"<SpRecord>{element('SpStatus', status)}{element('ApproverAttr', 1)}<Details>"
              f"<Approver>{element('UserId', approver)}</Approver>{element('Speech', '')}"
              f"{element('SpStatus', status)}{element('SpTime', decided)}</Details></SpRecord>")
    info = (f"{element('SpNo', Raw(sp_no))}{element('SpName', sp_name)}{element('SpStatus', status)}"
            f"{element('TemplateId', template_id)}{element('ApplyTime', apply_time)}"
            f"<Applyer>{element('UserId', applyer)}{element('Party', party)}</Applyer>{record}"
            f"{element('StatuChangeEvent', STATUS_CHANGE_EVENT.get(status, 1))}")
    return event_xml(corp_id, "sys_approval_change", [("AgentID", agent_id), ("ApprovalInfo", Raw(info))])
