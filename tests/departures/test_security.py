"""Issue 16 rows 4-6 and 14: a successor gets rights only through an approved departure and only to
what it hands them; access ends only once approved and on the last day (or by an audited HR
"revoke now"), and comes back on rejection; a manager names successors only from their own team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.db import utcnow
from tests.departures.conftest import Corp
from wecom_hr.receivables.ledger import parse_row, upsert_batch


def _ledger(corp: Corp, seller: str) -> None:
    first, second = corp.seed.customers[seller][0], corp.seed.customers[seller][1]

    def row(order: str, ext: str) -> dict[str, Any]:
        return {"order_no": order, "external_userid": ext, "customer_name": f"客户{order}", "salesperson": seller,
                "amount": "1000", "currency": "", "issued_on": "", "due_on": "2020-01-01", "paid_amount": ""}

    with corp.env.runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row(row("SEC-1", first)), parse_row(row("SEC-2", second))], utcnow())


def _reject(corp: Corp, departure_id: int, by: str) -> None:
    card = corp.card(departure_id)
    if card["card_type"] == "button_interaction":
        corp.sim.scenario.click_card(by, card["task_id"], "reject")
    else:
        corp.sim.scenario.click_card(by, card["task_id"], "submit", selected={"decision": ["reject"]})
    corp.env.drain()


def test_a_proposed_successor_has_no_rights_until_approval(corp: Corp) -> None:
    seller, successor, manager = corp.seller(1), corp.seller(1, 2), corp.manager(1)
    _ledger(corp, seller)
    dep = corp.start(seller, successor=successor)
    report = f"/api/v1/departures/{dep['id']}?successor={successor}"
    assert corp.env.api("GET", report, successor).status_code == 404  # pending: nothing handed over yet
    assert corp.env.api("GET", "/api/v1/receivables/SEC-1", successor).status_code in (403, 404)
    assert corp.env.api("POST", "/api/v1/receivables/SEC-1/followups", successor,
                        json={"note": "已联系"}).status_code in (403, 404)
    _reject(corp, dep["id"], manager)
    assert corp.env.api("GET", report, successor).status_code == 404  # rejected: still nothing
    assert corp.env.api("GET", "/api/v1/receivables/SEC-1", successor).status_code in (403, 404)


def test_a_successor_sees_only_their_share_of_an_approved_departure(corp: Corp) -> None:
    seller, successor, other, manager = corp.seller(1), corp.seller(1, 2), corp.seller(1, 3), corp.manager(1)
    _ledger(corp, seller)
    second = corp.seed.customers[seller][1]
    dep = corp.start(seller, successor=successor)
    assert corp.env.api("PUT", f"/api/v1/departures/{dep['id']}/customers/{second}", corp.hr,
                        json={"successor": other}).status_code == 200
    corp.approve(dep["id"], manager)
    mine = corp.env.api("GET", f"/api/v1/departures/{dep['id']}?successor={successor}", successor)
    assert mine.status_code == 200
    body = mine.get_json()
    assert "note" not in body and "cards" not in body and "summary" not in body  # HR's note, approvers
    assert second not in {c["ref"] for c in body["customers"]["items"]}
    assert [r["order_no"] for r in body["receivables"]["items"]] == ["SEC-1"]
    assert corp.env.api("GET", "/api/v1/receivables/SEC-1", successor).status_code == 200
    assert corp.env.api("GET", "/api/v1/receivables/SEC-2", successor).status_code in (403, 404)
    assert corp.env.api("GET", "/api/v1/receivables/SEC-2", other).status_code == 200


def test_a_pending_departure_revokes_nothing_and_a_rejection_restores_early_revocation(corp: Corp) -> None:
    seller, manager = corp.seller(0), corp.manager(0)
    dep = corp.start(seller, last_day=utcnow().date() - timedelta(days=1), submit=False)  # a draft, past day
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 200
    refused = corp.env.api("POST", f"/api/v1/departures/{dep['id']}/revoke", corp.hr, json={"reason": " "})
    assert refused.status_code == 400 and "reason" in refused.get_json()["error"]
    assert corp.env.api("POST", f"/api/v1/departures/{dep['id']}/revoke", seller,
                        json={"reason": "x"}).status_code == 403  # only HR or admin
    ok = corp.env.api("POST", f"/api/v1/departures/{dep['id']}/revoke", corp.hr, json={"reason": "泄露客户资料"})
    assert ok.status_code == 200
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 403
    [entry] = corp.audit("departure.access_revoked")
    assert entry.actor == corp.hr and entry.detail["reason"] == "泄露客户资料"
    assert corp.env.api("POST", f"/api/v1/departures/{dep['id']}/submit", corp.hr).status_code == 200
    corp.env.drain()
    _reject(corp, dep["id"], manager)
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 200  # the rejection restored it


def test_cancelling_restores_access(corp: Corp) -> None:
    seller = corp.seller(2)
    dep = corp.start(seller, submit=False)
    corp.env.api("POST", f"/api/v1/departures/{dep['id']}/revoke", corp.hr, json={"reason": "调查"})
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 403
    assert corp.env.api("POST", f"/api/v1/departures/{dep['id']}/cancel", corp.hr).status_code == 200
    assert corp.env.api("GET", "/api/v1/customers", seller).status_code == 200


def test_a_manager_names_successors_only_from_their_team_or_the_card(corp: Corp) -> None:
    seller, manager = corp.seller(0), corp.manager(0)
    ext = corp.seed.customers[seller][0]
    dep = corp.start(seller)
    path = f"/api/v1/departures/{dep['id']}/customers/{ext}"
    for outsider in (corp.seller(1), corp.hr):
        res = corp.env.api("PUT", path, manager, json={"successor": outsider})
        assert res.status_code == 403, outsider
    assert corp.env.api("PUT", path, manager, json={"successor": corp.seller(0, 1)}).status_code == 200
    assert corp.env.api("PUT", path, corp.hr, json={"successor": corp.seller(1)}).status_code == 200  # HR may
