"""Issue 17 items 3 and 6 in the console: the checklist on the departure page (finance may open it to
sign; HR ticks the assets), rejection with a reason that reaches HR, cancel, and a new successor for
a customer who refused the transfer."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from storage import audit
from storage.departures import Departure
from tests.web.conftest import Console, csrf_of
from wecom_hr.scheduler import run_job


def _signed_in(console: Console, userid: str, path: str = "/console/") -> tuple[FlaskClient, dict[str, str]]:
    client = console.client()
    html = console.login(client, userid, path).get_data(as_text=True)
    return client, {"X-CSRF-Token": csrf_of(html)}


def _start(console: Console, leaver: str, **extra: Any) -> int:
    hr, headers = _signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": leaver, "last_day": "2030-01-31", **extra}, headers=headers)
    assert res.status_code == 201, res.get_json()
    console.env.drain()
    return int(res.get_json()["id"])


def _markdown_to(console: Console, userid: str) -> list[str]:
    return [m["markdown"]["content"] for m in console.sim.sent_messages
            if m.get("msgtype") == "markdown" and userid in str(m.get("touser", "")).split("|")]


def test_a_rejection_with_a_reason_reaches_hr(console: Console) -> None:
    departure_id = _start(console, console.seller(0, 1))
    manager, headers = _signed_in(console, console.manager())
    url = f"/console/api/departures/{departure_id}/decision"
    assert manager.post(url, json={"decision": "reject", "reason": "x" * 501}, headers=headers).status_code == 400
    res = manager.post(url, json={"decision": "reject", "reason": "客户名单不全，请补充后再提交"}, headers=headers)
    assert res.status_code == 200 and res.json == {"departure_id": departure_id, "state": "rejected"}
    console.env.drain()
    [notice] = [m for m in _markdown_to(console, console.seed.hr) if "驳回" in m]
    assert "驳回原因：客户名单不全，请补充后再提交" in notice
    with console.runtime.db.session_scope() as s:
        [entry] = audit.entries(s, action="departure.rejected")
        assert entry.detail["reason"] == "客户名单不全，请补充后再提交" and entry.detail["via"] == "console"
        dep = s.get(Departure, departure_id)
        assert dep is not None and dep.summary["rejection"]["reason"] == "客户名单不全，请补充后再提交"


def test_hr_cancels_from_the_console(console: Console) -> None:
    departure_id = _start(console, console.seller(1, 0))
    page = console.login(console.client(), console.seed.hr, f"/console/departures/{departure_id}")
    assert 'data-may-cancel="1"' in page.get_data(as_text=True)
    manager_page = console.login(console.client(), console.manager(1), f"/console/departures/{departure_id}")
    assert 'data-may-cancel="0"' in manager_page.get_data(as_text=True)
    manager, m_headers = _signed_in(console, console.manager(1))
    assert manager.post(f"/api/v1/departures/{departure_id}/cancel", headers=m_headers).status_code == 403
    hr, headers = _signed_in(console, console.seed.hr)
    res = hr.post(f"/api/v1/departures/{departure_id}/cancel", json={}, headers=headers)
    assert res.status_code == 200 and res.json["state"] == "cancelled"


def test_a_refused_customer_gets_a_new_successor_from_the_console(console: Console) -> None:
    leaver, first, second = console.seller(0, 1), console.seller(0, 0), console.seller(1, 0)
    departure_id = _start(console, leaver, successor=first)
    manager, m_headers = _signed_in(console, console.manager())
    res = manager.post(f"/console/api/departures/{departure_id}/decision", json={"decision": "approve"},
                       headers=m_headers)
    assert res.status_code == 200, res.json
    run_job(console.runtime, "transfer-departures")
    refused = console.seed.customers[leaver][0]
    console.sim.scenario.complete_transfers(refuse={refused})
    console.env.drain()
    run_job(console.runtime, "follow-up-departures")
    hr, headers = _signed_in(console, console.seed.hr)
    report: Any = hr.get(f"/api/v1/departures/{departure_id}").json
    assert {i["ref"]: i["status"] for i in report["customers"]["items"]}[refused] == "refused"
    url = f"/api/v1/departures/{departure_id}/customers/{refused}"
    assert hr.put(url, json={"successor": second}).status_code == 403  # no CSRF token
    done = hr.put(url, json={"successor": second}, headers=headers)
    assert done.status_code == 200 and done.json["successor"] == second
    again: Any = hr.get(f"/api/v1/departures/{departure_id}").json
    row = next(i for i in again["customers"]["items"] if i["ref"] == refused)
    assert row["status"] == "pending" and row["successor"] == second


def test_finance_opens_the_page_to_sign_and_hr_ticks_the_assets(console: Console) -> None:
    departure_id = _start(console, console.seller(1, 1))
    seller = console.client()
    assert console.login(seller, console.seller(0, 0), f"/console/departures/{departure_id}").status_code == 403
    finance, f_headers = _signed_in(console, console.seed.finance, f"/console/departures/{departure_id}")
    checklist: Any = finance.get(f"/api/v1/departures/{departure_id}/signoffs").json
    step = next(s for s in checklist["steps"] if s["step"] == "finance")
    assert step["may_sign"] is True
    assert finance.post(f"/api/v1/departures/{departure_id}/signoffs/hr/items/0", json={"done": True},
                        headers=f_headers).status_code == 405
    assert finance.put(f"/api/v1/departures/{departure_id}/signoffs/hr/items/0", json={"done": True},
                       headers=f_headers).status_code == 403
    signed = finance.post(f"/api/v1/departures/{departure_id}/signoffs/finance", json={"note": "已核对"},
                          headers=f_headers)
    assert signed.status_code == 200

    hr, headers = _signed_in(console, console.seed.hr)
    base = f"/api/v1/departures/{departure_id}/signoffs/hr"
    assert hr.post(f"{base}/items", json={"name": "工牌"}, headers=headers).status_code == 200
    items = next(s for s in hr.get(f"/api/v1/departures/{departure_id}/signoffs").json["steps"]
                 if s["step"] == "hr")["items"]
    for n in range(len(items)):
        assert hr.put(f"{base}/items/{n}", json={"done": True}, headers=headers).status_code == 200
    final: Any = hr.post(base, json={}, headers=headers).json
    assert [s["status"] for s in final["steps"]] == ["pending", "signed", "signed"]  # the approval is left
    assert [u["userid"] for u in final["waiting_for"]] == [console.manager(1)]
    with console.runtime.db.session_scope() as s:
        assert [e.actor for e in audit.entries(s, action="departure.signoff_refused")] == [console.seed.finance]
