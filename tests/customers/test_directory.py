"""Directory sync: change_contact events end to end, and the full sync."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from storage import directory, inbox
from storage.db import utcnow
from storage.inbox import InboxEvent
from tests.customers.conftest import Corp
from wecom_hr.customers import directory_sync
from wecom_hr.simulator import events
from wecom_hr.simulator.events import Raw
from wecom_hr.simulator.models import STATUS_LEFT, Department, User


def member(corp: Corp, userid: str) -> directory.Member | None:
    with corp.env.runtime.db.session_scope() as s:
        return directory.member(s, userid)


def test_the_full_sync_builds_departments_members_and_managers(corp: Corp) -> None:
    with corp.env.runtime.db.session_scope() as s:
        for dept in corp.seed.departments:
            manager = corp.seed.managers[dept]
            for seller in corp.seed.salespeople[dept]:
                assert directory.managers_of(s, seller) == [manager]
            assert directory.is_manager(s, manager)
        assert s.get(directory.Department, corp.seed.departments[0]).name == "销售一部"  # type: ignore[union-attr]


def test_create_update_and_delete_user_events(corp: Corp) -> None:
    dept = corp.seed.departments[0]
    corp.sim.scenario.create_user("newbie", "新同事", department=[dept], position="销售代表")
    corp.env.drain()
    row = member(corp, "newbie")
    assert row is not None and (row.name, row.position, row.status) == ("新同事", "销售代表", directory.ACTIVE)
    with corp.env.runtime.db.session_scope() as s:
        assert directory.managers_of(s, "newbie") == [corp.seed.managers[dept]]
    corp.sim.scenario.update_user("newbie", department=[dept], is_leader_in_dept=[1], name="新组长")
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert directory.is_manager(s, "newbie") and directory.display_name(s, "newbie") == "新组长"
    corp.sim.scenario.delete_user("newbie")  # its handler starts any departure (tests/departures)
    corp.env.drain()
    row = member(corp, "newbie")
    assert row is not None and row.status == directory.LEFT and row.left_at is not None


def test_a_renamed_member_keeps_their_customers(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, "wmRen", "改名客户")
    corp.env.drain()
    corp.sim.scenario.update_user(seller, new_userid="renamed01")
    corp.env.drain()
    assert member(corp, seller) is None and member(corp, "renamed01") is not None
    assert corp.follow("wmRen", "renamed01") is not None
    assert corp.history("wmRen")[-1].kind == "member_renamed"
    corp.sim.scenario.edit_customer("renamed01", "wmRen", remark="还是同一个关系")
    corp.env.drain()
    assert len(corp.episodes("wmRen")) == 1


def test_department_events_and_the_manager_subtree(corp: Corp) -> None:
    top = corp.seed.departments[0]
    with corp.sim.state.lock:
        corp.sim.state.add_department(Department(40, "华东组", top))
    corp.sim.scenario.deliver(events.contact(corp.sim.corp_id, "create_party",
                                             [("Id", Raw("40")), ("Name", "华东组"), ("ParentId", Raw(str(top)))]))
    corp.sim.scenario.create_user("east01", "华东销售", department=[40])
    corp.sim.scenario.add_customer("east01", "wmEast", "华东客户")
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert s.get(directory.Department, 40).parent_id == top  # type: ignore[union-attr]
        assert "east01" in directory.team_of(s, corp.manager(0))
    res = corp.env.api("GET", "/api/v1/customers/wmEast", corp.manager(0))
    assert res.status_code == 200
    corp.sim.scenario.deliver(events.contact(corp.sim.corp_id, "update_party",
                                             [("Id", Raw("40")), ("Name", "华东一组")]))
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        dept = s.get(directory.Department, 40)
        assert dept is not None and (dept.name, dept.parent_id) == ("华东一组", top)


def test_the_full_sync_marks_members_who_left_without_an_event(corp: Corp) -> None:
    seller = corp.seller(2, 1)
    with corp.sim.state.lock:
        corp.sim.state.users[seller].status = STATUS_LEFT
    with corp.env.runtime.db.session_scope() as s:
        counts = directory_sync.sync_directory(s, corp.env.runtime.wecom("contact"), utcnow())
    assert counts.left == 1
    row = member(corp, seller)
    assert row is not None and row.status == directory.LEFT


def _sync(corp: Corp) -> directory_sync.DirectoryCounts:
    with corp.env.runtime.db.session_scope() as s:
        return directory_sync.sync_directory(s, corp.env.runtime.wecom("contact"), utcnow(), runtime=corp.env.runtime)


def test_a_three_level_directory_is_read_completely_without_fetch_child(corp: Corp) -> None:
    with corp.sim.state.lock:
        for dept_id, name, parent in ((50, "华南区", 1), (51, "广州", 50), (52, "天河组", 51)):
            corp.sim.state.add_department(Department(dept_id, name, parent))
        corp.sim.state.add_user(User("south1", "华南总监", [50]))
        corp.sim.state.add_user(User("south2", "广州经理", [51, 52], [0, 1]))  # two levels, leads the third
        corp.sim.state.add_user(User("south3", "天河销售", [52]))
    before = len(corp.sim.calls)
    counts = _sync(corp)
    listed = [c for c in corp.sim.calls[before:] if c.path == "user/list"]
    assert all("fetch_child" not in c.query for c in listed) and all(c.errcode == 0 for c in listed)
    assert {int(c.query["department_id"]) for c in listed} == set(corp.sim.state.departments)
    with corp.env.runtime.db.session_scope() as s:
        active = select(directory.Member.userid).where(directory.Member.status != directory.LEFT)
        synced = set(s.scalars(active))
        assert synced == {u.userid for u in corp.sim.state.active_users()}
        links = {(link.department_id, link.is_leader) for link in directory.departments_of(s, "south2")}
        assert links == {(51, False), (52, True)}
        assert directory.managers_of(s, "south3") == ["south2"]
        assert s.get(directory.Department, 52).parent_id == 51  # type: ignore[union-attr]
    assert (counts.members, counts.left, counts.not_visible) == (len(synced), 0, 0)


def test_delete_party_removes_the_department_and_is_acknowledged(corp: Corp) -> None:
    top = corp.seed.departments[0]
    with corp.sim.state.lock:
        corp.sim.state.add_department(Department(60, "临时组", top))
        corp.sim.state.add_user(User("temp01", "临时销售", [60, top]))
    _sync(corp)
    with corp.sim.state.lock:  # moved out in WeCom without an event reaching us: our link is stale
        corp.sim.state.users["temp01"].department = [top]
        corp.sim.state.users["temp01"].is_leader_in_dept = [0]
    corp.sim.scenario.delete_department(60)
    corp.env.drain()
    assert corp.sim.deliveries[-1].statuses == [200]
    with corp.env.runtime.db.session_scope() as s:
        assert s.get(directory.Department, 60) is None
        assert [link.department_id for link in directory.departments_of(s, "temp01")] == [top]
        assert s.scalar(select(InboxEvent.status).where(InboxEvent.change_type == "delete_party")) == inbox.DONE
    row = member(corp, "temp01")
    assert row is not None and row.status == directory.ACTIVE


def test_update_tag_and_unknown_change_types_are_handled_without_error(corp: Corp,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=directory_sync.__name__)
    corp.sim.scenario.deliver(events.contact(corp.sim.corp_id, "update_tag", [
        ("TagId", Raw("7")), ("AddUserItems", f"{corp.seller()},{corp.seller(0, 1)}"), ("DelPartyItems", "3")]))
    corp.sim.scenario.deliver(events.contact(corp.sim.corp_id, "some_future_change", [("Id", Raw("1"))]))
    corp.env.drain()
    assert [d.statuses for d in corp.sim.deliveries[-2:]] == [[200], [200]]
    with corp.env.runtime.db.session_scope() as s:
        found = s.scalars(select(InboxEvent).where(InboxEvent.change_type.in_(["update_tag", "some_future_change"])))
        rows = {row.change_type: row.status for row in found}
    assert rows == {"update_tag": inbox.DONE, "some_future_change": inbox.IGNORED}
    assert "tag 7 changed in WeCom (members +2/-0, departments +0/-1)" in caplog.text
