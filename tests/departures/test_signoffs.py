"""Issue 17 item 3: the handover checklist. Each sign-off is decided only by its people (others are
refused and audited), from a WeCom card or the console; the departure waits for the last one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storage.db import utcnow
from tests.departures.conftest import Corp
from wecom_hr.departures import signoffs
from wecom_hr.receivables.ledger import parse_row, upsert_batch

# followup.settle completes a departure; it has to ask signoffs.all_done first (see the module's docstring).


@pytest.fixture
def corp(corp_factory: Callable[..., Corp]) -> Corp:
    """The default checklist, said explicitly (other test modules may turn the checklist off)."""
    steps = [{"key": "manager"}, {"key": "finance"}, {"key": "hr"}]
    return corp_factory(config={"departures": {"signoffs": steps, "assets": ["电脑", "手机", "样品", "门禁卡"]}})


def _ledger(corp: Corp, seller: str) -> None:
    ext = corp.seed.customers[seller][0]
    rows = [{"order_no": order, "external_userid": ext, "customer_name": "华东贸易", "salesperson": seller,
             "amount": amount, "currency": "", "issued_on": "", "due_on": due, "paid_amount": ""}
            for order, amount, due in (("SO-1", "16800", "2020-01-01"), ("SO-2", "1200", "2099-01-01"))]
    with corp.env.runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row(r) for r in rows], utcnow())


def _signoff_cards(corp: Corp, departure_id: int) -> list[dict[str, Any]]:
    return [m for m in corp.sim.sent_messages if m.get("msgtype") == "template_card"
            and m["template_card"]["task_id"].startswith(f"{signoffs.TASK_PREFIX}{departure_id}-")]


def _checklist(corp: Corp, departure_id: int, who: str) -> dict[str, Any]:
    res = corp.env.api("GET", f"/api/v1/departures/{departure_id}/signoffs", who)
    assert res.status_code == 200, res.get_json()
    return dict(res.get_json())


def _step(checklist: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in checklist["steps"] if s["step"] == key)


def _tick_all_and_sign(corp: Corp, departure_id: int) -> None:
    base = f"/api/v1/departures/{departure_id}/signoffs/hr"
    for n, _ in enumerate(_step(_checklist(corp, departure_id, corp.hr), "hr")["items"]):
        assert corp.env.api("PUT", f"{base}/items/{n}", corp.hr, json={"done": True}).status_code == 200
    assert corp.env.api("POST", base, corp.hr, json={"note": "已归还"}).status_code == 200


def test_the_checklist_has_the_default_steps_and_finance_gets_the_receivables(corp: Corp) -> None:
    seller = corp.seller(0)
    _ledger(corp, seller)
    dep = corp.start(seller)
    checklist = _checklist(corp, dep["id"], corp.hr)
    assert [s["step"] for s in checklist["steps"]] == ["manager", "finance", "hr"]
    assert checklist["all_done"] is False
    assert [i["name"] for i in _step(checklist, "hr")["items"]] == ["电脑", "手机", "样品", "门禁卡"]
    assert [u["userid"] for u in _step(checklist, "finance")["signers"]] == [corp.seed.finance]
    assert [u["userid"] for u in _step(checklist, "manager")["signers"]] == [corp.manager(0)]
    waiting = {u["userid"] for u in checklist["waiting_for"]}
    assert waiting == {corp.manager(0), corp.seed.finance, corp.hr}

    [sent] = _signoff_cards(corp, dep["id"])
    assert sent["touser"] == corp.seed.finance
    card = sent["template_card"]
    assert card["card_type"] == "button_interaction" and "应收账款确认" in card["main_title"]["title"]
    assert "2 笔" in card["sub_title_text"] and "¥18,000" in card["sub_title_text"]
    assert card["horizontal_content_list"][0]["value"].startswith("SO-1 ¥16,800 逾期")


def test_finance_signs_from_the_card_and_nobody_else_may(corp: Corp) -> None:
    seller = corp.seller(0)
    dep = corp.start(seller)
    url = f"/api/v1/departures/{dep['id']}/signoffs/finance"
    for other in (corp.hr, corp.manager(0), corp.seller(0, 1)):
        res = corp.env.api("POST", url, other, json={})
        assert res.status_code == 403, other
    refused = corp.audit("departure.signoff_refused")
    assert {e.actor for e in refused} == {corp.hr, corp.manager(0), corp.seller(0, 1)}
    assert corp.env.api("GET", f"/api/v1/departures/{dep['id']}/signoffs", corp.seller(0, 1)).status_code == 404

    [sent] = _signoff_cards(corp, dep["id"])
    corp.sim.scenario.click_card(corp.seed.finance, sent["template_card"]["task_id"], signoffs.CONFIRM_KEY)
    corp.env.drain()
    finance = _step(_checklist(corp, dep["id"], corp.seed.finance), "finance")
    assert finance["status"] == "signed" and finance["signed_by"] == corp.seed.finance
    [entry] = corp.audit("departure.signed_off")
    assert entry.detail == {"departure_id": dep["id"], "step": "finance", "via": "card", "note": ""}
    [update] = corp.sim.card_updates
    assert update["userids"] == [corp.seed.finance] and update["button"]["replace_name"].startswith("已确认 by ")
    corp.sim.scenario.click_card(corp.seed.finance, sent["template_card"]["task_id"], signoffs.CONFIRM_KEY)
    corp.env.drain()  # a second click changes nothing
    assert len(corp.audit("departure.signed_off")) == 1 and corp.audit("departure.signoff_repeated")


def test_hr_ticks_the_assets_then_signs(corp: Corp) -> None:
    dep = corp.start(corp.seller(1))
    base = f"/api/v1/departures/{dep['id']}/signoffs/hr"
    assert corp.env.api("POST", base, corp.hr, json={}).status_code == 409  # nothing ticked yet
    added = corp.env.api("POST", f"{base}/items", corp.hr, json={"name": "工牌"})
    assert added.status_code == 200
    assert [i["name"] for i in _step(added.get_json(), "hr")["items"]][-1] == "工牌"
    assert corp.env.api("POST", f"{base}/items", corp.seed.finance, json={"name": "U盘"}).status_code == 403
    assert corp.env.api("PUT", f"{base}/items/0", corp.manager(1), json={"done": True}).status_code == 403
    assert corp.env.api("PUT", f"{base}/items/9", corp.hr, json={"done": True}).status_code == 404
    assert len(corp.audit("departure.signoff_refused")) == 2
    _tick_all_and_sign(corp, dep["id"])
    hr = _step(_checklist(corp, dep["id"], corp.hr), "hr")
    assert hr["status"] == "signed" and all(i["done"] and i["by"] == corp.hr for i in hr["items"])
    assert len(corp.audit("departure.signoff_item_ticked")) == 5


def test_the_manager_step_is_the_approval(corp: Corp) -> None:
    seller, manager = corp.seller(2), corp.manager(2)
    dep = corp.start(seller, successor=corp.seller(2, 1))
    url = f"/api/v1/departures/{dep['id']}/signoffs/manager"
    assert corp.env.api("POST", url, manager, json={}).status_code == 409  # signed by approving, not here
    assert corp.env.api("POST", url, corp.hr, json={}).status_code == 403
    corp.approve(dep["id"], manager)
    step = _step(_checklist(corp, dep["id"], manager), "manager")
    assert step["status"] == "signed" and step["signed_by"] == manager and step["by_approval"] is True


def test_the_departure_waits_for_the_last_signoff(corp: Corp) -> None:
    seller, manager = corp.seller(0, 2), corp.manager(0)
    dep = corp.start(seller, successor=corp.seller(0, 3))
    corp.approve(dep["id"], manager)
    corp.run("transfer-departures")
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    assert corp.departure(dep["id"]).state == "transferring"  # customers final; finance and HR still to sign
    waiting = {u["userid"] for u in _checklist(corp, dep["id"], corp.hr)["waiting_for"]}
    assert waiting == {corp.seed.finance, corp.hr}

    [sent] = _signoff_cards(corp, dep["id"])
    corp.sim.scenario.click_card(corp.seed.finance, sent["template_card"]["task_id"], signoffs.CONFIRM_KEY)
    corp.env.drain()
    corp.run("follow-up-departures")
    assert corp.departure(dep["id"]).state == "transferring"  # HR has not signed yet
    _tick_all_and_sign(corp, dep["id"])
    corp.run("follow-up-departures")
    assert corp.departure(dep["id"]).state == "completed"
    assert _checklist(corp, dep["id"], corp.hr)["all_done"] is True


def test_an_empty_signoffs_list_leaves_only_the_approval(corp_factory: Callable[..., Corp]) -> None:
    corp = corp_factory(config={"departures": {"signoffs": [], "assets": ["电脑"]}})
    dep = corp.start(corp.seller(0), successor=corp.seller(0, 1))
    assert [s["step"] for s in _checklist(corp, dep["id"], corp.hr)["steps"]] == ["manager"]
    assert not _signoff_cards(corp, dep["id"])
    corp.approve(dep["id"], corp.manager(0))
    corp.run("transfer-departures")
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    assert corp.departure(dep["id"]).state == "completed"
