"""Issue 20 item 1: names everywhere a person reads — archive filters that take names (with
suggestions), group chats named through WeCom's groupchat/get, the CSV with names and local times,
the customer page with members and tags by name, and group chats by name on a departure."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from storage import audit, directory, groupchat_names
from storage.archive_store import append_messages
from storage.customers import Customer, CustomerChange, CustomerFollow
from storage.db import utcnow
from tests.web.conftest import ADMIN, COMPLIANCE, Console, csrf_of
from tests.web.test_browser import Live, browser, live, login, shot  # noqa: F401  (fixtures)
from wecom_hr.archive.messages import parse_message
from wecom_hr.archive.results import learn_chat_names

GROUPCHAT_GET = "externalcontact/groupchat/get"


def _signed_in(console: Console, userid: str) -> tuple[FlaskClient, dict[str, str]]:
    client = console.client()
    html = console.login(client, userid).get_data(as_text=True)
    return client, {"X-CSRF-Token": csrf_of(html)}


def _names(console: Console, seller: str) -> tuple[str, str, str, str]:
    """(member name, first customer, its name, its company) from the synced pool."""
    customer = console.seed.customers[seller][0]
    with console.runtime.db.session_scope() as s:
        row = s.get(Customer, customer)
        assert row is not None and row.name
        return directory.display_name(s, seller), customer, row.name, row.corp_name


def _room_chat(console: Console) -> tuple[str, str, str]:
    """A customer group chat of the simulator with two archived messages in it: (chat id, name, owner)."""
    chat_id = console.seed.group_chats[0]
    chat = console.sim.state.group_chats[chat_id]
    raw = [{"msgid": f"room-{i}", "action": "send", "from": chat.owner, "tolist": ["x"], "roomid": chat_id,
            "msgtime": int(utcnow().timestamp() * 1000) - 3_600_000 + i, "msgtype": "text",
            "text": {"content": f"群里的报价 {i}"}} for i in range(2)]
    with console.runtime.db.session_scope() as s:
        append_messages(s, [parse_message(json.dumps(m, ensure_ascii=False), 100 + i) for i, m in enumerate(raw)])
    return chat_id, chat.name, chat.owner


def test_suggestions_offer_members_customers_and_named_group_chats(console: Console) -> None:
    seller = console.seller()
    member_name, customer, customer_name, corp = _names(console, seller)
    chat_id, chat_name, _ = _room_chat(console)
    client = console.client()
    console.login(client, COMPLIANCE, "/console/archive")

    found = client.get(f"/api/v1/archive/suggestions?field=sender&q={member_name[:2]}").get_json()["suggestions"]
    assert {"value": member_name, "id": seller, "kind": "member", "kind_label": "成员"} in found
    by_corp = client.get(f"/api/v1/archive/suggestions?field=customer&q={corp}").get_json()["suggestions"]
    label = f"{customer_name}（{corp}）" if corp else customer_name
    assert any(s["id"] == customer and s["value"].startswith(label) and s["kind"] == "customer" for s in by_corp)
    assert all(s["kind"] == "customer" for s in by_corp)  # the 客户 field offers no members

    # The archive's group chat has no name yet: the first suggestion asks WeCom for it, once.
    assert not console.sim.calls_to(GROUPCHAT_GET)
    rooms = client.get(f"/api/v1/archive/suggestions?field=room&q={chat_name[:3]}").get_json()["suggestions"]
    assert {"value": chat_name, "id": chat_id, "kind": "room", "kind_label": "群聊"} in rooms
    [call] = console.sim.calls_to(GROUPCHAT_GET)
    assert call.body is not None and call.body["chat_id"] == chat_id
    client.get(f"/api/v1/archive/suggestions?field=room&q={chat_name[:3]}")
    assert len(console.sim.calls_to(GROUPCHAT_GET)) == 1  # cached
    assert client.get("/api/v1/archive/suggestions?field=sender&q=").get_json()["suggestions"] == []

    seller_client = console.client()
    console.login(seller_client, seller, "/console/customers")
    assert seller_client.get("/api/v1/archive/suggestions?field=sender&q=a").status_code == 403


def test_filters_take_names_and_ambiguous_names_are_explained(console: Console) -> None:
    seller = console.seller()
    member_name, customer, customer_name, corp = _names(console, seller)
    chat_id, chat_name, owner = _room_chat(console)
    client = console.client()
    console.login(client, COMPLIANCE, "/console/archive")

    def msgids(query: str) -> list[str]:
        res = client.get("/api/v1/archive/search?" + query)
        assert res.status_code == 200, res.get_json()
        return [h["msgid"] for h in res.get_json()["hits"]]

    assert msgids(f"sender={member_name}") == msgids(f"sender={seller}") != []
    label = f"{customer_name}（{corp}）" if corp else customer_name
    assert msgids(f"customer={label}") == msgids(f"customer={customer}") != []
    with console.runtime.db.session_scope() as s:
        learn_chat_names(s, console.runtime.wecom("contact"), [chat_id], utcnow())
    assert sorted(msgids(f"room={chat_name}")) == ["room-0", "room-1"]
    hit = client.get(f"/api/v1/archive/search?room={chat_name}").get_json()["hits"][0]
    assert (hit["room_name"], hit["sender_name"]) == (chat_name, directory_name(console, owner))
    # What the audit log keeps is the id the name stood for.
    with console.runtime.db.session_scope() as s:
        assert audit.entries(s, action="archive.search")[0].detail["filters"] == {"room": chat_id}

    # Two members with one name: the page is told to pick one from the suggestions (which name the ids).
    other = console.seller(1, 0)
    with console.runtime.db.session_scope() as s:
        directory.upsert_member(s, other, name=member_name)
    res = client.get(f"/api/v1/archive/search?sender={member_name}")
    assert res.status_code == 400 and "请从输入框的建议中选择" in res.get_json()["error"]
    found = client.get(f"/api/v1/archive/suggestions?field=sender&q={member_name}").get_json()["suggestions"]
    picked = next(s["value"] for s in found if s["id"] == seller)
    assert picked == f"{member_name} · {seller}"
    assert msgids(f"sender={picked}") == msgids(f"sender={seller}")


def directory_name(console: Console, userid: str) -> str:
    with console.runtime.db.session_scope() as s:
        return directory.display_name(s, userid)


def test_csv_export_has_names_and_local_times(console: Console) -> None:
    seller = console.seller()
    member_name, customer, customer_name, corp = _names(console, seller)
    client = console.client()
    console.login(client, COMPLIANCE, "/console/archive")
    res = client.get(f"/api/v1/archive/export.csv?q=返点&sender={member_name}")
    assert res.status_code == 200
    table = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    rows = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert [r["msgid"] for r in rows] == ["msg-2"]  # the seller's message about 返点, found by name
    row = rows[0]
    assert (row["sender"], row["sender_name"], row["customer"]) == (seller, member_name, customer)
    assert row["customer_name"].startswith(customer_name) and row["time"].endswith("+08:00")  # [server] timezone


def test_customer_page_names_members_and_tags(console: Console) -> None:
    seller = console.seller()
    member_name, customer, _, _ = _names(console, seller)
    with console.runtime.db.session_scope() as s:
        mine = s.scalar(select(CustomerFollow).where(CustomerFollow.external_userid == customer,
                                                     CustomerFollow.userid == seller))
        assert mine is not None
        # A tag WeCom sent without its name (batch/get_by_user gives ids); another relation knows it.
        mine.tags = [{"tag_id": "etTAGZ000"}]
        elsewhere = s.scalar(select(CustomerFollow).where(CustomerFollow.external_userid != customer))
        assert elsewhere is not None
        elsewhere.tags = [*elsewhere.tags, {"tag_id": "etTAGZ000", "tag_name": "重点客户"}]
        s.add(CustomerChange(external_userid=customer, kind="relation_updated", userid=seller, at=utcnow(),
                             source="api", changes={"tags": [[], [{"tag_id": "etTAGZ000"}]]}))
    client = console.client()
    console.login(client, ADMIN, f"/console/customers/{customer}")
    data = client.get(f"/api/v1/customers/{customer}").get_json()
    assert data["customer"]["first_owner"] == seller and data["customer"]["first_owner_name"] == member_name
    assert data["member_names"][seller] == member_name
    [relation] = [r for r in data["relations"]["current"] if r["userid"] == seller]
    assert relation["tags"] == [{"tag_id": "etTAGZ000", "tag_name": "重点客户"}]
    updated = [e for e in data["history"] if e["kind"] == "relation_updated"][-1]
    assert updated["member_name"] == member_name
    assert updated["changes"]["tags"] == [[], [{"tag_id": "etTAGZ000", "tag_name": "重点客户"}]]


def test_departure_lists_group_chats_by_name(console: Console) -> None:
    chat_id = console.seed.group_chats[0]
    chat = console.sim.state.group_chats[chat_id]
    hr, headers = _signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": chat.owner, "last_day": "2030-01-31"}, headers=headers)
    assert res.status_code == 201, res.get_json()
    departure_id = int(res.get_json()["id"])

    def chats() -> list[dict[str, Any]]:
        return list(hr.get(f"/api/v1/departures/{departure_id}").get_json()["group_chats"]["items"])

    before = len(console.sim.calls_to(GROUPCHAT_GET))
    # The report asks WeCom (groupchat/get) for chats it cannot name yet, once, and keeps the answer.
    assert [(c["chat_id"], c["name"]) for c in chats()] == [(chat_id, chat.name)]
    with console.runtime.db.session_scope() as s:
        assert groupchat_names.names_of(s, [chat_id]) == {chat_id: chat.name}
    assert [(c["chat_id"], c["name"]) for c in chats()] == [(chat_id, chat.name)]
    assert len(console.sim.calls_to(GROUPCHAT_GET)) == before + 1


def test_a_chat_wecom_will_not_describe_is_not_asked_again_at_once(console: Console) -> None:
    client = console.client()
    console.login(client, COMPLIANCE, "/console/archive")
    assert client.get("/api/v1/archive/room-names?ids=wrNoSuchChat").get_json() == {}
    assert client.get("/api/v1/archive/room-names?ids=wrNoSuchChat").get_json() == {}
    assert len(console.sim.calls_to(GROUPCHAT_GET)) == 1  # 40050 remembered for a day
    with console.runtime.db.session_scope() as s:
        row = s.get(groupchat_names.GroupChatName, "wrNoSuchChat")
        assert row is not None and (row.name, row.errcode) == ("", 40050)


@pytest.mark.browser
def test_archive_filter_suggests_names_in_the_browser(browser: Any, live: Live) -> None:  # noqa: F811
    console = live.console
    seller = console.seller()
    member_name, customer, _, _ = _names(console, seller)
    page = login(browser, live, COMPLIANCE, "/console/archive", {"viewport": {"width": 1366, "height": 900}})
    page.fill("input[name=sender]", member_name[:2])
    page.locator(f'#sender-options option[value="{member_name}"]').wait_for(state="attached")
    page.fill("input[name=sender]", member_name)
    page.fill("input[name=q]", "返点")
    page.click("form#filters button[type=submit]")
    page.wait_for_selector("li.hit")
    assert page.input_value("input[name=sender]") == member_name  # the address keeps the name people typed
    assert page.inner_text("#hit-total") == "共 1 条" and member_name in page.inner_text("li.hit .meta")
    shot(page, "archive-filter-by-name")
    page.goto(live.url + f"/console/customers/{customer}")
    page.wait_for_selector("#customer-detail h1")
    text = page.inner_text("#customer-detail")
    assert f"首个跟进人：{member_name}" in text and f"首个跟进人：{seller}" not in text
    page.context.close()
