"""Every change_external_contact ChangeType, end to end: simulator callback -> inbox -> handler ->
externalcontact/get on the simulator -> pool state (and messages WeCom accepted)."""

from __future__ import annotations

from storage.customers import ACTIVE, CHURNED, CUSTOMER_DELETED, LOST, MEMBER_DELETED, TRANSFERRED
from tests.customers.conftest import Corp


def add(corp: Corp, userid: str, ext: str = "wmCust001", **kwargs: object) -> None:
    corp.sim.scenario.add_customer(userid, ext, "张三", corp_name="星河科技", remark="张总", **kwargs)
    corp.env.drain()


def test_add_fetches_the_customer_and_opens_the_relation(corp: Corp) -> None:
    seller = corp.seller()
    add(corp, seller, state="expo2026", description="展会认识")
    customer, follow = corp.customer("wmCust001"), corp.follow("wmCust001", seller)
    assert customer is not None and follow is not None
    assert (customer.name, customer.corp_name, customer.status, customer.first_owner) == \
        ("张三", "星河科技", ACTIVE, seller)
    assert (follow.remark, follow.state, follow.description, follow.half) == ("张总", "expo2026", "展会认识", False)
    assert follow.follow_created_at is not None
    assert any(c.query.get("external_userid") == "wmCust001" for c in corp.sim.calls_to("externalcontact/get"))
    kinds = [(h.kind, h.source, h.api_call) for h in corp.history("wmCust001")]
    assert kinds == [("customer_created", "event", "externalcontact/get"),
                     ("relation_opened", "event", "externalcontact/get")]
    assert all(h.event_id for h in corp.history("wmCust001"))


def test_half_add_is_marked_until_a_full_add(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.scenario.add_half_customer(seller, "wmHalf", "半加客户")
    corp.env.drain()
    follow = corp.follow("wmHalf", seller)
    assert follow is not None and follow.half is True
    corp.sim.scenario.add_customer(seller, "wmHalf", "半加客户")
    corp.env.drain()
    follow = corp.follow("wmHalf", seller)
    assert follow is not None and follow.half is False


def test_edit_updates_the_relation_and_keeps_what_changed(corp: Corp) -> None:
    seller = corp.seller()
    add(corp, seller)
    corp.sim.scenario.edit_customer(seller, "wmCust001", remark="张总-重要", remark_mobiles=["13800000000"])
    corp.env.drain()
    follow = corp.follow("wmCust001", seller)
    assert follow is not None and (follow.remark, follow.remark_mobiles) == ("张总-重要", ["13800000000"])
    change = corp.history("wmCust001")[-1]
    assert change.kind == "relation_updated" and change.userid == seller
    assert change.changes["remark"] == ["张总", "张总-重要"]


def test_member_deleting_a_customer_ends_the_relation_keeps_the_customer_and_tells_the_manager(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    add(corp, seller)
    corp.sim.scenario.member_deletes_customer(seller, "wmCust001")
    corp.env.drain()
    [episode] = corp.episodes("wmCust001", seller)
    assert (episode.end_reason, episode.ended_at is not None) == (MEMBER_DELETED, True)
    customer = corp.customer("wmCust001")
    assert customer is not None and customer.status == LOST and customer.name == "张三"
    [text] = corp.messages_to(manager)
    assert "删除客户提醒" in text and "张三（星河科技）" in text
    assert corp.messages_to(seller) == []


def test_deletion_by_transfer_is_a_transfer_not_a_deletion(corp: Corp) -> None:
    seller, other = corp.seller(0, 0), corp.seller(0, 1)
    add(corp, seller)
    corp.sim.scenario.add_customer(other, "wmCust001", "张三", corp_name="星河科技")  # the takeover member
    corp.sim.scenario.member_deletes_customer(seller, "wmCust001", by_transfer=True)
    corp.env.drain()
    [episode] = corp.episodes("wmCust001", seller)
    assert episode.end_reason == TRANSFERRED
    assert corp.follow("wmCust001", other) is not None
    customer = corp.customer("wmCust001")
    assert customer is not None and customer.status == ACTIVE and customer.first_owner == seller
    assert corp.sim.sent_messages == []


def test_customer_deleting_the_member_is_churn_and_tells_member_and_manager(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    add(corp, seller)
    corp.sim.scenario.customer_deletes_member(seller, "wmCust001")
    corp.env.drain()
    [episode] = corp.episodes("wmCust001", seller)
    assert episode.end_reason == CUSTOMER_DELETED
    customer = corp.customer("wmCust001")
    assert customer is not None and customer.status == CHURNED
    assert "已将你删除" in corp.messages_to(seller)[0]
    assert "客户已删除该成员" in corp.messages_to(manager)[0]
    # WeCom still lists the one-way deleted relation: a later edit must not reopen it.
    corp.sim.scenario.edit_customer(seller, "wmCust001", remark="还在列表里")
    corp.env.drain()
    assert corp.follow("wmCust001", seller) is None
    # The member then tidies the list: no second alert, no extra episode.
    corp.sim.scenario.member_deletes_customer(seller, "wmCust001")
    corp.env.drain()
    assert len(corp.episodes("wmCust001", seller)) == 1
    assert len(corp.messages_to(manager)) == 1


def test_transfer_fail_is_recorded_and_the_customer_stays(corp: Corp) -> None:
    seller, takeover = corp.seller(0, 0), corp.seller(0, 1)
    add(corp, seller)
    corp.sim.scenario.transfer_fail(takeover, "wmCust001", reason="customer_refused")
    corp.env.drain()
    assert corp.follow("wmCust001", seller) is not None
    change = corp.history("wmCust001")[-1]
    assert (change.kind, change.userid, change.changes["fail_reason"]) == \
        ("transfer_failed", takeover, "customer_refused")


def test_msg_audit_approved_marks_the_relation(corp: Corp) -> None:
    seller = corp.seller()
    add(corp, seller)
    corp.sim.scenario.msg_audit_approved(seller, "wmCust001")
    corp.env.drain()
    follow = corp.follow("wmCust001", seller)
    assert follow is not None and follow.archive_agreed_at is not None
    assert corp.history("wmCust001")[-1].kind == "archive_agreed"


def test_several_followers_each_get_a_relation_and_the_first_is_the_first_owner(corp: Corp) -> None:
    first, second = corp.seller(0, 0), corp.seller(1, 0)
    add(corp, first)
    corp.sim.scenario.add_customer(second, "wmCust001", "张三", corp_name="星河科技", remark="张先生")
    corp.env.drain()
    assert corp.follow("wmCust001", first) is not None
    follow = corp.follow("wmCust001", second)
    assert follow is not None and follow.remark == "张先生"
    customer = corp.customer("wmCust001")
    assert customer is not None and customer.first_owner == first


def test_a_failing_fetch_is_retried_later_not_lost(corp: Corp) -> None:
    seller = corp.seller()
    corp.sim.inject("externalcontact/get", errcode=-1, times=None)  # until cleared: beyond every retry
    corp.sim.scenario.add_customer(seller, "wmRetry", "重试客户")
    corp.env.drain()
    assert corp.customer("wmRetry") is None
    corp.sim.clear_faults()
    from storage import inbox
    with corp.env.runtime.db.session_scope() as s:
        [row] = [r for r in inbox.listing(s) if r.change_type == "add_external_contact"]
        assert row.status in (inbox.PENDING, inbox.DEAD) and row.last_error
        inbox.retry(s, row.id)
    corp.env.drain()
    assert corp.follow("wmRetry", seller) is not None


def test_the_demo_plays_arrivals_a_deletion_alert_and_a_churn_notice(corp: Corp) -> None:
    import io

    from wecom_hr.customers.demo import play

    out = io.StringIO()
    result = play(corp.sim, corp.env.runtime, out)
    assert result["arrived"] and result["deletion_alert"] and result["churn_notice"]
    text = out.getvalue()
    assert "删除了客户" in text and "删除客户提醒" in text and "客户流失提醒" in text


def test_a_transfer_recorded_by_the_handover_first_is_not_recorded_twice(corp: Corp) -> None:
    from datetime import timedelta

    from storage.db import utcnow
    from wecom_hr.customers import pool
    from wecom_hr.customers.fields import Origin

    seller, takeover = corp.seller(0, 0), corp.seller(0, 1)
    add(corp, seller)
    with corp.env.runtime.db.session_scope() as s:  # as wecom_hr.departures does from transfer_result
        customer = pool.lock_customer(s, "wmCust001")
        assert customer is not None
        now = utcnow()
        assert pool.record_end(s, customer, seller, TRANSFERRED, now - timedelta(minutes=5),
                               Origin("api", api_call="externalcontact/transfer_result"), now)
    corp.sim.scenario.add_customer(takeover, "wmCust001", "张三", corp_name="星河科技")
    corp.sim.scenario.member_deletes_customer(seller, "wmCust001", by_transfer=True)
    corp.env.drain()
    assert [e.end_reason for e in corp.episodes("wmCust001", seller)] == [TRANSFERRED]
