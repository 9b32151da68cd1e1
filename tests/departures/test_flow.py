"""The whole handover through the simulator: card out, click in, transfers out, results polled,
the pool updated, the successor briefed, HR told — plus the report over the API."""

from __future__ import annotations

from collections.abc import Callable

from storage.customers import TRANSFERRED
from storage.departures import COMPLETED, PENDING_APPROVAL, TRANSFERRING
from tests.departures.conftest import Corp


def test_start_sends_a_card_with_the_totals_to_the_manager(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    dep = corp.start(seller)
    assert dep["state"] == PENDING_APPROVAL
    assert dep["summary"]["customers"] == 3 and dep["summary"]["chats"] == 1
    [sent] = corp.cards(dep["id"])
    assert sent["touser"] == manager
    card = sent["template_card"]
    assert card["card_type"] == "multiple_interaction"
    assert card["main_title"]["title"].endswith("离职交接")
    assert card["main_title"]["desc"] == "3 位客户, 1 个客户群, 未结账款 ¥0 (逾期 0 笔)"
    options = [o["id"] for o in card["select_list"][1]["option_list"]]
    assert seller not in options and 0 < len(options) <= 10
    assert set(corp.seed.salespeople[corp.seed.departments[0]]) - {seller} <= set(options)
    assert options[-1] == manager  # the approver is offered last
    [started] = corp.audit("departure.started")
    assert started.actor == corp.hr and started.detail["departure_id"] == dep["id"]


def test_whole_flow_with_a_refusal(corp: Corp) -> None:
    seller, manager, successor = corp.seller(), corp.manager(), corp.seller(0, 1)
    customers = corp.seed.customers[seller]
    dep = corp.start(seller)
    corp.approve(dep["id"], manager, successor)
    assert corp.departure(dep["id"]).successor == successor
    [update] = corp.sim.card_updates
    assert update["userids"] == [manager] and update["button"]["replace_name"].startswith("已同意 by ")

    corp.run("transfer-departures")
    [call] = corp.sim.calls_to("externalcontact/transfer_customer")
    assert call.body["handover_userid"] == seller and call.body["takeover_userid"] == successor
    assert sorted(call.body["external_userid"]) == sorted(customers)
    assert "transfer_success_msg" in call.body
    [chat_call] = corp.sim.calls_to("externalcontact/groupchat/onjob_transfer")
    assert chat_call.body["new_owner"] == successor
    assert corp.departure(dep["id"]).state == TRANSFERRING
    assert {i.status for i in corp.items(dep["id"]).values()} == {"waiting"}
    assert {i.status for i in corp.items(dep["id"], "group_chat").values()} == {"done"}

    refused = customers[0]
    corp.sim.complete_transfers(refuse={refused})
    corp.run("follow-up-departures")
    assert corp.sim.calls_to("externalcontact/transfer_result")
    items = corp.items(dep["id"])
    assert items[refused].status == "refused"
    assert all(items[c].status == "done" for c in customers[1:])
    assert corp.departure(dep["id"]).state == COMPLETED

    # The pool shows the new owner of the customers WeCom confirmed, and the refusal kept the old one.
    with corp.env.runtime.db.session_scope() as s:
        from storage.customers import open_follow
        from wecom_hr.customers.pool import lock_customer

        for ext in customers[1:]:
            assert open_follow(s, ext, successor) is not None and open_follow(s, ext, seller) is None
            assert lock_customer(s, ext) is not None
        assert open_follow(s, refused, seller) is not None and open_follow(s, refused, successor) is None
    ended = [e for e in _episodes(corp, customers[1]) if e[0] == seller]
    assert ended == [(seller, TRANSFERRED)]

    [briefing] = corp.messages_to(successor)
    assert "你已接手" in briefing and "2 位客户" in briefing and "/console/customers?owner=" in briefing
    refusal = [m for m in corp.messages_to(manager) if "未能转接" in m]
    assert refusal and "客户拒绝" in refusal[0]
    assert any("离职交接完成" in m for m in corp.messages_to(corp.hr))

    report = corp.env.api("GET", f"/api/v1/departures/{dep['id']}", corp.hr).get_json()
    assert report["state"] == COMPLETED
    assert report["customers"]["counts"] == {"done": 2, "refused": 1}
    assert report["group_chats"]["counts"] == {"done": 1}
    assert [c["decision"] for c in report["cards"]] == ["approve"]
    for action in ("departure.approved", "departure.transfers_planned", "departure.batch_sent",
                   "departure.results_polled", "departure.completed", "departure.briefing_sent"):
        assert corp.audit(action), action


def test_fixed_successor_gets_a_button_card_and_receivables_are_shown(corp: Corp) -> None:
    from storage.db import utcnow
    from wecom_hr.receivables.ledger import parse_row, upsert_batch

    seller, manager, successor = corp.seller(1), corp.manager(1), corp.seller(1, 2)
    ext = corp.seed.customers[seller][0]
    with corp.env.runtime.db.session_scope() as s:
        rows = [{"order_no": "SO-1", "external_userid": ext, "customer_name": "甲", "salesperson": seller,
                 "amount": "186000", "currency": "", "issued_on": "", "due_on": "2020-01-01", "paid_amount": ""},
                {"order_no": "SO-2", "external_userid": "", "customer_name": "乙", "salesperson": seller,
                 "amount": "400", "currency": "", "issued_on": "", "due_on": "2999-01-01", "paid_amount": ""}]
        upsert_batch(s, [parse_row(r) for r in rows], utcnow())
    dep = corp.start(seller, successor=successor)
    card = corp.card(dep["id"])
    assert card["card_type"] == "button_interaction"
    assert [b["key"] for b in card["button_list"]] == ["approve", "reject"]
    assert card["sub_title_text"].endswith("3 位客户, 1 个客户群, 未结账款 ¥186,400 (逾期 1 笔)")
    corp.approve(dep["id"], manager)
    corp.run("transfer-departures")
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    [briefing] = corp.messages_to(successor)
    assert "未结 ¥186,000（逾期 1 笔）" in briefing
    report = corp.env.api("GET", f"/api/v1/departures/{dep['id']}", corp.hr).get_json()
    assert report["receivables"]["total_outstanding"] == "186400.00" and report["receivables"]["overdue"] == 1
    assert {r["successor"] for r in report["receivables"]["items"]} == {successor}
    from wecom_hr.receivables.recipients import successor_of

    with corp.env.runtime.db.session_scope() as s:
        assert successor_of(s, seller) == successor
    # The successor may read their part of the report; a bystander may not.
    mine = corp.env.api("GET", f"/api/v1/departures/{dep['id']}?successor={successor}", successor)
    assert mine.status_code == 200 and mine.get_json()["customers"]["total"] == 3
    other = corp.seller(2)
    assert corp.env.api("GET", f"/api/v1/departures/{dep['id']}", other).status_code == 404


def _episodes(corp: Corp, ext: str) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    from storage.customers import CustomerFollow

    with corp.env.runtime.db.session_scope() as s:
        rows = s.scalars(select(CustomerFollow).where(CustomerFollow.external_userid == ext)
                         .order_by(CustomerFollow.id))
        return [(r.userid, r.end_reason) for r in rows]


def test_transfers_are_requested_as_soon_as_the_approval_commits(corp_factory: Callable[..., Corp]) -> None:
    corp = corp_factory(config={"departures": {"transfer_on_approval": True}})
    seller, successor = corp.seller(), corp.seller(0, 1)
    dep = corp.start(seller)
    assert not corp.sim.calls_to("externalcontact/transfer_customer")
    corp.approve(dep["id"], corp.manager(), successor)  # handling the click is enough
    [call] = corp.sim.calls_to("externalcontact/transfer_customer")
    assert call.body["takeover_userid"] == successor
    assert corp.departure(dep["id"]).state == TRANSFERRING
    assert corp.run("transfer-departures") == {}  # the job finds nothing left to send
