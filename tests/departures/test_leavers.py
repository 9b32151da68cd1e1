"""Members who left (WECOM.md §6): their customers come from get_unassigned_list (batch/get_by_user
answers 60111 for them), their chats answer 90507 while being inherited and 90508 once inherited; and
what a completed transfer sends (add_external_contact to the successor, DELETE_BY_TRANSFER to the old owner)."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from storage.customers import CustomerFollow
from storage.departures import COMPLETED, TRANSFERRING, Departure
from tests.departures.conftest import Corp
from wecom_hr.departures import snapshot
from wecom_hr.simulator import api_groupchats
from wecom_hr.simulator.models import Follow

UNASSIGNED = "externalcontact/get_unassigned_list"
BATCH = "externalcontact/batch/get_by_user"


def _fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}


def _left_departure(corp: Corp, seller: str) -> int:
    corp.sim.scenario.delete_user(seller)
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        dep = s.scalar(select(Departure).where(Departure.userid == seller))
        assert dep is not None and dep.source == "left"
        return dep.id


def _chat_of(corp: Corp, owner: str) -> str:
    with corp.sim.state.lock:
        return next(c.chat_id for c in corp.sim.state.group_chats.values() if c.owner == owner)


def _owners(corp: Corp, customers: list[str]) -> dict[str, set[str]]:
    with corp.env.runtime.db.session_scope() as s:
        rows = s.execute(select(CustomerFollow.external_userid, CustomerFollow.userid).where(
            CustomerFollow.external_userid.in_(customers), CustomerFollow.ended_at.is_(None))).all()
    found: dict[str, set[str]] = {ext: set() for ext in customers}
    for ext, userid in rows:
        found[ext].add(userid)
    return found


def test_a_leavers_customers_move_through_the_unassigned_list(corp: Corp) -> None:
    seller, manager, successor = corp.seller(1), corp.manager(1), corp.seller(1, 1)
    unsynced = corp.add_customers(seller, 2, prefix="wmNew")  # in WeCom, not yet in the pool
    customers = [*corp.seed.customers[seller], *unsynced]
    dep_id = _left_departure(corp, seller)
    assert [c.errcode for c in corp.sim.calls_to(BATCH) if c.body and c.body["userid_list"] == [seller]] == [60111]
    assert corp.sim.calls_to(UNASSIGNED)
    items = corp.items(dep_id)
    assert sorted(items) == sorted(customers) and {i.status for i in items.values()} == {"pending"}
    corp.approve(dep_id, manager, successor)
    corp.run("transfer-departures")
    [call] = corp.sim.calls_to("externalcontact/resigned/transfer_customer")
    assert call.body is not None and sorted(call.body["external_userid"]) == sorted(customers)
    assert not corp.sim.calls_to("externalcontact/transfer_customer")
    corp.sim.scenario.complete_transfers()
    corp.env.drain()
    corp.run("follow-up-departures")
    assert corp.departure(dep_id).state == COMPLETED
    assert {i.status for i in corp.items(dep_id).values()} == {"done"}
    assert _owners(corp, customers) == {ext: {successor} for ext in customers}
    # The last look before completing asked the unassigned list again, never batch/get_by_user.
    assert len([c for c in corp.sim.calls_to(BATCH) if c.body and c.body["userid_list"] == [seller]]) == 1


def test_a_member_the_directory_shows_left_is_listed_without_batch_get_by_user(
        corp_factory: Callable[..., Corp]) -> None:
    corp = corp_factory(config={"departures": {"auto_start_on_leave": False}})
    seller = corp.seller(2)
    corp.sim.scenario.delete_user(seller)
    corp.env.drain()
    before = len(corp.sim.calls_to(BATCH))
    dep = corp.start(seller, successor=corp.seller(2, 1))
    assert len(corp.sim.calls_to(BATCH)) == before
    assert sorted(corp.items(dep["id"])) == sorted(corp.seed.customers[seller])
    assert corp.departure(dep["id"]).summary["wecom_listed"] is True


def test_the_unassigned_list_is_read_page_by_page(corp: Corp, monkeypatch: pytest.MonkeyPatch) -> None:
    leaver, other = corp.seller(0), corp.seller(0, 1)
    mine = [*corp.seed.customers[leaver], *corp.add_customers(leaver, 5)]
    corp.add_customers(other, 4)
    for userid in (other, leaver):  # both leave: the other leaver's rows are filtered out
        corp.sim.scenario.delete_user(userid)
    client = corp.env.runtime.wecom("contact")
    first = client.extra.get_unassigned_list("", 3)
    assert len(first["info"]) == 3 and not first["is_last"] and first["next_cursor"]
    assert set(first["info"][0]) == {"handover_userid", "external_userid", "dimission_time"}
    monkeypatch.setattr(snapshot, "UNASSIGNED_PAGE", 3)
    calls = len(corp.sim.calls_to(UNASSIGNED))
    listed = snapshot.wecom_customers(client, leaver, left=True)
    assert listed is not None and sorted(listed) == sorted(mine)
    pages = corp.sim.calls_to(UNASSIGNED)[calls:]
    total = len(corp.seed.customers[other]) + 4 + len(mine)
    assert len(pages) == -(-total // 3) and all(p.body and p.body["page_size"] == 3 for p in pages)
    assert pages[0].body and pages[0].body["cursor"] == "" and all(p.body and p.body["cursor"] for p in pages[1:])


def test_a_chat_being_inherited_waits_and_is_done_once_inherited(corp: Corp) -> None:
    seller, manager, successor = corp.seller(1), corp.manager(1), corp.seller(1, 1)
    chat = _chat_of(corp, seller)
    dep_id = _left_departure(corp, seller)
    corp.approve(dep_id, manager, successor)
    api_groupchats.begin_inheritance(corp.sim.state, chat, successor)  # e.g. started in the admin console
    corp.run("transfer-departures")
    item = corp.items(dep_id, "group_chat")[chat]
    assert (item.status, item.errcode) == ("waiting", 90507)
    corp.sim.scenario.complete_transfers()
    corp.env.drain()
    corp.run("follow-up-departures")
    assert corp.items(dep_id, "group_chat")[chat].status == "waiting"
    assert corp.departure(dep_id).state == TRANSFERRING  # the chat holds the departure open
    assert {i.status for i in corp.items(dep_id).values()} == {"done"}
    assert api_groupchats.finish_inheritances(corp.sim.state) == [chat]
    corp.run("follow-up-departures")
    item = corp.items(dep_id, "group_chat")[chat]
    assert (item.status, item.errcode) == ("done", None) and item.finished_at is not None
    assert corp.sim.calls_to("externalcontact/groupchat/transfer")[-1].body == {
        "chat_id_list": [chat], "new_owner": successor}
    assert corp.departure(dep_id).state == COMPLETED
    assert corp.sim.state.group_chats[chat].owner == successor


def test_a_chat_already_inherited_is_done(corp: Corp) -> None:
    seller, manager, successor, other = corp.seller(2), corp.manager(2), corp.seller(2, 1), corp.seller(2, 2)
    chat = _chat_of(corp, seller)
    dep_id = _left_departure(corp, seller)
    corp.approve(dep_id, manager, successor)
    inherited = corp.env.runtime.wecom("contact").extra.transfer_group_chats([chat], other, resigned=True)
    assert inherited["failed_chat_list"] == []  # someone inherited it after the snapshot
    corp.run("transfer-departures")
    [call] = [c for c in corp.sim.calls_to("externalcontact/groupchat/transfer") if c.body
              and c.body["new_owner"] == successor]
    assert call.errcode == 0
    item = corp.items(dep_id, "group_chat")[chat]
    assert (item.status, item.errcode) == ("done", None)
    assert not corp.sim.calls_to("externalcontact/groupchat/onjob_transfer")
    assert corp.sim.state.group_chats[chat].owner == other


def test_a_completed_transfer_sends_both_events_and_the_pool_shows_the_successor(corp: Corp) -> None:
    seller, successor = corp.seller(), corp.seller(0, 1)
    customers = corp.seed.customers[seller]
    friend = customers[0]  # the successor already follows this one: no add_external_contact for it
    with corp.sim.state.lock:
        corp.sim.state.add_follow(Follow(successor, friend, corp.sim.state.now() - 3600, remark="老朋友"))
    corp.sync_pool()
    dep = corp.start(seller, successor=successor)
    corp.approve(dep["id"], corp.manager())
    corp.run("transfer-departures")
    sent = len(corp.sim.deliveries)
    corp.sim.scenario.complete_transfers()
    events = [_fields(d.xml) for d in corp.sim.deliveries[sent:]]
    added = [(e["UserID"], e["ExternalUserID"]) for e in events if e["ChangeType"] == "add_external_contact"]
    removed = [(e["UserID"], e["ExternalUserID"], e.get("Source")) for e in events
               if e["ChangeType"] == "del_external_contact"]
    assert sorted(added) == sorted((successor, ext) for ext in customers[1:])
    assert sorted(removed) == sorted((seller, ext, "DELETE_BY_TRANSFER") for ext in customers)
    corp.env.drain()
    assert _owners(corp, customers) == {ext: {successor} for ext in customers}  # before any poll
    with corp.env.runtime.db.session_scope() as s:
        ended = s.execute(select(CustomerFollow.external_userid, CustomerFollow.end_reason).where(
            CustomerFollow.userid == seller, CustomerFollow.external_userid.in_(customers))).all()
    assert sorted(ended) == sorted((ext, "transferred") for ext in customers)
    corp.run("follow-up-departures")
    assert corp.departure(dep["id"]).state == COMPLETED
    with corp.env.runtime.db.session_scope() as s:
        rows = s.scalars(select(CustomerFollow).where(CustomerFollow.external_userid == customers[1])).all()
        assert sorted((r.userid, r.end_reason) for r in rows) == sorted([(seller, "transferred"), (successor, None)])
