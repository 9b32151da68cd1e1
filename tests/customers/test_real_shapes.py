"""Real WeCom shapes (WECOM.md §6) against the simulator: half-added customers answer 84061 until the
member adds back, and personal tags come without ids from externalcontact/get and not at all from
batch/get_by_user. Neither may lose data nor make the pool flap between the event path and the resync."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage.customers import ACTIVE, CustomerChange
from storage.inbox import DONE, InboxEvent
from tests.customers.conftest import Corp, pool_snapshot
from tests.customers.test_ordering import replay_everything
from wecom_hr.customers.resync import resync_customers
from wecom_hr.simulator.models import Tag
from wecom_hr.wecom.errors import WeComAPIError

EXT = "wmHalfAdded01"
COMPANY, PERSONAL = Tag("etVip", "重要客户", "客户等级"), Tag("", "老朋友", type=2)


def _get(corp: Corp, ext: str) -> dict[str, Any]:
    return corp.env.runtime.wecom("contact").extra.get_external_contact(ext)


def _batch_pairs(corp: Corp, userid: str) -> list[tuple[str, dict[str, Any]]]:
    page = corp.env.runtime.wecom("contact").extra.batch_get_by_user([userid])
    return [(i["external_contact"]["external_userid"], i["follow_info"]) for i in page["external_contact_list"]]


def _inbox_statuses(corp: Corp) -> set[str]:
    with corp.env.runtime.db.session_scope() as s:
        return set(s.scalars(select(InboxEvent.status)))


def _resync(corp: Corp) -> None:
    assert resync_customers(corp.env.runtime)["status"] == "done"


def test_simulator_answers_84061_for_a_half_added_pair_until_the_member_adds_back(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_half_customer(seller, EXT, "半加客户")
    with pytest.raises(WeComAPIError) as caught:
        _get(corp, EXT)
    assert caught.value.errcode == 84061
    assert EXT not in [ext for ext, _ in _batch_pairs(corp, seller)]
    corp.sim.scenario.member_accepts_half(seller, EXT)
    assert [f["userid"] for f in _get(corp, EXT)["follow_user"]] == [seller]
    assert EXT in [ext for ext, _ in _batch_pairs(corp, seller)]


def test_simulator_gives_personal_tags_by_name_only_and_batch_gives_company_ids(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, EXT, "张三", tags=[COMPANY, PERSONAL])
    [follow] = _get(corp, EXT)["follow_user"]
    assert follow["tags"] == [{"group_name": "客户等级", "tag_name": "重要客户", "tag_id": "etVip", "type": 1},
                              {"tag_name": "老朋友", "type": 2}]
    [info] = [info for ext, info in _batch_pairs(corp, seller) if ext == EXT]
    assert info["tag_id"] == ["etVip"] and "tags" not in info


def test_half_added_customer_is_kept_survives_a_resync_and_is_completed_by_the_full_add(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_half_customer(seller, EXT, "半加客户", state="qr-expo", remark="展会")
    corp.env.drain()
    assert _inbox_statuses(corp) == {DONE}  # 84061 is an answer, not a failure to retry
    customer, follow = corp.customer(EXT), corp.follow(EXT, seller)
    assert customer is not None and customer.status == ACTIVE and customer.first_owner == seller
    assert follow is not None and (follow.half, follow.state) == (True, "qr-expo")
    opened = [h for h in corp.history(EXT) if h.kind == "relation_opened"]
    assert [(h.changes["half"], h.event_id is not None, h.occurred_at is not None) for h in opened] == [
        (True, True, True)]

    _resync(corp)  # batch/get_by_user leaves the pair out: still half, not ended
    follow = corp.follow(EXT, seller)
    assert follow is not None and follow.half is True
    assert [e.ended_at for e in corp.episodes(EXT, seller)] == [None]
    assert not [h for h in corp.history(EXT) if h.kind == "relation_ended"]
    before = len(corp.history(EXT))
    _resync(corp)
    assert len(corp.history(EXT)) == before  # no flapping either

    corp.sim.scenario.member_accepts_half(seller, EXT)
    corp.env.drain()
    customer, follow = corp.customer(EXT), corp.follow(EXT, seller)
    assert customer is not None and customer.name == "半加客户"
    assert follow is not None and (follow.half, follow.remark, follow.state) == (False, "展会", "qr-expo")
    assert follow.follow_created_at is not None
    assert [e.id for e in corp.episodes(EXT, seller)] == [follow.id]
    assert _inbox_statuses(corp) == {DONE}
    after = len(corp.history(EXT))
    _resync(corp)
    follow = corp.follow(EXT, seller)
    assert follow is not None and follow.half is False and len(corp.history(EXT)) == after


def test_replaying_the_half_add_before_and_after_the_add_back_changes_nothing(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_half_customer(seller, EXT, "半加客户")
    corp.env.drain()
    before = pool_snapshot(corp.env.runtime.db), len(corp.history(EXT))
    replay_everything(corp)
    assert (pool_snapshot(corp.env.runtime.db), len(corp.history(EXT))) == before
    corp.sim.scenario.member_accepts_half(seller, EXT)
    corp.env.drain()
    after = pool_snapshot(corp.env.runtime.db), len(corp.history(EXT))
    replay_everything(corp)
    assert (pool_snapshot(corp.env.runtime.db), len(corp.history(EXT))) == after
    follow = corp.follow(EXT, seller)
    assert follow is not None and follow.half is False and len(corp.episodes(EXT, seller)) == 1


def test_resync_confirms_a_half_added_relation_whose_add_back_event_was_lost(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_half_customer(seller, EXT, "半加客户", remark="展会")
    corp.env.drain()
    with corp.sim.state.lock:
        follow = corp.sim.state.follow(seller, EXT)
        assert follow is not None
        follow.half = False  # the member added back; the callback never reached us
    _resync(corp)
    row = corp.follow(EXT, seller)
    assert row is not None and (row.half, row.remark) == (False, "展会") and row.follow_created_at is not None
    [change] = [h for h in corp.history(EXT) if h.kind == "relation_updated"]
    assert change.source == "resync" and change.changes["half"] == [True, False]


def _relation_changes(corp: Corp, ext: str) -> list[CustomerChange]:
    return [h for h in corp.history(ext) if h.kind.startswith("relation")]


def test_personal_and_company_tags_do_not_flap_between_events_and_resyncs(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, EXT, "张三", tags=[COMPANY, PERSONAL])
    corp.env.drain()
    first = len(corp.history(EXT))
    for _ in range(2):  # event -> resync -> event -> resync
        _resync(corp)
        corp.sim.scenario.edit_customer(seller, EXT)
        corp.env.drain()
    _resync(corp)
    assert len(corp.history(EXT)) == first
    follow = corp.follow(EXT, seller)
    assert follow is not None
    assert {"type": 2, "tag_name": "老朋友"} in follow.tags
    assert [t.get("tag_name") for t in follow.tags if t.get("tag_id") == "etVip"] == ["重要客户"]
    assert [h.kind for h in _relation_changes(corp, EXT)] == ["relation_opened"]


def test_resync_keeps_personal_tags_it_cannot_see_when_company_tags_change(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, EXT, "张三", tags=[COMPANY, PERSONAL])
    corp.env.drain()
    with corp.sim.state.lock:
        follow = corp.sim.state.follow(seller, EXT)
        assert follow is not None
        follow.tags = [COMPANY, Tag("etNew", "新标签"), PERSONAL]  # no callback for tag edits
    _resync(corp)
    row = corp.follow(EXT, seller)
    assert row is not None
    assert sorted(t.get("tag_id", "") for t in row.tags) == ["", "etNew", "etVip"]
    assert {"type": 2, "tag_name": "老朋友"} in row.tags
    [change] = [h for h in _relation_changes(corp, EXT) if h.kind == "relation_updated"]
    assert change.source == "resync"
    # The next event reads the same tags with names: the new tag gets its name, no history.
    before = len(corp.history(EXT))
    corp.sim.scenario.edit_customer(seller, EXT)
    corp.env.drain()
    _resync(corp)
    row = corp.follow(EXT, seller)
    assert row is not None and len(corp.history(EXT)) == before
    assert {t.get("tag_name") for t in row.tags} == {"重要客户", "新标签", "老朋友"}


def test_a_personal_tag_the_member_removes_is_a_change_on_the_event_path(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, EXT, "张三", tags=[COMPANY, PERSONAL])
    corp.env.drain()
    corp.sim.scenario.edit_customer(seller, EXT, tags=[COMPANY])
    corp.env.drain()
    change = corp.history(EXT)[-1]
    assert change.kind == "relation_updated" and "tags" in change.changes
    follow = corp.follow(EXT, seller)
    assert follow is not None and [t.get("tag_id") for t in follow.tags] == ["etVip"]
