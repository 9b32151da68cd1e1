"""The approval card's clicks: only the approver decides, repeats change nothing, rejection stays open."""

from __future__ import annotations

from storage.departures import APPROVED, CANCELLED, PENDING_APPROVAL, REJECTED
from tests.conftest import TEST_CORP
from tests.departures.conftest import Corp
from wecom_hr.simulator import events


def _click_as(corp: Corp, userid: str, task_id: str, key: str, selected: dict[str, list[str]] | None = None) -> None:
    """A click from someone the card was not sent to (WeCom would not deliver it; a forger might)."""
    xml = events.template_card(TEST_CORP, corp.sim.agent_id, userid, task_id, key, "multiple_interaction",
                               "forged-response-code", selected)
    corp.env.deliver(xml)
    corp.env.drain()


def test_a_click_from_someone_else_is_refused_and_audited(corp: Corp) -> None:
    seller, other_manager = corp.seller(), corp.manager(1)
    dep = corp.start(seller)
    task_id = corp.card(dep["id"])["task_id"]
    _click_as(corp, other_manager, task_id, "submit", {"decision": ["approve"], "successor": [corp.seller(0, 1)]})
    _click_as(corp, seller, task_id, "submit", {"decision": ["approve"], "successor": [corp.seller(0, 1)]})
    assert corp.departure(dep["id"]).state == PENDING_APPROVAL
    refused = corp.audit("departure.click_refused")
    assert sorted(e.actor for e in refused) == sorted([other_manager, seller])
    assert refused[0].detail["task_id"] == task_id and refused[0].detail["approvers"] == [corp.manager()]
    assert corp.sim.card_updates == []
    corp.approve(dep["id"], corp.manager())
    assert corp.departure(dep["id"]).state == APPROVED


def test_double_click_decides_once_and_shows_the_decision_again(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    dep = corp.start(seller)
    card = corp.card(dep["id"])
    first, second = corp.seller(0, 1), corp.seller(0, 2)
    corp.sim.scenario.click_card(manager, card["task_id"], "submit",
                                 selected={"decision": ["approve"], "successor": [first]})
    corp.sim.scenario.click_card(manager, card["task_id"], "submit",
                                 selected={"decision": ["reject"], "successor": [second]})
    corp.env.drain()
    assert corp.departure(dep["id"]).state == APPROVED and corp.departure(dep["id"]).successor == first
    [approved] = corp.audit("departure.approved")
    assert approved.detail["via"] == "card" and approved.detail["event_id"] > 0  # the inbox event of the click
    assert len(corp.audit("departure.click_repeated")) == 1
    labels = [u["button"]["replace_name"] for u in corp.sim.card_updates]
    assert len(labels) == 2 and labels[0] == labels[1] and labels[0].startswith("已同意 by ")
    corp.run("transfer-departures")
    corp.run("transfer-departures")  # a second run sends nothing again
    assert len(corp.sim.calls_to("externalcontact/transfer_customer")) == 1


def test_rejection_keeps_the_departure_open_for_hr(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    dep = corp.start(seller)
    card = corp.card(dep["id"])
    corp.sim.scenario.click_card(manager, card["task_id"], "submit", selected={"decision": ["reject"],
                                                                               "successor": [corp.seller(0, 1)]})
    corp.env.drain()
    assert corp.departure(dep["id"]).state == REJECTED
    assert corp.sim.card_updates[-1]["button"]["replace_name"].startswith("已驳回 by ")
    assert any("驳回" in m for m in corp.messages_to(corp.hr))
    assert corp.run("transfer-departures") == {}
    # HR names a successor and submits again: a new button card; the old one is superseded.
    res = corp.env.api("POST", f"/api/v1/departures/{dep['id']}/submit", corp.hr, json={"successor": corp.seller(0, 2)})
    assert res.status_code == 200 and res.get_json()["state"] == PENDING_APPROVAL
    corp.env.drain()
    assert len(corp.cards(dep["id"])) == 2 and corp.card(dep["id"])["card_type"] == "button_interaction"
    corp.sim.scenario.click_card(manager, card["task_id"], "submit", selected={"decision": ["approve"],
                                                                               "successor": [corp.seller(0, 1)]})
    corp.env.drain()
    assert corp.departure(dep["id"]).state == PENDING_APPROVAL  # the old card decides nothing
    corp.approve(dep["id"], manager)
    assert corp.departure(dep["id"]).state == APPROVED and corp.departure(dep["id"]).successor == corp.seller(0, 2)


def test_cancel_before_approval_marks_the_card(corp: Corp) -> None:
    dep = corp.start(corp.seller())
    res = corp.env.api("POST", f"/api/v1/departures/{dep['id']}/cancel", corp.hr)
    assert res.status_code == 200 and res.get_json()["state"] == CANCELLED
    assert corp.sim.card_updates[-1]["button"]["replace_name"] == "已撤销"
    again = corp.env.api("POST", "/api/v1/departures", corp.hr, json={"userid": corp.seller()})
    assert again.status_code == 201  # a cancelled departure does not block a new one
    dup = corp.env.api("POST", "/api/v1/departures", corp.hr, json={"userid": corp.seller()})
    assert dup.status_code == 409


def test_only_hr_or_admin_may_start(corp: Corp) -> None:
    res = corp.env.api("POST", "/api/v1/departures", corp.manager(), json={"userid": corp.seller()})
    assert res.status_code == 403
    bad = corp.env.api("POST", "/api/v1/departures", corp.hr, json={"userid": corp.seller(), "last_day": "tomorrow"})
    assert bad.status_code == 400
    unknown = corp.env.api("POST", "/api/v1/departures", corp.hr, json={"userid": "nobody"})
    assert unknown.status_code == 404
