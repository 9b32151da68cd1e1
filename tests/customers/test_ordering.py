"""Replayed and reordered events: the pool ends up the same, nothing is resurrected, nothing is sent twice."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import inbox
from storage.customers import MEMBER_DELETED, CustomerChange
from tests.customers.conftest import Corp, pool_snapshot


def capture(corp: Corp, *steps: tuple[str, tuple[object, ...], dict[str, object]]) -> list[str]:
    """Run scenario steps in WeCom (state changes) without delivering their callbacks yet."""
    corp.sim.callback_url = None
    try:
        return [getattr(corp.sim.scenario, name)(*args, **kwargs) for name, args, kwargs in steps]
    finally:
        corp.sim.callback_url = corp.env.post_callback


def shape(corp: Corp, ext: str, userid: str) -> list[tuple[str, bool]]:
    """(end reason or "", open?) of every episode of the pair."""
    return sorted((e.end_reason or "", e.is_open) for e in corp.episodes(ext, userid))


def history_count(corp: Corp) -> int:
    with corp.env.runtime.db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(CustomerChange)) or 0)


def replay_everything(corp: Corp, reverse: bool = True) -> None:
    """Run every handled event's handler again (`wecom-hr events retry`), newest first."""
    with corp.env.runtime.db.session_scope() as s:
        ids = sorted((r.id for r in inbox.listing(s, limit=1000)), reverse=reverse)
    for event_id in ids:
        with corp.env.runtime.db.session_scope() as s:
            assert inbox.retry(s, event_id)
        corp.env.drain()


def test_wecom_retries_store_one_event_and_replays_change_nothing(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    add_xml, edit_xml, del_xml = capture(
        corp, ("add_customer", (seller, "wmR1", "李四"), {"remark": "李总"}),
        ("edit_customer", (seller, "wmR1"), {"remark": "李总2"}),
        ("member_deletes_customer", (seller, "wmR1"), {}))
    for xml in (add_xml, edit_xml, del_xml):
        assert corp.env.deliver(xml, times=3) == [200, 200, 200]
    corp.env.drain()
    with corp.env.runtime.db.session_scope() as s:
        assert len(inbox.listing(s)) == 3
    before, changes, messages = pool_snapshot(corp.env.runtime.db), history_count(corp), len(corp.sim.sent_messages)
    assert shape(corp, "wmR1", seller) == [(MEMBER_DELETED, False)]
    assert len(corp.messages_to(manager)) == 1
    replay_everything(corp)
    assert pool_snapshot(corp.env.runtime.db) == before
    assert history_count(corp) == changes
    assert len(corp.sim.sent_messages) == messages


def test_an_old_add_arriving_after_the_delete_does_not_resurrect(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    add_xml, del_xml = capture(corp, ("add_customer", (seller, "wmR2", "王五"), {}),
                               ("member_deletes_customer", (seller, "wmR2"), {}))
    corp.env.deliver(del_xml)
    corp.env.drain()
    corp.env.deliver(add_xml)
    corp.env.drain()
    assert corp.follow("wmR2", seller) is None
    assert shape(corp, "wmR2", seller) == [(MEMBER_DELETED, False)]
    assert len(corp.messages_to(manager)) == 1  # the deletion is on record and reported once


def test_readd_after_delete_opens_a_new_episode_in_any_order(corp: Corp) -> None:
    seller = corp.seller()
    xmls = capture(corp, ("add_customer", (seller, "wmR3", "赵六"), {}),
                   ("member_deletes_customer", (seller, "wmR3"), {}),
                   ("add_customer", (seller, "wmR3", "赵六"), {}))
    for order in ([0, 1, 2], [0, 2, 1], [2, 1, 0], [1, 0, 2]):
        for i in order:
            corp.env.deliver(xmls[i] + " " * len(str(order)))  # distinct bytes: a fresh inbox event per round
            corp.env.drain()
        assert corp.follow("wmR3", seller) is not None, order
        assert (MEMBER_DELETED, False) in shape(corp, "wmR3", seller), order
        assert sum(open_ for _, open_ in shape(corp, "wmR3", seller)) == 1, order


def test_reordered_edits_leave_what_wecom_has_now(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_customer(seller, "wmR4", "孙七", remark="v1")
    corp.env.drain()
    first, second = capture(corp, ("edit_customer", (seller, "wmR4"), {"remark": "v2"}),
                            ("edit_customer", (seller, "wmR4"), {"remark": "v3"}))
    corp.env.deliver(second)
    corp.env.deliver(first)
    corp.env.drain()
    follow = corp.follow("wmR4", seller)
    assert follow is not None and follow.remark == "v3"
    assert [h.changes.get("remark") for h in corp.history("wmR4") if h.kind == "relation_updated"] == [["v1", "v3"]]


def test_a_delete_older_than_a_readd_keeps_the_new_relation_open(corp: Corp) -> None:
    seller = corp.seller()
    add1, del1, add2 = capture(corp, ("add_customer", (seller, "wmR5", "周八"), {}),
                               ("member_deletes_customer", (seller, "wmR5"), {}),
                               ("add_customer", (seller, "wmR5", "周八"), {}))
    for xml in (add1, add2, del1):
        corp.env.deliver(xml)
        corp.env.drain()
    assert corp.follow("wmR5", seller) is not None
    assert shape(corp, "wmR5", seller) == [("", True), (MEMBER_DELETED, False)]
