"""Directory sync: change_contact events end to end, and the full sync."""

from __future__ import annotations

from storage import directory
from storage.db import utcnow
from tests.customers.conftest import Corp
from wecom_hr.customers import directory_sync
from wecom_hr.simulator import events
from wecom_hr.simulator.events import Raw
from wecom_hr.simulator.models import STATUS_LEFT, Department


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
    left: list[str] = []
    directory_sync.MEMBER_LEFT_LISTENERS.append(lambda ctx, userid: left.append(userid))
    try:
        corp.sim.scenario.delete_user("newbie")
        corp.env.drain()
    finally:
        directory_sync.MEMBER_LEFT_LISTENERS.pop()
    row = member(corp, "newbie")
    assert row is not None and row.status == directory.LEFT and row.left_at is not None
    assert left == ["newbie"]


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
