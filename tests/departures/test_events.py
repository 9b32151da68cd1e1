"""WeCom events around a departure: transfer_fail, a member deleted from the directory (the resigned
flow), an approved resignation; and what HR does with customers who did not move."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.customers import CustomerFollow
from storage.db import utcnow
from storage.departures import COMPLETED, PENDING_APPROVAL, TRANSFERRING, Departure
from tests.departures.conftest import Corp


def _transferring(corp: Corp, successor: str | None = None) -> tuple[int, list[str], str]:
    seller, successor = corp.seller(), successor or corp.seller(0, 1)
    dep = corp.start(seller, successor=successor)
    corp.approve(dep["id"], corp.manager())
    corp.run("transfer-departures")
    return int(dep["id"]), corp.seed.customers[seller], successor


def test_transfer_fail_events_update_the_same_records(corp: Corp) -> None:
    dep_id, customers, successor = _transferring(corp)
    corp.sim.scenario.transfer_fail(successor, customers[0], "customer_refused")
    corp.sim.scenario.transfer_fail(successor, customers[1], "customer_limit_exceed")
    corp.env.drain()
    items = corp.items(dep_id)
    assert (items[customers[0]].status, items[customers[1]].status) == ("refused", "at_limit")
    assert items[customers[0]].detail["fail_reason"] == "customer_refused"
    assert len(corp.audit("departure.transfer_failed")) == 2
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    items = corp.items(dep_id)
    assert items[customers[2]].status == "done" and items[customers[0]].status == "refused"
    assert corp.departure(dep_id).state == COMPLETED


def test_on_job_callbacks_and_the_poll_do_not_record_a_transfer_twice(corp: Corp) -> None:
    dep_id, customers, successor = _transferring(corp)
    corp.sim.complete_transfers(refuse={customers[0]}, notify=True)  # DELETE_BY_TRANSFER + transfer_fail
    corp.env.drain()
    corp.run("follow-up-departures")
    assert corp.departure(dep_id).state == COMPLETED
    with corp.env.runtime.db.session_scope() as s:
        for ext in customers[1:]:
            rows = s.scalars(select(CustomerFollow).where(CustomerFollow.external_userid == ext)).all()
            assert sorted((r.userid, r.end_reason) for r in rows) == sorted([(corp.seller(), "transferred"),
                                                                             (successor, None)])
    assert corp.items(dep_id)[customers[0]].status == "refused"


def test_a_refused_customer_can_be_given_to_someone_else(corp: Corp) -> None:
    dep_id, customers, successor = _transferring(corp)
    corp.sim.complete_transfers(refuse={customers[0]})
    corp.run("follow-up-departures")
    assert corp.departure(dep_id).state == COMPLETED
    other = corp.seller(0, 2)
    res = corp.env.api("PUT", f"/api/v1/departures/{dep_id}/customers/{customers[0]}", corp.manager(),
                       json={"successor": other})
    assert res.status_code == 200
    assert corp.departure(dep_id).state == TRANSFERRING
    corp.run("transfer-departures")
    last = corp.sim.calls_to("externalcontact/transfer_customer")[-1]
    assert last.body["takeover_userid"] == other and last.body["external_userid"] == [customers[0]]
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    assert corp.items(dep_id)[customers[0]].status == "done" and corp.departure(dep_id).state == COMPLETED
    assert len(corp.messages_to(other)) == 1 and len(corp.messages_to(successor)) == 1  # each briefed once
    done = corp.env.api("PUT", f"/api/v1/departures/{dep_id}/customers/{customers[1]}", corp.hr,
                        json={"successor": other})
    assert done.status_code == 409  # already moved


def test_per_customer_successors_make_separate_batches(corp: Corp) -> None:
    seller, successor, other = corp.seller(), corp.seller(0, 1), corp.seller(0, 2)
    customers = corp.seed.customers[seller]
    dep = corp.start(seller, successor=successor, submit=False)
    assert dep["state"] == "draft" and not corp.cards(dep["id"])
    res = corp.env.api("PUT", f"/api/v1/departures/{dep['id']}/customers/{customers[0]}", corp.hr,
                       json={"successor": other})
    assert res.status_code == 200
    assert corp.env.api("POST", f"/api/v1/departures/{dep['id']}/submit", corp.hr).status_code == 200
    corp.env.drain()
    assert any(f["value"] == "1 位客户另有接替人" for f in corp.card(dep["id"])["horizontal_content_list"])
    corp.approve(dep["id"], corp.manager())
    corp.run("transfer-departures")
    calls = {c.body["takeover_userid"]: sorted(c.body["external_userid"])
             for c in corp.sim.calls_to("externalcontact/transfer_customer")}
    assert calls == {successor: sorted(customers[1:]), other: [customers[0]]}


def test_delete_user_starts_the_resigned_flow(corp: Corp) -> None:
    seller, manager, successor = corp.seller(1), corp.manager(1), corp.seller(1, 1)
    customers = corp.seed.customers[seller]
    corp.sim.scenario.delete_user(seller)
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        dep = s.scalar(select(Departure).where(Departure.userid == seller))
        assert dep is not None and dep.source == "left" and dep.state == PENDING_APPROVAL
        dep_id = dep.id
    assert corp.cards(dep_id)[0]["touser"] == manager
    corp.approve(dep_id, manager, successor)
    corp.run("transfer-departures")
    [call] = corp.sim.calls_to("externalcontact/resigned/transfer_customer")
    assert sorted(call.body["external_userid"]) == sorted(customers) and "transfer_success_msg" not in call.body
    assert not corp.sim.calls_to("externalcontact/transfer_customer")
    [chats] = corp.sim.calls_to("externalcontact/groupchat/transfer")
    assert chats.body["new_owner"] == successor and not corp.sim.calls_to("externalcontact/groupchat/onjob_transfer")
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    assert corp.sim.calls_to("externalcontact/resigned/transfer_result")
    assert corp.departure(dep_id).state == COMPLETED
    with corp.env.runtime.db.session_scope() as s:
        owners = set(s.scalars(select(CustomerFollow.userid).where(
            CustomerFollow.external_userid.in_(customers), CustomerFollow.ended_at.is_(None))))
    assert owners == {successor}
    # A late second deletion event starts nothing new; a member who left may no longer use the API.
    deleted = next(d.xml for d in corp.sim.deliveries if "delete_user" in d.xml)
    corp.env.deliver(deleted.replace("<CreateTime>", "<CreateTime>1"))
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert len(s.scalars(select(Departure.id)).all()) == 1
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 403


def test_a_leavers_wecom_lookups_do_not_hold_sqlites_writer(corp: Corp) -> None:
    """delete_user asks WeCom for the leaver's customers before writing anything, so callbacks and
    other writers are not queued behind WeCom's answer on SQLite's single write lock."""
    engine = corp.env.runtime.db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no single write lock")
    seller = corp.seller(1)
    corp.sim.inject("externalcontact/batch/get_by_user", errcode=0, delay=1.5)  # WeCom answers slowly
    corp.sim.scenario.delete_user(seller)
    handling = threading.Thread(target=corp.env.drain)
    handling.start()
    try:
        deadline = time.monotonic() + 10
        while corp.sim.journal.faults and time.monotonic() < deadline:  # the slow call has begun
            time.sleep(0.01)
        assert not corp.sim.journal.faults
        other = sqlite3.connect(str(engine.url.database), timeout=0.2)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the handler held the writer
            other.rollback()
        finally:
            other.close()
    finally:
        handling.join()
    with corp.env.runtime.db.session_scope() as s:
        dep = s.scalar(select(Departure).where(Departure.userid == seller))
        assert dep is not None and dep.state == PENDING_APPROVAL


def test_delete_user_without_customers_starts_nothing(corp_factory: Callable[..., Corp]) -> None:
    corp = corp_factory(customers_per_salesperson=0)
    corp.sim.scenario.delete_user(corp.seller())
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert s.scalar(select(Departure.id)) is None


def test_an_approved_resignation_starts_a_departure_once(corp_factory: Callable[..., Corp]) -> None:
    corp = corp_factory(config={"departures": {"approval_template_id": "tmpl-resign"}})
    seller = corp.seller(2)
    corp.sim.scenario.approval_change("202611220001", seller, status=1, template_id="tmpl-resign")
    corp.sim.scenario.approval_change("202611220002", corp.seller(2, 1), status=2, template_id="other")
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert s.scalar(select(Departure.id)) is None
    for _ in range(2):
        corp.sim.scenario.approval_change("202611220001", seller, status=2, template_id="tmpl-resign")
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        [dep] = s.scalars(select(Departure)).all()
        assert (dep.userid, dep.sp_no, dep.source, dep.state) == (seller, "202611220001", "approval", PENDING_APPROVAL)


def test_access_ends_on_the_last_day_and_leavers_are_not_successors(corp: Corp) -> None:
    leaving, later, successor = corp.seller(), corp.seller(0, 1), corp.seller(0, 2)
    assert corp.env.api("GET", "/api/v1/customers", leaving).status_code == 200
    corp.start(leaving, last_day=utcnow().date() + timedelta(days=10))
    assert corp.env.api("GET", "/api/v1/customers", leaving).status_code == 200  # not yet
    dep = corp.start(later, last_day=utcnow().date() - timedelta(days=1))
    # Pending approval revokes nothing, even past the last day: HR alone cannot lock anyone out.
    assert corp.env.api("GET", "/api/v1/customers", later).status_code == 200
    options = [o["id"] for o in corp.card(dep["id"])["select_list"][1]["option_list"]]
    assert leaving not in options and later not in options and successor in options
    corp.approve(dep["id"], corp.manager(0), successor)
    denied = corp.env.api("GET", "/api/v1/customers", later)
    assert denied.status_code == 403 and "last day" in denied.get_json()["error"]
    res = corp.env.api("PUT", f"/api/v1/departures/{dep['id']}/customers/{corp.seed.customers[later][0]}",
                       corp.hr, json={"successor": leaving})
    assert res.status_code == 409


def test_when_wecom_and_the_directory_disagree_about_leaving_the_other_endpoint_is_used(corp: Corp) -> None:
    from storage import directory
    from wecom_hr.simulator.models import STATUS_LEFT

    left_in_wecom, left_here = corp.seller(0), corp.seller(1)
    deps = {}
    for seller, dept in ((left_in_wecom, 0), (left_here, 1)):
        dep = corp.start(seller, successor=corp.seller(dept, 1))
        corp.approve(dep["id"], corp.manager(dept))
        deps[seller] = dep["id"]
    with corp.sim.state.lock:  # the delete_user callback has not arrived yet
        corp.sim.state.users[left_in_wecom].status = STATUS_LEFT
    with corp.env.runtime.db.session_scope() as s:  # our directory is ahead of WeCom
        directory.upsert_member(s, left_here, status=directory.LEFT)
    corp.run("transfer-departures")
    resigned = corp.sim.calls_to("externalcontact/resigned/transfer_customer")
    onjob = corp.sim.calls_to("externalcontact/transfer_customer")
    assert [c.body["handover_userid"] for c in resigned if c.errcode == 0] == [left_in_wecom]
    assert [c.body["handover_userid"] for c in onjob if c.errcode == 0] == [left_here]
    assert [c.body["new_owner"] for c in corp.sim.calls_to("externalcontact/groupchat/transfer") if c.errcode == 0]
    for departure_id in deps.values():
        assert {i.status for i in corp.items(departure_id).values()} == {"waiting"}
        assert {i.status for i in corp.items(departure_id, "group_chat").values()} == {"done"}
